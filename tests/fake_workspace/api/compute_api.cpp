#include "tests/fake_workspace/api/compute_api.hpp"

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

bool IsNonEmptyString(const nlohmann::json& body, const char* field) {
  return body.contains(field) && body[field].is_string() &&
         !body[field].get_ref<const std::string&>().empty();
}

// The cluster named by the body's cluster_id, or the reply to send instead.
std::variant<nlohmann::json*, FakeReply> FindCluster(const nlohmann::json& body,
                                                     WorkspaceState& state) {
  if (!IsNonEmptyString(body, "cluster_id")) {
    return InvalidParameter("Missing required field: cluster_id");
  }
  const std::string& id = body["cluster_id"].get_ref<const std::string&>();
  nlohmann::json* cluster = state.clusters.Find(id);
  if (cluster == nullptr) return UnknownCluster(id);
  return cluster;
}

}  // namespace

void SeedComputeResources(WorkspaceState& state) {
  state.clusters.Put("0101-120000-shared01",
                     ClusterJson("0101-120000-shared01", "shared-etl", "RUNNING"));
  state.clusters.Put("0101-120000-analyt02",
                     ClusterJson("0101-120000-analyt02", "analytics", "RUNNING"));
  state.clusters.Put("0101-120000-mlbox003",
                     ClusterJson("0101-120000-mlbox003", "ml-training", "TERMINATED"));
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
    if (!IsNonEmptyString(body, field)) {
      return InvalidParameter(std::string("Missing required field: ") + field);
    }
  }
  char id[32];
  std::snprintf(id, sizeof id, "0202-000000-new%05lld",
                static_cast<long long>(state.next_cluster_serial++));
  nlohmann::json cluster = ClusterJson(id, body["cluster_name"].get<std::string>(), "PENDING");
  cluster["spark_version"] = body["spark_version"];
  for (const char* field : {"node_type_id", "num_workers", "autoscale"}) {
    if (body.contains(field)) cluster[field] = body[field];
  }
  state.clusters.Put(id, std::move(cluster));
  return JsonReply(200, {{"cluster_id", id}});
}

// clusters/edit replaces the configuration; cluster_id and spark_version are required, as in
// Databricks' API reference.
FakeReply HandleClustersEdit(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  const auto& body = std::get<nlohmann::json>(parsed);
  auto found = FindCluster(body, state);
  if (auto* error = std::get_if<FakeReply>(&found)) return std::move(*error);
  if (!IsNonEmptyString(body, "spark_version")) {
    return InvalidParameter("Missing required field: spark_version");
  }
  nlohmann::json& cluster = *std::get<nlohmann::json*>(found);
  for (const char* field :
       {"cluster_name", "spark_version", "node_type_id", "num_workers", "autoscale"}) {
    if (body.contains(field)) cluster[field] = body[field];
  }
  return JsonReply(200, nlohmann::json::object());
}

// Starting a cluster that is not TERMINATED is an error in Databricks (INVALID_STATE).
FakeReply HandleClustersStart(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  auto found = FindCluster(std::get<nlohmann::json>(parsed), state);
  if (auto* error = std::get_if<FakeReply>(&found)) return std::move(*error);
  nlohmann::json& cluster = *std::get<nlohmann::json*>(found);
  if (cluster["state"] != "TERMINATED") {
    return ApiError(400, "INVALID_STATE",
                    "Cluster " + cluster["cluster_id"].get<std::string>() +
                        " is in unexpected state " + cluster["state"].get<std::string>() + ".");
  }
  cluster["state"] = "PENDING";
  return JsonReply(200, nlohmann::json::object());
}

// Databricks' clusters/delete terminates: the cluster stays listed as TERMINATED.
FakeReply HandleClustersDelete(const ApiContext& context, WorkspaceState& state) {
  auto parsed = ParseJsonBody(context.request);
  if (auto* error = std::get_if<FakeReply>(&parsed)) return std::move(*error);
  auto found = FindCluster(std::get<nlohmann::json>(parsed), state);
  if (auto* error = std::get_if<FakeReply>(&found)) return std::move(*error);
  (*std::get<nlohmann::json*>(found))["state"] = "TERMINATED";
  return JsonReply(200, nlohmann::json::object());
}

}  // namespace dbproxy::fake
