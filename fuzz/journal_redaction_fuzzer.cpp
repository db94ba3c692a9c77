// Journal redaction (journal/redaction.h): what the request journal may keep of a body or a query
// string. Whatever the bytes, no string value under a secret-bearing name and no PEM private key
// may survive in a JSON body, and no secret-bearing parameter's value in a form or query.
//
// Input: line 1 the Content-Type, the rest the body (also redacted as a query string).
#include <string>

#include <nlohmann/json.hpp>

#include "common/json_input.h"
#include "common/utf8.h"
#include "fuzz_support.h"
#include "http/message.h"
#include "journal/redaction.h"

using namespace cmk;
using nlohmann::json;

namespace {

// The names redaction.cpp promises to redact, listed again here as the test's own oracle.
bool secret_name(std::string_view name) {
  for (const char* n : {"access_token",
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
                        "private_key"})
    if (http::iequals(n, name)) return true;
  return false;
}

void check_json(const json& j, const std::string& whole) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string() && secret_name(it.key()))
        FUZZ_CHECK(it.value() == "<redacted>", whole);
      check_json(it.value(), whole);
    }
  } else if (j.is_array()) {
    for (const auto& e : j) check_json(e, whole);
  } else if (j.is_string()) {
    FUZZ_CHECK(j.get_ref<const std::string&>().find("PRIVATE KEY-----") == std::string::npos,
               whole);
  }
}

// Every "name=value" of a redacted form whose name is secret-bearing has no value left.
void check_pairs(std::string_view text) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    const std::string_view pair = text.substr(pos, amp - pos);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && secret_name(http::percent_decode(pair.substr(0, eq), true)))
      FUZZ_CHECK(pair.substr(eq + 1) == "<redacted>", std::string(text));
    pos = amp + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [content_type, body] = fuzz::first_line(fuzz::as_text(data, size));

  const std::string kept = journal::redact_body(body, content_type);
  if (auto doc = parse_json_input(body); doc && (doc->is_object() || doc->is_array())) {
    auto again = parse_json_input(kept);
    FUZZ_CHECK(again.is_ok(), kept);
    check_json(again.value(), kept);
  } else if (http::to_lower(content_type).find("x-www-form-urlencoded") != std::string::npos &&
             !body.empty()) {
    check_pairs(kept);
  } else if (!body.empty()) {
    // Neither JSON nor a form: only the size and type are kept.
    FUZZ_CHECK(kept.rfind("<" + std::to_string(body.size()) + " bytes", 0) == 0, kept);
  }
  check_pairs(journal::redact_query(body));
  // The journal shows both as JSON strings.
  (void)json_text(json{{"body", kept}, {"query", journal::redact_query(body)}});
  return 0;
}
