// TokenBroker through its seams: a fake clock and a fake TokenUpstream, coroutines driven on an
// io_context owned by the test, grants on a real (small) thread pool.
#include "agent/token/token_broker.hpp"

#include <gtest/gtest.h>

#include <sodium.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "common/identity/jwks.hpp"
#include "common/identity/jwt.hpp"
#include "tests/agent/run_until.hpp"

namespace dbproxy {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kStartMs = 1'800'000'000'000;
constexpr char kHost[] = "https://prod.example.com";

// One scripted answer of the fake token endpoint.
struct Reply {
  std::int64_t expires_in = 3600;
  std::optional<Errc> error = std::nullopt;
  int retry_after_seconds = 0;
};

// Threading: Grant/Discover run on pool threads; the test thread scripts and inspects.
class FakeUpstream final : public TokenUpstream {
 public:
  explicit FakeUpstream(std::function<void()> during_grant)
      : during_grant_(std::move(during_grant)) {}

  Result<OidcEndpoints> Discover(const std::string& host) override {
    const std::lock_guard lock(mutex_);
    ++discoveries_;
    return OidcEndpoints{.issuer = host, .token_endpoint = host + "/oidc/v1/token"};
  }

  Result<TokenGrant> Grant(const std::string& token_endpoint, const std::string& client_id,
                           const SecretBytes& secret, const std::string& scope) override {
    return Answer(token_endpoint, client_id, secret.view() == "s3cret", "", scope);
  }

  Result<TokenGrant> Exchange(const std::string& token_endpoint, const std::string& client_id,
                              const SecretBytes& subject_token, const std::string& scope) override {
    return Answer(token_endpoint, client_id, false, std::string(subject_token.view()), scope);
  }

  Result<TokenGrant> Answer(const std::string& token_endpoint, const std::string& client_id,
                            bool secret_ok, std::string subject_token, const std::string& scope) {
    if (during_grant_) during_grant_();
    std::unique_lock lock(mutex_);
    const int number = ++started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
    last_endpoint_ = token_endpoint;
    last_client_id_ = client_id;
    last_secret_ok_ = secret_ok;
    last_subject_token_ = std::move(subject_token);
    const Reply reply = replies_.empty() ? Reply{} : replies_.front();
    if (!replies_.empty()) replies_.pop_front();
    if (reply.error) {
      Error error = MakeError(*reply.error, "scripted failure");
      error.retry_after_seconds = reply.retry_after_seconds;
      return error;
    }
    return TokenGrant{.access_token = SecretBytes::CopyFrom("token-" + std::to_string(number)),
                      .token_type = "Bearer",
                      .expires_in = reply.expires_in,
                      .scope = scope};
  }

  void Script(Reply reply) {
    const std::lock_guard lock(mutex_);
    replies_.push_back(reply);
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
  int started() {
    const std::lock_guard lock(mutex_);
    return started_;
  }
  int discoveries() {
    const std::lock_guard lock(mutex_);
    return discoveries_;
  }
  std::string last_client_id() {
    const std::lock_guard lock(mutex_);
    return last_client_id_;
  }
  std::string last_endpoint() {
    const std::lock_guard lock(mutex_);
    return last_endpoint_;
  }
  bool last_secret_ok() {
    const std::lock_guard lock(mutex_);
    return last_secret_ok_;
  }
  std::string last_subject_token() {
    const std::lock_guard lock(mutex_);
    return last_subject_token_;
  }

 private:
  std::function<void()> during_grant_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Reply> replies_;
  bool held_ = false;
  int started_ = 0;
  int discoveries_ = 0;
  std::string last_endpoint_;
  std::string last_client_id_;
  bool last_secret_ok_ = false;
  std::string last_subject_token_;
};

CredentialStoreData OneWorkspace() {
  CredentialStoreData data;
  StoredWorkspace workspace{.name = "prod", .host = kHost, .credentials = {}};
  workspace.credentials.push_back(StoredCredential{.name = "etl",
                                                   .client_id = "client-1",
                                                   .client_secret = SecretBytes::CopyFrom("s3cret"),
                                                   .enrolled_at = 1});
  data.workspaces.push_back(std::move(workspace));
  return data;
}

using TokenResult = Result<std::shared_ptr<const IssuedToken>>;

class TokenBrokerTest : public ::testing::Test {
 protected:
  TokenBrokerTest() {
    EXPECT_GE(sodium_init(), 0);
    store_ = std::make_unique<CredentialStore>("/nonexistent/credentials.enc", SecretBytes(32),
                                               OneWorkspace());
    auto upstream = std::make_unique<FakeUpstream>([this] { WhileGranting(); });
    upstream_ = upstream.get();
    broker_ = std::make_unique<TokenBroker>(io_.get_executor(), pool_, *store_,
                                            std::move(upstream),
                                            TokenSection{.refresh_ahead_seconds = 300,
                                                         .min_ttl_seconds = 60},
                                            [this] { return now_ms_; });
  }
  ~TokenBrokerTest() override {
    upstream_->Release();
    RunUntil([] { return false; }, milliseconds(50));  // let abandoned flights land
  }

  // Starts broker.Get(key, min_ttl) on the io_context; the slot is filled when it returns.
  std::shared_ptr<std::optional<TokenResult>> StartGet(const TokenKey& key, int min_ttl = 60) {
    auto slot = std::make_shared<std::optional<TokenResult>>();
    asio::co_spawn(
        io_,
        [this, &key, min_ttl, slot]() -> asio::awaitable<void> {
          slot->emplace(co_await broker_->Get(key, min_ttl));
        },
        asio::detached);
    return slot;
  }

  bool RunUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(5000)) {
    return testing::RunUntil(io_, done, timeout);
  }

  // Get, run to completion.
  TokenResult GetNow(const TokenKey& key, int min_ttl = 60) {
    auto slot = StartGet(key, min_ttl);
    EXPECT_TRUE(RunUntil([&] { return slot->has_value(); })) << "Get did not return";
    if (!slot->has_value()) return MakeError(Errc::kInternal, "Get did not return");
    return std::move(**slot);
  }

  // Called by the fake at the start of each grant, on a pool thread.
  void WhileGranting() {
    if (!probe_store_during_grant_) return;
    // Another thread reads the store, as the event loop does for status and metrics. Detached,
    // so that a regression fails this test instead of deadlocking it.
    auto read = std::make_shared<std::packaged_task<std::size_t()>>(
        [this] { return store_->workspace_count(); });
    std::future<std::size_t> done = read->get_future();
    std::thread([read] { (*read)(); }).detach();
    store_free_during_grant_ = done.wait_for(milliseconds(1000)) == std::future_status::ready;
  }

  void Advance(std::int64_t seconds) { now_ms_ += seconds * 1000; }

  asio::io_context io_;
  asio::thread_pool pool_{2};
  std::int64_t now_ms_ = kStartMs;
  std::unique_ptr<CredentialStore> store_;
  FakeUpstream* upstream_ = nullptr;
  std::unique_ptr<TokenBroker> broker_;
  std::atomic<bool> probe_store_during_grant_ = false;
  std::atomic<bool> store_free_during_grant_ = false;
  const TokenKey key_{.workspace = "prod", .credential = "etl", .scope = "all-apis"};
};

std::string TokenText(const TokenResult& result) {
  return result ? std::string((*result)->access_token.view()) : "error: " + result.error().message;
}

TEST_F(TokenBrokerTest, GrantUsesACopiedCredentialAndDiscoveredEndpoint) {
  const TokenResult token = GetNow(key_);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(TokenText(token), "token-1");
  EXPECT_EQ((*token)->host, kHost);
  EXPECT_EQ((*token)->fetched_at, kStartMs / 1000);
  EXPECT_EQ((*token)->expires_at, kStartMs / 1000 + 3600);
  EXPECT_EQ(upstream_->last_client_id(), "client-1");
  EXPECT_TRUE(upstream_->last_secret_ok());
  EXPECT_EQ(upstream_->last_endpoint(), std::string(kHost) + "/oidc/v1/token");
}

TEST_F(TokenBrokerTest, GrantRunsWithoutTheStoreLock) {
  probe_store_during_grant_ = true;
  ASSERT_TRUE(GetNow(key_));
  EXPECT_TRUE(store_free_during_grant_) << "the store was locked while the grant ran";
}

TEST_F(TokenBrokerTest, ConcurrentMissesShareOneGrant) {
  upstream_->Hold();
  std::vector<std::shared_ptr<std::optional<TokenResult>>> slots;
  for (int i = 0; i < 8; ++i) slots.push_back(StartGet(key_));
  ASSERT_TRUE(RunUntil([&] { return upstream_->started() == 1; }));
  RunUntil([] { return false; }, milliseconds(20));  // every Get reaches the flight
  upstream_->Release();
  ASSERT_TRUE(RunUntil([&] {
    return std::all_of(slots.begin(), slots.end(), [](const auto& s) { return s->has_value(); });
  }));
  for (const auto& slot : slots) EXPECT_EQ(TokenText(**slot), "token-1");
  EXPECT_EQ(upstream_->started(), 1);
  EXPECT_EQ(upstream_->discoveries(), 1);
  EXPECT_EQ(broker_->stats().misses, 8u);
  EXPECT_EQ(broker_->stats().grants, 1u);
  EXPECT_EQ(TokenText(GetNow(key_)), "token-1") << "then served from the cache";
  EXPECT_EQ(broker_->stats().hits, 1u);
}

TEST_F(TokenBrokerTest, RefreshesAheadWhileServingTheCachedToken) {
  ASSERT_EQ(TokenText(GetNow(key_)), "token-1");
  Advance(3600 - 301);  // just before the refresh point
  EXPECT_EQ(TokenText(GetNow(key_)), "token-1");
  RunUntil([] { return false; }, milliseconds(20));
  EXPECT_EQ(upstream_->started(), 1) << "no refresh before refresh_ahead_seconds";

  Advance(2);
  upstream_->Hold();
  EXPECT_EQ(TokenText(GetNow(key_)), "token-1") << "served at once while the refresh runs";
  ASSERT_TRUE(RunUntil([&] { return upstream_->started() == 2; }));
  EXPECT_EQ(broker_->stats().refreshes, 1u);
  ASSERT_EQ(broker_->List().size(), 1u);
  EXPECT_TRUE(broker_->List()[0].refreshing);
  upstream_->Release();
  ASSERT_TRUE(RunUntil([&] { return broker_->stats().grants == 2; }));
  EXPECT_EQ(TokenText(GetNow(key_)), "token-2");
}

TEST_F(TokenBrokerTest, FailureBacksOffHonouringRetryAfter) {
  upstream_->Script(Reply{.error = Errc::kUpstreamUnavailable, .retry_after_seconds = 30});
  const TokenResult failed = GetNow(key_);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::kUpstreamUnavailable);

  const TokenResult refused = GetNow(key_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kUpstreamUnavailable);
  EXPECT_EQ(refused.error().retry_after_seconds, 30);
  Advance(29);
  const TokenResult still = GetNow(key_);
  ASSERT_FALSE(still);
  EXPECT_EQ(still.error().retry_after_seconds, 1);
  EXPECT_EQ(upstream_->started(), 1) << "no attempt while backing off";

  Advance(1);
  EXPECT_EQ(TokenText(GetNow(key_)), "token-2");
  EXPECT_EQ(broker_->stats().failures, 1u);
}

TEST_F(TokenBrokerTest, ServesValidCachedTokenWhileRefreshFails) {
  ASSERT_EQ(TokenText(GetNow(key_)), "token-1");
  Advance(3600 - 200);  // inside the refresh window, 200 s left
  upstream_->Script(Reply{.error = Errc::kUpstreamUnavailable, .retry_after_seconds = 60});
  EXPECT_EQ(TokenText(GetNow(key_)), "token-1");
  ASSERT_TRUE(RunUntil([&] { return broker_->stats().failures == 1; }));

  EXPECT_EQ(TokenText(GetNow(key_)), "token-1") << "still valid: served while backing off";
  RunUntil([] { return false; }, milliseconds(20));
  EXPECT_EQ(upstream_->started(), 2) << "no new attempt while backing off";

  Advance(61);
  EXPECT_EQ(TokenText(GetNow(key_)), "token-1");
  ASSERT_TRUE(RunUntil([&] { return broker_->stats().grants == 2; }));
  EXPECT_EQ(TokenText(GetNow(key_)), "token-3");
}

TEST_F(TokenBrokerTest, RefusesTokensShorterThanMinTtl) {
  upstream_->Script(Reply{.expires_in = 30});
  const TokenResult short_lived = GetNow(key_, 60);
  ASSERT_FALSE(short_lived);
  EXPECT_EQ(short_lived.error().code, Errc::kUpstreamError);
  EXPECT_NE(short_lived.error().message.find("min_ttl_seconds (60)"), std::string::npos);

  // A cached token with too little left for this caller is not served: a new grant is made.
  EXPECT_EQ(TokenText(GetNow(key_, 10)), "token-1");
  EXPECT_EQ(TokenText(GetNow(key_, 60)), "token-2");
  EXPECT_EQ(upstream_->started(), 2);
}

TEST_F(TokenBrokerTest, ForgetDiscardsGrantInFlight) {
  upstream_->Hold();
  auto waiter = StartGet(key_);
  ASSERT_TRUE(RunUntil([&] { return upstream_->started() == 1; }));
  broker_->Forget("prod", "");
  upstream_->Release();
  ASSERT_TRUE(RunUntil([&] { return waiter->has_value(); }));
  RunUntil([] { return false; }, milliseconds(20));
  EXPECT_TRUE(broker_->List().empty()) << "the landed grant must not be cached";

  EXPECT_EQ(TokenText(GetNow(key_)), "token-2") << "the next Get makes a new grant";
  EXPECT_EQ(upstream_->discoveries(), 2) << "discovery is forgotten too";
}

TEST_F(TokenBrokerTest, UnknownWorkspaceIsNotFoundWithoutBackoff) {
  const TokenKey unknown{.workspace = "dev", .credential = "etl", .scope = "all-apis"};
  const TokenResult missing = GetNow(unknown);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_EQ(GetNow(unknown).error().code, Errc::kNotFound) << "asked again, not backed off";
  const TokenKey other{.workspace = "prod", .credential = "nope", .scope = "all-apis"};
  EXPECT_EQ(GetNow(other).error().code, Errc::kNotFound);
  EXPECT_EQ(upstream_->started(), 0);
}

// A federated credential: no secret; the broker signs a JWT with the store's key and exchanges it.
class FederatedTokenBrokerTest : public TokenBrokerTest {
 protected:
  static constexpr char kIssuer[] = "https://host.example/dbproxy";

  FederatedTokenBrokerTest() {
    CredentialStoreData data;
    StoredWorkspace workspace{.name = "prod", .host = kHost, .credentials = {}};
    workspace.credentials.push_back(StoredCredential{.name = "etl",
                                                     .client_id = "client-1",
                                                     .client_secret = SecretBytes(),
                                                     .enrolled_at = 1,
                                                     .federated = true,
                                                     .subject = "dbproxy:host:etl",
                                                     .audience = "https://aud.example"});
    data.workspaces.push_back(std::move(workspace));
    broker_.reset();
    store_ = std::make_unique<CredentialStore>(
        "/unused/credentials.enc", SecretBytes(32), std::move(data),
        [this](const std::string&, std::span<const unsigned char>, mode_t) {
          ++writes_;
          return Status::Ok();
        });
    auto upstream = std::make_unique<FakeUpstream>(nullptr);
    upstream_ = upstream.get();
    broker_ = std::make_unique<TokenBroker>(
        io_.get_executor(), pool_, *store_, std::move(upstream),
        TokenSection{.refresh_ahead_seconds = 300, .min_ttl_seconds = 60},
        [this] { return now_ms_; },
        FederationSection{
            .issuer = kIssuer, .algorithm = "ES256", .assertion_lifetime_seconds = 120});
  }

  // Verifies `jwt` against the store's published keys as Databricks would.
  JwtVerification VerifyAgainstPublishedKeys(const std::string& jwt) {
    const std::int64_t now = now_ms_ / 1000;
    Result<std::vector<PublishedSigningKey>> keys = store_->PublishedSigningKeys(now, 180);
    EXPECT_TRUE(keys);
    nlohmann::json document = {{"keys", nlohmann::json::array()}};
    for (const PublishedSigningKey& key : *keys)
      document["keys"].push_back(key.jwk);
    Result<Jwks> jwks = ParseJwks(document.dump());
    Result<ParsedJwt> parsed = ParseJwt(jwt);
    EXPECT_TRUE(jwks && parsed);
    return VerifyJwt(*parsed, *jwks,
                     JwtPolicy{.issuer = kIssuer,
                               .audiences = {"https://aud.example"},
                               .algorithms = {"ES256"},
                               .clock_skew_seconds = 0},
                     now);
  }

  int writes_ = 0;
};

TEST_F(FederatedTokenBrokerTest, ExchangesAJwtSignedWithAKeyCreatedOnFirstUse) {
  EXPECT_EQ(TokenText(GetNow(key_)), "token-1");
  EXPECT_EQ(writes_, 1) << "the first exchange creates and stores the signing key";
  EXPECT_EQ(upstream_->last_client_id(), "client-1");
  EXPECT_FALSE(upstream_->last_secret_ok()) << "no client-credentials grant";
  const std::string jwt = upstream_->last_subject_token();
  const JwtVerification verified = VerifyAgainstPublishedKeys(jwt);
  ASSERT_TRUE(verified) << verified.error().reason;
  EXPECT_EQ(verified->subject, "dbproxy:host:etl");
  const std::int64_t now = now_ms_ / 1000;
  EXPECT_EQ(verified->claims.value("iat", 0), now);
  EXPECT_EQ(verified->expires_at, now + 120);
  EXPECT_EQ(verified->claims.value("jti", "").size(), 32u);

  // Cached like any token; a new exchange (after a Forget) reuses the key and a fresh jti.
  EXPECT_EQ(TokenText(GetNow(key_)), "token-1");
  broker_->Forget("prod", "");
  EXPECT_EQ(TokenText(GetNow(key_)), "token-2");
  EXPECT_EQ(writes_, 1) << "the key is made once";
  const std::string second = upstream_->last_subject_token();
  ASSERT_TRUE(VerifyAgainstPublishedKeys(second));
  EXPECT_NE(ParseJwt(second)->claims.value("jti", ""), ParseJwt(jwt)->claims.value("jti", ""));
}

TEST_F(FederatedTokenBrokerTest, RotationSignsWithTheNewKeyAndKeepsTheOldOnePublished) {
  ASSERT_EQ(TokenText(GetNow(key_)), "token-1");
  const std::string before = ParseJwt(upstream_->last_subject_token())->header.kid;
  const std::int64_t now = now_ms_ / 1000;
  Result<std::string> rotated = store_->RotateSigningKey("ES256", now, 180);
  ASSERT_TRUE(rotated);
  EXPECT_NE(*rotated, before);
  broker_->Forget("prod", "");
  ASSERT_EQ(TokenText(GetNow(key_)), "token-2");
  EXPECT_EQ(ParseJwt(upstream_->last_subject_token())->header.kid, *rotated);
  EXPECT_EQ(store_->PublishedSigningKeys(now, 180)->size(), 2u) << "old key still published";
  EXPECT_EQ(store_->PublishedSigningKeys(now + 181, 180)->size(), 1u) << "then it is not";
  ASSERT_TRUE(store_->RotateSigningKey("ES256", now + 181, 180));
  EXPECT_EQ(store_->PublishedSigningKeys(now + 181, 180)->size(), 2u)
      << "the key retired long ago is deleted, the one retired now is kept";
}

}  // namespace
}  // namespace dbproxy
