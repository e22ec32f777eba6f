#include "agent/identity/idp_registry.hpp"

#include <optional>

#include <nlohmann/json.hpp>

#include "agent/blocking.hpp"
#include "agent/log.hpp"
#include "agent/loop_waiter.hpp"

namespace dbproxy {
namespace {

// OpenID Connect Discovery 1.0 section 4: the issuer (without a trailing '/') followed by the
// well-known path; the document's "issuer" must be the configured issuer exactly.
Result<std::string> DiscoverJwksUri(JwksSource& source, const IdpSection& idp) {
  std::string url = idp.issuer;
  if (url.ends_with('/')) url.pop_back();
  url += "/.well-known/openid-configuration";
  Result<std::string> body = source.Fetch(url, idp.ca_file);
  if (!body) return std::move(body).error();
  const nlohmann::json doc = nlohmann::json::parse(*body, nullptr, false);
  const auto refuse = [&](const std::string& why) {
    return MakeError(Errc::kUpstreamError, "identity provider discovery failed: " + why, url);
  };
  if (doc.is_discarded() || !doc.is_object()) return refuse("document is not a JSON object");
  const auto issuer = doc.find("issuer");
  if (issuer == doc.end() || !issuer->is_string() || issuer->get<std::string>() != idp.issuer) {
    return refuse("document names another issuer");
  }
  const auto jwks_uri = doc.find("jwks_uri");
  if (jwks_uri == doc.end() || !jwks_uri->is_string() ||
      !jwks_uri->get<std::string>().starts_with("https://")) {
    return refuse("document has no https jwks_uri");
  }
  return jwks_uri->get<std::string>();
}

// On the blocking pool: discovery when jwks_uri is not configured (each time, so a provider
// that moves its keys is followed), then the JWKS. `uri` receives the URL used.
Result<Jwks> FetchJwks(JwksSource& source, const IdpSection& idp, std::string& uri) {
  uri = idp.jwks_uri;
  if (uri.empty()) {
    Result<std::string> discovered = DiscoverJwksUri(source, idp);
    if (!discovered) return std::move(discovered).error();
    uri = std::move(*discovered);
  }
  Result<std::string> body = source.Fetch(uri, idp.ca_file);
  if (!body) return std::move(body).error();
  Result<Jwks> jwks = ParseJwks(*body);
  if (!jwks) {
    Error error = std::move(jwks).error();
    error.log_detail = uri + ": " + error.message;
    return error;
  }
  return jwks;
}

}  // namespace

struct IdpRegistry::Flight {
  std::int64_t started_at = 0;
  std::vector<std::shared_ptr<LoopWaiter>> waiters;  // guarded by mutex_
};

struct IdpRegistry::Idp {
  explicit Idp(IdpSection section)
      : config(std::move(section)),
        policy{.issuer = config.issuer,
               .audiences = config.audiences,
               .algorithms = config.algorithms,
               .clock_skew_seconds = config.clock_skew_seconds} {}
  const IdpSection config;
  const JwtPolicy policy;
  // Guarded by the registry's mutex_.
  JwksPtr jwks;
  std::shared_ptr<Flight> flight;  // set while a fetch runs
  std::optional<std::int64_t> last_attempt;
  std::int64_t last_fetch = 0;
  std::string last_error;
  std::string used_uri;
};

IdpRegistry::IdpRegistry(asio::any_io_executor executor, asio::thread_pool& pool,
                         const std::vector<IdpSection>& idps)
    : IdpRegistry(std::move(executor), pool, idps, std::make_unique<HttpJwksSource>()) {}

IdpRegistry::IdpRegistry(asio::any_io_executor executor, asio::thread_pool& pool,
                         const std::vector<IdpSection>& idps, std::unique_ptr<JwksSource> source)
    : executor_(std::move(executor)), pool_(pool), source_(std::move(source)) {
  for (const IdpSection& idp : idps) idps_.push_back(std::make_unique<Idp>(idp));
}

IdpRegistry::~IdpRegistry() = default;

std::size_t IdpRegistry::Choose(std::string_view token, std::optional<ParsedJwt>& parsed,
                                IdpVerdict& verdict) const {
  Result<ParsedJwt> parsing = ParseJwt(token);
  if (!parsing) {
    verdict.reason = parsing.error().message;
    return idps_.size();
  }
  parsed = std::move(*parsing);
  std::size_t index = idps_.size();
  if (const auto iss = parsed->claims.find("iss"); iss != parsed->claims.end() && iss->is_string()) {
    for (std::size_t i = 0; i < idps_.size(); ++i) {
      if (idps_[i]->config.issuer == iss->get_ref<const std::string&>()) index = i;
    }
  }
  if (index == idps_.size()) {
    verdict.reason = "issuer not configured";
  } else {
    verdict.idp = idps_[index]->config.name;
  }
  return index;
}

IdpVerdict IdpRegistry::Conclude(std::size_t index, JwtVerification checked,
                                 IdpVerdict verdict) const {
  if (!checked) {
    verdict.reason = checked.error().reason;
    return verdict;
  }
  verdict.kind = IdpVerdict::Kind::kVerified;
  verdict.jwt = std::move(checked).value();
  verdict.attributes = ClaimAttributes(verdict.jwt, idps_[index]->config.claims);
  return verdict;
}

asio::awaitable<IdpVerdict> IdpRegistry::Verify(std::string_view token, std::int64_t now_unix) {
  IdpVerdict verdict;
  std::optional<ParsedJwt> parsed;
  const std::size_t index = Choose(token, parsed, verdict);
  if (index == idps_.size()) co_return verdict;
  const Idp& idp = *idps_[index];
  JwksPtr keys = co_await Keys(index, now_unix, false, nullptr);
  if (!keys) co_return Unavailable(index);
  JwtVerification checked = VerifyJwt(*parsed, *keys, idp.policy, now_unix);
  if (!checked && checked.error().code == JwtErrc::kUnknownKey) {
    // Perhaps the provider rotated its keys since we fetched them.
    JwksPtr fresh = co_await Keys(index, now_unix, true, keys);
    if (fresh && fresh != keys) checked = VerifyJwt(*parsed, *fresh, idp.policy, now_unix);
  }
  co_return Conclude(index, std::move(checked), std::move(verdict));
}

IdpVerdict IdpRegistry::VerifyCached(std::string_view token, std::int64_t now_unix) const {
  IdpVerdict verdict;
  std::optional<ParsedJwt> parsed;
  const std::size_t index = Choose(token, parsed, verdict);
  if (index == idps_.size()) return verdict;
  const Idp& idp = *idps_[index];
  JwksPtr keys;
  {
    std::lock_guard lock(mutex_);
    keys = idp.jwks;
  }
  if (!keys) {
    verdict.kind = IdpVerdict::Kind::kUnavailable;
    verdict.reason = "no keys of identity provider '" + idp.config.name +
                     "' are cached yet (the agent fetches them at start and on first use)";
    return verdict;
  }
  return Conclude(index, VerifyJwt(*parsed, *keys, idp.policy, now_unix), std::move(verdict));
}

asio::awaitable<IdpRegistry::JwksPtr> IdpRegistry::Keys(std::size_t index,
                                                        std::int64_t now_unix, bool refresh,
                                                        JwksPtr seen) {
  Idp& idp = *idps_[index];
  std::shared_ptr<Flight> flight;
  std::shared_ptr<Flight> started;
  std::shared_ptr<LoopWaiter> waiter;
  const asio::any_io_executor here = co_await asio::this_coro::executor;
  {
    std::unique_lock lock(mutex_);
    if (idp.jwks && (!refresh || idp.jwks != seen)) {
      JwksPtr cached = idp.jwks;
      lock.unlock();
      co_return cached;
    }
    if (!idp.flight) {
      const std::int64_t pause = idp.jwks ? kJwksRefetchSeconds : kJwksRetrySeconds;
      if (idp.last_attempt && now_unix < *idp.last_attempt + pause) {
        JwksPtr cached = idp.jwks;  // may be null: unavailable until the pause is over
        lock.unlock();
        co_return cached;
      }
      started = NewFlight(idp, now_unix);
    }
    flight = idp.flight;
    waiter = std::make_shared<LoopWaiter>(here);
    flight->waiters.push_back(waiter);
  }
  if (started) Launch(index, std::move(started));
  co_await waiter->Wait();
  std::lock_guard lock(mutex_);
  JwksPtr landed = idp.jwks;  // the fetched keys, or the cached ones if the fetch failed
  co_return landed;
}

std::shared_ptr<IdpRegistry::Flight> IdpRegistry::NewFlight(Idp& idp, std::int64_t now_unix) {
  idp.flight = std::make_shared<Flight>();
  idp.flight->started_at = now_unix;
  idp.last_attempt = now_unix;
  return idp.flight;
}

void IdpRegistry::Launch(std::size_t index, std::shared_ptr<Flight> flight) {
  asio::co_spawn(executor_, Fly(index, std::move(flight)), asio::detached);
}

asio::awaitable<void> IdpRegistry::Fly(std::size_t index, std::shared_ptr<Flight> flight) {
  const IdpSection& config = idps_[index]->config;  // immutable: no lock needed
  std::string uri;
  Result<Jwks> fetched =
      co_await RunBlocking(pool_, [&] { return FetchJwks(*source_, config, uri); });
  Land(index, flight, std::move(fetched), std::move(uri));
}

void IdpRegistry::Land(std::size_t index, const std::shared_ptr<Flight>& flight,
                       Result<Jwks> fetched, std::string uri) {
  Idp& idp = *idps_[index];
  std::vector<std::shared_ptr<LoopWaiter>> waiters;
  std::string message;
  {
    std::lock_guard lock(mutex_);
    if (!uri.empty()) idp.used_uri = std::move(uri);
    if (fetched) {
      for (const SkippedJwk& skipped : fetched->skipped) {
        message += "; skipped key " + skipped.kid + ": " + skipped.reason;
      }
      idp.jwks = std::make_shared<const Jwks>(std::move(*fetched));
      idp.last_fetch = flight->started_at;
      idp.last_error.clear();
      message = "idp '" + idp.config.name + "': fetched " + std::to_string(idp.jwks->keys.size()) +
                " keys from " + idp.used_uri + message;
    } else {
      const Error& error = fetched.error();
      idp.last_error =
          error.message + (error.log_detail.empty() ? "" : " (" + error.log_detail + ")");
      message = "idp '" + idp.config.name + "': JWKS fetch failed: " + idp.last_error +
                (idp.jwks ? "; keeping the cached keys" : "");
    }
    if (idp.flight == flight) idp.flight.reset();
    waiters.swap(flight->waiters);
  }
  Log(fetched ? LogLevel::kInfo : LogLevel::kWarning, message);
  for (std::shared_ptr<LoopWaiter>& waiter : waiters) LoopWaiter::Wake(std::move(waiter));
}

IdpVerdict IdpRegistry::Unavailable(std::size_t index) const {
  const Idp& idp = *idps_[index];
  IdpVerdict verdict;
  verdict.kind = IdpVerdict::Kind::kUnavailable;
  verdict.idp = idp.config.name;
  verdict.reason = "the keys of identity provider '" + idp.config.name + "' are unavailable";
  std::lock_guard lock(mutex_);
  verdict.log_detail = idp.last_error;
  return verdict;
}

void IdpRegistry::Prefetch(std::int64_t now_unix) {
  std::vector<std::pair<std::size_t, std::shared_ptr<Flight>>> started;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < idps_.size(); ++i) {
      Idp& idp = *idps_[i];
      if (!idp.jwks && !idp.flight) started.emplace_back(i, NewFlight(idp, now_unix));
    }
  }
  for (auto& [index, flight] : started) Launch(index, std::move(flight));
}

std::vector<IdpInfo> IdpRegistry::List() const {
  std::lock_guard lock(mutex_);
  std::vector<IdpInfo> out;
  for (const std::unique_ptr<Idp>& idp : idps_) {
    out.push_back(IdpInfo{.name = idp->config.name,
                          .issuer = idp->config.issuer,
                          .jwks_uri = idp->config.jwks_uri.empty() ? idp->used_uri
                                                                   : idp->config.jwks_uri,
                          .discovery = idp->config.jwks_uri.empty(),
                          .keys = idp->jwks ? idp->jwks->keys.size() : 0,
                          .last_fetch = idp->last_fetch,
                          .last_error = idp->last_error});
  }
  return out;
}

}  // namespace dbproxy
