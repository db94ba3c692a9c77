// What the journal may keep of a request or response: secrets, tokens and key material are
// replaced by "<redacted>" before anything is stored (private key material never leaves in a
// response or a log).
//
// - JSON bodies: every string value under a secret-bearing name (access_token, client_secret,
//   password, value, the private JWK members d, p, q, dp, dq, qi, k, ...) and every string that
//   looks like a JWT or a PEM private key, at any depth.
// - Form bodies and query strings: the values of secret-bearing parameters.
// - Anything else: only its size and content type.
#pragma once

#include <string>
#include <string_view>

namespace cmk::journal {

std::string redact_body(std::string_view body, std::string_view content_type);
std::string redact_query(std::string_view raw_query);

}  // namespace cmk::journal
