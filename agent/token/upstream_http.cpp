#include "agent/token/upstream_http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "agent/wiping_heap.hpp"
#include "common/oauth/oauth.hpp"

namespace dbproxy {
namespace {

constexpr std::size_t kMaxResponseBytes = 1 << 20;  // token and discovery answers are small

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* response = static_cast<UpstreamResponse*>(user);
  const std::size_t n = size * count;
  if (response->body.size() + n > kMaxResponseBytes) return 0;  // aborts the transfer
  response->body.append(data, n);
  return n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* response = static_cast<UpstreamResponse*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) response->headers.clear();  // a new response (e.g. after 100)
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  response->headers[name] = std::string(value);
  return n;
}


Error TransportError(CURLcode code, const std::string& url) {
  const std::string text = std::string(curl_easy_strerror(code));
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return MakeError(Errc::kUpstreamTimeout, "workspace did not answer in time", url + ": " + text);
  }
  Error error =
      MakeError(Errc::kUpstreamUnavailable, "cannot reach workspace: " + text, url + ": " + text);
  error.retry_after_seconds = kDefaultRetryAfterSeconds;
  return error;
}

}  // namespace

void InitUpstreamHttp() {
  if (!InitCurlWithWipingHeap()) curl_global_init(CURL_GLOBAL_DEFAULT);
}

Result<UpstreamResponse> PerformUpstream(const UpstreamOptions& options,
                                         const UpstreamRequest& request) {
  // A handle (and its connection) per call: its request buffer held the client secret and its
  // receive buffer the token, and cleaning it up frees both through the wiping heap. Grants
  // are rare (once per token lifetime), so the lost connection reuse costs nothing that matters.
  const std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  CURL* curl = handle.get();
  if (curl == nullptr) return MakeError(Errc::kInternal, "curl_easy_init failed");
  UpstreamResponse response;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& header : request.headers) {
    curl_slist* next = curl_slist_append(headers.get(), header.c_str());
    if (next == nullptr) return MakeError(Errc::kInternal, "out of memory");
    (void)headers.release();
    headers.reset(next);
  }
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // never carry credentials elsewhere
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, &CleanseTlsPlaintext);
  if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(options.timeout_ms, 5000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.secret_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.secret_body->bytes().data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.secret_body->size()));
  } else if (request.method == "POST" || !request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  if (request.basic_user != nullptr && request.basic_password != nullptr) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, request.basic_user->c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, request.basic_password->c_str());
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);

  const CURLcode code = curl_easy_perform(curl);
  // Do not leave the password option pointing at guarded memory that may be freed later.
  curl_easy_setopt(curl, CURLOPT_PASSWORD, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) return TransportError(code, request.url);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace dbproxy
