// A heap that wipes what it frees. Secrets and tokens pass through ordinary buffers that are
// not ours to allocate: libcurl's request and receive buffers, OpenSSL's TLS records, a JSON
// parser's token text, libxml2's copy of a SAML assertion, strings built by the standard
// library. Each is zeroed when its block is freed: dbproxyd's operator delete
// (agent/wiping_new.cpp), libcurl's allocator (curl_global_init_mem), OpenSSL's
// (CRYPTO_set_mem_functions) and libxml2's (xmlMemSetup) all free through WipeAndFree. Buffers that stay allocated are handled where they are kept: a fresh curl handle
// per token grant, the proxy's idle handles give back their upload buffer, and TLS connections
// cleanse decrypted records (SSL_OP_CLEANSE_PLAINTEXT).
// Threading: every function is thread-safe (malloc's own locking).
#pragma once

#include <curl/curl.h>

#include <cstddef>

namespace dbproxy {

// Zeroes the whole usable size of `block` (from malloc, calloc, realloc or aligned_alloc),
// then frees it. Null is a no-op.
void WipeAndFree(void* block) noexcept;
// realloc that never leaves the old block's bytes behind: allocates, copies, wipes and frees.
void* WipingRealloc(void* block, std::size_t size) noexcept;

// Makes OpenSSL allocate through the wiping heap. Must run before anything uses OpenSSL
// (first thing in main); false when it is too late.
bool UseWipingHeapForOpenSsl() noexcept;
// The same for libxml2 (and xmlsec, which allocates through it), where SAML assertions are
// parsed. Must run before anything uses libxml2 (first thing in main); false when refused.
bool UseWipingHeapForLibxml2() noexcept;
// curl_global_init with the wiping heap; false when libcurl refused.
bool InitCurlWithWipingHeap() noexcept;
// A CURLOPT_SSL_CTX_FUNCTION: sets SSL_OP_CLEANSE_PLAINTEXT, so OpenSSL wipes each decrypted
// record once it is handed over instead of keeping it in the connection's read buffer.
CURLcode CleanseTlsPlaintext(CURL* curl, void* ssl_ctx, void* user);

}  // namespace dbproxy
