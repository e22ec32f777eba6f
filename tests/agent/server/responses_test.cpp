// The audit builder: BeginAuditFor and FinishAudit fill a record from the caller, the request
// line, the answer and the Error that caused it. No coroutine runs here; the caller is this
// very process, attested over a socketpair.
#include "agent/server/responses.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <optional>

namespace dbproxy {
namespace {

class ResponsesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
    Result<PeerAttestation> attested = PeerAttestation::Attest(fds_[0]);
    ASSERT_TRUE(attested) << attested.error().message;
    peer_.emplace(std::move(*attested));
  }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  RequestContext Context() {
    return RequestContext{.peer = *peer_,
                          .request_id = "0123456789abcdef",
                          .started = std::chrono::steady_clock::now()};
  }

  int fds_[2] = {-1, -1};
  std::optional<PeerAttestation> peer_;
};

TEST_F(ResponsesTest, RefusalBeforeTheHeadHasCallerButNoRequestLine) {
  RequestContext context = Context();
  AuditRecord record = BeginAuditFor("admin", "", "", context);
  EXPECT_EQ(record.socket, "admin");
  EXPECT_EQ(record.request_id, "0123456789abcdef");
  EXPECT_EQ(record.pid, ::getpid());
  EXPECT_EQ(record.uid, static_cast<std::int64_t>(::geteuid()));
  EXPECT_TRUE(record.method.empty());
  EXPECT_TRUE(record.path.empty());
  EXPECT_TRUE(record.query.empty());
}

TEST_F(ResponsesTest, FinishAuditTakesTheCodeFromTheError) {
  RequestContext context = Context();
  AuditRecord record = BeginAuditFor("agent", "POST", "/v1/token?x=1", context);
  const Error error = MakeError(Errc::kRequestTimeout, "the request did not arrive in time");
  const HttpResponse response = ErrorResponse(error, context.request_id);
  FinishAudit(record, response, context, &error);
  EXPECT_EQ(record.status, 408);
  EXPECT_EQ(record.error_code, "request_timeout");
  EXPECT_EQ(record.decision, "error");
  EXPECT_EQ(record.method, "POST");
  EXPECT_EQ(record.path, "/v1/token");
  EXPECT_EQ(record.bytes_out, static_cast<std::int64_t>(response.body().size()));
  EXPECT_GE(record.latency_us, 0);
}

TEST_F(ResponsesTest, FinishAuditDoesNotReadTheCodeFromTheBodyWhenGivenTheError) {
  RequestContext context = Context();
  AuditRecord record = BeginAuditFor("agent", "GET", "/x", context);
  // A body that claims another code (as a proxied workspace answer could): the Error decides.
  HttpResponse response =
      JsonResponse(http::status::forbidden, {{"error", {{"code", "policy_denied"}}}});
  const Error error = MakeError(Errc::kUnidentified, "who are you");
  FinishAudit(record, response, context, &error);
  EXPECT_EQ(record.error_code, "unidentified");
  AuditRecord success = BeginAuditFor("agent", "GET", "/x", context);
  FinishAudit(success, response, context, nullptr);
  EXPECT_EQ(success.error_code, "") << "no Error: no code guessed from a body";
}

TEST_F(ResponsesTest, KeepsADecisionAlreadyMade) {
  RequestContext context = Context();
  AuditRecord record = BeginAuditFor("agent", "GET", "/v1/whoami", context);
  record.decision = "deny";
  const Error error = MakeError(Errc::kUnidentified, "the calling process changed its user id");
  FinishAudit(record, ErrorResponse(error, context.request_id), context, &error);
  EXPECT_EQ(record.decision, "deny");
  EXPECT_EQ(record.status, 403);
}

TEST_F(ResponsesTest, HandlerErrorsNoteTheirCodeInTheRequestsRecord) {
  RequestContext context = Context();
  const Error error = MakeError(Errc::kNotFound, "no such endpoint");
  AuditRecord record = BeginAuditFor("admin", "GET", "/v1/nothing", context);
  context.audit = &record;
  const HttpResponse response = ErrorResponse(error, context);
  EXPECT_EQ(record.error_code, "not_found");
  FinishAudit(record, response, context);
  EXPECT_EQ(record.error_code, "not_found");
  EXPECT_EQ(record.status, 404);
}

TEST_F(ResponsesTest, FinishAuditNeverReadsTheCodeFromTheBody) {
  RequestContext context = Context();
  AuditRecord record = BeginAuditFor("admin", "GET", "/v1/nothing", context);
  FinishAudit(record, ErrorResponse(MakeError(Errc::kNotFound, "x"), context.request_id), context);
  EXPECT_EQ(record.error_code, "");
  EXPECT_EQ(record.status, 404);
}

}  // namespace
}  // namespace dbproxy
