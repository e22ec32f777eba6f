#include "tests/fake_workspace/api/jobs_api.hpp"

#include <algorithm>
#include <string>

namespace dbproxy::fake {
namespace {

constexpr std::int64_t kRunsPageLimit = 25;  // runs/list's maximum page size in Jobs 2.1

FakeReply UnknownJob(std::int64_t id) {
  return InvalidParameter("Job " + std::to_string(id) + " does not exist.");
}

FakeReply UnknownRun(std::int64_t id) {
  return InvalidParameter("Run " + std::to_string(id) + " does not exist.");
}

// The id in query parameter `name`, or nullopt when it is missing or not an integer.
std::optional<std::int64_t> QueryId(const FakeRequest& request, const char* name) {
  const auto param = request.query.find(name);
  return param == request.query.end() ? std::nullopt : IdFrom(param->second);
}

nlohmann::json NewRun(WorkspaceState& state, std::optional<std::int64_t> job_id,
                      std::string_view run_name) {
  const std::int64_t run_id = state.next_run_id++;
  nlohmann::json run = {
      {"run_id", run_id},
      {"run_name", run_name},
      {"run_type", job_id ? "JOB_RUN" : "SUBMIT_RUN"},
      {"creator_user_name", "admin@example.com"},
      {"start_time", 1700000000000 + run_id},
      {"state",
       {{"life_cycle_state", "TERMINATED"}, {"result_state", "SUCCESS"}, {"state_message", ""}}}};
  if (job_id) {
    run["job_id"] = *job_id;
    run["number_in_job"] = ++state.runs_per_job[*job_id];
  }
  state.runs.Put(run_id, run);
  return run;
}

// runs/submit needs at least one task: Jobs 2.1+ "tasks", or a 2.0-style top-level task.
bool HasTask(const nlohmann::json& body) {
  if (body.contains("tasks")) return body["tasks"].is_array() && !body["tasks"].empty();
  for (const char* task : {"notebook_task", "spark_jar_task", "spark_python_task",
                           "spark_submit_task", "python_wheel_task", "sql_task"}) {
    if (body.contains(task)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::int64_t> IdFrom(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  std::int64_t id = 0;
  if (value.is_string() && ParseDecimal(value.get_ref<const std::string&>(), &id)) return id;
  return std::nullopt;
}

void SeedJobs(WorkspaceState& state) {
  const std::pair<std::int64_t, std::string_view> jobs[] = {
      {101, "nightly-etl"}, {102, "hourly-billing"}, {103, "weekly-report"}};
  for (const auto& [id, name] : jobs) {
    state.jobs[id] = {{"job_id", id},
                      {"creator_user_name", "admin@example.com"},
                      {"created_time", 1700000000000 + id},
                      {"settings", {{"name", name}, {"max_concurrent_runs", 1}}}};
  }
}

FakeReply HandleJobsList(const ApiContext& /*context*/, WorkspaceState& state) {
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& [id, job] : state.jobs)
    jobs.push_back(job);
  return JsonReply(200, {{"jobs", std::move(jobs)}, {"has_more", false}});
}

FakeReply HandleJobsGet(const ApiContext& context, WorkspaceState& state) {
  const auto id = QueryId(context.request, "job_id");
  if (!id) return InvalidParameter("Missing or invalid job_id");
  const auto job = state.jobs.find(*id);
  return job == state.jobs.end() ? UnknownJob(*id) : JsonReply(200, job->second);
}

FakeReply HandleJobsRunNow(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  const auto& body = std::get<nlohmann::json>(parsed);
  const auto id = body.contains("job_id") ? IdFrom(body["job_id"]) : std::nullopt;
  if (!id) return InvalidParameter("Missing or invalid job_id");
  const auto job = state.jobs.find(*id);
  if (job == state.jobs.end()) return UnknownJob(*id);
  const nlohmann::json run = NewRun(state, *id, job->second["settings"].value("name", ""));
  return JsonReply(200, {{"run_id", run["run_id"]}, {"number_in_job", run["number_in_job"]}});
}

// A repeated idempotency_token returns the run it created first, as Databricks does.
FakeReply HandleRunsSubmit(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  const auto& body = std::get<nlohmann::json>(parsed);
  if (!HasTask(body)) return InvalidParameter("At least one task is required.");
  std::string token;
  if (body.contains("idempotency_token")) {
    if (!body["idempotency_token"].is_string()) {
      return InvalidParameter("idempotency_token must be a string");
    }
    token = body["idempotency_token"].get<std::string>();
    if (const nlohmann::json* earlier = state.run_idempotency.Find(token)) {
      return JsonReply(200, {{"run_id", *earlier}});
    }
  }
  std::string name = "Untitled";
  if (body.contains("run_name") && body["run_name"].is_string()) name = body["run_name"];
  const nlohmann::json run = NewRun(state, std::nullopt, name);
  if (!token.empty()) state.run_idempotency.Put(token, run["run_id"]);
  return JsonReply(200, {{"run_id", run["run_id"]}});
}

// Newest first; optional job_id filter, offset and limit (1..25, default 25).
FakeReply HandleRunsList(const ApiContext& context, WorkspaceState& state) {
  const auto& query = context.request.query;
  std::optional<std::int64_t> job_id;
  if (query.contains("job_id") && !(job_id = QueryId(context.request, "job_id"))) {
    return InvalidParameter("Invalid job_id");
  }
  std::int64_t offset = 0;
  std::int64_t limit = kRunsPageLimit;
  if (query.contains("offset") && !ParseDecimal(query.at("offset"), &offset)) {
    return InvalidParameter("offset must be a non-negative integer");
  }
  if (query.contains("limit") &&
      (!ParseDecimal(query.at("limit"), &limit) || limit < 1 || limit > kRunsPageLimit)) {
    return InvalidParameter("limit must be between 1 and 25");
  }
  nlohmann::json runs = nlohmann::json::array();
  bool has_more = false;
  std::int64_t skipped = 0;
  for (auto it = state.runs.order.rbegin(); it != state.runs.order.rend(); ++it) {
    const nlohmann::json& run = *state.runs.Find(*it);
    if (job_id && run.value("job_id", std::int64_t{-1}) != *job_id) continue;
    if (skipped++ < offset) continue;
    if (static_cast<std::int64_t>(runs.size()) == limit) {
      has_more = true;
      break;
    }
    runs.push_back(run);
  }
  return JsonReply(200, {{"runs", std::move(runs)}, {"has_more", has_more}});
}

FakeReply HandleRunsGet(const ApiContext& context, WorkspaceState& state) {
  const auto id = QueryId(context.request, "run_id");
  if (!id) return InvalidParameter("Missing or invalid run_id");
  const nlohmann::json* run = state.runs.Find(*id);
  return run == nullptr ? UnknownRun(*id) : JsonReply(200, *run);
}

}  // namespace dbproxy::fake
