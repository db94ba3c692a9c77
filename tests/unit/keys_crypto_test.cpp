// Key Vault key material: every algorithm against plain OpenSSL on the other side (interop), the
// RFC 3394 vector, and the input checks.
#include <catch2/catch.hpp>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "jwk_public_key.h"
#include "keyvault_data/key_material.h"

using namespace cmk;
using namespace cmk::keyvault_data;
using nlohmann::json;

namespace {

std::string hex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

const unsigned char* u(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string sha(const EVP_MD* md, const std::string& msg) {
  std::string out(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
  unsigned int n = 0;
  EVP_Digest(msg.data(), msg.size(), reinterpret_cast<unsigned char*>(out.data()), &n, md, nullptr);
  return out;
}

// RSA encryption with plain OpenSSL and a public key built from the JWK alone.
std::string openssl_rsa_encrypt(EVP_PKEY* pub, int padding, const EVP_MD* md, const std::string& in) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub, nullptr));
  REQUIRE(EVP_PKEY_encrypt_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) == 1);
  if (md) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1);
  }
  size_t len = 0;
  REQUIRE(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, u(in), in.size()) == 1);
  std::string out(len, '\0');
  REQUIRE(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, u(in), in.size()) == 1);
  out.resize(len);
  return out;
}

std::string openssl_rsa_decrypt(EVP_PKEY* priv, int padding, const EVP_MD* md, const std::string& in) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, priv, nullptr));
  REQUIRE(EVP_PKEY_decrypt_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) == 1);
  if (md) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1);
  }
  size_t len = 0;
  REQUIRE(EVP_PKEY_decrypt(ctx.get(), nullptr, &len, u(in), in.size()) == 1);
  std::string out(len, '\0');
  REQUIRE(EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, u(in), in.size()) == 1);
  out.resize(len);
  return out;
}

std::string b64(const BIGNUM* bn) {
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return base64url_encode(out);
}

// A full private JWK of a key OpenSSL made, as a client would import it.
json private_rsa_jwk(EVP_PKEY* pkey) {
  json j = {{"kty", "RSA"}};
  const std::pair<const char*, const char*> members[] = {
      {"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
      {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
      {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
      {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
  for (const auto& [name, param] : members) {
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(pkey, param, &bn) == 1);
    j[name] = b64(bn);
    BN_clear_free(bn);
  }
  return j;
}

json private_ec_jwk(EVP_PKEY* pkey, const char* crv, int field) {
  json j = {{"kty", "EC"}, {"crv", crv}};
  const std::pair<const char*, const char*> members[] = {
      {"x", OSSL_PKEY_PARAM_EC_PUB_X}, {"y", OSSL_PKEY_PARAM_EC_PUB_Y}, {"d", OSSL_PKEY_PARAM_PRIV_KEY}};
  for (const auto& [name, param] : members) {
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(pkey, param, &bn) == 1);
    std::string bytes(static_cast<size_t>(field), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), field);
    j[name] = base64url_encode(bytes);
    BN_clear_free(bn);
  }
  return j;
}

// An EC public key from crv/x/y with OpenSSL alone.
PkeyPtr ec_public_from_jwk(const json& jwk, const char* group) {
  std::string point = "\x04" + *base64url_decode(jwk["x"].get<std::string>()) +
                      *base64url_decode(jwk["y"].get<std::string>());
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_fromdata_init(ctx.get());
  EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get());
  return PkeyPtr(pkey);
}

// r||s -> DER, for OpenSSL's verifier.
std::string raw_to_der(const std::string& raw) {
  const size_t half = raw.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(u(raw), static_cast<int>(half), nullptr),
                 BN_bin2bn(u(raw) + half, static_cast<int>(half), nullptr));
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

bool openssl_verify(EVP_PKEY* pub, const std::string& digest, const std::string& sig, int padding,
                    const EVP_MD* md) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub, nullptr));
  REQUIRE(EVP_PKEY_verify_init(ctx.get()) == 1);
  if (padding) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) == 1);
    REQUIRE(EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1);
    if (padding == RSA_PKCS1_PSS_PADDING)
      REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) == 1);
  }
  return EVP_PKEY_verify(ctx.get(), u(sig), sig.size(), u(digest), digest.size()) == 1;
}

EncryptionAlgorithm enc(const char* name) { return *parse_encryption_algorithm(name); }
SignatureAlgorithm sig(const char* name) { return *parse_signature_algorithm(name); }

const KeyMaterial& rsa2048() {
  static KeyMaterial k = KeyMaterial::generate_rsa(2048).value();
  return k;
}

}  // namespace

TEST_CASE("keys crypto: an RSA key publishes n and e only", "[keys]") {
  const KeyMaterial& k = rsa2048();
  json jwk = k.public_jwk();
  REQUIRE(jwk["e"] == "AQAB");
  REQUIRE(base64url_decode(jwk["n"].get<std::string>())->size() == 256);
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "k"}) REQUIRE_FALSE(jwk.contains(secret));
  REQUIRE(k.family() == KeyFamily::Rsa);
  REQUIRE(k.size_bits() == 2048);
}

TEST_CASE("keys crypto: a client wraps with n/e, the key unwraps (RSA-OAEP, -256, RSA1_5)", "[keys]") {
  const KeyMaterial& k = rsa2048();
  PkeyPtr pub = test::key_from_jwk(k.public_jwk());
  REQUIRE(pub);
  const std::string dek(32, '\x5a');
  struct Case { const char* alg; int padding; const EVP_MD* md; };
  for (auto c : {Case{"RSA-OAEP", RSA_PKCS1_OAEP_PADDING, EVP_sha1()},
                 Case{"RSA-OAEP-256", RSA_PKCS1_OAEP_PADDING, EVP_sha256()},
                 Case{"RSA1_5", RSA_PKCS1_PADDING, nullptr}}) {
    INFO(c.alg);
    std::string wrapped = openssl_rsa_encrypt(pub.get(), c.padding, c.md, dek);
    auto out = k.decrypt(enc(c.alg), {wrapped, {}, {}, {}});
    REQUIRE(out.is_ok());
    REQUIRE(*out == dek);
  }
}

TEST_CASE("keys crypto: an imported OpenSSL key wraps, OpenSSL unwraps", "[keys]") {
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  REQUIRE(mine);
  auto k = KeyMaterial::from_jwk(private_rsa_jwk(mine.get()));
  REQUIRE(k.is_ok());
  const std::string dek = "a data encryption key, 32 bytes";
  auto wrapped = k->encrypt(enc("RSA-OAEP-256"), {dek, {}, {}, {}});
  REQUIRE(wrapped.is_ok());
  REQUIRE(wrapped->value.size() == 256);
  REQUIRE(openssl_rsa_decrypt(mine.get(), RSA_PKCS1_OAEP_PADDING, EVP_sha256(), wrapped->value) == dek);
  auto oaep = k->encrypt(enc("RSA-OAEP"), {dek, {}, {}, {}});
  REQUIRE(openssl_rsa_decrypt(mine.get(), RSA_PKCS1_OAEP_PADDING, EVP_sha1(), oaep->value) == dek);
  auto v15 = k->encrypt(enc("RSA1_5"), {dek, {}, {}, {}});
  REQUIRE(openssl_rsa_decrypt(mine.get(), RSA_PKCS1_PADDING, nullptr, v15->value) == dek);

  // And signatures OpenSSL made verify here.
  const std::string digest = sha(EVP_sha256(), "message");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr));
  EVP_PKEY_sign_init(ctx.get());
  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
  EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256());
  size_t len = 512;
  std::string s(len, '\0');
  REQUIRE(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(s.data()), &len, u(digest), digest.size()) == 1);
  s.resize(len);
  REQUIRE(*k->verify(sig("RS256"), digest, s));
  s[10] ^= 1;
  REQUIRE_FALSE(*k->verify(sig("RS256"), digest, s));
}

TEST_CASE("keys crypto: an RSA JWK whose parts do not form one key is refused at import",
          "[keys]") {
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  REQUIRE(mine);
  const json good = private_rsa_jwk(mine.get());
  REQUIRE(KeyMaterial::from_jwk(good).is_ok());
  // A random d with valid p and q: decryption through the CRT values would still work, so only
  // the key check finds it.
  json wrong_d = good;
  std::string d(256, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(d.data()), static_cast<int>(d.size()));
  wrong_d["d"] = base64url_encode(d);
  auto r = KeyMaterial::from_jwk(wrong_d);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.error().kind == KeyErrorKind::BadParameter);
  // A 4 KB public exponent: refused by size, not an internal error when first used.
  json huge_e = good;
  huge_e["e"] = base64url_encode(std::string(4096, '\x01'));
  auto e = KeyMaterial::from_jwk(huge_e);
  REQUIRE_FALSE(e.is_ok());
  CHECK(e.error().kind == KeyErrorKind::BadParameter);
  // Without the CRT members the round trip through d is the check.
  json no_crt = good;
  for (const char* k : {"p", "q", "dp", "dq", "qi"}) no_crt.erase(k);
  REQUIRE(KeyMaterial::from_jwk(no_crt).is_ok());
  no_crt["d"] = wrong_d["d"];
  REQUIRE_FALSE(KeyMaterial::from_jwk(no_crt).is_ok());
}

TEST_CASE("keys crypto: RSA plaintext limits per algorithm", "[keys]") {
  const KeyMaterial& k = rsa2048();
  struct Case { const char* alg; size_t max; };
  for (auto c : {Case{"RSA-OAEP", 214}, Case{"RSA-OAEP-256", 190}, Case{"RSA1_5", 245}}) {
    INFO(c.alg);
    REQUIRE(k.max_rsa_plaintext(enc(c.alg)) == c.max);
    REQUIRE(k.encrypt(enc(c.alg), {std::string(c.max, 'x'), {}, {}, {}}).is_ok());
    auto too_long = k.encrypt(enc(c.alg), {std::string(c.max + 1, 'x'), {}, {}, {}});
    REQUIRE_FALSE(too_long.is_ok());
    REQUIRE(too_long.error().kind == KeyErrorKind::BadParameter);
    REQUIRE_THAT(too_long.error().message, Catch::Contains("at most " + std::to_string(c.max)));
  }
  auto short_ct = k.decrypt(enc("RSA-OAEP"), {std::string(100, 'x'), {}, {}, {}});
  REQUIRE(short_ct.error().kind == KeyErrorKind::BadParameter);
  auto garbage = k.decrypt(enc("RSA-OAEP"), {std::string(256, 'x'), {}, {}, {}});
  REQUIRE(garbage.error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("keys crypto: RS and PS signatures verify with plain OpenSSL", "[keys]") {
  const KeyMaterial& k = rsa2048();
  PkeyPtr pub = test::key_from_jwk(k.public_jwk());
  struct Case { const char* alg; int padding; const EVP_MD* md; };
  for (auto c : {Case{"RS256", RSA_PKCS1_PADDING, EVP_sha256()}, Case{"RS384", RSA_PKCS1_PADDING, EVP_sha384()},
                 Case{"RS512", RSA_PKCS1_PADDING, EVP_sha512()}, Case{"PS256", RSA_PKCS1_PSS_PADDING, EVP_sha256()},
                 Case{"PS384", RSA_PKCS1_PSS_PADDING, EVP_sha384()}, Case{"PS512", RSA_PKCS1_PSS_PADDING, EVP_sha512()}}) {
    INFO(c.alg);
    const std::string digest = sha(c.md, "the message");
    auto s = k.sign(sig(c.alg), digest);
    REQUIRE(s.is_ok());
    REQUIRE(s->size() == 256);
    REQUIRE(openssl_verify(pub.get(), digest, *s, c.padding, c.md));
    REQUIRE(*k.verify(sig(c.alg), digest, *s));
    REQUIRE_FALSE(*k.verify(sig(c.alg), sha(c.md, "another message"), *s));
  }
  auto wrong_len = k.sign(sig("RS256"), std::string(20, 'x'));
  REQUIRE(wrong_len.error().kind == KeyErrorKind::BadParameter);
  REQUIRE_THAT(wrong_len.error().message, Catch::Contains("32 bytes"));
}

TEST_CASE("keys crypto: ES signatures are raw r||s and verify with plain OpenSSL", "[keys]") {
  struct Case { Curve curve; const char* alg; const char* group; const EVP_MD* md; size_t len; };
  for (auto c : {Case{Curve::P256, "ES256", "prime256v1", EVP_sha256(), 64},
                 Case{Curve::P256K, "ES256K", "secp256k1", EVP_sha256(), 64},
                 Case{Curve::P384, "ES384", "secp384r1", EVP_sha384(), 96},
                 Case{Curve::P521, "ES512", "secp521r1", EVP_sha512(), 132}}) {
    INFO(c.alg);
    auto k = KeyMaterial::generate_ec(c.curve);
    REQUIRE(k.is_ok());
    json jwk = k->public_jwk();
    REQUIRE(jwk["crv"] == curve_name(c.curve));
    REQUIRE_FALSE(jwk.contains("d"));
    const std::string digest = sha(c.md, "hello");
    auto s = k->sign(sig(c.alg), digest);
    REQUIRE(s.is_ok());
    REQUIRE(s->size() == c.len);
    PkeyPtr pub = ec_public_from_jwk(jwk, c.group);
    REQUIRE(pub);
    REQUIRE(openssl_verify(pub.get(), digest, raw_to_der(*s), 0, nullptr));
    REQUIRE(*k->verify(sig(c.alg), digest, *s));
    std::string bad = *s;
    bad[3] ^= 0x40;
    REQUIRE_FALSE(*k->verify(sig(c.alg), digest, bad));
    REQUIRE_FALSE(*k->verify(sig(c.alg), digest, s->substr(1)));
  }
  auto p256 = KeyMaterial::generate_ec(Curve::P256);
  auto mismatch = p256->sign(sig("ES384"), std::string(48, 'x'));
  REQUIRE(mismatch.error().kind == KeyErrorKind::BadParameter);
  REQUIRE_THAT(mismatch.error().message, Catch::Contains("P-384"));
}

TEST_CASE("keys crypto: an imported EC key signs like the original", "[keys]") {
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "prime256v1"));
  auto k = KeyMaterial::from_jwk(private_ec_jwk(mine.get(), "P-256", 32));
  REQUIRE(k.is_ok());
  const std::string digest = sha(EVP_sha256(), "x");
  auto s = k->sign(sig("ES256"), digest);
  REQUIRE(openssl_verify(mine.get(), digest, raw_to_der(*s), 0, nullptr));

  json broken = private_ec_jwk(mine.get(), "P-256", 32);
  PkeyPtr other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "prime256v1"));
  broken["d"] = private_ec_jwk(other.get(), "P-256", 32)["d"];
  REQUIRE(KeyMaterial::from_jwk(broken).error().kind == KeyErrorKind::BadParameter);
  json bad_curve = private_ec_jwk(mine.get(), "P-256", 32);
  bad_curve["crv"] = "P-192";
  REQUIRE_THAT(KeyMaterial::from_jwk(bad_curve).error().message, Catch::Contains("P-192"));
}

TEST_CASE("keys crypto: algorithms must fit the key family", "[keys]") {
  auto ec = KeyMaterial::generate_ec(Curve::P256);
  REQUIRE(ec->encrypt(enc("RSA-OAEP"), {"x", {}, {}, {}}).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(rsa2048().encrypt(enc("A256KW"), {std::string(16, 'x'), {}, {}, {}}).error().kind ==
          KeyErrorKind::BadParameter);
  REQUIRE(rsa2048().sign(sig("ES256"), std::string(32, 'x')).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(ec->sign(sig("RS256"), std::string(32, 'x')).error().kind == KeyErrorKind::BadParameter);
  REQUIRE_FALSE(parse_encryption_algorithm("RSA-OAEP-512"));
  REQUIRE_FALSE(parse_encryption_algorithm("rsa-oaep"));
  REQUIRE_FALSE(parse_signature_algorithm("HS256"));
}

TEST_CASE("keys crypto: bad sizes and curves are refused", "[keys]") {
  auto small = KeyMaterial::generate_rsa(1024);
  REQUIRE(small.error().kind == KeyErrorKind::BadParameter);
  REQUIRE_THAT(small.error().message, Catch::Contains("Supported sizes are [2048, 3072, 4096]"));
  REQUIRE(KeyMaterial::generate_oct(100).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(KeyMaterial::generate_rsa(2048, 4).error().kind == KeyErrorKind::BadParameter);
  REQUIRE_FALSE(parse_curve("P-192"));
}

TEST_CASE("keys crypto: AES key wrap matches RFC 3394", "[keys]") {
  // RFC 3394 §4.6: 256 bits of key data wrapped with a 256-bit KEK.
  json jwk = {{"kty", "oct"},
              {"k", base64url_encode(hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"))}};
  auto k = KeyMaterial::from_jwk(jwk);
  REQUIRE(k.is_ok());
  REQUIRE(k->public_jwk().empty());
  const std::string data = hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
  auto wrapped = k->encrypt(enc("A256KW"), {data, {}, {}, {}});
  REQUIRE(wrapped.is_ok());
  REQUIRE(wrapped->value == hex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"));
  REQUIRE(*k->decrypt(enc("A256KW"), {wrapped->value, {}, {}, {}}) == data);
  std::string tampered = wrapped->value;
  tampered[5] ^= 1;
  REQUIRE(k->decrypt(enc("A256KW"), {tampered, {}, {}, {}}).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(k->encrypt(enc("A128KW"), {data, {}, {}, {}}).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(k->encrypt(enc("A256KW"), {std::string(12, 'x'), {}, {}, {}}).error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("keys crypto: AES-GCM and AES-CBC round trips", "[keys]") {
  auto k = KeyMaterial::generate_oct(128);
  REQUIRE(k.is_ok());
  auto sealed = k->encrypt(enc("A128GCM"), {"secret data", std::nullopt, std::string("header"), std::nullopt});
  REQUIRE(sealed.is_ok());
  REQUIRE(sealed->iv->size() == 12);
  REQUIRE(sealed->tag->size() == 16);
  REQUIRE(*k->decrypt(enc("A128GCM"), {sealed->value, sealed->iv, std::string("header"), sealed->tag}) == "secret data");
  std::string bad_tag = *sealed->tag;
  bad_tag[0] ^= 1;
  REQUIRE(k->decrypt(enc("A128GCM"), {sealed->value, sealed->iv, std::string("header"), bad_tag}).error().kind ==
          KeyErrorKind::BadParameter);
  REQUIRE(k->decrypt(enc("A128GCM"), {sealed->value, sealed->iv, std::string("other"), sealed->tag}).error().kind ==
          KeyErrorKind::BadParameter);

  const std::string iv(16, '\x01');
  auto cbc = k->encrypt(enc("A128CBCPAD"), {"not a multiple of 16", iv, {}, {}});
  REQUIRE(cbc.is_ok());
  REQUIRE(cbc->value.size() == 32);
  REQUIRE(*k->decrypt(enc("A128CBCPAD"), {cbc->value, iv, {}, {}}) == "not a multiple of 16");
  REQUIRE(k->encrypt(enc("A128CBC"), {"not a multiple of 16", iv, {}, {}}).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(k->encrypt(enc("A128CBC"), {std::string(32, 'a'), std::nullopt, {}, {}}).error().kind ==
          KeyErrorKind::BadParameter);
  auto exact = k->encrypt(enc("A128CBC"), {std::string(32, 'a'), iv, {}, {}});
  REQUIRE(exact->value.size() == 32);
}

TEST_CASE("keys crypto: JWK import refuses what is not a key pair", "[keys]") {
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  json full = private_rsa_jwk(mine.get());
  json public_only = {{"kty", "RSA"}, {"n", full["n"]}, {"e", full["e"]}};
  REQUIRE_THAT(KeyMaterial::from_jwk(public_only).error().message, Catch::Contains("'d'"));
  json some_crt = full;
  some_crt.erase("qi");
  REQUIRE(KeyMaterial::from_jwk(some_crt).error().kind == KeyErrorKind::BadParameter);
  json no_crt = {{"kty", "RSA"}, {"n", full["n"]}, {"e", full["e"]}, {"d", full["d"]}};
  REQUIRE(KeyMaterial::from_jwk(no_crt).is_ok());
  json mismatched = no_crt;
  PkeyPtr other(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  mismatched["d"] = private_rsa_jwk(other.get())["d"];
  REQUIRE(KeyMaterial::from_jwk(mismatched).error().kind == KeyErrorKind::BadParameter);
  json bad_b64 = full;
  bad_b64["n"] = "not base64!";
  REQUIRE_THAT(KeyMaterial::from_jwk(bad_b64).error().message, Catch::Contains("'n'"));
  REQUIRE(KeyMaterial::from_jwk({{"kty", "oct"}, {"k", base64url_encode("short")}}).error().kind ==
          KeyErrorKind::BadParameter);
  REQUIRE(KeyMaterial::from_jwk({{"kty", "OKP"}}).error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("keys crypto: private export restores the same key", "[keys]") {
  std::string bytes;
  rsa2048().export_private(bytes);
  auto back = KeyMaterial::restore_private(KeyFamily::Rsa, bytes);
  wipe(bytes);
  REQUIRE(back.is_ok());
  REQUIRE(back->public_jwk() == rsa2048().public_jwk());
  auto ec = KeyMaterial::generate_ec(Curve::P384);
  ec->export_private(bytes);
  auto ec_back = KeyMaterial::restore_private(KeyFamily::Ec, bytes);
  REQUIRE(ec_back->curve() == Curve::P384);
  REQUIRE(ec_back->public_jwk() == ec->public_jwk());
  REQUIRE_FALSE(KeyMaterial::restore_private(KeyFamily::Rsa, "garbage").is_ok());
}

// Found by fuzz/jwk_import_fuzzer.cpp: a key imported from n, e and d alone was held without its
// CRT members, which OpenSSL cannot write as DER, so its backup (and the saved state) held no key
// and restoring either failed ("The backup holds a key that cannot be read").
TEST_CASE("keys crypto: an RSA JWK without the CRT members is held whole and restores",
          "[keys]") {
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  REQUIRE(mine);
  json no_crt = private_rsa_jwk(mine.get());
  for (const char* k : {"p", "q", "dp", "dq", "qi"}) no_crt.erase(k);
  auto k = KeyMaterial::from_jwk(no_crt);
  REQUIRE(k.is_ok());
  std::string sealed;
  k->export_private(sealed);
  REQUIRE_FALSE(sealed.empty());
  auto restored = KeyMaterial::restore_private(KeyFamily::Rsa, sealed);
  REQUIRE(restored.is_ok());
  REQUIRE(restored->public_jwk() == k->public_jwk());
  // The restored key decrypts what the original encrypted, and OpenSSL's own key agrees.
  auto wrapped = k->encrypt(enc("RSA-OAEP-256"), {"dek", {}, {}, {}});
  REQUIRE(wrapped.is_ok());
  REQUIRE(*restored->decrypt(enc("RSA-OAEP-256"), {wrapped->value, {}, {}, {}}) == "dek");
  REQUIRE(openssl_rsa_decrypt(mine.get(), RSA_PKCS1_OAEP_PADDING, EVP_sha256(), wrapped->value) ==
          "dek");
}

// Found by fuzz/jwk_import_fuzzer.cpp: PEM and backup bytes were read as they were, so a key
// whose private parts did not belong to its modulus was accepted (a fixture's "pem", a state
// document's key) and every decrypt or unwrap with it failed later.
TEST_CASE("keys crypto: a PEM or backup key whose parts do not agree is refused when read",
          "[keys]") {
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  REQUIRE(mine);
  // The same modulus with a random d and random CRT values.
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  std::vector<BignumPtr> keep;
  for (const char* param : {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E}) {
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(mine.get(), param, &bn) == 1);
    keep.emplace_back(bn);
    REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), param, bn) == 1);
  }
  for (const char* param : {OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
                            OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
                            OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1}) {
    BIGNUM* bn = BN_new();
    REQUIRE(BN_rand(bn, std::string_view(param) == OSSL_PKEY_PARAM_RSA_D ? 2040 : 1020, 0, 1) == 1);
    keep.emplace_back(bn);
    REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), param, bn) == 1);
  }
  std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>> params(
      OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) == 1);
  PkeyPtr broken(raw);

  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, broken.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  auto from_pem = KeyMaterial::from_pem(pem);
  REQUIRE_FALSE(from_pem.is_ok());
  CHECK(from_pem.error().kind == KeyErrorKind::BadParameter);

  unsigned char* der = nullptr;
  const int len = i2d_PrivateKey(broken.get(), &der);
  REQUIRE(len > 0);
  const std::string bytes(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  auto restored = KeyMaterial::restore_private(KeyFamily::Rsa, bytes);
  REQUIRE_FALSE(restored.is_ok());
  CHECK(restored.error().kind == KeyErrorKind::BadParameter);
  // The key's own PEM still reads.
  BIO* good = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(good, mine.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
  const long gn = BIO_get_mem_data(good, &data);
  REQUIRE(KeyMaterial::from_pem(std::string(data, static_cast<size_t>(gn))).is_ok());
  BIO_free(good);
}
