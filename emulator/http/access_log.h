// What the access log (AccessLogFilter, pipeline.h) may show of a request.
#pragma once

#include <string>
#include <string_view>

namespace cmk::http {

// The request target for a log line: the values of credential query parameters (client_secret,
// access_token, refresh_token, id_token, client_assertion, assertion, password, code, sig, token;
// names matched case-insensitively, also percent-encoded) replaced by "REDACTED"; at most 512
// bytes, cut on a character boundary; invalid UTF-8 replaced by U+FFFD.
std::string loggable_target(std::string_view target);

}  // namespace cmk::http
