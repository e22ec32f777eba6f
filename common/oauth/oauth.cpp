// Discovery and token-endpoint answers (oauth.hpp). URL helpers live in oauth_url.cpp.
#include "common/oauth/oauth.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/audit/redact.hpp"
#include "common/core/text.hpp"

namespace dbproxy {
namespace {

constexpr std::size_t kMaxDiscoveryBytes = 64 * 1024;
constexpr std::size_t kMaxTokenResponseBytes = 64 * 1024;
constexpr std::size_t kMaxDescriptionBytes = 200;
constexpr std::size_t kMaxErrorCodeBytes = 64;
constexpr std::int64_t kMaxExpiresIn = std::int64_t{10} * 365 * 24 * 3600;

Error Upstream(std::string message, std::string log_detail = {}) {
  return MakeError(Errc::kUpstreamError, std::move(message), std::move(log_detail));
}

// Upstream text made safe for clients and logs: secrets redacted first (a cut could otherwise
// split a token so that it no longer matches), control characters blanked (no forged log lines),
// then cut to `max` bytes without splitting a UTF-8 sequence (JSON serialisation needs valid
// UTF-8; nlohmann has already validated the input).
std::string CleanUpstreamText(std::string_view text, std::size_t max) {
  std::string clean = RedactSecrets(text);
  for (char& c : clean) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (clean.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80)
      --cut;
    clean.resize(cut);
  }
  return clean;
}

// Splits an absolute URL into its normalised origin and the rest (path and beyond).
Result<std::pair<std::string, std::string>> SplitOrigin(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return Upstream("token endpoint is not an absolute URL");
  const std::size_t path = std::min(url.find_first_of("/?#", sep + 3), url.size());
  Result<std::string> origin = NormalizeWorkspaceHost(url.substr(0, path));
  if (!origin) return Upstream("token endpoint is not a valid https URL", origin.error().message);
  return std::make_pair(std::move(*origin), std::string(url.substr(path)));
}

}  // namespace

Result<OidcEndpoints> ParseDiscovery(std::string_view body, std::string_view host) {
  Result<std::string> origin = NormalizeWorkspaceHost(host);
  if (!origin) return std::move(origin).error();
  if (body.size() > kMaxDiscoveryBytes)
    return Upstream("workspace discovery document is too large");
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Upstream("workspace discovery document is not a JSON object");
  }
  const auto endpoint = doc.find("token_endpoint");
  if (endpoint == doc.end() || !endpoint->is_string()) {
    return Upstream("workspace discovery document has no token_endpoint");
  }
  Result<std::pair<std::string, std::string>> split =
      SplitOrigin(endpoint->get_ref<const std::string&>());
  if (!split) return std::move(split).error();
  auto& [endpoint_origin, path] = *split;
  if (endpoint_origin != *origin) {
    return Upstream("workspace token endpoint is not on the workspace host " + *origin,
                    "token_endpoint origin " + endpoint_origin);
  }
  const bool path_ok =
      !path.empty() && path.front() == '/' && std::all_of(path.begin(), path.end(), [](char c) {
        return c > ' ' && c <= '~' && c != '?' && c != '#';
      });
  if (!path_ok) return Upstream("workspace token endpoint has an invalid path");

  OidcEndpoints endpoints;
  const auto issuer = doc.find("issuer");
  if (issuer != doc.end() && issuer->is_string()) endpoints.issuer = issuer->get<std::string>();
  endpoints.token_endpoint = endpoint_origin + path;
  return endpoints;
}

namespace {

// Collects the top-level fields of a token response through nlohmann's SAX interface, so that
// the access token goes straight from the lexer's buffer into SecretBytes, and that buffer is
// wiped after every string value. (The lexer's raw-token copy for error messages is outside our
// reach; it is freed, not wiped.) Duplicate fields of interest stop the parse.
class TokenResponseReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  enum Field { kAccessToken, kTokenType, kExpiresIn, kScope, kError, kErrorDescription, kCount };
  enum class Kind { kMissing, kString, kInteger, kOther };
  struct Value {
    Kind kind = Kind::kMissing;
    std::string text;  // never holds the access token
    std::int64_t integer = 0;
  };

  bool is_object() const { return is_object_; }
  const Value& get(Field field) const { return values_[field]; }
  SecretBytes& access_token() { return access_token_; }

  bool null() override { return Set(Kind::kOther); }
  bool boolean(bool /*val*/) override { return Set(Kind::kOther); }
  bool number_integer(number_integer_t val) override { return SetInteger(val); }
  bool number_unsigned(number_unsigned_t val) override {
    if (val > static_cast<number_unsigned_t>(std::numeric_limits<std::int64_t>::max())) {
      return Set(Kind::kOther);
    }
    return SetInteger(static_cast<std::int64_t>(val));
  }
  bool number_float(number_float_t /*val*/, const string_t& /*s*/) override {
    return Set(Kind::kOther);
  }
  bool string(string_t& val) override {
    if (depth_ == 1 && current_ == kAccessToken) {
      access_token_ = SecretBytes::CopyFrom(val);
    } else if (depth_ == 1 && current_ != kCount) {
      values_[current_].text = val;
    }
    WipeString(val);
    return Set(Kind::kString);
  }
  bool binary(binary_t& /*val*/) override { return Set(Kind::kOther); }
  bool start_object(std::size_t /*elements*/) override {
    if (depth_ == 0) is_object_ = true;
    return Open();
  }
  bool key(string_t& val) override {
    if (depth_ != 1) return true;
    static constexpr std::array<std::string_view, kCount> kNames = {
        "access_token", "token_type", "expires_in", "scope", "error", "error_description"};
    current_ = kCount;
    for (int f = 0; f < kCount; ++f) {
      if (val == kNames[f]) current_ = static_cast<Field>(f);
    }
    // A repeated field would give two readings of one response.
    return current_ == kCount || values_[current_].kind == Kind::kMissing;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t /*elements*/) override { return depth_ > 0 && Open(); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) override {
    return false;
  }

 private:
  bool Open() {
    Set(Kind::kOther);
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  bool Set(Kind kind) {
    if (depth_ == 1 && current_ != kCount) values_[current_].kind = kind;
    if (depth_ == 1) current_ = kCount;
    return true;
  }
  bool SetInteger(std::int64_t val) {
    if (depth_ == 1 && current_ != kCount) values_[current_].integer = val;
    return Set(Kind::kInteger);
  }

  std::array<Value, kCount> values_{};
  SecretBytes access_token_;
  Field current_ = kCount;
  int depth_ = 0;
  bool is_object_ = false;
};

using Reader = TokenResponseReader;

std::optional<std::int64_t> ExpiresIn(const Reader::Value& value) {
  std::int64_t seconds = -1;
  if (value.kind == Reader::Kind::kInteger) {
    seconds = value.integer;
  } else if (value.kind == Reader::Kind::kString && !value.text.empty() &&
             value.text.size() <= 10) {
    seconds = 0;
    for (const char c : value.text) {
      if (c < '0' || c > '9') return std::nullopt;
      seconds = seconds * 10 + (c - '0');
    }
  }
  if (seconds <= 0 || seconds > kMaxExpiresIn) return std::nullopt;
  return seconds;
}

Result<TokenGrant> ErrorFromBody(long http_status, const Reader& reader,
                                 std::string_view requested_scope) {
  const std::string status = "HTTP " + std::to_string(http_status);
  const Reader::Value& code_value = reader.get(Reader::kError);
  const std::string code = code_value.kind == Reader::Kind::kString
                               ? CleanUpstreamText(code_value.text, kMaxErrorCodeBytes)
                               : std::string();
  const Reader::Value& desc_value = reader.get(Reader::kErrorDescription);
  std::string description = desc_value.kind == Reader::Kind::kString
                                ? CleanUpstreamText(desc_value.text, kMaxDescriptionBytes)
                                : std::string();
  const std::string suffix = description.empty() ? "" : ": " + description;
  const std::string log = status + " error=" + (code.empty() ? "(none)" : code);
  // invalid_grant: a token exchange whose JWT the federation policy does not accept.
  if (code == "invalid_client" || code == "unauthorized_client" || code == "invalid_grant") {
    return MakeError(Errc::kInvalidCredential,
                     "workspace rejected the credential: " + code + suffix, log);
  }
  if (code == "invalid_scope") {
    return MakeError(Errc::kInvalidRequest,
                     "workspace rejected scope '" +
                         CleanUpstreamText(requested_scope, kMaxDescriptionBytes) + "'" + suffix,
                     log);
  }
  if (code.empty()) return Upstream("workspace token endpoint answered " + status, log);
  return Upstream("workspace token endpoint answered " + status + ": " + code + suffix, log);
}

Result<TokenGrant> GrantFromBody(Reader& reader, std::string_view requested_scope) {
  if (reader.get(Reader::kAccessToken).kind != Reader::Kind::kString ||
      reader.access_token().empty()) {
    return Upstream("workspace token response has no access_token");
  }
  const Reader::Value& type = reader.get(Reader::kTokenType);
  if (type.kind != Reader::Kind::kString || !EqualsIgnoreCase(type.text, "bearer")) {
    return Upstream("workspace token response has no Bearer token_type");
  }
  const std::optional<std::int64_t> expires_in = ExpiresIn(reader.get(Reader::kExpiresIn));
  if (!expires_in) return Upstream("workspace token response has no valid expires_in");
  const Reader::Value& scope = reader.get(Reader::kScope);
  if (scope.kind != Reader::Kind::kMissing && scope.kind != Reader::Kind::kString) {
    return Upstream("workspace token response has a non-string scope");
  }
  TokenGrant grant;
  grant.access_token = std::move(reader.access_token());
  grant.token_type = type.text;
  grant.expires_in = *expires_in;
  grant.scope = scope.kind == Reader::Kind::kString ? scope.text : std::string(requested_scope);
  return grant;
}

}  // namespace

Result<TokenGrant> ParseTokenResponse(long http_status, std::string& body,
                                      std::string_view requested_scope, int retry_after_seconds) {
  struct WipeOnExit {
    std::string& text;
    ~WipeOnExit() { WipeString(text); }
  } wipe{body};

  Reader reader;
  const bool parsed = body.size() <= kMaxTokenResponseBytes &&
                      nlohmann::json::sax_parse(body, &reader) && reader.is_object();
  WipeString(body);

  if (http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    std::string message =
        "workspace token endpoint is unavailable (HTTP " + std::to_string(http_status) + ")";
    const Reader::Value& desc = reader.get(Reader::kErrorDescription);
    if (parsed && desc.kind == Reader::Kind::kString && !desc.text.empty()) {
      message += ": " + CleanUpstreamText(desc.text, kMaxDescriptionBytes);
    }
    Error error = MakeError(Errc::kUpstreamUnavailable, std::move(message),
                            "HTTP " + std::to_string(http_status));
    error.retry_after_seconds =
        retry_after_seconds > 0 ? retry_after_seconds : kDefaultRetryAfterSeconds;
    return error;
  }
  if (!parsed) {
    return Upstream("workspace token endpoint answered HTTP " + std::to_string(http_status) +
                        " with a body that is not a JSON object",
                    "HTTP " + std::to_string(http_status) + " non-JSON body");
  }
  if (http_status != 200 || reader.get(Reader::kError).kind != Reader::Kind::kMissing) {
    return ErrorFromBody(http_status, reader, requested_scope);
  }
  return GrantFromBody(reader, requested_scope);
}

}  // namespace dbproxy
