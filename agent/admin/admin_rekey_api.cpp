#include "agent/admin/admin_rekey_api.hpp"

#include "agent/blocking.hpp"
#include "agent/state/master_key.hpp"
#include "agent/server/responses.hpp"

namespace dbproxy {

asio::awaitable<std::optional<HttpResponse>> HandleRekeyAdmin(AgentState& state,
                                                              const HttpRequest& request,
                                                              const RequestContext& context,
                                                              const std::vector<std::string>& path,
                                                              AuditRecord& audit) {
  if (path.size() != 2 || path[0] != "v1" || path[1] != "rekey") co_return std::nullopt;
  audit.action = "admin.rekey";
  if (request.method() != http::verb::post) {
    co_return ErrorResponse(MakeError(Errc::kMethodNotAllowed, "use POST /v1/rekey"), context);
  }
  // fsyncs of the key and the store: off the event loop. Requests keep being served meanwhile
  // (the store's readers never wait for its writes); its writer lock orders the rotation with
  // enrolments and removals.
  Status rotated = co_await RunBlocking(
      *state.pool, [&state] { return RotateMasterKey(*state.store, state.key_source); });
  if (!rotated) co_return ErrorResponse(rotated.error(), context);
  audit.detail.emplace_back("key_file", state.key_source.key_file);
  co_return JsonResponse(http::status::ok,
                         {{"rotated", true},
                          {"key_file", state.key_source.key_file},
                          {"credentials", state.store->credential_count()}});
}

}  // namespace dbproxy
