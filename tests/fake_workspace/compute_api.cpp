#include "tests/fake_workspace/compute_api.hpp"

#include <cstdio>
#include <string>

namespace dbproxy::fake {
namespace {

nlohmann::json ClusterJson(std::string_view id, std::string_view name, std::string_view state) {
  return {{"cluster_id", id},
          {"cluster_name", name},
          {"spark_version", "15.4.x-scala2.12"},
          {"node_type_id", "i3.xlarge"},
          {"num_workers", 2},
          {"state", state},
          {"creator_user_name", "admin@example.com"},
          {"cluster_source", "UI"}};
}

// Databricks reports an unknown cluster as 400 INVALID_PARAMETER_VALUE "Cluster X does not exist"
// (seen in databrickslabs/ucx#2930), not as 404.
FakeReply UnknownCluster(std::string_view id) {
  return InvalidParameter("Cluster " + std::string(id) + " does not exist");
}

FakeReply UnknownJob(std::int64_t id) {
  return InvalidParameter("Job " + std::to_string(id) + " does not exist.");
}

// A job_id given as a JSON integer or a decimal string (query parameters are strings).
std::optional<std::int64_t> JobIdFrom(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  std::int64_t id = 0;
  if (value.is_string() && ParseDecimal(value.get_ref<const std::string&>(), &id)) return id;
  return std::nullopt;
}

}  // namespace

void SeedComputeResources(WorkspaceState& state) {
  state.clusters.Put("0101-120000-shared01",
                     ClusterJson("0101-120000-shared01", "shared-etl", "RUNNING"));
  state.clusters.Put("0101-120000-analyt02",
                     ClusterJson("0101-120000-analyt02", "analytics", "RUNNING"));
  state.clusters.Put("0101-120000-mlbox003",
                     ClusterJson("0101-120000-mlbox003", "ml-training", "RUNNING"));
  const std::pair<std::int64_t, std::string_view> jobs[] = {
      {101, "nightly-etl"}, {102, "hourly-billing"}, {103, "weekly-report"}};
  for (const auto& [id, name] : jobs) {
    state.jobs[id] = {{"job_id", id},
                      {"creator_user_name", "admin@example.com"},
                      {"created_time", 1700000000000 + id},
                      {"settings", {{"name", name}, {"max_concurrent_runs", 1}}}};
  }
}

FakeReply HandleClustersList(const ApiContext& /*context*/, WorkspaceState& state) {
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& id : state.clusters.order)
    clusters.push_back(*state.clusters.Find(id));
  return JsonReply(200, {{"clusters", std::move(clusters)}});
}

FakeReply HandleClustersGet(const ApiContext& context, WorkspaceState& state) {
  const auto id = context.request.query.find("cluster_id");
  if (id == context.request.query.end()) return InvalidParameter("Missing cluster_id");
  const nlohmann::json* cluster = state.clusters.Find(id->second);
  return cluster ? JsonReply(200, *cluster) : UnknownCluster(id->second);
}

FakeReply HandleClustersCreate(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  const auto& body = std::get<nlohmann::json>(parsed);
  for (const char* field : {"cluster_name", "spark_version"}) {
    if (!body.contains(field) || !body[field].is_string() ||
        body[field].get_ref<const std::string&>().empty()) {
      return InvalidParameter(std::string("Missing required field: ") + field);
    }
  }
  char id[32];
  std::snprintf(id, sizeof id, "0202-000000-new%05lld",
                static_cast<long long>(state.next_cluster_serial++));
  nlohmann::json cluster = ClusterJson(id, body["cluster_name"].get<std::string>(), "PENDING");
  cluster["spark_version"] = body["spark_version"];
  state.clusters.Put(id, std::move(cluster));
  return JsonReply(200, {{"cluster_id", id}});
}

// Databricks' clusters/delete terminates: the cluster stays listed as TERMINATED.
FakeReply HandleClustersDelete(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  const auto& body = std::get<nlohmann::json>(parsed);
  if (!body.contains("cluster_id") || !body["cluster_id"].is_string()) {
    return InvalidParameter("Missing required field: cluster_id");
  }
  const std::string id = body["cluster_id"].get<std::string>();
  nlohmann::json* cluster = state.clusters.Find(id);
  if (cluster == nullptr) return UnknownCluster(id);
  (*cluster)["state"] = "TERMINATED";
  return JsonReply(200, nlohmann::json::object());
}

FakeReply HandleJobsList(const ApiContext& /*context*/, WorkspaceState& state) {
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& [id, job] : state.jobs)
    jobs.push_back(job);
  return JsonReply(200, {{"jobs", std::move(jobs)}, {"has_more", false}});
}

FakeReply HandleJobsGet(const ApiContext& context, WorkspaceState& state) {
  const auto param = context.request.query.find("job_id");
  const auto id = param == context.request.query.end() ? std::nullopt : JobIdFrom(param->second);
  if (!id) return InvalidParameter("Missing or invalid job_id");
  const auto job = state.jobs.find(*id);
  return job == state.jobs.end() ? UnknownJob(*id) : JsonReply(200, job->second);
}

FakeReply HandleJobsRunNow(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  const auto& body = std::get<nlohmann::json>(parsed);
  const auto id = body.contains("job_id") ? JobIdFrom(body["job_id"]) : std::nullopt;
  if (!id) return InvalidParameter("Missing or invalid job_id");
  if (!state.jobs.contains(*id)) return UnknownJob(*id);
  const std::int64_t number_in_job = ++state.runs_per_job[*id];
  return JsonReply(200, {{"run_id", state.next_run_id++}, {"number_in_job", number_in_job}});
}

}  // namespace dbproxy::fake
