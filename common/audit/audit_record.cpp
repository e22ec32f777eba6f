#include "common/audit/audit_record.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

#include "common/audit/redact.hpp"
#include "common/core/text.hpp"

namespace dbproxy {
namespace {

constexpr std::array<std::string_view, 8> kSensitiveKeyParts = {
    "token", "secret", "password", "passwd", "signature", "apikey", "api_key", "assertion"};
constexpr std::array<std::string_view, 6> kSensitiveKeys = {"code", "key", "sig",
                                                            "pwd",  "auth", "authorization"};

// Lower-cased and percent-decoded ('+' as space); a broken escape stays as it is.
std::string NormalizeKey(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '%' && i + 2 < key.size() &&
        HexDigitValue(key[i + 1]) >= 0 && HexDigitValue(key[i + 2]) >= 0) {
      c = static_cast<char>(HexDigitValue(key[i + 1]) * 16 + HexDigitValue(key[i + 2]));
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsSensitiveKey(std::string_view raw_key) {
  const std::string key = NormalizeKey(raw_key);
  for (const std::string_view exact : kSensitiveKeys) {
    if (key == exact) return true;
  }
  for (const std::string_view part : kSensitiveKeyParts) {
    if (key.find(part) != std::string::npos) return true;
  }
  return false;
}

// The length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629), 0 when it is
// not one.
std::size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // the range of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// Appends `text` as the inside of a JSON string: the escapes nlohmann's dump() writes (quote,
// backslash, b f n r t, \u00XX for other control characters), UTF-8 kept as it is, each byte
// that does not begin a well-formed sequence replaced by U+FFFD (a hostile exe path must not
// make the line invalid).
void AppendJsonEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(escape, sizeof escape);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

// Writes one JSON object, member by member, into a string.
class JsonLineWriter {
 public:
  explicit JsonLineWriter(std::string& out) : out_(out) {}
  void String(std::string_view key, std::string_view value) {
    Key(key);
    out_ += '"';
    AppendJsonEscaped(out_, value);
    out_ += '"';
  }
  void Int(std::string_view key, std::int64_t value) {
    Key(key);
    char digits[24];
    const std::to_chars_result end = std::to_chars(digits, digits + sizeof digits, value);
    out_.append(digits, end.ptr);
  }
  // An object of string members; values pass through RedactSecrets. A key that repeats keeps
  // its first place and its last value, as a JSON object built member by member would.
  void Pairs(std::string_view key, const std::vector<std::pair<std::string, std::string>>& pairs) {
    Key(key);
    out_ += '{';
    bool first = true;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (RepeatedBefore(pairs, i)) continue;
      std::size_t last = i;
      for (std::size_t j = i + 1; j < pairs.size(); ++j) {
        if (pairs[j].first == pairs[i].first) last = j;
      }
      if (!first) out_ += ',';
      first = false;
      out_ += '"';
      AppendJsonEscaped(out_, pairs[i].first);
      out_ += "\":\"";
      AppendJsonEscaped(out_, RedactSecrets(pairs[last].second));
      out_ += '"';
    }
    out_ += '}';
  }
  void Close() { out_ += first_ ? "{}" : "}"; }

 private:
  static bool RepeatedBefore(const std::vector<std::pair<std::string, std::string>>& pairs,
                             std::size_t i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (pairs[j].first == pairs[i].first) return true;
    }
    return false;
  }
  void Key(std::string_view key) {  // keys are our own literals: nothing to escape
    out_ += first_ ? "{\"" : ",\"";
    first_ = false;
    out_.append(key);
    out_ += "\":";
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace

std::string RedactQuery(std::string_view query) {
  std::string out;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    const std::size_t equals = pair.find('=');
    const std::string_view key = pair.substr(0, equals);
    if (start > 0) out += '&';
    if (equals != std::string_view::npos && IsSensitiveKey(key)) {
      out.append(key);
      out += '=';
      out.append(kRedacted);
    } else {
      out.append(pair);
    }
    start = end + 1;
  }
  return RedactSecrets(out);
}

std::string FormatRfc3339Micros(std::int64_t time_us) {
  // Floor division: a time before the epoch still has a fraction in [0, 1) s.
  std::int64_t whole = time_us / 1'000'000;
  std::int64_t fraction = time_us % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    whole -= 1;
  }
  const auto seconds = static_cast<std::time_t>(whole);
  const auto micros = static_cast<long>(fraction);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];  // ample for any int field widths -Wformat-truncation can imagine
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
  return text;
}

std::string FormatAuditRecord(const AuditRecord& r, const AuditFormatOptions& options) {
  // Written by hand into one buffer: this runs for every request on the event loop, and a JSON
  // document object would allocate per field. The output is what nlohmann's dump() gives for
  // the same members in the same order (AuditRecordTest pins that).
  std::string line;
  line.reserve(640 + r.exe.size() + r.path.size() + r.query.size() + r.statement.size());
  JsonLineWriter out(line);
  out.String("time", FormatRfc3339Micros(r.time_us));
  out.String("request_id", r.request_id);
  out.String("socket", r.socket);
  out.Int("pid", r.pid);
  out.Int("uid", r.uid);
  out.Int("gid", r.gid);
  out.String("user", r.user);
  out.String("exe", r.exe);
  out.String("unit", r.unit);
  out.String("service", r.service);
  out.String("action", r.action);
  out.String("method", r.method);
  out.String("path", RedactSecrets(r.path));
  out.String("workspace", r.workspace);
  out.String("credential", r.credential);
  out.String("decision", r.decision);
  out.String("rule", r.rule);
  out.Int("status", r.status);
  out.Int("latency_us", r.latency_us);
  if (!r.jwt_iss.empty()) {
    out.String("jwt_idp", r.jwt_idp);
    out.String("jwt_iss", r.jwt_iss);
    out.String("jwt_sub", r.jwt_sub);
  }
  if (!r.jwt_error.empty()) out.String("jwt_error", RedactSecrets(r.jwt_error));
  if (!r.saml_issuer.empty()) {
    out.String("saml_idp", r.saml_idp);
    out.String("saml_issuer", r.saml_issuer);
    out.String("saml_name_id", r.saml_name_id);
  }
  if (!r.saml_error.empty()) out.String("saml_error", RedactSecrets(r.saml_error));
  if (!r.query.empty()) out.String("query", RedactQuery(r.query));
  if (!r.attributes.empty()) out.Pairs("attributes", r.attributes);
  if (!r.detail.empty()) out.Pairs("detail", r.detail);
  out.Int("bytes_in", r.bytes_in);
  out.Int("bytes_out", r.bytes_out);
  if (r.upstream_status != 0) {
    out.Int("upstream_status", r.upstream_status);
    out.Int("upstream_latency_us", r.upstream_latency_us);
  }
  if (!r.databricks_request_id.empty()) {
    out.String("databricks_request_id", r.databricks_request_id);
  }
  if (r.statement_bytes >= 0) {
    out.Int("statement_bytes", r.statement_bytes);
    out.String("statement_sha256", r.statement_sha256);
    if (options.log_statements && !r.statement.empty()) out.String("statement", r.statement);
  }
  if (!r.shadow_decision.empty()) {
    out.String("shadow_decision", r.shadow_decision);
    out.String("shadow_rule", r.shadow_rule);
  }
  if (!r.error_code.empty()) out.String("error", r.error_code);
  out.Close();
  return line;
}

}  // namespace dbproxy
