#include "agent/agent.hpp"

#include <grp.h>
#include <sched.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>

#include "agent/admin/admin_api.hpp"
#include "agent/audit/audit_commit.hpp"
#include "agent/token/client_api.hpp"
#include "agent/clock.hpp"
#include "agent/identity/saml_idp_files.hpp"
#include "common/os/files.hpp"
#include "agent/server/lifecycle_sockets.hpp"
#include "agent/log.hpp"
#include "agent/state/master_key.hpp"
#include "agent/notify.hpp"
#include "agent/proxy/proxy.hpp"
#include "agent/token/metadata_api.hpp"
#include "agent/server/responses.hpp"

namespace dbproxy {
namespace {

constexpr std::chrono::seconds kDrainTimeout{10};
constexpr std::size_t kUpstreamBufferBytes = 256 * 1024;

// An event loop's client for proxied calls.
std::unique_ptr<UpstreamClient> MakeUpstreamClient(asio::io_context& io,
                                                   const AgentConfig& config) {
  const UpstreamSection& upstream = config.upstream;
  return std::make_unique<UpstreamClient>(
      io, UpstreamClientOptions{.ca_file = upstream.ca_file,
                                .connect_timeout_ms = upstream.connect_timeout_ms,
                                .request_timeout_ms = config.proxy.request_timeout_ms,
                                .max_connections_per_host = upstream.max_connections_per_host,
                                .buffer_bytes = kUpstreamBufferBytes});
}

std::int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<gid_t> ResolveAdminGroup(const std::string& name) {
  if (name.empty()) return static_cast<gid_t>(-1);
  std::array<char, 16384> buffer{};
  group entry{};
  group* found = nullptr;
  if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return MakeError(Errc::kInvalidRequest,
                     "admin_group '" + name + "' does not exist (create it, or set admin_group = "
                     "\"\" for root only)");
  }
  return found->gr_gid;
}

Status EnsureParent(const std::string& path, mode_t mode) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? Status::Ok() : EnsureDirectory(parent, mode);
}

// Binds `options.path`, or serves on the socket systemd passed for it (`activated_fd` >= 0).
Result<std::unique_ptr<HttpServer>> ListenOrAdopt(int activated_fd, asio::io_context& io,
                                                      HttpServerOptions options,
                                                      HttpHandler handler,
                                                      HttpErrorResponder on_error) {
  if (activated_fd >= 0) {
    Log(LogLevel::kInfo, "socket activation: serving " + options.path + " on the passed socket");
    return HttpServer::Adopt(io, std::move(options), activated_fd, std::move(handler),
                                 std::move(on_error));
  }
  return HttpServer::Listen(io, std::move(options), std::move(handler), std::move(on_error));
}

HttpServerOptions ServerOptions(const AgentSection& agent, const std::string& path,
                                    mode_t mode, gid_t group) {
  HttpServerOptions options;
  options.path = path;
  options.mode = mode;
  options.group = group;
  options.idle_timeout = std::chrono::seconds(agent.idle_timeout_seconds);
  options.request_timeout = std::chrono::seconds(agent.request_timeout_seconds);
  options.max_connections = static_cast<std::size_t>(agent.max_connections);
  options.max_connections_per_uid = static_cast<std::size_t>(agent.max_connections_per_uid);
  return options;
}

// The one-line STATUS= shown by `systemctl status dbproxyd`.
std::string StatusSummary(const AgentState& state) {
  const RequestTotals requests = state.metrics.totals();
  const std::shared_ptr<const Policy> policy = state.EnforcedPolicy();
  const std::size_t connections =
      state.active_connections ? state.active_connections("agent") : 0;
  return std::to_string(requests.total) + " requests (" + std::to_string(requests.allowed) +
         " allowed, " + std::to_string(requests.denied) + " denied), " +
         std::to_string(connections) + " client connections, policy " +
         (policy ? policy->revision : std::string("none"));
}

template <class T>
Status Take(Result<T>& result, T& out) {
  if (!result) return std::move(result).error();
  out = std::move(*result);
  return Status::Ok();
}

// How many event loops to run: [agent] event_loops, or one per CPU we may run on (at most 8).
int EventLoopCount(const AgentSection& agent) {
  if (agent.event_loops > 0) return agent.event_loops;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const int available =
      ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  return std::clamp(available, 1, 8);
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Create(AgentConfig config) {
  std::unique_ptr<Agent> agent(new Agent());
  AgentState& state = agent->state_;
  state.config = std::move(config);
  state.pool = &agent->pool_;
  state.started_at = NowUnix();
  const AgentSection& paths = state.config.agent;

  if (Status s = EnsureDirectory(paths.state_dir, 0700); !s) return std::move(s).error();
  Result<OpenedStore> opened =
      OpenStoreWithMasterKey(paths.state_dir + "/credentials.enc", paths.key_file);
  if (!opened) return std::move(opened).error();
  if (!opened->recovery.empty()) Log(LogLevel::kWarning, opened->recovery);
  state.store = std::move(opened->store);
  state.key_source = opened->source;
  agent->policy_manager_ = std::make_unique<PolicyManager>(agent->io_, state);
  if (Status s = agent->policy_manager_->LoadInitial(); !s) return std::move(s).error();
  Result<std::unique_ptr<RuntimeState>> runtime = RuntimeState::Load(paths.state_dir);
  if (Status s = Take(runtime, state.runtime); !s) return std::move(s).error();
  state.reload_policy = [manager = agent->policy_manager_.get()](std::string_view trigger) {
    return manager->Reload(trigger);
  };
  const AuditSection& audit_config = state.config.audit;
  Result<std::unique_ptr<AuditTrail>> audit = AuditTrail::Open(
      AuditTrailOptions{.file = audit_config.file,
                        .fsync = audit_config.fsync,
                        .batch = std::chrono::milliseconds(audit_config.batch_ms),
                        .journald = audit_config.journald,
                        .fail_closed = audit_config.fail_closed,
                        .queue_size = static_cast<std::size_t>(audit_config.queue_size)});
  if (Status s = Take(audit, state.audit); !s) return std::move(s).error();
  Result<gid_t> admin_gid = ResolveAdminGroup(paths.admin_group);
  if (Status s = Take(admin_gid, state.admin_gid); !s) return std::move(s).error();
  Result<std::vector<SamlProvider>> saml_idps = LoadSamlProviders(state.config.saml_idps);
  if (Status s = Take(saml_idps, state.saml_idps); !s) return std::move(s).error();

  if (state.config.federation.issuer.empty()) {
    state.config.federation.issuer = "https://" + LocalHostName() + "/dbproxy";
  }
  state.broker =
      std::make_unique<TokenBroker>(agent->io_.get_executor(), agent->pool_, *state.store,
                                    UpstreamOptions{.ca_file = state.config.upstream.ca_file,
                                                    .timeout_ms = state.config.upstream.timeout_ms,
                                                    .user_agent = "dbproxy/" DBPROXY_VERSION},
                                    state.config.tokens, state.config.federation);
  state.upstream = MakeUpstreamClient(agent->io_, state.config);
  state.rate_limiter = std::make_unique<RateLimiter>();
  state.call_limiter = std::make_unique<CallLimiter>(
      static_cast<std::size_t>(state.config.proxy.max_concurrent_per_workspace),
      static_cast<std::size_t>(state.config.proxy.max_concurrent_upstream));
  state.idps =
      std::make_unique<IdpRegistry>(agent->io_.get_executor(), agent->pool_, state.config.idps);
  state.idps->Prefetch(NowUnix());  // failures are logged and retried on first use
  // An assertion travels in a header (X-Dbproxy-SAML-Assertion): with [[saml_idp]], the client
  // listeners take heads that fit the largest one the verifier accepts.
  const std::size_t client_header_limit =
      HttpServerOptions{}.header_limit + (state.saml_idps.empty() ? 0 : kMaxSamlBase64Bytes);

  // Requests the servers refuse before a handler runs are answered and audited like the rest.
  auto on_error = [&state](const char* socket) -> HttpErrorResponder {
    return [shared = &state, socket](const Error& error, const RefusedRequest& request,
                                     RequestContext& context) {
      return AnswerRefused(*shared, socket, error, request, context);
    };
  };
  for (const std::string* socket : {&paths.socket, &paths.admin_socket}) {
    if (Status s = EnsureParent(*socket, 0755); !s) return std::move(s).error();
  }
  Result<ActivatedSockets> activated = TakeActivatedSockets();
  if (!activated) return std::move(activated).error();
  AgentState* shared = &state;
  HttpServerOptions client_options =
      ServerOptions(paths, paths.socket, 0666, static_cast<gid_t>(-1));
  client_options.header_limit = client_header_limit;
  Result<std::unique_ptr<HttpServer>> client = ListenOrAdopt(
      activated->agent, agent->io_, std::move(client_options),
      [shared](HttpRequest& request, RequestContext& context) {
        return HandleClientRequest(*shared, request, context);
      },
      on_error("agent"));
  if (Status s = Take(client, agent->client_server_); !s) return std::move(s).error();
  // Proxied calls stream their bodies: the server hands them over before reading the body.
  UpstreamClient* upstream_client = state.upstream.get();
  agent->client_server_->SetStreamingHandler(
      WantsProxy, [shared, upstream_client](StreamedRequest& exchange) {
        return HandleProxyRequest(*shared, *upstream_client, exchange);
      });
  Result<std::unique_ptr<HttpServer>> admin = ListenOrAdopt(
      activated->admin, agent->io_,
      ServerOptions(paths, paths.admin_socket, 0660, state.admin_gid),
      [shared](HttpRequest& request, RequestContext& context) {
        return HandleAdminRequest(*shared, request, context);
      },
      on_error("admin"));
  if (Status s = Take(admin, agent->admin_server_); !s) return std::move(s).error();
  // Unmodified Databricks clients: the metadata endpoint and proxy mode over loopback TCP, each
  // caller identified from the kernel like on agent.sock.
  for (const LoopbackEndpoint& endpoint : state.config.loopback.listen) {
    HttpServerOptions options = ServerOptions(paths, endpoint.HostPort(), 0, static_cast<gid_t>(-1));
    options.name = "loopback";
    options.peer_kind = PeerKind::kLoopbackTcp;
    options.blocking_pool = &agent->pool_;
    options.header_limit = client_header_limit;
    // Each service's share of the loopback connections: the service the attested caller
    // matches in the enforced policy now (a reload applies to new connections).
    options.max_connections_per_group =
        static_cast<std::size_t>(state.config.loopback.max_connections_per_service);
    options.connection_group = [shared](const PeerAttestation& peer) -> std::string {
      const std::shared_ptr<const Policy> policy = shared->EnforcedPolicy();
      if (!policy) return "";
      Result<const Service*> service = MatchService(*policy, peer.identity(), peer.group_names());
      return service ? (*service)->name : "";
    };
    Result<std::unique_ptr<HttpServer>> loopback = HttpServer::ListenTcp(
        agent->io_, std::move(options), endpoint.address, endpoint.port,
        [shared](HttpRequest& request, RequestContext& context) {
          return HandleLoopbackRequest(*shared, request, context);
        },
        on_error("loopback"));
    if (!loopback) return std::move(loopback).error();
    (*loopback)->SetStreamingHandler(
        WantsProxy, [shared, upstream_client](StreamedRequest& exchange) {
          return HandleProxyRequest(*shared, *upstream_client, exchange);
        });
    agent->loopback_servers_.push_back(std::move(*loopback));
  }
  agent->CreateWorkerLoops();
  state.event_loops = static_cast<int>(agent->workers_.size()) + 1;
  Agent* self = agent.get();
  state.loop_connections = [self] {
    std::vector<std::size_t> loops;
    std::size_t main = self->client_server_->own_connections();
    for (const auto& server : self->loopback_servers_) main += server->own_connections();
    loops.push_back(main);
    for (const auto& worker : self->workers_) {
      std::size_t served = 0;
      for (const auto& server : worker->servers) served += server->own_connections();
      loops.push_back(served);
    }
    return loops;
  };
  state.refused_connections = [self](std::string_view socket) {
    RefusedConnectionCounts counts;
    const auto add = [&counts](const HttpServer& server) {
      counts.over_total += server.refused_connections().over_total.load();
      counts.over_per_uid += server.refused_connections().over_per_uid.load();
      counts.over_per_service += server.refused_connections().over_per_group.load();
    };
    if (socket == "loopback") {
      for (const auto& server : self->loopback_servers_) add(*server);
    } else if (const auto& server = socket == "admin" ? self->admin_server_ : self->client_server_) {
      add(*server);
    }
    return counts;
  };
  state.active_connections = [self](std::string_view socket) -> std::size_t {
    if (socket == "loopback") {
      std::size_t total = 0;
      for (const auto& server : self->loopback_servers_) total += server->active_connections();
      return total;
    }
    const std::unique_ptr<HttpServer>& server =
        socket == "admin" ? self->admin_server_ : self->client_server_;
    return server ? server->active_connections() : 0;
  };
  return agent;
}

void Agent::CreateWorkerLoops() {
  AgentState* shared = &state_;
  for (int i = 1; i < EventLoopCount(state_.config.agent); ++i) {
    auto worker = std::make_unique<WorkerLoop>();
    worker->upstream = MakeUpstreamClient(worker->io, state_.config);
    std::vector<HttpServer*> served = {client_server_.get()};
    for (const auto& server : loopback_servers_) served.push_back(server.get());
    for (HttpServer* primary : served) {
      std::unique_ptr<HttpServer> replica = primary->Replicate(worker->io);
      replica->SetStreamingHandler(
          WantsProxy, [shared, client = worker->upstream.get()](StreamedRequest& exchange) {
            return HandleProxyRequest(*shared, *client, exchange);
          });
      worker->servers.push_back(std::move(replica));
    }
    workers_.push_back(std::move(worker));
  }
}

bool Agent::WorkersResponsive(std::chrono::microseconds period) {
  const std::int64_t now = SteadyNowMs();
  // Two periods: the check posted at the last tick, plus a tick's lateness.
  const std::int64_t limit =
      2 * std::chrono::duration_cast<std::chrono::milliseconds>(period).count();
  bool responsive = true;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    WorkerLoop& worker = *workers_[i];
    const std::int64_t answered = worker.answered_ms.load();
    if (now - answered > limit) {
      Log(LogLevel::kError, "event loop " + std::to_string(i + 1) + " has not run for " +
                                std::to_string(now - answered) +
                                " ms; withholding the watchdog keep-alive");
      responsive = false;
    }
    asio::post(worker.io, [&worker] { worker.answered_ms.store(SteadyNowMs()); });
  }
  return responsive;
}

void Agent::OnWorkerServers(void (HttpServer::*action)()) {
  for (const auto& worker : workers_) {
    asio::post(worker->io, [servers = &worker->servers, action] {
      for (const auto& server : *servers) (server.get()->*action)();
    });
  }
}

std::vector<HttpServer*> Agent::Servers() const {
  std::vector<HttpServer*> servers = {client_server_.get(), admin_server_.get()};
  for (const auto& server : loopback_servers_) servers.push_back(server.get());
  return servers;
}

Agent::~Agent() {
  pool_.join();
}

int Agent::Run() {
  signals_ = std::make_unique<asio::signal_set>(io_, SIGTERM, SIGINT, SIGHUP);
  signals_->add(SIGUSR1);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [this, &on_signal](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (signal == SIGHUP || signal == SIGUSR1) {
          // Both reopen the audit file (logrotate's postrotate); SIGHUP also reloads the policy.
          if (state_.audit) state_.audit->Rotate();
          if (signal == SIGHUP) (void)policy_manager_->Reload("SIGHUP");
          signals_->async_wait(on_signal);
        } else {
          Shutdown();
        }
      };
  signals_->async_wait(on_signal);
  for (HttpServer* server : Servers()) server->Start();
  for (const auto& worker : workers_) {
    for (const auto& server : worker->servers) server->Start();  // queued on the worker's loop
    worker->answered_ms.store(SteadyNowMs());
    worker->thread = std::thread([io = &worker->io] { io->run(); });
  }
  policy_manager_->StartWatching();
  std::string loopback;
  for (const LoopbackEndpoint& endpoint : state_.config.loopback.listen) {
    loopback += ", loopback http://" + endpoint.HostPort();
  }
  Log(LogLevel::kInfo, "ready: agent socket " + state_.config.agent.socket + ", admin socket " +
                           state_.config.agent.admin_socket + loopback + ", " +
                           std::to_string(workers_.size() + 1) + " event loops, " +
                           std::to_string(state_.EnforcedPolicy()->services.size()) +
                           " services, " +
                           std::to_string(state_.store->credential_count()) + " credentials");
  watchdog_ = std::make_unique<ServiceWatchdog>(
      io_, [this] { return StatusSummary(state_); },
      [this](std::chrono::microseconds period) { return WorkersResponsive(period); });
  if (const std::chrono::microseconds period = watchdog_->Start(); period.count() > 0) {
    Log(LogLevel::kInfo, "watchdog: keep-alive every " + std::to_string(period.count() / 1000) +
                             " ms");
  }
  NotifyReady(StatusSummary(state_));
  io_.run();
  // The worker loops end once their connections and upstream calls have (Drain stopped them);
  // a request there may still wait for a grant the main loop landed before it returned.
  for (const auto& worker : workers_) worker->thread.join();
  // Every request answered so far has committed its record: write them out.
  if (state_.audit) state_.audit->Stop();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

void Agent::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  std::size_t connections = 0;
  for (HttpServer* server : Servers()) connections += server->active_connections();
  NotifyStopping("draining " + std::to_string(connections) + " connections");
  Log(LogLevel::kInfo, "stopping: draining connections");
  signals_->cancel();
  policy_manager_->Stop();
  for (HttpServer* server : Servers()) server->Stop();
  OnWorkerServers(&HttpServer::Stop);
  asio::co_spawn(io_, Drain(), asio::detached);
}

asio::awaitable<void> Agent::Drain() {
  asio::steady_timer timer(io_);
  const auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
  const auto active = [this] {
    std::size_t total = 0;
    for (HttpServer* server : Servers()) total += server->active_connections();
    return total;
  };
  while (active() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  // Past the deadline: cut what is left. run() returns once every coroutine has finished, so
  // no frame outlives the state it refers to.
  for (HttpServer* server : Servers()) server->CloseAll();
  OnWorkerServers(&HttpServer::CloseAll);
  if (watchdog_) watchdog_->Stop();
  // Aborts calls still in flight and lets each event loop run dry.
  state_.upstream->Stop();
  for (const auto& worker : workers_) {
    asio::post(worker->io, [client = worker->upstream.get()] { client->Stop(); });
    worker->work.reset();
  }
}

}  // namespace dbproxy
