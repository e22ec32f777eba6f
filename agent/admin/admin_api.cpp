#include "agent/admin/admin_api.hpp"

#include "agent/admin/admin_audit_api.hpp"
#include "agent/admin/admin_federation_api.hpp"
#include "agent/admin/admin_identity_api.hpp"
#include "agent/admin/admin_metrics_api.hpp"
#include "agent/admin/admin_policy_api.hpp"
#include "agent/admin/admin_rekey_api.hpp"
#include "agent/admin/admin_runtime_api.hpp"
#include "agent/audit/audit_commit.hpp"
#include "agent/blocking.hpp"
#include "agent/clock.hpp"
#include "agent/server/responses.hpp"
#include "common/calls/http_target.hpp"
#include "common/oauth/oauth.hpp"
#include "common/os/files.hpp"
#include "common/store/credential_store_format.hpp"

namespace dbproxy {
namespace {

constexpr std::size_t kMaxSecretBytes = 4096;
constexpr std::size_t kMaxClientIdBytes = 256;

bool IsAdmin(const AgentState& state, const CallerIdentity& id) {
  return id.uid == 0 ||
         (state.admin_gid != static_cast<gid_t>(-1) && id.InGroup(state.admin_gid));
}

Error Invalid(std::string message) { return MakeError(Errc::kInvalidRequest, std::move(message)); }

nlohmann::json StatusBody(const AgentState& state) {
  const std::int64_t now = NowUnix();
  const PinnedPolicy pinned = state.Policies();
  const Policy& policy = *pinned.enforced;
  nlohmann::json body = {{"version", DBPROXY_VERSION},
          {"started_at", state.started_at},
          {"uptime_seconds", now - state.started_at},
          {"event_loops", state.event_loops},
          {"workspaces", state.store->workspace_count()},
          {"credentials", state.store->credential_count()},
          {"tokens_cached", state.broker->List().size()},
          {"services", policy.services.size()},
          {"roles", policy.roles.size()},
          {"rules", policy.rules.size()},
          {"policy_revision", policy.revision},
          {"policy_loaded_at", state.policy_loaded_at},
          {"policy_error", state.policy_error.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(state.policy_error)},
          {"shadow_revision", pinned.shadow ? nlohmann::json(pinned.shadow->revision)
                                            : nlohmann::json(nullptr)},
          {"grants", state.runtime->grants().grants().size()},
          {"maintenance", state.runtime->maintenance().entries().size()}};
  body.update(StatusMetrics(state));
  return body;
}

nlohmann::json WorkspacesBody(const AgentState& state) {
  nlohmann::json list = nlohmann::json::array();
  for (const CredentialInfo& info : state.store->List()) {
    if (list.empty() || list.back()["name"] != info.workspace) {
      list.push_back({{"name", info.workspace},
                      {"host", info.host},
                      {"credentials", nlohmann::json::array()}});
    }
    if (!info.credential.empty()) {
      nlohmann::json entry = {{"name", info.credential},
                              {"client_id", info.client_id},
                              {"enrolled_at", info.enrolled_at},
                              {"federated", info.federated}};
      if (info.federated) {
        entry["subject"] = info.subject;
        entry["audience"] = info.audience;
      }
      list.back()["credentials"].push_back(std::move(entry));
    }
  }
  return {{"workspaces", std::move(list)}};
}

nlohmann::json TokensBody(const AgentState& state) {
  const std::int64_t now = NowUnix();
  nlohmann::json list = nlohmann::json::array();
  for (const TokenInfo& info : state.broker->List()) {
    list.push_back({{"workspace", info.key.workspace},
                    {"credential", info.key.credential},
                    {"scope", info.key.scope},
                    {"fetched_at", info.fetched_at},
                    {"expires_at", info.expires_at},
                    {"expires_in", std::max<std::int64_t>(0, info.expires_at - now)},
                    {"hits", info.hits},
                    {"failures", info.failures},
                    {"refreshing", info.refreshing}});
  }
  return {{"tokens", std::move(list)}};
}

// PUT /v1/workspaces/{ws}/credentials/{cred}?host=URL&client_id=ID&federated=1
//     [&subject=SUB][&audience=AUD], no body: a federated credential (no secret stored).
asio::awaitable<HttpResponse> EnrollFederated(AgentState& state, const RequestContext& context,
                                              const std::map<std::string, std::string>& query,
                                              const std::string& workspace,
                                              const std::string& credential,
                                              const std::string& host,
                                              const std::string& client_id) {
  const auto param = [&](const char* name) {
    const auto found = query.find(name);
    return found == query.end() ? std::string() : found->second;
  };
  CredentialCopy federated{.host = host,
                           .client_id = client_id,
                           .secret = SecretBytes(),
                           .federated = true,
                           .subject = param("subject"),
                           .audience = param("audience")};
  if (federated.subject.empty()) {
    federated.subject = "dbproxy:" + LocalHostName() + ":" + credential;
  }
  if (federated.audience.empty()) federated.audience = host;
  for (const std::string* value : {&federated.subject, &federated.audience}) {
    const bool printable =
        std::all_of(value->begin(), value->end(), [](char c) { return c > ' ' && c <= '~'; });
    if (value->size() > 2048 || !printable) {
      co_return ErrorResponse(
          Invalid("subject and audience must be 1 to 2048 printable characters without spaces"),
          context);
    }
  }
  // Prove the exchange works before storing it: the Databricks federation policy must already
  // trust this agent's key (dbproxyctl federation jwks) for this subject and audience.
  if (Status valid = co_await state.broker->Validate(federated, "all-apis"); !valid) {
    co_return ErrorResponse(valid.error(), context);
  }
  Status stored = co_await RunBlocking(*state.pool, [&] {
    return state.store->PutFederated(workspace, host, credential, client_id, federated.subject,
                                     federated.audience, NowUnix());
  });
  if (!stored) co_return ErrorResponse(stored.error(), context);
  state.broker->Forget(workspace, credential);
  co_return JsonResponse(http::status::created, {{"workspace", workspace},
                                                 {"host", host},
                                                 {"credential", credential},
                                                 {"client_id", client_id},
                                                 {"federated", true},
                                                 {"subject", federated.subject},
                                                 {"audience", federated.audience}});
}

// PUT /v1/workspaces/{ws}/credentials/{cred}?host=URL&client_id=ID, body = the raw secret.
asio::awaitable<HttpResponse> Enroll(AgentState& state, HttpRequest& request,
                                     const RequestContext& context, const std::string& workspace,
                                     const std::string& credential) {
  // Take the secret out of the request first: whatever happens next, it is wiped.
  SecretBytes secret = SecretBytes::CopyFrom(request.body());
  WipeString(request.body());
  Result<std::map<std::string, std::string>> query =
      ParseQuery(SplitRequestTarget(request.target()).query);
  if (!query) co_return ErrorResponse(query.error(), context);
  const std::string raw_host = query->count("host") ? query->at("host") : "";
  const std::string client_id = query->count("client_id") ? query->at("client_id") : "";
  Result<std::string> host = NormalizeWorkspaceHost(raw_host);
  if (!host) co_return ErrorResponse(host.error(), context);
  if (client_id.empty() || client_id.size() > kMaxClientIdBytes) {
    co_return ErrorResponse(Invalid("client_id is required (at most 256 bytes)"), context);
  }
  const bool federated = query->count("federated") != 0;
  if (federated && query->at("federated") != "1" && query->at("federated") != "true") {
    co_return ErrorResponse(Invalid("federated takes 1 or true"), context);
  }
  if (federated && !secret.empty()) {
    co_return ErrorResponse(Invalid("a federated credential has no client secret: send no body"),
                            context);
  }
  if (!federated && (query->count("subject") != 0 || query->count("audience") != 0)) {
    co_return ErrorResponse(Invalid("subject and audience are for federated credentials"), context);
  }
  if (!federated && (secret.empty() || secret.size() > kMaxSecretBytes)) {
    co_return ErrorResponse(Invalid("the client secret must be 1 to 4096 bytes"), context);
  }
  if (const std::string known = state.store->HostOf(workspace); !known.empty() && known != *host) {
    co_return ErrorResponse(MakeError(Errc::kConflict, "workspace '" + workspace +
                                                           "' is enrolled with host " + known +
                                                           "; remove it first to change its host"), context);
  }
  if (federated) {
    co_return co_await EnrollFederated(state, context, *query, workspace, credential, *host,
                                       client_id);
  }
  // Prove the secret works before storing it: a typo is reported now, not at 3 a.m.
  const std::string validation_scope = "all-apis";
  const CredentialCopy candidate{
      .host = *host, .client_id = client_id, .secret = SecretBytes::CopyFrom(secret.bytes())};
  if (Status valid = co_await state.broker->Validate(candidate, validation_scope); !valid) {
    co_return ErrorResponse(valid.error(), context);
  }
  Status stored = co_await RunBlocking(*state.pool, [&] {
    return state.store->Put(workspace, *host, credential, client_id, std::move(secret), NowUnix());
  });
  if (!stored) co_return ErrorResponse(stored.error(), context);
  state.broker->Forget(workspace, credential);  // rotated secret: drop tokens of the old one
  HttpResponse response = JsonResponse(http::status::created, {{"workspace", workspace},
                                                               {"host", *host},
                                                               {"credential", credential},
                                                               {"client_id", client_id}});
  co_return response;
}

asio::awaitable<HttpResponse> Remove(AgentState& state, const RequestContext& context,
                                     const std::string& workspace, const std::string& credential) {
  Status removed = co_await RunBlocking(*state.pool, [&] {
    return credential.empty() ? state.store->RemoveWorkspace(workspace)
                              : state.store->RemoveCredential(workspace, credential);
  });
  if (!removed) co_return ErrorResponse(removed.error(), context);
  state.broker->Forget(workspace, credential);
  co_return JsonResponse(http::status::ok,
                         {{"removed", credential.empty() ? workspace : credential}});
}

asio::awaitable<HttpResponse> Route(AgentState& state, HttpRequest& request,
                                    const RequestContext& context, AuditRecord& audit) {
  Result<std::vector<std::string>> parts =
      DecodePathSegments(SplitRequestTarget(request.target()).path);
  if (!parts) co_return ErrorResponse(parts.error(), context);
  const std::vector<std::string>& p = *parts;
  const http::verb method = request.method();
  auto is = [&](std::initializer_list<std::string_view> shape) {
    if (shape.size() != p.size()) return false;
    std::size_t i = 0;
    for (std::string_view s : shape) {
      if (s != "*" && s != p[i]) return false;
      ++i;
    }
    return true;
  };
  const bool ws_path = is({"v1", "workspaces", "*"});
  const bool cred_path = is({"v1", "workspaces", "*", "credentials", "*"});
  if (ws_path || cred_path) {
    audit.workspace = p[2];
    if (cred_path) audit.credential = p[4];
    if (!IsValidName(p[2]) || (cred_path && !IsValidName(p[4]))) {
      co_return ErrorResponse(Invalid("names must match [A-Za-z0-9._-]{1,64}"), context);
    }
  }
  if (is({"healthz"}) && method == http::verb::get) {
    audit.action = "healthz";
    co_return JsonResponse(http::status::ok, {{"status", "ok"}});
  }
  if (is({"v1", "status"}) && method == http::verb::get) {
    audit.action = "admin.status";
    co_return JsonResponse(http::status::ok, StatusBody(state));
  }
  if (is({"v1", "workspaces"}) && method == http::verb::get) {
    audit.action = "admin.workspaces";
    co_return JsonResponse(http::status::ok, WorkspacesBody(state));
  }
  if (is({"v1", "tokens"}) && method == http::verb::get) {
    audit.action = "admin.tokens";
    co_return JsonResponse(http::status::ok, TokensBody(state));
  }
  if (cred_path && method == http::verb::put) {
    audit.action = "admin.enroll";
    co_return co_await Enroll(state, request, context, p[2], p[4]);
  }
  if ((cred_path || ws_path) && method == http::verb::delete_) {
    audit.action = "admin.remove";
    const std::string credential = cred_path ? p[4] : std::string();
    co_return co_await Remove(state, context, p[2], credential);
  }
  if (std::optional<HttpResponse> idp = HandleIdentityAdmin(state, request, context, p, audit)) {
    co_return std::move(*idp);
  }
  if (std::optional<HttpResponse> metrics = HandleMetricsAdmin(state, request, p, audit)) {
    co_return std::move(*metrics);
  }
  std::optional<HttpResponse> federation =
      co_await HandleFederationAdmin(state, request, context, p, audit);
  if (federation) co_return std::move(*federation);
  std::optional<HttpResponse> rekey = co_await HandleRekeyAdmin(state, request, context, p, audit);
  if (rekey) co_return std::move(*rekey);
  std::optional<HttpResponse> audit_read = co_await HandleAuditAdmin(state, request, context, p, audit);
  if (audit_read) co_return std::move(*audit_read);
  if (std::optional<HttpResponse> handled = HandlePolicyAdmin(state, request, context, p, audit)) {
    co_return std::move(*handled);
  }
  std::optional<HttpResponse> runtime = co_await HandleRuntimeAdmin(state, request, context, p, audit);
  if (runtime) co_return std::move(*runtime);
  co_return ErrorResponse(MakeError(Errc::kNotFound, "no such endpoint or method"), context);
}

}  // namespace

asio::awaitable<HttpResponse> HandleAdminRequest(AgentState& state, HttpRequest& request,
                                                 RequestContext& context) {
  AuditRecord audit = BeginAudit("admin", request, context);
  context.audit = &audit;
  HttpResponse response;
  if (Status admitted = AdmitAudited(state); !admitted) {
    WipeString(request.body());
    audit.action = "admin";
    response = ErrorResponse(admitted.error(), context);
  } else if (!IsAdmin(state, context.peer.identity())) {
    WipeString(request.body());
    audit.action = "admin";
    audit.decision = "deny";
    response = ErrorResponse(
        MakeError(Errc::kForbidden, "the admin socket is for root and members of the admin group"), context);
  } else {
    response = co_await Route(state, request, context, audit);
  }
  FinishAudit(audit, response, context);
  context.audit = nullptr;  // the record is finished; nothing may note into it any more
  co_await CommitAudit(state, audit);
  co_return response;
}

}  // namespace dbproxy
