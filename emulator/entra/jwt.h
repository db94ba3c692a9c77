// Compact JWS (RFC 7515) with RS256 only: what Entra issues and what client assertions use.
//
// Contract:
// - sign_rs256 returns "<b64url header>.<b64url payload>.<b64url signature>". The header gets
//   alg=RS256 and typ=JWT (whatever the caller put there for those two); other header members
//   (kid, x5t) are kept. JSON is serialised compactly; strings that are not valid UTF-8 are
//   repaired (U+FFFD) rather than throwing, since claims can carry client-supplied text.
// - decode_jwt only takes a token apart: three non-empty base64url segments, header and payload
//   JSON objects, total length at most kMaxJwtLength. It never checks a signature: use it to read
//   `kid` before choosing a key, or where a client would read an unverified token.
// - verify_rs256 refuses every alg except RS256 ("none", HS256 and friends included, so a token
//   cannot choose a weaker check than the verifier meant to run), refuses non-RSA keys, and
//   checks the PKCS#1 v1.5 SHA-256 signature over the segments exactly as received.
// - Nothing here throws on malformed input; errors are values with a message that describes the
//   defect, never echoes the token and never mentions key material.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cmk::entra {

// Far above any real access token or client assertion (1-4 KB), low enough to bound the work a
// hostile Authorization header can cause.
inline constexpr size_t kMaxJwtLength = 32 * 1024;

struct Jwt {
  nlohmann::json header;      // always an object
  nlohmann::json payload;     // always an object
  std::string signing_input;  // "<header>.<payload>" as received: what the signature covers
  std::string signature;      // raw signature bytes

  // Header member as a string, or "" when absent or not a string.
  std::string header_string(const char* name) const;
  // Payload claim as a string, or "" when absent or not a string.
  std::string claim_string(const char* name) const;
};

Result<std::string> sign_rs256(const nlohmann::json& header, const nlohmann::json& payload,
                               EVP_PKEY* private_key);

Result<Jwt> decode_jwt(std::string_view token);

Status verify_rs256(const Jwt& jwt, EVP_PKEY* public_key);

// decode_jwt + verify_rs256.
Result<Jwt> verify_jwt_rs256(std::string_view token, EVP_PKEY* public_key);

}  // namespace cmk::entra
