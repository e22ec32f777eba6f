#include "tests/fake_workspace/test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace dbproxy::fake::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono_literals::operator""ms;

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* user) {
  const std::string line(data, size * count);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * count;
}

// Waits up to `timeout` for the child to exit; its exit status, or -1.
int WaitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  return -2;
}

}  // namespace

std::string Base64(std::string_view bytes) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(group >> 18) & 63]);
    out.push_back(kAlphabet[(group >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[group & 63] : '=');
  }
  return out;
}

FakeWorkspaceProcess::FakeWorkspaceProcess(const std::string& clients_file,
                                           const std::vector<std::string>& args) {
  std::string pattern = (fs::temp_directory_path() / "fake-workspace-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  std::vector<std::string> argv_strings = {FAKE_WORKSPACE_BINARY, "--dir", dir_.string()};
  if (!clients_file.empty()) {
    std::ofstream(dir_ / "clients") << clients_file;
    argv_strings.insert(argv_strings.end(), {"--clients-file", (dir_ / "clients").string()});
  }
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log_path = (dir_ / "output.log").string();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec. Die with the test process.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!fs::exists(dir_ / "url")) {
    if (std::chrono::steady_clock::now() > deadline || WaitForExit(pid_, 0ms) != -2) {
      throw std::runtime_error("fake workspace did not start; see " + log_path);
    }
    std::this_thread::sleep_for(10ms);
  }
  std::ifstream(dir_ / "url") >> url_;
  curl_.reset(curl_easy_init());
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

FakeWorkspaceProcess::~FakeWorkspaceProcess() {
  if (pid_ > 0 && Terminate() < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

int FakeWorkspaceProcess::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int status = WaitForExit(pid_, std::chrono::milliseconds(2000));
  if (status != -2) pid_ = -1;
  return status < 0 ? -1 : status;
}

namespace {

HttpResponse Perform(CURL* curl, const std::string& url, const std::string& ca_file, bool fresh,
                     const std::string& method, const std::string& body,
                     const std::vector<std::string>& headers) {
  curl_easy_reset(curl);  // keeps the connection cache
  HttpResponse response;
  curl_slist* list = nullptr;
  for (const std::string& header : headers)
    list = curl_slist_append(list, header.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> owned_list(list,
                                                                         &curl_slist_free_all);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
  if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    response.error = curl_easy_strerror(code);
    return response;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace

HttpResponse FakeWorkspaceProcess::Request(const std::string& method, const std::string& path,
                                           const std::string& body,
                                           const std::vector<std::string>& headers) {
  return Perform(curl_.get(), url_ + path, (dir_ / "ca.pem").string(), fresh_connections_, method,
                 body, headers);
}

std::string FakeWorkspaceProcess::AddFederationPolicy(const nlohmann::json& policy) {
  const HttpResponse response = Request("POST", "/_fake/federation/policies", policy.dump(),
                                        {"Content-Type: application/json"});
  if (response.status != 201) {
    throw std::runtime_error("federation policy refused: " + std::to_string(response.status) + " " +
                             response.body + response.error);
  }
  return response.Json().value("id", "");
}

nlohmann::json FakeWorkspaceProcess::FederationStats() {
  return Request("GET", "/_fake/federation/stats").Json();
}

FakeWorkspaceProcess::Client::Client(const FakeWorkspaceProcess& workspace)
    : url_(workspace.url()), ca_file_((workspace.dir() / "ca.pem").string()) {
  curl_.reset(curl_easy_init());
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

HttpResponse FakeWorkspaceProcess::Client::Request(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& body,
                                                   const std::vector<std::string>& headers) {
  return Perform(curl_.get(), url_ + path, ca_file_, false, method, body, headers);
}

}  // namespace dbproxy::fake::testing
