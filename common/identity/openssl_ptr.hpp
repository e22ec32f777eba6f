// Owners for the OpenSSL 3 handles used under common/identity/: each handle is put in one of
// these on the line that creates it, so every path frees it.
//
// Also ErrorQueueGuard: OpenSSL reports failures through a per-thread error queue, and libcurl
// (on the same threads in the agent) reads that queue to explain its own TLS errors. Every
// public function here that calls OpenSSL holds a guard, so it leaves the queue empty.
#pragma once

#include <memory>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace dbproxy {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct EvpPkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};
struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
struct BignumFree {
  void operator()(BIGNUM* bn) const noexcept { BN_free(bn); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumFree>;

class ErrorQueueGuard {
 public:
  ErrorQueueGuard() = default;
  ~ErrorQueueGuard() { ERR_clear_error(); }
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

}  // namespace dbproxy
