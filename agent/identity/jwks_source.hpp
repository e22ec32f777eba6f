// JwksSource: where an identity provider's JWKS and discovery documents come from. The seam
// between IdpRegistry and the network; tests use a fake.
#pragma once

#include <cstddef>
#include <string>

#include "common/core/result.hpp"

namespace dbproxy {

class JwksSource {
 public:
  virtual ~JwksSource() = default;

  // GETs `url` and returns the body of a 200 answer. Blocking: call only from the
  // blocking-work pool. `ca_file` is a PEM bundle to trust; empty: the system trust store.
  // Errors: kUpstreamTimeout, kUpstreamUnavailable (DNS, connect, TLS), kUpstreamError (a
  // status other than 200, a body over kMaxJwksBytes, a redirect). Messages never contain
  // response bodies.
  virtual Result<std::string> Fetch(const std::string& url, const std::string& ca_file) = 0;
};

// The agent's source: libcurl, HTTPS only, TLS verified, no redirects, a 5 s deadline for the
// whole request, bodies capped at kMaxJwksBytes (256 KiB). Thread-safe: a handle per call.
// REQUIRES: InitUpstreamHttp() ran at start-up.
class HttpJwksSource final : public JwksSource {
 public:
  Result<std::string> Fetch(const std::string& url, const std::string& ca_file) override;
};

}  // namespace dbproxy
