#include "common/identity/saml_replay.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dbproxy {
namespace {

using Admission = SamlReplayCache::Admission;

TEST(SamlReplayCacheTest, ASecondPresentationWhileValidIsAReplay) {
  SamlReplayCache cache;
  EXPECT_EQ(cache.Admit("https://idp", "_a1", 1300, 1000), Admission::kFirstUse);
  EXPECT_EQ(cache.Admit("https://idp", "_a1", 1300, 1001), Admission::kReplayed);
  EXPECT_EQ(cache.Admit("https://idp", "_a1", 1300, 1299), Admission::kReplayed);
  // The same ID from another issuer is another assertion.
  EXPECT_EQ(cache.Admit("https://other", "_a1", 1300, 1001), Admission::kFirstUse);
  EXPECT_EQ(cache.Admit("https://idp", "_a2", 1300, 1001), Admission::kFirstUse);
  EXPECT_EQ(cache.size(), 3U);
}

TEST(SamlReplayCacheTest, EntriesAreForgottenOnceTheAssertionNoLongerVerifies) {
  SamlReplayCache cache;
  EXPECT_EQ(cache.Admit("https://idp", "_a1", 1300, 1000), Admission::kFirstUse);
  EXPECT_EQ(cache.Admit("https://idp", "_a2", 1600, 1000), Admission::kFirstUse);
  EXPECT_EQ(cache.Admit("https://idp", "_a3", 1100, 1300), Admission::kFirstUse)
      << "an assertion past usable_until is not kept";
  EXPECT_EQ(cache.size(), 1U) << "_a1 expired at 1300";
  EXPECT_EQ(cache.Admit("https://idp", "_a2", 1600, 1599), Admission::kReplayed);
  EXPECT_EQ(cache.Admit("https://idp", "_a2", 1600, 1600), Admission::kFirstUse);
  EXPECT_EQ(cache.size(), 0U);
}

TEST(SamlReplayCacheTest, WhenFullOfValidAssertionsANewOneIsRefusedNotAnOldOneForgotten) {
  SamlReplayCache cache(3);
  for (const char* id : {"_a1", "_a2", "_a3"}) {
    EXPECT_EQ(cache.Admit("https://idp", id, 2000, 1000), Admission::kFirstUse);
  }
  EXPECT_EQ(cache.Admit("https://idp", "_a4", 2000, 1000), Admission::kFull);
  EXPECT_EQ(cache.Admit("https://idp", "_a1", 2000, 1000), Admission::kReplayed)
      << "a remembered one stays refused when the cache is full";
  EXPECT_EQ(cache.Admit("https://idp", "_a4", 3000, 2000), Admission::kFirstUse)
      << "room again once the others expired";
  EXPECT_EQ(cache.size(), 1U);
}

}  // namespace
}  // namespace dbproxy
