// Whether a federation policy accepts a subject token: the one decision of the token-exchange
// grant, kept pure (keys and time come in) so that every refusal reason is easy to test.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "tests/fake_workspace/oauth/jws.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Checks `jwt`, whose "iss" is policy.issuer, against `policy` with the issuer's `keys` at `now`
// (Unix seconds), in this order: "alg" is RS256 or ES256 and there is no "crit"; the key named by
// "kid" (or the only key when there is no kid) fits "alg" and the signature verifies; "exp" is
// after `now`; "nbf" and "iat", when present, are at most 60 s after `now`; "aud" (a string or an
// array) holds one of policy.audiences; the policy.subject_claim claim is a non-empty string equal
// to policy.subject when the policy names one.
// Returns an empty string and sets `subject` to that claim on success, else the refusal's
// error_description.
std::string CheckSubjectToken(const DecodedJwt& jwt, const FederationPolicy& policy,
                              std::span<const VerificationKey> keys, std::int64_t now,
                              std::string& subject);

}  // namespace dbproxy::fake
