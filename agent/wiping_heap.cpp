#include "agent/wiping_heap.hpp"

#include <curl/curl.h>
#include <libxml/xmlmemory.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace dbproxy {
namespace {

void* CryptoMalloc(std::size_t size, const char* /*file*/, int /*line*/) {
  return std::malloc(size);
}
void* CryptoRealloc(void* block, std::size_t size, const char* /*file*/, int /*line*/) {
  return WipingRealloc(block, size);
}
void CryptoFree(void* block, const char* /*file*/, int /*line*/) { WipeAndFree(block); }

void* CurlMalloc(std::size_t size) { return std::malloc(size); }
void CurlFree(void* block) { WipeAndFree(block); }
void* CurlRealloc(void* block, std::size_t size) { return WipingRealloc(block, size); }
char* CurlStrdup(const char* text) {
  const std::size_t size = std::strlen(text) + 1;
  auto* copy = static_cast<char*>(std::malloc(size));
  if (copy != nullptr) std::memcpy(copy, text, size);
  return copy;
}
void* CurlCalloc(std::size_t count, std::size_t size) { return std::calloc(count, size); }

}  // namespace

void WipeAndFree(void* block) noexcept {
  if (block == nullptr) return;
  sodium_memzero(block, malloc_usable_size(block));
  std::free(block);
}

void* WipingRealloc(void* block, std::size_t size) noexcept {
  if (block == nullptr) return std::malloc(size);
  if (size == 0) {
    WipeAndFree(block);
    return nullptr;
  }
  void* grown = std::malloc(size);
  if (grown == nullptr) return nullptr;  // the old block stays valid, as with realloc
  std::memcpy(grown, block, std::min(size, malloc_usable_size(block)));
  WipeAndFree(block);
  return grown;
}

CURLcode CleanseTlsPlaintext(CURL* /*curl*/, void* ssl_ctx, void* /*user*/) {
  SSL_CTX_set_options(static_cast<SSL_CTX*>(ssl_ctx), SSL_OP_CLEANSE_PLAINTEXT);
  return CURLE_OK;
}

bool UseWipingHeapForOpenSsl() noexcept {
  return CRYPTO_set_mem_functions(&CryptoMalloc, &CryptoRealloc, &CryptoFree) == 1;
}

bool UseWipingHeapForLibxml2() noexcept {
  // libxml2 wants the same malloc and strdup as libcurl: plain malloc underneath.
  return xmlMemSetup(&WipeAndFree, &CurlMalloc, &WipingRealloc, &CurlStrdup) == 0;
}

bool InitCurlWithWipingHeap() noexcept {
  return curl_global_init_mem(CURL_GLOBAL_DEFAULT, &CurlMalloc, &CurlFree, &CurlRealloc,
                              &CurlStrdup, &CurlCalloc) == CURLE_OK;
}

}  // namespace dbproxy
