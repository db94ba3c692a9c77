#include <catch2/catch.hpp>

#include "common/utf8.h"
#include "http/access_log.h"

using cmk::json_text;
using cmk::utf8_prefix;
using cmk::utf8_sanitized;

TEST_CASE("utf8_sanitized keeps valid text and replaces each invalid sequence", "[utf8]") {
  CHECK(utf8_sanitized("plain ascii") == "plain ascii");
  CHECK(utf8_sanitized("caf\xC3\xA9 \xF0\x9F\x94\x91") == "caf\xC3\xA9 \xF0\x9F\x94\x91");
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(utf8_sanitized("\xFF") == fffd);
  CHECK(utf8_sanitized("a\xFF\xFE"
                       "b") == "a" + fffd + fffd + "b");
  CHECK(utf8_sanitized("\xC0\xAF") == fffd + fffd);                        // overlong '/'
  CHECK(utf8_sanitized("\xED\xA0\x80") == fffd + fffd + fffd);             // a surrogate
  CHECK(utf8_sanitized("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // past U+10FFFF
  CHECK(utf8_sanitized("x\xC3") == "x" + fffd);                            // truncated at the end
}

TEST_CASE("utf8_prefix cuts on a character boundary and marks the cut", "[utf8]") {
  CHECK(utf8_prefix("short", 10) == "short");
  CHECK(utf8_prefix("exactly10!", 10) == "exactly10!");
  CHECK(utf8_prefix("abcdefghijk", 5) == "abcde...");
  // 'é' is two bytes: a limit of 3 bytes keeps one, never half of the second.
  CHECK(utf8_prefix("\xC3\xA9\xC3\xA9", 3) == "\xC3\xA9...");
  CHECK(utf8_prefix("", 0).empty());
}

TEST_CASE("json_text replaces invalid UTF-8 instead of throwing", "[utf8]") {
  nlohmann::json j = {{"method", std::string("\xFF")}};
  CHECK_NOTHROW(json_text(j));
  CHECK(json_text(j) == "{\"method\":\"\xEF\xBF\xBD\"}");
}

TEST_CASE("the access log's target hides credentials in the query", "[utf8][http]") {
  using cmk::http::loggable_target;
  CHECK(loggable_target("/msi/token?resource=x&client_secret=s3cret&api-version=1") ==
        "/msi/token?resource=x&client_secret=REDACTED&api-version=1");
  CHECK(loggable_target("/t?ACCESS_TOKEN=a&client%5Fsecret=b&sig=c") ==
        "/t?ACCESS_TOKEN=REDACTED&client%5Fsecret=REDACTED&sig=REDACTED");
  CHECK(loggable_target("/keys/k?api-version=7.4") == "/keys/k?api-version=7.4");
  CHECK(loggable_target("/p?flag&code") == "/p?flag&code");  // names without values stay
  CHECK(loggable_target(std::string(600, 'a')).size() == 512 + 3);
}
