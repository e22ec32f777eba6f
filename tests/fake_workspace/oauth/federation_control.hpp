// OAuth token federation policies (see /work/shared/DATABRICKS.md, "Token federation"), managed
// through the control channel, and the statistics of the token-exchange grant that uses them:
//
//   POST   /_fake/federation/policies   {"client_id"?: "<sp>"|null, "issuer", "audiences": [...],
//                                        "subject"?, "subject_claim"?, "jwks_json"?} -> 201 {"id"}
//   GET    /_fake/federation/policies   {"policies": [...]} in creation order
//   DELETE /_fake/federation/policies/<id>
//   GET    /_fake/federation/stats      {"attempted", "granted", "refused", "last_refusal",
//                                        "last_grant"}
//
// A policy without client_id is account-wide. "subject" is required with a client_id;
// "jwks_json" (a JWKS as a JSON string) is required unless "issuer" is the fake IdP's
// (<base_url>/idp), whose current keys are then used. Threading: under the state's mutex.
#pragma once

#include <optional>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Answers the /_fake/federation/ control endpoints; nullopt for other paths. Bad bodies are
// 400 {"error"}, an unknown policy id 404 {"error"}.
std::optional<FakeReply> HandleFederationControl(const FakeRequest& request, WorkspaceState& state);

}  // namespace dbproxy::fake
