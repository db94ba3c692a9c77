// Base64 in the two alphabets Azure uses (RFC 4648): the URL-safe one for JWTs, JWK members and
// Key Vault values, and the standard one for X.509 chains (`x5c`) and PEM bodies.
//
// Contract:
// - Encoders never fail. base64url_encode writes no padding (JWS/JWK style); base64_encode writes
//   the standard alphabet with padding.
// - base64url_decode is lenient about the form a client chose and strict about the content: it
//   accepts either alphabet (even mixed), with or without '=' padding, but refuses whitespace,
//   any other character, padding in the middle, an impossible length (4n+1 characters) and
//   non-zero leftover bits in the last character (RFC 4648 §3.5), so every accepted text has
//   exactly one byte string and a one-character change to an encoded signature cannot go
//   unnoticed. Errors are values; the message names the offset, never the input itself.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cmk {

std::string base64url_encode(std::string_view bytes);
std::string base64_encode(std::string_view bytes);

Result<std::string> base64url_decode(std::string_view text);
// Same decoder; named for call sites that read the standard alphabet.
inline Result<std::string> base64_decode(std::string_view text) {
  return base64url_decode(text);
}

}  // namespace cmk
