#include "agent/token/token_upstream.hpp"

#include "agent/clock.hpp"

namespace dbproxy {

Result<OidcEndpoints> HttpTokenUpstream::Discover(const std::string& host) {
  UpstreamRequest request;
  request.url = host + "/oidc/.well-known/oauth-authorization-server";
  request.headers = {"Accept: application/json"};
  Result<UpstreamResponse> response = PerformUpstream(options_, request);
  if (!response) return std::move(response).error();
  if (response->status != 200) {
    return MakeError(Errc::kUpstreamError,
                     "OIDC discovery failed with HTTP " + std::to_string(response->status));
  }
  return ParseDiscovery(response->body, host);
}

Result<TokenGrant> HttpTokenUpstream::Grant(const std::string& token_endpoint,
                                            const std::string& client_id,
                                            const SecretBytes& secret, const std::string& scope) {
  UpstreamRequest request;
  request.method = "POST";
  request.url = token_endpoint;
  request.headers = {"Content-Type: application/x-www-form-urlencoded",
                     "Accept: application/json"};
  request.body = ClientCredentialsBody(scope);
  request.basic_user = &client_id;
  request.basic_password = &secret;
  return PostTokenRequest(request, scope);
}

Result<TokenGrant> HttpTokenUpstream::Exchange(const std::string& token_endpoint,
                                               const std::string& client_id,
                                               const SecretBytes& subject_token,
                                               const std::string& scope) {
  const SecretBytes body = TokenExchangeBody(subject_token, client_id, scope);
  UpstreamRequest request;
  request.method = "POST";
  request.url = token_endpoint;
  request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  request.secret_body = &body;
  return PostTokenRequest(request, scope);
}

Result<TokenGrant> HttpTokenUpstream::PostTokenRequest(UpstreamRequest& request,
                                                       const std::string& scope) {
  Result<UpstreamResponse> response = PerformUpstream(options_, request);
  if (!response) return std::move(response).error();
  int retry_after = 0;
  if (auto header = response->headers.find("retry-after"); header != response->headers.end()) {
    retry_after = ParseRetryAfter(header->second, NowUnix());
  }
  return ParseTokenResponse(response->status, response->body, scope, retry_after);
}

}  // namespace dbproxy
