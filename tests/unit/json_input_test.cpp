#include <catch2/catch.hpp>

#include "common/json_input.h"
#include "journal/redaction.h"

using Catch::Matchers::Contains;
using cmk::parse_json_input;

TEST_CASE("parse_json_input refuses nesting past the limit before parsing", "[json]") {
  CHECK(parse_json_input(R"({"a":[{"b":[1]}]})").is_ok());
  const std::string at_limit = std::string(64, '[') + std::string(64, ']');
  CHECK(parse_json_input(at_limit).is_ok());
  const std::string past = std::string(65, '[') + std::string(65, ']');
  auto r = parse_json_input(past);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.error() == "JSON nested deeper than 64 levels at line 1, column 65");
  // 100 000 deep (the depth that overflowed the stack) answers the same way, at once.
  auto deep = parse_json_input(R"({"tags":)" + std::string(100000, '{') + "}");
  REQUIRE_FALSE(deep.is_ok());
  CHECK_THAT(deep.error(), Contains("nested deeper than 64 levels"));
  // Brackets inside strings, escaped quotes included, are text.
  CHECK(parse_json_input(R"({"s":")" + std::string(200, '[') + R"(\"]"})").is_ok());
}

TEST_CASE("parse_json_input reports where the JSON is wrong and refuses numbers out of range",
          "[json]") {
  auto bad = parse_json_input("{\n  \"a\": 1,\n  \"b\": ]\n}");
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.error(), Contains("invalid JSON at line 3, column 8"));
  auto huge = parse_json_input(R"({"n": 1e400})");
  REQUIRE_FALSE(huge.is_ok());
  CHECK_THAT(huge.error(), Contains("1e400"));
}

TEST_CASE("the journal redacts a JSON body whatever content type it was sent with", "[json]") {
  const std::string wrap = R"({"alg":"RSA-OAEP","value":"cGxhaW50ZXh0LWtleQ"})";
  for (const char* type :
       {"application/json", "application/x-www-form-urlencoded", "text/plain", ""}) {
    INFO(type);
    const std::string shown = cmk::journal::redact_body(wrap, type);
    CHECK_THAT(shown, !Contains("cGxhaW50ZXh0LWtleQ"));
    CHECK_THAT(shown, Contains("RSA-OAEP"));
  }
  // A form body keeps its form redaction; a body nested too deep is shown only by its size.
  CHECK(cmk::journal::redact_body("client_id=a&client_secret=s",
                                  "application/x-www-form-urlencoded") ==
        "client_id=a&client_secret=<redacted>");
  CHECK(cmk::journal::redact_body(std::string(1000, '['), "application/json") ==
        "<1000 bytes of application/json>");
}
