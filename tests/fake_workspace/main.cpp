// dbproxy-fake-workspace: a test double of a Databricks workspace (OAuth M2M token endpoint and a
// slice of the REST API) served over HTTPS on 127.0.0.1, with a /_fake/ control channel.
//
//   dbproxy-fake-workspace --dir DIR [--port N] [--token-lifetime SECONDS] [--clients-file FILE]
//                          [--threads N]
//
// --threads: io_context threads (default 1). Benchmarks use more, so that the fake upstream is
// not what limits the proxies measured against it.
//
// Writes DIR/ca.pem (the CA to trust) and then DIR/url ("https://127.0.0.1:PORT"), prints
// "READY <url>" and serves until SIGTERM or SIGINT, then exits 0.
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "tests/fake_workspace/cert_gen.hpp"
#include "tests/fake_workspace/oauth/clients_file.hpp"
#include "tests/fake_workspace/api/compute_api.hpp"
#include "tests/fake_workspace/api/jobs_api.hpp"
#include "tests/fake_workspace/server.hpp"
#include "tests/fake_workspace/api/sql_api.hpp"
#include "tests/fake_workspace/state.hpp"

namespace {

namespace fs = std::filesystem;
namespace fake = dbproxy::fake;

constexpr const char* kUsage =
    "usage: dbproxy-fake-workspace --dir DIR [--port N] [--token-lifetime SECONDS] "
    "[--clients-file FILE] [--threads N]\n";

struct Options {
  fs::path dir;
  unsigned short port = 0;
  long token_lifetime_seconds = 3600;
  std::optional<fs::path> clients_file;
  int threads = 1;
};

std::optional<long> ParseNumber(const std::string& text, long low, long high) {
  long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return std::nullopt;
  }
  return value;
}

// nullopt (after printing why) when the command line is not valid.
std::optional<Options> ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "missing value for " << flag << "\n" << kUsage;
      return std::nullopt;
    }
    const std::string value = argv[i + 1];
    if (flag == "--dir") {
      options.dir = value;
    } else if (flag == "--clients-file") {
      options.clients_file = value;
    } else if (flag == "--port" && ParseNumber(value, 0, 65535)) {
      options.port = static_cast<unsigned short>(*ParseNumber(value, 0, 65535));
    } else if (flag == "--threads" && ParseNumber(value, 1, 64)) {
      options.threads = static_cast<int>(*ParseNumber(value, 1, 64));
    } else if (flag == "--token-lifetime" && ParseNumber(value, 1, 7L * 24 * 3600)) {
      options.token_lifetime_seconds = *ParseNumber(value, 1, 7L * 24 * 3600);
    } else {
      std::cerr << "bad option " << flag << " " << value << "\n" << kUsage;
      return std::nullopt;
    }
  }
  if (options.dir.empty()) {
    std::cerr << kUsage;
    return std::nullopt;
  }
  return options;
}

// Readers polling for `path` never see a partial file: write a temporary, then rename.
void WriteFileAtomically(const fs::path& path, const std::string& contents) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  fs::rename(temporary, path);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

int Run(const Options& options) {
  fake::WorkspaceState state;
  state.token_lifetime = std::chrono::seconds(options.token_lifetime_seconds);
  if (options.clients_file) {
    const std::string error = ParseClientsFile(ReadFile(*options.clients_file),
                                               options.clients_file->string(), state.clients);
    if (!error.empty()) {
      std::cerr << error << "\n";
      return 2;
    }
  }
  fake::SeedComputeResources(state);
  fake::SeedJobs(state);
  fake::SeedWarehouses(state);

  const fake::TlsIdentity identity = fake::GenerateTlsIdentity();
  dbproxy::asio::ssl::context tls = fake::MakeServerTlsContext(identity);
  // Declared after `state` and `tls`: sessions suspended in the io_context refer to both.
  dbproxy::asio::io_context io(options.threads);
  fake::FakeWorkspaceServer server(io, tls, state, options.port);
  state.base_url = "https://127.0.0.1:" + std::to_string(server.port());

  dbproxy::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& /*error*/, int /*signal*/) {
    server.Stop();
    io.stop();
  });
  server.Start();

  fs::create_directories(options.dir);
  WriteFileAtomically(options.dir / "ca.pem", fake::CertificateToPem(identity.ca_cert.get()));
  WriteFileAtomically(options.dir / "url", state.base_url);
  std::cout << "READY " << state.base_url << std::endl;

  std::vector<std::thread> extra_threads;
  for (int i = 1; i < options.threads; ++i) extra_threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : extra_threads) thread.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> options = ParseOptions(argc, argv);
  if (!options) return 2;
  try {
    return Run(*options);
  } catch (const std::exception& e) {
    std::cerr << "dbproxy-fake-workspace: " << e.what() << "\n";
    return 1;
  }
}
