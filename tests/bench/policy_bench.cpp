// policy_bench: cost of one policy decision on a large policy (1,000 rules, 50 services).
//
// Times every call on its own (steady_clock around the call) and prints mean, p50 and p99 per
// scenario, plus the cost of an empty timed region so the figures can be read net of it.
// A tool to run by hand, not a test:
//   build/<preset>/tests/bench/policy_bench [--calls N]   (default 1,000,000 per scenario)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/policy/policy.hpp"

namespace dbproxy {
namespace {

std::size_t CandidateCount(const dbproxy::Policy& policy, std::string_view action) {
  std::vector<std::size_t> scratch;
  return policy.CandidateRules(action, scratch).size();
}


constexpr int kRules = 1000;
constexpr int kServices = 50;
constexpr const char* kBenchService = "svc-49";

const std::vector<std::string> kLiteralActions = {
    "jobs.run",       "jobs.read",       "jobs.manage",     "clusters.read",     "clusters.manage",
    "sql.execute",    "sql.read",        "warehouses.read", "warehouses.manage", "uc.read",
    "workspace.read", "workspace.write", "dbfs.read",       "dbfs.write",        "secrets.read",
    "serving.query",  "token:all-apis",  "token:sql"};
const std::vector<std::string> kPatternActions = {
    "jobs.*", "clusters.*", "sql.*", "*.manage", "*.write", "uc.*", "*", "token:*", "*.read"};

constexpr char kRoles[] = R"(
[[role]]
name = "reader"
credential = "reader-sp"
actions = ["*.read"]

[[role]]
name = "analyst"
credential = "analyst-sp"
actions = ["sql.*", "token:sql"]
limits = { sql_row_limit_max = 1000, sql_warehouses = ["wh-1", "wh-2"] }

[[role]]
name = "etl"
credential = "etl-sp"
actions = ["jobs.*", "token:all-apis"]

[[role]]
name = "ops"
credential = "ops-sp"
actions = ["clusters.*", "warehouses.*"]
)";

std::string Quote(const std::string& text) {
  return "\"" + text + "\"";
}

std::string Services(std::mt19937& rng) {
  const std::vector<std::string> envs = {"production", "staging", "dev"};
  const std::vector<std::string> role_sets = {R"(["reader"])", R"(["etl", "reader"])",
                                              R"(["analyst"])", R"(["ops", "reader"])"};
  std::string out;
  for (int i = 0; i < kServices; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "svc-%02d", i);
    const bool bench = std::string(name) == kBenchService;
    out += "\n[[service]]\nname = " + Quote(name) +
           "\nmatch = { unit = " + Quote(std::string(name) + ".service") + " }\n";
    out += "attributes = { env = " + Quote(bench ? "sandbox" : envs[rng() % envs.size()]) +
           ", team = " + Quote(bench ? "team-bench" : "team-" + std::to_string(rng() % 8)) +
           ", tier = \"gold\" }\n";
    out += "roles = " +
           (bench ? std::string(R"(["reader", "analyst"])") : role_sets[rng() % role_sets.size()]) +
           "\n";
  }
  return out;
}

// One realistic condition on an attribute other than service.team/env/name.
std::string ExtraCondition(int kind, std::mt19937& rng) {
  switch (kind) {
    case 0:
      return R"("caller.uid" = { ge = )" + std::to_string(1000 + rng() % 100) + " }";
    case 1:
      return R"("request.workspace" = "ws-)" + std::to_string(rng() % 4) + "\"";
    case 2:
      return R"("time.utc" = { between = ["22:00", "06:00"] })";
    case 3:
      return R"("time.weekday" = ["sat", "sun"])";
    case 4:
      return R"("request.row_limit" = { gt = 10000 })";
    case 5:
      return R"("caller.unit" = { glob = "batch-*" })";
    default:
      return R"("request.warehouse" = { not_in = ["wh-1", "wh-2"] })";
  }
}

// Every generated rule has a first condition that is false for the bench service, so its
// requests walk past all of them; the two rules the scenarios need are written by hand.
std::string Rules(std::mt19937& rng) {
  std::string out =
      "\n[[rule]]\nid = \"rule-0000\"\neffect = \"deny\"\nactions = [\"secrets.read\"]\n"
      "when = { \"service.team\" = \"team-bench\" }\n";
  for (int i = 1; i < kRules - 1; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "rule-%04d", i);
    std::string actions;
    if (rng() % 10 < 3) {
      actions = Quote(kPatternActions[rng() % kPatternActions.size()]);
    } else {
      actions = Quote(kLiteralActions[rng() % kLiteralActions.size()]);
      if (rng() % 3 == 0) actions += ", " + Quote(kLiteralActions[rng() % kLiteralActions.size()]);
    }
    std::string when;
    switch (rng() % 3) {
      case 0:
        when = R"("service.team" = "team-)" + std::to_string(rng() % 8) + "\"";
        break;
      case 1:
        when = R"("service.env" = ["production", "staging", "dev"])";
        break;
      default:
        when = R"("service.name" = "svc-)" + std::to_string(rng() % 49) + "\"";
        break;
    }
    const int extra = static_cast<int>(rng() % 3);
    const int first_kind = static_cast<int>(rng() % 7);
    for (int k = 0; k < extra; ++k)
      when += ", " + ExtraCondition((first_kind + k) % 7, rng);
    out += "\n[[rule]]\nid = \"" + std::string(id) + "\"\neffect = \"" +
           (rng() % 5 == 0 ? "allow" : "deny") + "\"\nactions = [" + actions + "]\nwhen = { " +
           when + " }\n";
    if (rng() % 5 == 0) out += "unless = { \"request.workspace\" = \"ws-0\" }\n";
  }
  out +=
      "\n[[rule]]\nid = \"rule-0999\"\neffect = \"allow\"\nactions = [\"uc.write\"]\n"
      "when = { \"service.team\" = \"team-bench\" }\n";
  return out;
}

struct Stats {
  double mean = 0;
  std::int64_t p50 = 0;
  std::int64_t p99 = 0;
};

Stats Measure(int calls, const std::function<void()>& call) {
  std::vector<std::int64_t> samples(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls / 100; ++i)
    call();  // warm up
  for (std::int64_t& sample : samples) {
    const auto start = std::chrono::steady_clock::now();
    call();
    const auto end = std::chrono::steady_clock::now();
    sample = std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
  }
  Stats stats;
  for (std::int64_t sample : samples)
    stats.mean += static_cast<double>(sample);
  stats.mean /= static_cast<double>(samples.size());
  auto at = [&samples](double quantile) {
    auto nth = samples.begin() + static_cast<std::ptrdiff_t>(quantile * (samples.size() - 1));
    std::nth_element(samples.begin(), nth, samples.end());
    return *nth;
  };
  stats.p50 = at(0.50);
  stats.p99 = at(0.99);
  return stats;
}

volatile std::size_t benchmark_sink = 0;

int Run(int calls) {
  std::mt19937 rng(42);
  const std::string text = Services(rng) + kRoles + Rules(rng);
  Result<Policy> parsed = ParsePolicy({PolicySource{.name = "bench.toml", .text = text}});
  if (!parsed) {
    std::fprintf(stderr, "policy_bench: %s\n", parsed.error().message.c_str());
    return 1;
  }
  const Policy& policy = *parsed;
  const Service* service = policy.FindService(kBenchService);
  CallerIdentity identity;
  identity.uid = 1000;
  identity.unit = std::string(kBenchService) + ".service";
  const std::vector<std::string> no_groups;

  struct Scenario {
    const char* name;
    std::string action;
    const char* expect;  // the decision's rule, checked once before timing
  };
  const std::vector<Scenario> scenarios = {
      {"allow late, by role (sql.execute)", "sql.execute", "role:analyst"},
      {"allow late, last allow rule (uc.write)", "uc.write", "rule-0999"},
      {"deny early, first rule (secrets.read)", "secrets.read", "rule-0000"},
      {"token, by role (token:sql)", "token:sql", "role:analyst"},
  };
  std::printf("policy: %zu rules (%zu with patterns), %zu services, %zu roles; %d calls each\n\n",
              policy.rules.size(), policy.pattern_rule_count, policy.services.size(),
              policy.roles.size(), calls);
  std::printf("%-42s %10s %10s %8s %8s\n", "Evaluate", "candidates", "mean ns", "p50 ns", "p99 ns");
  for (const Scenario& scenario : scenarios) {
    const RequestFacts facts{.action = scenario.action,
                             .workspace = "ws-9",
                             .method = "POST",
                             .path = "/api/2.0/sql/statements",
                             .warehouse = "wh-1",
                             .row_limit = 100,
                             .byte_limit = {},
                             .statement_bytes = 64,
                             .job_id = {},
                             .now_unix = 1704105000};
    const EvalInput input{.service = service,
                          .identity = &identity,
                          .group_names = &no_groups,
                          .facts = &facts,
                          .granted_roles = nullptr};
    const Decision check = Evaluate(policy, input);
    if (check.rule != scenario.expect) {
      std::fprintf(stderr, "policy_bench: %s decided %s, expected %s\n", scenario.name,
                   check.rule.c_str(), scenario.expect);
      return 1;
    }
    const Stats stats = Measure(
        calls, [&] { benchmark_sink = benchmark_sink + Evaluate(policy, input).rule.size(); });
    std::printf("%-42s %10zu %10.0f %8lld %8lld\n", scenario.name,
                CandidateCount(policy, scenario.action), stats.mean,
                static_cast<long long>(stats.p50), static_cast<long long>(stats.p99));
  }

  std::printf("\n%-42s %10s %10s %8s %8s\n", "Other", "", "mean ns", "p50 ns", "p99 ns");
  auto row = [](const char* name, const Stats& stats) {
    std::printf("%-42s %10s %10.0f %8lld %8lld\n", name, "", stats.mean,
                static_cast<long long>(stats.p50), static_cast<long long>(stats.p99));
  };
  row("MatchService, last of 50 services", Measure(calls, [&] {
        benchmark_sink = benchmark_sink + MatchService(policy, identity, no_groups).has_value();
      }));
  CallerIdentity stranger = identity;
  stranger.unit = "nobody.service";
  row("MatchService, no match (error)", Measure(calls, [&] {
        benchmark_sink = benchmark_sink + MatchService(policy, stranger, no_groups).has_value();
      }));
  const RequestFacts token_facts{.action = "token:sql",
                                 .workspace = "ws-9",
                                 .method = {},
                                 .path = {},
                                 .warehouse = {},
                                 .row_limit = {},
                                 .byte_limit = {},
                                 .statement_bytes = {},
                                 .job_id = {},
                                 .now_unix = 1704105000};
  const EvalInput token_input{.service = service,
                              .identity = &identity,
                              .group_names = &no_groups,
                              .facts = &token_facts,
                              .granted_roles = nullptr};
  // RawTokenBypass walks every deny rule for every known action: far slower, so fewer calls.
  const int bypass_calls = std::max(1000, calls / 100);
  const std::string bypass_name =
      "RawTokenBypass, scope sql (" + std::to_string(bypass_calls) + " calls)";
  row(bypass_name.c_str(), Measure(bypass_calls, [&] {
        benchmark_sink = benchmark_sink + RawTokenBypass(policy, token_input, "sql").size();
      }));
  row("empty timed region (clock overhead)",
      Measure(calls, [] { benchmark_sink = benchmark_sink + 1; }));
  return 0;
}

}  // namespace
}  // namespace dbproxy

int main(int argc, char** argv) {
  int calls = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
      calls = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--calls N]\n", argv[0]);
      return 2;
    }
  }
  if (calls < 100) calls = 100;
  try {
    return dbproxy::Run(calls);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "policy_bench: %s\n", error.what());
    return 1;
  }
}
