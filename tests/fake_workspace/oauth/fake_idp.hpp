// A fake OpenID Connect identity provider beside the workspace, for the agent's caller-JWT
// tests: issuer <base_url>/idp, a discovery document and a JWKS of ES256 keys made when first
// needed, and control endpoints that mint tokens, rotate the key and take the JWKS down.
//
//   GET  /idp/.well-known/openid-configuration   {"issuer", "jwks_uri"}
//   GET  /idp/jwks                               {"keys": [...]}: the current key and the one
//                                                before it; 503 while taken down
//   POST /_fake/idp/token   {"sub", "aud", "expires_in"?, "not_before_in"?, "claims"?, "kid"?,
//                            "iss"?} -> {"token"}: signed with the current key (or `kid`)
//   POST /_fake/idp/rotate  a new current key (the old one stays published)
//   POST /_fake/idp/jwks    {"down": true|false}
//   GET  /_fake/idp/stats   {"jwks_fetches", "discovery_fetches", "kid"}
//
// Signing is written here on OpenSSL directly, not with common/identity: a bug shared by the
// agent's verifier and the fake's signer would hide itself. Threading: under the state's mutex.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

bool IsIdpPath(std::string_view path);
FakeReply HandleIdpRequest(const FakeRequest& request, WorkspaceState& state);
// The /_fake/idp/ control endpoints; nullopt for other paths.
std::optional<FakeReply> HandleIdpControl(const FakeRequest& request, WorkspaceState& state);

// The issuer, "<base_url>/idp".
std::string IdpIssuer(const WorkspaceState& state);
// The keys /idp/jwks publishes (the current one and the one before it), for token federation
// policies that trust this IdP; empty while the JWKS is taken down.
std::vector<VerificationKey> IdpPublishedKeys(WorkspaceState& state);

}  // namespace dbproxy::fake
