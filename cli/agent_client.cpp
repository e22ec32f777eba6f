#include "cli/agent_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include <curl/curl.h>

#include "common/core/secret_bytes.hpp"
#include "common/core/text.hpp"

namespace dbproxy::cli {
namespace {

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// Most answers are small; reserving up front means a token answer is not spread over several
// freed (and unwiped) heap blocks by reallocation.
constexpr std::size_t kInitialBodyReserve = 64 * 1024;

struct Capture {
  AgentResponse* response = nullptr;
  bool too_large = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* capture = static_cast<Capture*>(user);
  const std::size_t bytes = size * count;
  if (capture->response->body.size() + bytes > kMaxAnswerSize) {
    capture->too_large = true;
    return 0;  // makes libcurl abort with CURLE_WRITE_ERROR
  }
  capture->response->body.append(data, bytes);
  return bytes;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    headers->clear();  // a new response (after an interim 1xx) starts
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name(TrimWhitespace(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  (*headers)[name] = std::string(TrimWhitespace(line.substr(colon + 1)));
  return bytes;
}

bool AppendHeader(HeaderList& list, const std::string& header) {
  curl_slist* head = curl_slist_append(list.get(), header.c_str());
  if (head == nullptr) return false;
  if (head != list.get()) {
    (void)list.release();  // the old head (null here) is now part of `head`
    list.reset(head);
  }
  return true;
}

bool BuildHeaders(const AgentRequest& request, HeaderList& list) {
  bool ok = AppendHeader(list, "Accept: application/json");
  ok = ok && AppendHeader(list, "Expect:");  // no 100-continue round trip
  if (!request.content_type.empty()) {
    ok = ok && AppendHeader(list, "Content-Type: " + request.content_type);
  }
  return ok;
}

// Sets the method and, for methods with a body, points libcurl at the caller's bytes without
// copying them (CURLOPT_POSTFIELDS, never CURLOPT_COPYPOSTFIELDS).
CURLcode SetMethodAndBody(CURL* curl, const AgentRequest& request) {
  if (request.method == "GET") return curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  CURLcode rc = CURLE_OK;
  if (request.method == "POST" || request.method == "PUT" || !request.body.empty()) {
    static const char kEmpty[] = "";
    const void* data = request.body.empty() ? static_cast<const void*>(kEmpty)
                                            : static_cast<const void*>(request.body.data());
    rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, data);
    if (rc == CURLE_OK) {
      rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                            static_cast<curl_off_t>(request.body.size()));
    }
  }
  if (rc == CURLE_OK && request.method != "POST") {
    rc = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  return rc;
}

CURLcode Configure(CURL* curl, const std::string& socket_path, const std::string& url,
                   const AgentRequest& request) {
  CURLcode rc = curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path.c_str());
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_PROXY, "");  // ignore *_proxy vars
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                          static_cast<long>(request.timeout.count()));  // NOLINT(google-runtime-int)
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_USERAGENT, "dbproxyctl/" DBPROXY_VERSION);
  if (rc == CURLE_OK) rc = SetMethodAndBody(curl, request);
  return rc;
}

std::string Reason(CURL* curl, CURLcode code) {
  long os_errno = 0;  // NOLINT(google-runtime-int): libcurl's type
  if (curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0) {
    return std::strerror(static_cast<int>(os_errno));
  }
  return curl_easy_strerror(code);
}

Error TransportError(CURL* curl, CURLcode code, const std::string& socket_path,
                     const AgentRequest& request) {
  // A request that was (partly) sent proves the connection stood; connect timings can read 0 us
  // on a Unix socket.
  long request_bytes = 0;  // NOLINT(google-runtime-int): libcurl's type
  const bool connected =
      curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes) == CURLE_OK &&
      request_bytes > 0;
  if (code == CURLE_COULDNT_CONNECT || (code == CURLE_OPERATION_TIMEDOUT && !connected)) {
    return MakeError(Errc::kUpstreamUnavailable,
                     "cannot reach dbproxyd at " + socket_path + ": " + Reason(curl, code));
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(request.timeout);
    return MakeError(Errc::kUpstreamTimeout, "dbproxyd at " + socket_path +
                                                 " did not answer within " +
                                                 std::to_string(seconds.count()) + " s");
  }
  return MakeError(Errc::kInternal,
                   "request to dbproxyd at " + socket_path + " failed: " + Reason(curl, code));
}

}  // namespace

AgentClient::AgentClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}

Result<AgentResponse> AgentClient::Send(const AgentRequest& request) const {
  const CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
  HeaderList header_list(nullptr, &curl_slist_free_all);
  if (!curl || !BuildHeaders(request, header_list)) {
    return MakeError(Errc::kInternal, "cannot set up an HTTP request (out of memory)");
  }
  AgentResponse response;
  response.body.reserve(kInitialBodyReserve);
  Capture capture{.response = &response, .too_large = false};
  const std::string url = "http://localhost" + request.target;
  CURLcode rc = Configure(curl.get(), socket_path_, url, request);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, header_list.get());
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &OnBody);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &capture);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, &OnHeader);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &response.headers);
  if (rc != CURLE_OK) {
    return MakeError(Errc::kInternal, std::string("cannot set up an HTTP request: ") +
                                          curl_easy_strerror(rc));
  }
  rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) WipeString(response.body);  // a partial answer may hold a token
  if (capture.too_large) {
    return MakeError(Errc::kPayloadTooLarge, "the answer from dbproxyd is larger than " +
                                                 std::to_string(kMaxAnswerSize) + " bytes");
  }
  if (rc != CURLE_OK) return TransportError(curl.get(), rc, socket_path_, request);
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace dbproxy::cli
