// IdpRegistry through its seam: a fake JwksSource on a real (small) thread pool, coroutines
// driven on an io_context owned by the test, time passed in.
#include "agent/identity/idp_registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>

#include "tests/agent/run_until.hpp"
#include "tests/common/identity/test_keys.hpp"

namespace dbproxy {
namespace {

using jwt_testing::JwksText;
using jwt_testing::Keys;
using std::chrono::milliseconds;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr char kIssuer[] = "https://idp.example.com";
constexpr char kJwksUri[] = "https://idp.example.com/jwks";
constexpr char kDiscoveryUri[] = "https://idp.example.com/.well-known/openid-configuration";

// Serves scripted documents by URL. Threading: Fetch runs on pool threads.
class FakeJwksSource final : public JwksSource {
 public:
  Result<std::string> Fetch(const std::string& url, const std::string& ca_file) override {
    std::unique_lock lock(mutex_);
    ++fetches_[url];
    last_ca_file_ = ca_file;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
    if (down_) return MakeError(Errc::kUpstreamUnavailable, "scripted outage", url);
    const auto found = documents_.find(url);
    if (found == documents_.end()) return MakeError(Errc::kUpstreamError, "HTTP 404", url);
    return found->second;
  }

  void Serve(const std::string& url, std::string document) {
    const std::lock_guard lock(mutex_);
    documents_[url] = std::move(document);
  }
  void SetDown(bool down) {
    const std::lock_guard lock(mutex_);
    down_ = down;
  }
  void Hold() {
    const std::lock_guard lock(mutex_);
    held_ = true;
  }
  void Release() {
    const std::lock_guard lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  int fetches(const std::string& url) {
    const std::lock_guard lock(mutex_);
    return fetches_[url];
  }
  std::string last_ca_file() {
    const std::lock_guard lock(mutex_);
    return last_ca_file_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> documents_;
  std::map<std::string, int> fetches_;
  std::string last_ca_file_;
  bool down_ = false;
  bool held_ = false;
};

IdpSection Corp(std::string jwks_uri = kJwksUri) {
  return IdpSection{.name = "corp",
                    .issuer = kIssuer,
                    .audiences = {"dbproxy"},
                    .jwks_uri = std::move(jwks_uri),
                    .ca_file = "/etc/ssl/idp.pem",
                    .algorithms = {"RS256", "ES256"},
                    .clock_skew_seconds = 60,
                    .claims = {"groups", "email"}};
}

std::string Token(const std::string& kid, EVP_PKEY* key, const std::string& issuer = kIssuer) {
  const nlohmann::json claims = {{"iss", issuer},
                                 {"aud", "dbproxy"},
                                 {"sub", "alice"},
                                 {"exp", kNow + 3600},
                                 {"groups", {"eng", "ops"}},
                                 {"email", "alice@example.com"}};
  return jwt_testing::MakeToken({{"kid", kid}}, claims, "RS256", key);
}

class IdpRegistryTest : public ::testing::Test {
 protected:
  IdpRegistryTest() { Build({Corp()}); }
  ~IdpRegistryTest() override {
    source_->Release();
    RunUntil([] { return false; }, milliseconds(50));  // let fetches in flight land
  }

  void Build(const std::vector<IdpSection>& idps) {
    auto source = std::make_unique<FakeJwksSource>();
    source_ = source.get();
    source_->Serve(kJwksUri, JwksText({{"k1", Keys().rsa.get()}}));
    registry_ = std::make_unique<IdpRegistry>(io_.get_executor(), pool_, idps, std::move(source));
  }

  // Starts registry.Verify(token, now) on the io_context; the slot is filled when it returns.
  std::shared_ptr<std::optional<IdpVerdict>> StartVerify(std::string token, std::int64_t now) {
    auto slot = std::make_shared<std::optional<IdpVerdict>>();
    auto text = std::make_shared<const std::string>(std::move(token));
    asio::co_spawn(
        io_,
        [this, text, now, slot]() -> asio::awaitable<void> {
          slot->emplace(co_await registry_->Verify(*text, now));
        },
        asio::detached);
    return slot;
  }

  bool RunUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(5000)) {
    return testing::RunUntil(io_, done, timeout);
  }

  IdpVerdict VerifyNow(const std::string& token, std::int64_t now = kNow) {
    auto slot = StartVerify(token, now);
    EXPECT_TRUE(RunUntil([&] { return slot->has_value(); })) << "Verify did not return";
    if (!slot->has_value()) return IdpVerdict{};
    return std::move(**slot);
  }

  asio::io_context io_;
  asio::thread_pool pool_{2};
  FakeJwksSource* source_ = nullptr;
  std::unique_ptr<IdpRegistry> registry_;
};

using Kind = IdpVerdict::Kind;

TEST_F(IdpRegistryTest, VerifiesAValidTokenAndMapsItsClaims) {
  const IdpVerdict verdict = VerifyNow(Token("k1", Keys().rsa.get()));
  ASSERT_EQ(verdict.kind, Kind::kVerified) << verdict.reason;
  EXPECT_EQ(verdict.idp, "corp");
  EXPECT_EQ(verdict.jwt.subject, "alice");
  EXPECT_EQ(verdict.jwt.audience, "dbproxy");
  ASSERT_TRUE(verdict.attributes.contains("jwt.groups"));
  EXPECT_EQ(std::get<std::vector<std::string>>(verdict.attributes.at("jwt.groups")),
            (std::vector<std::string>{"eng", "ops"}));
  EXPECT_EQ(std::get<std::string>(verdict.attributes.at("jwt.email")), "alice@example.com");
  EXPECT_EQ(source_->last_ca_file(), "/etc/ssl/idp.pem");

  EXPECT_EQ(VerifyNow(Token("k1", Keys().rsa.get())).kind, Kind::kVerified);
  EXPECT_EQ(source_->fetches(kJwksUri), 1) << "the second token is checked against the cache";
  const std::vector<IdpInfo> list = registry_->List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "corp");
  EXPECT_EQ(list[0].jwks_uri, kJwksUri);
  EXPECT_EQ(list[0].keys, 1u);
  EXPECT_EQ(list[0].last_fetch, kNow);
  EXPECT_EQ(list[0].last_error, "");
}

TEST_F(IdpRegistryTest, UnknownIssuerAndMalformedTokensAreRefusedWithoutAFetch) {
  const IdpVerdict other = VerifyNow(Token("k1", Keys().rsa.get(), "https://evil.example.com"));
  EXPECT_EQ(other.kind, Kind::kRefused);
  EXPECT_EQ(other.reason, "issuer not configured");
  EXPECT_EQ(other.idp, "");

  const IdpVerdict garbage = VerifyNow("not.a-token");
  EXPECT_EQ(garbage.kind, Kind::kRefused);
  EXPECT_NE(garbage.reason.find("malformed token"), std::string::npos) << garbage.reason;
  EXPECT_EQ(source_->fetches(kJwksUri), 0);
}

TEST_F(IdpRegistryTest, BadSignatureIsRefusedAndTheReasonHoldsNoToken) {
  ASSERT_EQ(VerifyNow(Token("k1", Keys().rsa.get())).kind, Kind::kVerified);
  const std::string forged = Token("k1", Keys().rsa2.get());
  const IdpVerdict verdict = VerifyNow(forged, kNow + 100);
  EXPECT_EQ(verdict.kind, Kind::kRefused);
  EXPECT_FALSE(verdict.reason.empty());
  EXPECT_EQ(verdict.reason.find(forged.substr(forged.rfind('.') + 1, 20)), std::string::npos);
  EXPECT_EQ(source_->fetches(kJwksUri), 1) << "a bad signature is not cured by a refetch";
}

TEST_F(IdpRegistryTest, UnknownKidRefetchesOnceAfterRotation) {
  ASSERT_EQ(VerifyNow(Token("k1", Keys().rsa.get())).kind, Kind::kVerified);
  source_->Serve(kJwksUri, JwksText({{"k1", Keys().rsa.get()}, {"k2", Keys().rsa2.get()}}));
  const IdpVerdict rotated = VerifyNow(Token("k2", Keys().rsa2.get()), kNow + 61);
  EXPECT_EQ(rotated.kind, Kind::kVerified) << rotated.reason;
  EXPECT_EQ(source_->fetches(kJwksUri), 2);
  EXPECT_EQ(VerifyNow(Token("k2", Keys().rsa2.get()), kNow + 62).kind, Kind::kVerified);
  EXPECT_EQ(source_->fetches(kJwksUri), 2);
}

TEST_F(IdpRegistryTest, UnknownKidRefetchesAtMostOncePerMinute) {
  ASSERT_EQ(VerifyNow(Token("k1", Keys().rsa.get())).kind, Kind::kVerified);
  const std::string stranger = Token("k9", Keys().rsa2.get());
  EXPECT_EQ(VerifyNow(stranger, kNow + 30).kind, Kind::kRefused) << "too soon after the fetch";
  EXPECT_EQ(source_->fetches(kJwksUri), 1);
  EXPECT_EQ(VerifyNow(stranger, kNow + 60).kind, Kind::kRefused);
  EXPECT_EQ(source_->fetches(kJwksUri), 2);
  EXPECT_EQ(VerifyNow(stranger, kNow + 119).kind, Kind::kRefused);
  EXPECT_EQ(source_->fetches(kJwksUri), 2) << "second unknown kid within 60 s";
  EXPECT_EQ(VerifyNow(stranger, kNow + 120).kind, Kind::kRefused);
  EXPECT_EQ(source_->fetches(kJwksUri), 3);
}

TEST_F(IdpRegistryTest, SourceDownKeepsTheCachedKeys) {
  ASSERT_EQ(VerifyNow(Token("k1", Keys().rsa.get())).kind, Kind::kVerified);
  source_->SetDown(true);
  EXPECT_EQ(VerifyNow(Token("k9", Keys().rsa2.get()), kNow + 61).kind, Kind::kRefused);
  EXPECT_EQ(source_->fetches(kJwksUri), 2) << "the refetch was tried and failed";
  const IdpVerdict verdict = VerifyNow(Token("k1", Keys().rsa.get()), kNow + 62);
  EXPECT_EQ(verdict.kind, Kind::kVerified) << verdict.reason;
  const std::vector<IdpInfo> list = registry_->List();
  EXPECT_EQ(list[0].keys, 1u);
  EXPECT_EQ(list[0].last_fetch, kNow);
  EXPECT_NE(list[0].last_error.find("scripted outage"), std::string::npos) << list[0].last_error;
}

TEST_F(IdpRegistryTest, SourceDownWithoutCacheIsUnavailableThenRecovers) {
  source_->SetDown(true);
  const IdpVerdict down = VerifyNow(Token("k1", Keys().rsa.get()));
  EXPECT_EQ(down.kind, Kind::kUnavailable);
  EXPECT_EQ(down.idp, "corp");
  EXPECT_NE(down.log_detail.find("scripted outage"), std::string::npos) << down.log_detail;
  EXPECT_EQ(VerifyNow(Token("k1", Keys().rsa.get()), kNow + 1).kind, Kind::kUnavailable);
  EXPECT_EQ(source_->fetches(kJwksUri), 1) << "retries are spaced by kJwksRetrySeconds";
  source_->SetDown(false);
  EXPECT_EQ(VerifyNow(Token("k1", Keys().rsa.get()), kNow + kJwksRetrySeconds).kind,
            Kind::kVerified);
  EXPECT_EQ(source_->fetches(kJwksUri), 2);
}

TEST_F(IdpRegistryTest, ConcurrentFirstVerificationsShareOneFetch) {
  source_->Hold();
  std::vector<std::shared_ptr<std::optional<IdpVerdict>>> slots;
  for (int i = 0; i < 8; ++i) slots.push_back(StartVerify(Token("k1", Keys().rsa.get()), kNow));
  ASSERT_TRUE(RunUntil([&] { return source_->fetches(kJwksUri) == 1; }));
  RunUntil([] { return false; }, milliseconds(20));  // every Verify reaches the flight
  source_->Release();
  ASSERT_TRUE(RunUntil([&] {
    return std::all_of(slots.begin(), slots.end(), [](const auto& s) { return s->has_value(); });
  }));
  for (const auto& slot : slots) EXPECT_EQ((*slot)->kind, Kind::kVerified) << (*slot)->reason;
  EXPECT_EQ(source_->fetches(kJwksUri), 1);
}

TEST_F(IdpRegistryTest, DiscoveryFindsTheJwksUriWhenNoneIsConfigured) {
  Build({Corp("")});
  const std::string keys_uri = "https://keys.example.com/corp";
  source_->Serve(kDiscoveryUri,
                 nlohmann::json{{"issuer", kIssuer}, {"jwks_uri", keys_uri}}.dump());
  source_->Serve(keys_uri, JwksText({{"k1", Keys().rsa.get()}}));
  const IdpVerdict verdict = VerifyNow(Token("k1", Keys().rsa.get()));
  EXPECT_EQ(verdict.kind, Kind::kVerified) << verdict.reason;
  EXPECT_EQ(source_->fetches(kDiscoveryUri), 1);
  EXPECT_EQ(source_->fetches(keys_uri), 1);
  EXPECT_EQ(source_->fetches(kJwksUri), 0);
  const std::vector<IdpInfo> list = registry_->List();
  EXPECT_EQ(list[0].jwks_uri, keys_uri);
  EXPECT_TRUE(list[0].discovery);
}

TEST_F(IdpRegistryTest, DiscoveryNamingAnotherIssuerIsUnavailable) {
  Build({Corp("")});
  source_->Serve(kDiscoveryUri, nlohmann::json{{"issuer", "https://evil.example.com"},
                                               {"jwks_uri", kJwksUri}}
                                    .dump());
  const IdpVerdict verdict = VerifyNow(Token("k1", Keys().rsa.get()));
  EXPECT_EQ(verdict.kind, Kind::kUnavailable);
  EXPECT_NE(verdict.log_detail.find("another issuer"), std::string::npos) << verdict.log_detail;
  EXPECT_EQ(source_->fetches(kJwksUri), 0);
}

TEST_F(IdpRegistryTest, PrefetchFillsTheCacheAtStartUp) {
  registry_->Prefetch(kNow);
  ASSERT_TRUE(RunUntil([&] { return registry_->List()[0].keys == 1; }));
  EXPECT_EQ(VerifyNow(Token("k1", Keys().rsa.get())).kind, Kind::kVerified);
  EXPECT_EQ(source_->fetches(kJwksUri), 1);
}

}  // namespace
}  // namespace dbproxy
