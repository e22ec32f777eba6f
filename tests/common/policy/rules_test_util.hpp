// Helpers shared by the rule engine tests: parse a policy from TOML text and evaluate a call.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/policy/policy.hpp"

namespace dbproxy::rules_test {

// 2024-01-01T10:30:00Z, a Monday.
inline constexpr std::int64_t kMonday1030 = 1704105000;
inline constexpr std::int64_t kHour = 3600;
inline constexpr std::int64_t kDay = 24 * kHour;

inline Result<Policy> ParseText(std::string_view text, std::string_view name = "50-rules.toml") {
  return ParsePolicy({PolicySource{.name = std::string(name), .text = std::string(text)}});
}

inline Policy MustParse(std::string_view text) {
  Result<Policy> policy = ParseText(text);
  if (!policy) {
    ADD_FAILURE() << policy.error().message << "\nin:\n" << text;
    return {};
  }
  return std::move(policy).value();
}

// The error message of a policy that must not parse ("" and a failure when it parses).
inline std::string ParseError(std::string_view text) {
  Result<Policy> policy = ParseText(text);
  if (policy) {
    ADD_FAILURE() << "parsed unexpectedly:\n" << text;
    return {};
  }
  EXPECT_EQ(policy.error().code, Errc::kInvalidRequest);
  return policy.error().message;
}

// Who calls and what it asks for.
struct Call {
  std::string service;
  RequestFacts facts{};
  CallerIdentity identity{};
  std::vector<std::string> group_names{};
  std::vector<std::string> granted{};
  bool has_grants = false;  // whether to pass `granted` (null otherwise)
};

inline Call CallOf(std::string service, std::string action, std::int64_t now = kMonday1030) {
  Call call{.service = std::move(service)};
  call.facts.action = std::move(action);
  call.facts.workspace = "prod";
  call.facts.now_unix = now;
  call.identity.uid = 1000;  // not root
  call.identity.gid = 1000;
  return call;
}

inline EvalInput InputOf(const Policy& policy, const Call& call) {
  const Service* service = policy.FindService(call.service);
  EXPECT_NE(service, nullptr) << "no service " << call.service;
  return EvalInput{.service = service,
                   .identity = &call.identity,
                   .group_names = &call.group_names,
                   .facts = &call.facts,
                   .granted_roles = call.has_grants ? &call.granted : nullptr};
}

inline Decision Decide(const Policy& policy, const Call& call,
                       std::vector<TraceStep>* trace = nullptr) {
  const EvalInput input = InputOf(policy, call);
  if (input.service == nullptr) return {};
  return Evaluate(policy, input, trace);
}

// "allow:<rule>" or "deny:<rule>": one string to compare in table-driven tests.
inline std::string Outcome(const Decision& decision) {
  return (decision.allow ? "allow:" : "deny:") + decision.rule;
}

inline std::string Bypass(const Policy& policy, const Call& call, std::string_view scope) {
  const EvalInput input = InputOf(policy, call);
  if (input.service == nullptr) return "<no service>";
  return RawTokenBypass(policy, input, scope);
}

inline std::string TraceText(const std::vector<TraceStep>& trace) {
  std::string out;
  for (const TraceStep& step : trace)
    out += step.subject + " -> " + step.outcome + "\n";
  return out;
}

}  // namespace dbproxy::rules_test
