// RS256 JWT sign / decode / verify (emulator/entra/jwt.h) and the JWKS a client verifies with.
#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>

#include "common/base64.h"
#include "entra/jwt.h"
#include "entra/signing_key.h"
#include "jwk_public_key.h"

using cmk::base64url_decode;
using cmk::base64url_encode;
using cmk::entra::decode_jwt;
using cmk::entra::sign_rs256;
using cmk::entra::SigningKey;
using cmk::entra::verify_jwt_rs256;
using nlohmann::json;

namespace {

const SigningKey& key_a() {
  static const SigningKey k = *SigningKey::generate();
  return k;
}
const SigningKey& key_b() {
  static const SigningKey k = *SigningKey::generate();
  return k;
}

std::string make_token(const json& payload = {{"sub", "x"}, {"n", 1}}) {
  auto t = sign_rs256({{"kid", key_a().kid()}}, payload, key_a().pkey());
  REQUIRE(t);
  return *t;
}

std::string segment(const json& j) {
  return base64url_encode(j.dump());
}

using cmk::test::key_from_jwk;

}  // namespace

TEST_CASE("jwt: sign then verify round trip", "[entra][jwt]") {
  std::string token = make_token({{"sub", "abc"}, {"exp", 123}});
  auto jwt = verify_jwt_rs256(token, key_a().pkey());
  REQUIRE(jwt);
  CHECK(jwt->header["alg"] == "RS256");
  CHECK(jwt->header["typ"] == "JWT");
  CHECK(jwt->header_string("kid") == key_a().kid());
  CHECK(jwt->claim_string("sub") == "abc");
  CHECK(jwt->payload["exp"] == 123);
  CHECK(jwt->signature.size() == 256);
}

TEST_CASE("jwt: header alg/typ cannot be chosen by the caller", "[entra][jwt]") {
  auto t = sign_rs256({{"alg", "none"}, {"typ", "xyz"}}, {{"a", 1}}, key_a().pkey());
  REQUIRE(t);
  auto jwt = decode_jwt(*t);
  REQUIRE(jwt);
  CHECK(jwt->header["alg"] == "RS256");
  CHECK(jwt->header["typ"] == "JWT");
}

TEST_CASE("jwt: invalid UTF-8 in a claim does not throw", "[entra][jwt]") {
  auto t = sign_rs256(nullptr, {{"sub", std::string("\xff\xfe", 2)}}, key_a().pkey());
  REQUIRE(t);
  CHECK(verify_jwt_rs256(*t, key_a().pkey()));
}

TEST_CASE("jwt: signing refuses a non-object payload or header", "[entra][jwt]") {
  CHECK_FALSE(sign_rs256(nullptr, json::array(), key_a().pkey()));
  CHECK_FALSE(sign_rs256(json("x"), {{"a", 1}}, key_a().pkey()));
  CHECK_FALSE(sign_rs256(nullptr, {{"a", 1}}, nullptr));
}

TEST_CASE("jwt: tampered payload is rejected", "[entra][jwt]") {
  std::string token = make_token({{"oid", "victim"}});
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string forged = token.substr(0, d1 + 1) + segment({{"oid", "attacker"}}) + token.substr(d2);
  auto r = verify_jwt_rs256(forged, key_a().pkey());
  REQUIRE_FALSE(r);
  CHECK(r.error() == "JWT signature does not verify");
}

TEST_CASE("jwt: tampered signature is rejected", "[entra][jwt]") {
  std::string token = make_token();
  SECTION("a flipped character in the middle") {
    size_t pos = token.rfind('.') + 10;
    token[pos] = token[pos] == 'A' ? 'B' : 'A';
  }
  SECTION("the last character changed") {
    char& c = token.back();
    c = c == 'A' ? 'Q' : 'A';
  }
  SECTION("a truncated signature") {
    token.resize(token.size() - 4);
  }
  CHECK_FALSE(verify_jwt_rs256(token, key_a().pkey()));
}

TEST_CASE("jwt: a token signed by another key is rejected", "[entra][jwt]") {
  auto other = sign_rs256(nullptr, {{"sub", "x"}}, key_b().pkey());
  REQUIRE(other);
  CHECK(verify_jwt_rs256(*other, key_b().pkey()));
  CHECK_FALSE(verify_jwt_rs256(*other, key_a().pkey()));
}

TEST_CASE("jwt: alg none and HS256 are refused", "[entra][jwt]") {
  std::string payload = segment({{"sub", "x"}});
  SECTION("alg none with an empty signature") {
    std::string t = segment({{"alg", "none"}}) + "." + payload + ".";
    CHECK_FALSE(verify_jwt_rs256(t, key_a().pkey()));
  }
  SECTION("alg none with some signature") {
    std::string t = segment({{"alg", "none"}}) + "." + payload + ".AAAA";
    auto r = verify_jwt_rs256(t, key_a().pkey());
    REQUIRE_FALSE(r);
    CHECK(r.error().find("'none' is not accepted") != std::string::npos);
  }
  SECTION("HS256 keyed with the public modulus (key confusion)") {
    std::string input = segment({{"alg", "HS256"}, {"typ", "JWT"}}) + "." + payload;
    std::string secret = key_a().modulus_b64url();
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), int(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    std::string t = input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
    auto r = verify_jwt_rs256(t, key_a().pkey());
    REQUIRE_FALSE(r);
    CHECK(r.error().find("HS256") != std::string::npos);
  }
  SECTION("no alg at all") {
    std::string t = segment({{"typ", "JWT"}}) + "." + payload + ".AAAA";
    CHECK_FALSE(verify_jwt_rs256(t, key_a().pkey()));
  }
  SECTION("alg of another type") {
    std::string t = segment({{"alg", 256}}) + "." + payload + ".AAAA";
    CHECK_FALSE(verify_jwt_rs256(t, key_a().pkey()));
  }
}

TEST_CASE("jwt: malformed tokens are error values, never exceptions", "[entra][jwt]") {
  std::string good = make_token();
  std::string h = good.substr(0, good.find('.'));
  std::string p = segment({{"a", 1}});
  const std::string cases[] = {
      "",
      "garbage",
      "a.b",
      "a.b.c.d",
      "..",
      h + "..sig",
      "." + p + ".sig",
      h + "." + p,
      h + "." + p + ".!!!",
      "@@@." + p + ".AAAA",
      h + ".@@@.AAAA",
      segment(json("not an object")) + "." + p + ".AAAA",
      h + "." + segment(json::array({1, 2})) + ".AAAA",
      h + "." + base64url_encode("{not json") + ".AAAA",
      h + "." + base64url_encode(std::string("\xff\xfe{}", 4)) + ".AAAA",
      h + "." + base64url_encode("{\"a\":\"\xc3\x28\"}") + ".AAAA",  // invalid UTF-8 in JSON
      std::string(cmk::entra::kMaxJwtLength + 1, 'a'),
      h + "." + base64url_encode(std::string(5000, '[')) + ".AAAA",
  };
  for (const auto& t : cases) {
    CHECK_NOTHROW(decode_jwt(t));
    CHECK_FALSE(verify_jwt_rs256(t, key_a().pkey()));
  }
  // Deeply nested but valid JSON decodes (bounded by kMaxJwtLength) and does not verify.
  std::string deep = std::string(8000, '[') + std::string(8000, ']');
  std::string t = h + "." + base64url_encode("{\"a\":" + deep + "}") + ".AAAA";
  CHECK_NOTHROW(decode_jwt(t));
  CHECK_FALSE(verify_jwt_rs256(t, key_a().pkey()));
}

TEST_CASE("jwt: JWKS n/e alone verify an emulator token (any JWT library could)",
          "[entra][jwt][jwks]") {
  json jwks = key_a().jwks("https://login.microsoftonline.com/{tenantid}/v2.0");
  REQUIRE(jwks["keys"].size() == 1);
  const json& jwk = jwks["keys"][0];
  CHECK(jwk["kty"] == "RSA");
  CHECK(jwk["use"] == "sig");
  CHECK(jwk["kid"] == key_a().kid());
  CHECK(jwk["x5t"] == key_a().kid());
  CHECK(jwk["e"] == "AQAB");
  CHECK(jwk["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0");
  // n is the unpadded big-endian modulus: 2048 bits, no leading zero byte.
  auto n = base64url_decode(jwk["n"].get<std::string>());
  REQUIRE(n);
  CHECK(n->size() == 256);
  CHECK(static_cast<unsigned char>((*n)[0]) != 0);
  // x5c is standard base64 of the DER certificate.
  auto der = cmk::base64_decode(jwk["x5c"][0].get<std::string>());
  REQUIRE(der);
  CHECK(*der == key_a().certificate_der());

  auto pub = key_from_jwk(jwk);
  REQUIRE(pub);
  std::string token = make_token({{"sub", "from-jwks"}});
  auto jwt = decode_jwt(token);
  REQUIRE(jwt);
  // The token names its key by kid, which is what a library looks up in the JWKS.
  CHECK(jwt->header_string("kid") == jwk["kid"]);
  CHECK(verify_jwt_rs256(token, pub.get()));

  auto other = sign_rs256(nullptr, {{"sub", "x"}}, key_b().pkey());
  CHECK_FALSE(verify_jwt_rs256(*other, pub.get()));
}
