// The fake workspace's request pipeline, without any I/O: what the server calls for each parsed
// request, in order: ParseTarget, AdmitRequest, then (after any scripted latency) either
// FaultReply or RouteRequest.
#pragma once

#include <optional>

#include "tests/fake_workspace/http_types.hpp"
#include "tests/fake_workspace/state.hpp"

namespace dbproxy::fake {

// Fills request.path and request.query from request.target. false if the query is malformed.
bool ParseTarget(FakeRequest& request);

// Counts and logs the request (control requests are neither), and takes the next scripted fault
// for its target, if one is queued.
std::optional<Fault> AdmitRequest(const FakeRequest& request, WorkspaceState& state);

// Once an API request's head has arrived, before its body is read: when the next API fault
// drops the connection mid-upload (drop_after_request_bytes), takes it, counts the request and
// returns how many body bytes to read before closing. REQUIRES: state.mutex held.
std::optional<std::size_t> TakeUploadDrop(std::string_view path, WorkspaceState& state);

// The answer to send for a fault that has a status: the fault's body, or a default error body in
// the target's style (OAuth for the token endpoint, Databricks REST otherwise).
FakeReply FaultReply(const FakeRequest& request, const Fault& fault);

// The normal answer to a request.
FakeReply RouteRequest(const FakeRequest& request, WorkspaceState& state);

}  // namespace dbproxy::fake
