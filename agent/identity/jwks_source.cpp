#include "agent/identity/jwks_source.hpp"

#include <curl/curl.h>

#include <memory>

#include "common/identity/jwks.hpp"

namespace dbproxy {
namespace {

constexpr long kFetchTimeoutMs = 5000;

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};

struct Body {
  std::string text;
  bool too_large = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t n = size * count;
  if (body->text.size() + n > kMaxJwksBytes) {
    body->too_large = true;
    return 0;  // aborts the transfer
  }
  body->text.append(data, n);
  return n;
}

}  // namespace

Result<std::string> HttpJwksSource::Fetch(const std::string& url, const std::string& ca_file) {
  const std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  CURL* curl = handle.get();
  if (curl == nullptr) return MakeError(Errc::kInternal, "curl_easy_init failed");
  Body body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  // A redirect could lead to keys the operator never named: the configured URL or nothing.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kFetchTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kFetchTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "dbproxy/" DBPROXY_VERSION);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);

  const CURLcode code = curl_easy_perform(curl);
  if (body.too_large) {
    return MakeError(Errc::kUpstreamError, "identity provider answer is too large",
                     url + ": body over " + std::to_string(kMaxJwksBytes) + " bytes");
  }
  if (code != CURLE_OK) {
    const std::string text = curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return MakeError(Errc::kUpstreamTimeout, "identity provider did not answer in time",
                       url + ": " + text);
    }
    return MakeError(Errc::kUpstreamUnavailable, "cannot reach identity provider: " + text,
                     url + ": " + text);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return MakeError(Errc::kUpstreamError,
                     "identity provider answered HTTP " + std::to_string(status),
                     url + ": HTTP " + std::to_string(status));
  }
  return std::move(body.text);
}

}  // namespace dbproxy
