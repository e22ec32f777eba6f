#include "tests/integration/harness/fake_workspace.hpp"

#include <curl/curl.h>

#include <mutex>
#include <stdexcept>

namespace dbproxy::testing {
namespace {

#ifdef DBPROXY_FAKE_WORKSPACE_BIN
constexpr const char* kDefaultBinary = DBPROXY_FAKE_WORKSPACE_BIN;
#else
constexpr const char* kDefaultBinary = "";
#endif

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t AppendBody(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t AppendHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    response->headers.emplace_back(std::move(name), std::move(value));
  }
  return size * count;
}

std::string ClientsFileLine(const FakeClient& c) {
  std::string line = c.client_id + " " + c.client_secret;
  for (std::size_t i = 0; i < c.scopes.size(); ++i) line += (i == 0 ? " " : ",") + c.scopes[i];
  return line + "\n";
}

}  // namespace

HttpResponse HttpsCall(const std::string& method, const std::string& url,
                       const std::filesystem::path& ca_file, const std::string& body,
                       const std::string& bearer, const std::string& content_type) {
  GlobalInit();
  HttpResponse response;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) {
    response.error = "curl_easy_init failed";
    return response;
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr,
                                                                      &curl_slist_free_all);
  auto add_header = [&headers](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  if (!bearer.empty()) add_header("Authorization: Bearer " + bearer);
  if (!body.empty()) add_header("Content-Type: " + content_type);
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &AppendHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    response.error = std::string(method + " " + url + ": ") + curl_easy_strerror(rc);
    return response;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

FakeWorkspace::FakeWorkspace(const std::filesystem::path& dir, FakeWorkspaceOptions options)
    : dir_(dir) {
  std::filesystem::create_directories(dir_);
  ProcessOptions p;
  p.args = {options.binary.empty() ? kDefaultBinary : options.binary, "--dir", dir_.string(),
            "--port", "0"};
  if (p.args[0].empty()) throw std::runtime_error("the fake workspace binary was not built");
  if (options.threads > 0) {
    p.args.insert(p.args.end(), {"--threads", std::to_string(options.threads)});
  }
  if (options.token_lifetime_seconds > 0) {
    p.args.insert(p.args.end(),
                  {"--token-lifetime", std::to_string(options.token_lifetime_seconds)});
  }
  if (!options.clients.empty()) {
    std::string clients;
    for (const auto& c : options.clients) clients += ClientsFileLine(c);
    const auto clients_file = dir_ / "clients.txt";
    WriteFile(clients_file, clients, 0600);
    p.args.insert(p.args.end(), {"--clients-file", clients_file.string()});
  }
  p.stdout_file = dir_ / "fake.stdout";
  p.stderr_file = dir_ / "fake.stderr";
  process_ = std::make_unique<Process>(std::move(p));
  const auto url_file = dir_ / "url";
  const bool ready = WaitFor(
      [&] { return !ReadFile(url_file).empty() || !process_->Running(); },
      std::chrono::seconds(20));
  url_ = ReadFile(url_file);
  while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
  if (!ready || url_.empty()) {
    throw std::runtime_error("fake workspace did not become ready; stderr:\n" +
                             process_->Stderr());
  }
}

HttpResponse FakeWorkspace::CallApi(const std::string& path, const std::string& bearer) const {
  return HttpsCall("GET", url_ + path, ca_file(), "", bearer);
}

HttpResponse FakeWorkspace::Control(const std::string& method, const std::string& path,
                                    const std::string& body) const {
  return HttpsCall(method, url_ + path, ca_file(), body);
}

namespace {
HarnessStatus Expect2xx(const HttpResponse& r, const std::string& what) {
  if (r.ok() && r.status / 100 == 2) return HarnessStatus::Ok();
  return HarnessStatus::Fail(what + ": " + r.Describe());
}
}  // namespace

HarnessStatus FakeWorkspace::AddClient(const FakeClient& client) const {
  nlohmann::json body{{"client_id", client.client_id}, {"client_secret", client.client_secret}};
  if (!client.scopes.empty()) body["scopes"] = client.scopes;
  return Expect2xx(Control("POST", "/_fake/clients", body.dump()), "POST /_fake/clients");
}

HttpResponse FakeWorkspace::TokenGrant(const std::string& client_id,
                                       const std::string& client_secret,
                                       const std::string& scope) const {
  return HttpsCall("POST", url_ + "/oidc/v1/token", ca_file(),
                   "grant_type=client_credentials&client_id=" + client_id +
                       "&client_secret=" + client_secret + "&scope=" + scope,
                   "", "application/x-www-form-urlencoded");
}

HarnessStatus FakeWorkspace::SetTokenLifetime(int seconds) const {
  const nlohmann::json body{{"token_lifetime_seconds", seconds}};
  return Expect2xx(Control("POST", "/_fake/config", body.dump()), "POST /_fake/config");
}

HarnessStatus FakeWorkspace::InjectFault(const nlohmann::json& fault) const {
  return Expect2xx(Control("POST", "/_fake/faults", fault.dump()), "POST /_fake/faults");
}

nlohmann::json FakeWorkspace::Counters() const {
  const HttpResponse r = Control("GET", "/_fake/counters");
  if (!r.ok() || r.status != 200) return nlohmann::json(nlohmann::json::value_t::discarded);
  return r.Json();
}

int FakeWorkspace::Grants(const std::string& client_id) const {
  const nlohmann::json c = Counters();
  if (c.is_discarded() || !c.contains("token_grants")) return -1;
  const auto& grants = c["token_grants"];
  if (!grants.contains(client_id)) return 0;
  return grants[client_id].get<int>();
}

int FakeWorkspace::TokenRequests() const {
  const nlohmann::json c = Counters();
  if (c.is_discarded() || !c.contains("token_requests")) return -1;
  return c["token_requests"].get<int>();
}

}  // namespace dbproxy::testing
