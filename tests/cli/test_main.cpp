#include <gtest/gtest.h>
#include <sodium.h>

#include <curl/curl.h>

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  curl_global_cleanup();
  return result;
}
