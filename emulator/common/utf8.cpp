#include "common/utf8.h"

#include <algorithm>

namespace cmk {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when none starts there
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
size_t valid_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return len;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

std::string utf8_sanitized(std::string_view text) {
  return utf8_prefix(text, std::string_view::npos);
}

std::string utf8_prefix(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 3);  // + "..."
  for (size_t i = 0; i < text.size();) {
    const size_t len = valid_sequence_length(text, i);
    const std::string_view piece = len ? text.substr(i, len) : kReplacement;
    if (piece.size() > max_bytes - out.size()) {  // no overflow: out.size() <= max_bytes
      out += "...";
      return out;
    }
    out += piece;
    i += len ? len : 1;
  }
  return out;
}

}  // namespace cmk
