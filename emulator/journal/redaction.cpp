#include "journal/redaction.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "common/json_input.h"
#include "common/utf8.h"
#include "http/message.h"

namespace cmk::journal {

namespace {

constexpr std::string_view kRedacted = "<redacted>";

// Names whose string values are secrets wherever they appear: OAuth and MSAL fields, Key Vault
// payloads (wrapped/unwrapped keys, plaintexts, backups, secret values, certificate import and
// issuer passwords) and private JWK members.
bool secret_name(std::string_view name) {
  // ("code" is not among them: it is also every error body's code.)
  static constexpr std::array<std::string_view, 22> kNames = {"access_token",
                                                              "refresh_token",
                                                              "id_token",
                                                              "client_secret",
                                                              "client_assertion",
                                                              "assertion",
                                                              "password",
                                                              "secret",
                                                              "code_verifier",
                                                              "value",
                                                              "d",
                                                              "p",
                                                              "q",
                                                              "dp",
                                                              "dq",
                                                              "qi",
                                                              "k",
                                                              "key_hsm",
                                                              "t",
                                                              "token",
                                                              "private_key",
                                                              "pwd"};
  return std::any_of(kNames.begin(), kNames.end(),
                     [&](std::string_view n) { return http::iequals(n, name); });
}

bool b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '=';
}

// A compact JWS anywhere in the text: "eyJ" followed by base64url with two dots.
bool contains_jwt(std::string_view s) {
  for (size_t at = s.find("eyJ"); at != std::string_view::npos; at = s.find("eyJ", at + 3)) {
    size_t i = at, dots = 0;
    while (i < s.size() && (b64url_char(s[i]) || s[i] == '.')) dots += s[i++] == '.';
    if (dots >= 2 && i - at > 20) return true;
  }
  return false;
}

bool sensitive_text(std::string_view s) {
  return contains_jwt(s) || s.find("PRIVATE KEY-----") != std::string_view::npos;
}

void redact_json(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string() &&
          (secret_name(it.key()) || sensitive_text(it.value().get_ref<const std::string&>())))
        it.value() = kRedacted;
      else
        redact_json(it.value());
    }
  } else if (j.is_array()) {
    for (auto& e : j) redact_json(e);
  } else if (j.is_string() && sensitive_text(j.get_ref<const std::string&>())) {
    j = kRedacted;
  }
}

// a=1&b=2 with secret values replaced; names and other values kept as sent.
std::string redact_pairs(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view pair = text.substr(pos, amp - pos);
    if (!out.empty() || pos > 0) out += '&';
    const size_t eq = pair.find('=');
    const std::string name = http::percent_decode(pair.substr(0, eq), true);
    if (eq != std::string_view::npos &&
        (secret_name(name) || sensitive_text(http::percent_decode(pair.substr(eq + 1), true))))
      out.append(pair.substr(0, eq + 1)).append(kRedacted);
    else
      out.append(pair);
    pos = amp + 1;
  }
  return out;
}

}  // namespace

std::string redact_body(std::string_view body, std::string_view content_type) {
  if (body.empty()) return {};
  // By content, not by the declared type: a JSON wrapKey body sent as a form (curl -d) is still
  // JSON to the handler that reads it, and its plaintext must not reach the journal.
  if (auto j = parse_json_input(body); j && (j.value().is_object() || j.value().is_array())) {
    redact_json(j.value());
    return json_text(j.value());
  }
  const std::string type = http::to_lower(content_type);
  if (type.find("x-www-form-urlencoded") != std::string::npos) return redact_pairs(body);
  return "<" + std::to_string(body.size()) + " bytes" +
         (content_type.empty() ? std::string() : " of " + std::string(content_type)) + ">";
}

std::string redact_query(std::string_view raw_query) {
  return redact_pairs(raw_query);
}

}  // namespace cmk::journal
