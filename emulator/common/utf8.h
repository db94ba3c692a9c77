// UTF-8-safe text: client-supplied bytes (methods, paths, headers, host names, bodies) reach
// JSON answers, the access log and the journal. nlohmann::json throws on invalid UTF-8 when it
// dumps, and a byte cut can split a character, so text from a client passes through here first.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cmk {

// `text` with every invalid UTF-8 sequence (stray continuation bytes, overlong forms, surrogates,
// code points past U+10FFFF, truncated sequences) replaced by U+FFFD. Valid text comes back equal.
std::string utf8_sanitized(std::string_view text);

// At most `max_bytes` of `text`, cut on a character boundary, with "..." appended when something
// was cut (the "..." is not counted). Invalid sequences are replaced as by utf8_sanitized.
std::string utf8_prefix(std::string_view text, size_t max_bytes);

// JSON text for an answer, a log line or the journal: invalid UTF-8 in any string is replaced
// (U+FFFD) instead of throwing, so no client input can make serialisation fail.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cmk
