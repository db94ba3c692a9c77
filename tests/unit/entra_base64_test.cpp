// base64 / base64url (emulator/common/base64.h).
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "common/base64.h"

using cmk::base64_encode;
using cmk::base64url_decode;
using cmk::base64url_encode;

TEST_CASE("base64url: RFC 4648 test vectors, unpadded", "[entra][base64]") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("f") == "Zg==");
}

TEST_CASE("base64url: URL-safe alphabet out, both alphabets in", "[entra][base64]") {
  const std::string bytes("\xfb\xff\xbf", 3);
  CHECK(base64url_encode(bytes) == "-_-_");
  CHECK(base64_encode(bytes) == "+/+/");
  auto a = base64url_decode("-_-_");
  auto b = base64url_decode("+/+/");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == bytes);
  CHECK(*b == bytes);
}

TEST_CASE("base64url: padding accepted on input", "[entra][base64]") {
  CHECK(*base64url_decode("Zm8=") == "fo");
  CHECK(*base64url_decode("Zm8") == "fo");
  CHECK(*base64url_decode("Zg==") == "f");
  CHECK(*base64url_decode("Zg") == "f");
  CHECK(*base64url_decode("") == "");
}

TEST_CASE("base64url: malformed input is an error value", "[entra][base64]") {
  CHECK_FALSE(base64url_decode("Z"));         // 4n+1 characters
  CHECK_FALSE(base64url_decode("Zm9vY"));     // 4n+1 characters
  CHECK_FALSE(base64url_decode("Zm 8"));      // whitespace
  CHECK_FALSE(base64url_decode("Zm8*"));      // foreign character
  CHECK_FALSE(base64url_decode("Zg=a"));      // padding in the middle
  CHECK_FALSE(base64url_decode("Zg==="));     // too much padding
  CHECK_FALSE(base64url_decode("Zm8=Zm8="));  // padding before the end
  CHECK_FALSE(base64url_decode("Zm8=="));     // padding not ending a group
  CHECK_FALSE(base64url_decode(std::string("Zm\0v", 4)));
  auto r = base64url_decode("Zm8*");
  CHECK(r.error().find("offset 3") != std::string::npos);
}

TEST_CASE("base64url: non-zero trailing bits are refused, so each text has one meaning",
          "[entra][base64]") {
  CHECK(base64url_decode("Zg"));
  CHECK_FALSE(base64url_decode("Zh"));  // same byte 'f', leftover bits set
  CHECK(base64url_decode("Zm8"));
  CHECK_FALSE(base64url_decode("Zm9"));
}

TEST_CASE("base64url: random round trips of every length up to 300", "[entra][base64]") {
  std::mt19937 rng(42);
  for (size_t len = 0; len <= 300; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() & 0xff);
    std::string url = base64url_encode(bytes);
    CHECK(url.find('=') == std::string::npos);
    CHECK(url.find('+') == std::string::npos);
    CHECK(url.find('/') == std::string::npos);
    auto back = base64url_decode(url);
    REQUIRE(back);
    CHECK(*back == bytes);
    auto back_std = cmk::base64_decode(base64_encode(bytes));
    REQUIRE(back_std);
    CHECK(*back_std == bytes);
  }
}
