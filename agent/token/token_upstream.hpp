// TokenUpstream: what the token broker asks of a workspace's OAuth server — OIDC discovery and
// one client-credentials grant. A seam: the agent uses HttpTokenUpstream (libcurl, through
// agent/token/upstream_http), the broker's unit tests a fake.
//
// Threading: methods block (network I/O) and are called on the blocking-work pool, possibly
// from several threads at once; implementations must be thread-safe. The caller holds no lock
// while calling them.
#pragma once

#include <string>

#include "agent/token/upstream_http.hpp"
#include "common/core/result.hpp"
#include "common/core/secret_bytes.hpp"
#include "common/oauth/oauth.hpp"

namespace dbproxy {

class TokenUpstream {
 public:
  virtual ~TokenUpstream() = default;

  // The endpoints of `host` (a workspace origin). Errors: kUpstreamTimeout, kUpstreamUnavailable
  // (transport), kUpstreamError (an answer that is not a usable discovery document).
  virtual Result<OidcEndpoints> Discover(const std::string& host) = 0;

  // One client-credentials grant at `token_endpoint`. Errors as ParseTokenResponse (with
  // retry_after_seconds when the server sent Retry-After) plus the transport errors above.
  // The error messages never contain `secret`.
  virtual Result<TokenGrant> Grant(const std::string& token_endpoint,
                                   const std::string& client_id, const SecretBytes& secret,
                                   const std::string& scope) = 0;

  // One RFC 8693 token exchange at `token_endpoint`: `subject_token` (a JWT the agent signed)
  // for a token of `client_id` (workload identity federation). Errors as Grant. The messages
  // never contain the subject token.
  virtual Result<TokenGrant> Exchange(const std::string& token_endpoint,
                                      const std::string& client_id,
                                      const SecretBytes& subject_token,
                                      const std::string& scope) = 0;
};

class HttpTokenUpstream final : public TokenUpstream {
 public:
  explicit HttpTokenUpstream(UpstreamOptions options) : options_(std::move(options)) {}

  Result<OidcEndpoints> Discover(const std::string& host) override;
  Result<TokenGrant> Grant(const std::string& token_endpoint, const std::string& client_id,
                           const SecretBytes& secret, const std::string& scope) override;
  Result<TokenGrant> Exchange(const std::string& token_endpoint, const std::string& client_id,
                              const SecretBytes& subject_token, const std::string& scope) override;

 private:
  Result<TokenGrant> PostTokenRequest(UpstreamRequest& request, const std::string& scope);

  const UpstreamOptions options_;
};

}  // namespace dbproxy
