// Compact JWS (RFC 7515) as federation's subject tokens use it: splitting and decoding a JWT, and
// checking its RS256 or ES256 signature with OpenSSL 3 EVP directly (not common/identity: the fake
// is an independent check of the agent).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

struct DecodedJwt {
  nlohmann::json header = nullptr;  // a JSON object
  nlohmann::json claims = nullptr;  // a JSON object
  std::string signing_input = {};   // "<header>.<payload>" as received
  std::string signature = {};       // raw bytes
};

// Splits `token` into exactly three base64url parts whose first two are JSON objects. Checks
// nothing else: the signature, the algorithm and the claims are the caller's to verify.
std::optional<DecodedJwt> DecodeJwt(std::string_view token);

// The algorithm a JWS header's "alg" names, when it is one the fake accepts (RS256, ES256).
// "none", HS* and everything else are nullopt.
std::optional<JwsAlgorithm> AcceptedAlgorithm(const nlohmann::json& header);

// Whether `jwt.signature` is a valid `algorithm` signature of `jwt.signing_input` under `key`.
// REQUIRES: key.algorithm == algorithm. ES256 signatures must be the 64-byte r || s form.
bool SignatureVerifies(const DecodedJwt& jwt, JwsAlgorithm algorithm, const VerificationKey& key);

}  // namespace dbproxy::fake
