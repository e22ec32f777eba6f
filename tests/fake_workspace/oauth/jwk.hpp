// Public keys from a JWKS document (RFC 7517), imported with OpenSSL 3 directly: RSA keys
// ("kty":"RSA", "n", "e", at least 2048 bits) and EC P-256 keys ("kty":"EC", "crv":"P-256", "x",
// "y"). Written apart from common/identity so that the fake checks the agent independently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Parses `text`, a JSON object {"keys": [...]}, into `keys`. Every key must be a supported public
// key; a key with "use" other than "sig", an "alg" that does not fit its type, private members or
// a "kid" another key has is refused.
// Returns an empty string on success, else what is wrong, and leaves `keys` unchanged.
std::string ParseJwks(std::string_view text, std::vector<VerificationKey>& keys);

}  // namespace dbproxy::fake
