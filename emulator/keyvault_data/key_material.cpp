#include "keyvault_data/key_material.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "common/base64.h"
#include "common/openssl_util.h"

namespace cmk::keyvault_data {

using nlohmann::json;

// Oct key bytes, wiped when the last KeyMaterial sharing them goes.
struct KeyMaterial::Secret {
  std::string bytes;
  explicit Secret(std::string b) : bytes(std::move(b)) {}
  ~Secret() { wipe(bytes); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
};

namespace {

using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>>;
// A BIGNUM that held private key material: cleared before it is freed.
using SecretBignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_clear_free>>;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes_of(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

KeyError internal(const std::string& what) {
  return {KeyErrorKind::Internal, what + " failed: " + openssl_errors()};
}

const EVP_MD* sha(int bits) {
  switch (bits) {
    case 1:
      return EVP_sha1();
    case 384:
      return EVP_sha384();
    case 512:
      return EVP_sha512();
    default:
      return EVP_sha256();
  }
}

std::string bn_bytes(const BIGNUM* bn, int pad_to = 0) {
  std::string out(pad_to > 0 ? static_cast<size_t>(pad_to) : static_cast<size_t>(BN_num_bytes(bn)),
                  '\0');
  if (pad_to > 0)
    BN_bn2binpad(bn, bytes_of(out), pad_to);
  else
    BN_bn2bin(bn, bytes_of(out));
  return out;
}

// A JWK member decoded from base64url; nullopt when absent. Errors name the member.
KeyResult<std::optional<std::string>> member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string())
    return bad_parameter(std::string("The JWK member '") + name + "' must be a base64url string.");
  auto decoded = base64url_decode(it->get<std::string>());
  if (!decoded)
    return bad_parameter(std::string("The JWK member '") + name + "' is not valid base64url.");
  return std::optional<std::string>(std::move(decoded.value()));
}

// Decoded JWK members are registered here so they are wiped on every return path.
struct WipeOnExit {
  std::vector<std::optional<std::string>*> items;
  ~WipeOnExit() {
    for (auto* o : items)
      if (*o) wipe(**o);
  }
};

// Secure BIGNUMs make OSSL_PARAM_BLD keep their copies in memory it clears when freed.
BIGNUM* push_bn(OSSL_PARAM_BLD* bld, const char* key, const std::string& bytes,
                std::vector<SecretBignumPtr>& keep) {
  BIGNUM* bn = BN_secure_new();
  if (!bn) return nullptr;
  keep.emplace_back(bn);
  if (!BN_bin2bn(bytes_of(bytes), static_cast<int>(bytes.size()), bn)) return nullptr;
  return OSSL_PARAM_BLD_push_BN(bld, key, bn) == 1 ? bn : nullptr;
}

using BnCtxPtr = std::unique_ptr<BN_CTX, OpenSslDeleter<BN_CTX_free>>;

// The CRT members (p, q, dp, dq, qi, big-endian) of the RSA key with modulus n, public exponent
// e and private exponent d, found as in NIST SP 800-56B, Appendix C: d*e - 1 = 2^t * r is a
// multiple of the Carmichael function of n, so for most g some g^(r*2^i) is a square root of
// 1 other than +-1, and its gcd with n minus one is a factor. nullopt when d belongs to no
// factorisation of n. A key held without them cannot be written as PKCS #1 DER, the form
// backups and the saved state keep (KeyMaterial::export_private).
std::optional<std::array<std::string, 5>> rsa_crt_members(const std::string& n_bytes,
                                                          const std::string& e_bytes,
                                                          const std::string& d_bytes) {
  BnCtxPtr ctx(BN_CTX_secure_new());
  if (!ctx) return std::nullopt;
  auto secret = [] { return SecretBignumPtr(BN_secure_new()); };
  SecretBignumPtr n = secret(), e = secret(), d = secret(), k = secret(), r = secret(),
                  n1 = secret(), g = secret(), y = secret(), x = secret(), p = secret(),
                  q = secret(), rem = secret(), dp = secret(), dq = secret(), qi = secret(),
                  pm1 = secret(), qm1 = secret();
  for (const auto* bn :
       {&n, &e, &d, &k, &r, &n1, &g, &y, &x, &p, &q, &rem, &dp, &dq, &qi, &pm1, &qm1})
    if (!*bn) return std::nullopt;
  if (!BN_bin2bn(bytes_of(n_bytes), static_cast<int>(n_bytes.size()), n.get()) ||
      !BN_bin2bn(bytes_of(e_bytes), static_cast<int>(e_bytes.size()), e.get()) ||
      !BN_bin2bn(bytes_of(d_bytes), static_cast<int>(d_bytes.size()), d.get()))
    return std::nullopt;
  // k = d*e - 1 = 2^t * r with r odd; k must be even and positive.
  if (!BN_mul(k.get(), d.get(), e.get(), ctx.get()) || !BN_sub_word(k.get(), 1) ||
      BN_is_zero(k.get()) || BN_is_odd(k.get()) || !BN_copy(n1.get(), n.get()) ||
      !BN_sub_word(n1.get(), 1) || !BN_copy(r.get(), k.get()))
    return std::nullopt;
  int t = 0;
  while (!BN_is_odd(r.get())) {
    if (!BN_rshift1(r.get(), r.get())) return std::nullopt;
    ++t;
  }
  bool found = false;
  // Each g finds a factor with probability at least 1/2: 100 tries fail only for a d that is no
  // private exponent of n.
  for (BN_ULONG base = 2; base < 102 && !found; ++base) {
    if (!BN_set_word(g.get(), base) || !BN_mod_exp(y.get(), g.get(), r.get(), n.get(), ctx.get()))
      return std::nullopt;
    if (BN_is_one(y.get()) || BN_cmp(y.get(), n1.get()) == 0) continue;
    for (int i = 0; i < t; ++i) {
      if (!BN_mod_sqr(x.get(), y.get(), n.get(), ctx.get())) return std::nullopt;
      if (BN_is_one(x.get())) {
        // y is a non-trivial square root of 1: gcd(y - 1, n) is p.
        if (!BN_sub_word(y.get(), 1) || !BN_gcd(p.get(), y.get(), n.get(), ctx.get()))
          return std::nullopt;
        found = !BN_is_one(p.get()) && BN_cmp(p.get(), n.get()) != 0;
        break;
      }
      if (BN_cmp(x.get(), n1.get()) == 0) break;
      if (!BN_copy(y.get(), x.get())) return std::nullopt;
    }
  }
  if (!found || !BN_div(q.get(), rem.get(), n.get(), p.get(), ctx.get()) || !BN_is_zero(rem.get()))
    return std::nullopt;
  // The larger factor first, as key generation orders them (qi is q^-1 mod p).
  if (BN_cmp(p.get(), q.get()) < 0) std::swap(p, q);
  if (!BN_copy(pm1.get(), p.get()) || !BN_sub_word(pm1.get(), 1) || !BN_copy(qm1.get(), q.get()) ||
      !BN_sub_word(qm1.get(), 1) || !BN_mod(dp.get(), d.get(), pm1.get(), ctx.get()) ||
      !BN_mod(dq.get(), d.get(), qm1.get(), ctx.get()) ||
      !BN_mod_inverse(qi.get(), q.get(), p.get(), ctx.get()))
    return std::nullopt;
  return std::array<std::string, 5>{bn_bytes(p.get()), bn_bytes(q.get()), bn_bytes(dp.get()),
                                    bn_bytes(dq.get()), bn_bytes(qi.get())};
}

EVP_PKEY* pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params.get()) != 1)
    return nullptr;
  return pkey;
}

std::optional<Curve> curve_of(EVP_PKEY* pkey) {
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1)
    return std::nullopt;
  for (Curve c : {Curve::P256, Curve::P384, Curve::P521, Curve::P256K})
    if (std::string_view(group, len) == curve_openssl_group(c)) return c;
  return std::nullopt;
}

int gen_callback(EVP_PKEY_CTX* ctx) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(EVP_PKEY_CTX_get_app_data(ctx));
  return cancel != nullptr && cancel->load(std::memory_order_relaxed) ? 0 : 1;
}

std::string bits_text(int bits) {
  return std::to_string(bits) + "-bit";
}

}  // namespace

const char* family_name(KeyFamily f) {
  switch (f) {
    case KeyFamily::Rsa:
      return "RSA";
    case KeyFamily::Ec:
      return "EC";
    case KeyFamily::Oct:
      return "oct";
  }
  return "RSA";
}

namespace {
// Whether a private key read whole from PEM or DER (`m`, holding `pkey`) works: every member is
// there, but nothing made them agree, and OpenSSL reads them as they are. RSA: a round trip
// through the private key as it will be used (OpenSSL's full key check would also refuse keys
// that work, and costs ~45 ms per RSA-2048 key on every resume of a saved state); EC: the public
// point must be the private scalar's. `what` names the key in the error ("The PEM key").
std::optional<KeyError> check_read_key(EVP_PKEY* pkey, const KeyMaterial& m,
                                       const std::string& what) {
  const std::string mismatch = what + "'s private key does not match its public key.";
  if (m.family() == KeyFamily::Ec) {
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!check || EVP_PKEY_pairwise_check(check.get()) != 1)
      return KeyError{KeyErrorKind::BadParameter, mismatch};
    return std::nullopt;
  }
  // RSA-OAEP with SHA-1 and a short probe fits every modulus OpenSSL reads (from 376 bits).
  const EncryptionAlgorithm probe{EncryptionAlgorithm::Kind::RsaOaep, 0, "RSA-OAEP"};
  auto sealed = m.encrypt(probe, {std::string("check"), {}, {}, {}});
  auto opened = sealed ? m.decrypt(probe, {sealed->value, {}, {}, {}})
                       : KeyResult<std::string>(sealed.error());
  if (!opened || *opened != "check") return KeyError{KeyErrorKind::BadParameter, mismatch};
  return std::nullopt;
}
}  // namespace

KeyResult<KeyMaterial> KeyMaterial::from_pkey(EVP_PKEY* raw) {
  std::shared_ptr<EVP_PKEY> pkey(raw, EVP_PKEY_free);
  KeyMaterial m;
  if (EVP_PKEY_is_a(raw, "RSA")) {
    m.family_ = KeyFamily::Rsa;
    m.bits_ = EVP_PKEY_get_bits(raw);
  } else if (EVP_PKEY_is_a(raw, "EC")) {
    m.family_ = KeyFamily::Ec;
    m.curve_ = curve_of(raw);
    if (!m.curve_) return bad_parameter("The EC key is on a curve Key Vault does not support.");
    m.bits_ = EVP_PKEY_get_bits(raw);
  } else {
    return bad_parameter("The key is neither RSA nor EC.");
  }
  m.pkey_ = std::move(pkey);
  return m;
}

KeyResult<KeyMaterial> KeyMaterial::generate_rsa(int bits, unsigned long public_exponent,
                                                 const std::atomic<bool>* cancel) {
  ClearOpenSslErrorsOnExit clear;
  if (bits != 2048 && bits != 3072 && bits != 4096)
    return bad_parameter("Unsupported key size (" + std::to_string(bits) +
                         "). Supported sizes are [2048, 3072, 4096].");
  if (public_exponent < 3 || public_exponent % 2 == 0 || public_exponent > 0xffffffffUL)
    return bad_parameter("The public exponent " + std::to_string(public_exponent) +
                         " is not valid: it must be an odd number of at least 3.");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  BignumPtr e(BN_new());
  if (!ctx || !e || BN_set_word(e.get(), public_exponent) != 1 ||
      EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1)
    return internal("RSA key generation set-up");
  if (cancel != nullptr) {
    EVP_PKEY_CTX_set_app_data(ctx.get(), const_cast<std::atomic<bool>*>(cancel));
    EVP_PKEY_CTX_set_cb(ctx.get(), gen_callback);
  }
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &pkey) != 1) {
    if (cancel != nullptr && cancel->load()) return KeyError{KeyErrorKind::Internal, "cancelled"};
    return internal("RSA key generation");
  }
  return from_pkey(pkey);
}

KeyResult<KeyMaterial> KeyMaterial::generate_ec(Curve curve) {
  ClearOpenSslErrorsOnExit clear;
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve_openssl_group(curve));
  if (!pkey) return internal(std::string("EC key generation on ") + curve_name(curve));
  return from_pkey(pkey);
}

KeyResult<KeyMaterial> KeyMaterial::generate_oct(int bits) {
  if (bits != 128 && bits != 192 && bits != 256)
    return bad_parameter("Unsupported key size (" + std::to_string(bits) +
                         "). Supported sizes are [128, 192, 256].");
  std::string bytes(static_cast<size_t>(bits / 8), '\0');
  if (RAND_bytes(bytes_of(bytes), static_cast<int>(bytes.size())) != 1) {
    wipe(bytes);
    return internal("random key generation");
  }
  KeyMaterial m;
  m.family_ = KeyFamily::Oct;
  m.bits_ = bits;
  m.oct_ = std::make_shared<const Secret>(std::move(bytes));
  return m;
}

KeyResult<KeyMaterial> KeyMaterial::from_pem(const std::string& pem) {
  ClearOpenSslErrorsOnExit clear;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return bad_parameter("The PEM text could not be read.");
  // No passphrase callback: an encrypted key fails instead of prompting on the terminal.
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  if (!pkey) return bad_parameter("The PEM text holds no unencrypted RSA or EC private key.");
  auto m = from_pkey(pkey);
  if (!m) return m;
  if (auto e = check_read_key(pkey, *m, "The PEM key")) return *e;
  return m;
}

KeyResult<KeyMaterial> KeyMaterial::from_evp_key(EVP_PKEY* pkey) {
  ClearOpenSslErrorsOnExit clear;
  auto m = from_pkey(pkey);
  if (!m) return m;
  if (auto e = check_read_key(pkey, *m, "The certificate's key")) return *e;
  return m;
}

KeyResult<KeyMaterial> KeyMaterial::from_jwk(const json& jwk) {
  ClearOpenSslErrorsOnExit clear;
  if (!jwk.is_object()) return bad_parameter("The property 'key' must be a JSON Web Key object.");
  // json::value() throws for a member of another type: a number as kty is the client's mistake.
  auto text = [&](const char* name) -> KeyResult<std::string> {
    auto it = jwk.find(name);
    if (it == jwk.end() || it->is_null()) return std::string();
    if (!it->is_string())
      return bad_parameter(std::string("The JWK member '") + name + "' must be a string.");
    return it->get<std::string>();
  };
  const auto kty_member = text("kty");
  if (!kty_member) return kty_member.error();
  const std::string kty = kty_member.value();
  if (jwk.contains("key_hsm") && !jwk["key_hsm"].is_null())
    return bad_parameter(
        "Importing a key protected by a BYOK HSM blob ('key_hsm') is not "
        "supported by cmk-emulator; import the plain JWK instead.");
  // Decodes member `name` into `out` (which the branch registered with its WipeOnExit).
  auto take = [&](const char* name, std::optional<std::string>& out) -> std::optional<KeyError> {
    auto m = member(jwk, name);
    if (!m) return m.error();
    out = std::move(m.value());
    return std::nullopt;
  };

  if (kty == "RSA" || kty == "RSA-HSM") {
    const char* names[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    std::optional<std::string> v[8];
    WipeOnExit guard;
    for (auto& o : v) guard.items.push_back(&o);
    for (int i = 0; i < 8; ++i)
      if (auto e = take(names[i], v[i])) return *e;
    if (!v[0] || !v[1]) return bad_parameter("An RSA JWK needs the members 'n' and 'e'.");
    if (!v[2])
      return bad_parameter("The JWK has no private key ('d'): Key Vault imports key pairs only.");
    int crt = 0;
    for (int i = 3; i < 8; ++i) crt += v[i].has_value();
    if (crt != 0 && crt != 5)
      return bad_parameter("An RSA JWK carries either all of 'p', 'q', 'dp', 'dq', 'qi' or none.");
    // Sizes first: OpenSSL would build a key from a 4 KB exponent and fail only when it is used.
    // Key Vault keys use e = 65537; anything past 64 bits is refused, as OpenSSL refuses it for
    // large moduli. The modulus is at most 4096 bits (leading zero bytes aside).
    const auto significant = [](const std::string& b) {
      return b.size() - std::min(b.size(), b.find_first_not_of('\0'));
    };
    if (significant(*v[1]) > 8 || significant(*v[1]) == 0)
      return bad_parameter("The RSA JWK's public exponent 'e' must be between 1 and 64 bits.");
    if (significant(*v[0]) > 512)
      return bad_parameter("Unsupported key size (" + std::to_string(significant(*v[0]) * 8) +
                           " bits). Supported sizes are 2048 to 4096 bits.");
    const char* params[] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                            OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                            OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                            OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    // The key of the first `count` members of v (3: n, e, d; 8: with the CRT members), checked.
    auto build = [&](int count) -> KeyResult<KeyMaterial> {
      ParamBldPtr bld(OSSL_PARAM_BLD_new());
      std::vector<SecretBignumPtr> keep;
      if (!bld) return internal("RSA import");
      for (int i = 0; i < count; ++i)
        if (!push_bn(bld.get(), params[i], *v[i], keep)) return internal("RSA import");
      EVP_PKEY* pkey = pkey_from_params("RSA", bld.get());
      if (!pkey) return bad_parameter("The RSA JWK does not describe a valid key.");
      auto m = from_pkey(pkey);
      if (!m) return m;
      if (m->bits_ < 2048 || m->bits_ > 4096)
        return bad_parameter("Unsupported key size (" + std::to_string(m->bits_) +
                             "). Supported sizes are 2048 to 4096 bits.");
      // A pair whose parts do not belong together fails here rather than on first use: with the
      // CRT members, OpenSSL's key check (n = pq, d and the CRT values consistent with e, p and q
      // prime; decryption uses p and q, so a wrong d would pass the round trip); then, for every
      // key, a round trip through the key as it will be used.
      if (count == 8) {
        PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, m->pkey_.get(), nullptr));
        if (!check || EVP_PKEY_check(check.get()) != 1)
          return bad_parameter(
              "The RSA JWK's private key is not consistent (its members do not "
              "form one RSA key).");
      }
      EncryptionAlgorithm probe{EncryptionAlgorithm::Kind::RsaOaep256, 0, "RSA-OAEP-256"};
      auto sealed = m->encrypt(probe, {std::string("cmk-emulator import check"), {}, {}, {}});
      if (!sealed) return sealed.error();
      auto opened = m->decrypt(probe, {sealed->value, {}, {}, {}});
      if (!opened || *opened != "cmk-emulator import check")
        return bad_parameter("The RSA JWK's private key does not match its public key.");
      return m;
    };
    auto m = build(crt ? 8 : 3);
    if (!m || crt) return m;
    // n, e and d alone: the CRT members are derived and the key built again with them, so it is
    // held whole. OpenSSL cannot write a key without them as DER, the form its backups and the
    // saved state keep (export_private), so such a key could be neither restored nor resumed.
    auto members = rsa_crt_members(*v[0], *v[1], *v[2]);
    if (!members) return bad_parameter("The RSA JWK's private key does not match its public key.");
    for (size_t i = 0; i < 5; ++i) v[i + 3] = std::move((*members)[i]);
    for (auto& member : *members) wipe(member);
    return build(8);
  }

  if (kty == "EC" || kty == "EC-HSM") {
    const auto crv_member = text("crv");
    if (!crv_member) return crv_member.error();
    const std::string crv_name = crv_member.value();
    auto curve = parse_curve(crv_name);
    if (!curve)
      return bad_parameter("The curve '" + crv_name +
                           "' is not supported. Supported curves are P-256, P-384, P-521, P-256K.");
    std::optional<std::string> x, y, d;
    WipeOnExit guard{{&d}};
    for (auto [name, out] : {std::pair{"x", &x}, std::pair{"y", &y}, std::pair{"d", &d}})
      if (auto e = take(name, *out)) return *e;
    if (!x || !y) return bad_parameter("An EC JWK needs the members 'x' and 'y'.");
    if (!d)
      return bad_parameter("The JWK has no private key ('d'): Key Vault imports key pairs only.");
    const size_t field = static_cast<size_t>(curve_field_bytes(*curve));
    if (x->size() > field || y->size() > field)
      return bad_parameter("The EC JWK's coordinates are too long for " + crv_name + ".");
    std::string point(1, '\x04');
    point += std::string(field - x->size(), '\0') + *x;
    point += std::string(field - y->size(), '\0') + *y;
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    std::vector<SecretBignumPtr> keep;
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                        curve_openssl_group(*curve), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1 ||
        !push_bn(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, *d, keep))
      return internal("EC import");
    EVP_PKEY* pkey = pkey_from_params("EC", bld.get());
    if (!pkey)
      return bad_parameter("The EC JWK does not describe a valid key on " + crv_name + ".");
    auto m = from_pkey(pkey);
    if (!m) return m;
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, m->pkey_.get(), nullptr));
    if (!check || EVP_PKEY_pairwise_check(check.get()) != 1)
      return bad_parameter("The EC JWK's private key does not match its public key.");
    return m;
  }

  if (kty == "oct" || kty == "oct-HSM") {
    std::optional<std::string> k;
    WipeOnExit guard{{&k}};
    if (auto e = take("k", k)) return *e;
    if (!k) return bad_parameter("An oct JWK needs the member 'k'.");
    const size_t n = k->size();
    if (n != 16 && n != 24 && n != 32)
      return bad_parameter("Unsupported key size (" + std::to_string(n * 8) +
                           "). Supported sizes are [128, 192, 256].");
    KeyMaterial m;
    m.family_ = KeyFamily::Oct;
    m.bits_ = static_cast<int>(n * 8);
    m.oct_ = std::make_shared<const Secret>(*k);
    return m;
  }
  return bad_parameter(
      "The key type '" + kty +
      "' is not supported. Supported types are RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM.");
}

void KeyMaterial::export_private(std::string& out) const {
  wipe(out);
  if (family_ == KeyFamily::Oct) {
    out = oct_->bytes;
    return;
  }
  unsigned char* der = nullptr;
  const int len = i2d_PrivateKey(pkey_.get(), &der);
  if (len > 0) out.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  if (der) OPENSSL_clear_free(der, static_cast<size_t>(len > 0 ? len : 0));
  ERR_clear_error();
}

KeyResult<KeyMaterial> KeyMaterial::restore_private(KeyFamily family, const std::string& bytes) {
  ClearOpenSslErrorsOnExit clear;
  if (family == KeyFamily::Oct) {
    if (bytes.size() != 16 && bytes.size() != 24 && bytes.size() != 32)
      return bad_parameter("The backup holds an oct key of an unsupported size.");
    KeyMaterial m;
    m.family_ = KeyFamily::Oct;
    m.bits_ = static_cast<int>(bytes.size() * 8);
    m.oct_ = std::make_shared<const Secret>(bytes);
    return m;
  }
  const unsigned char* p = bytes_of(bytes);
  EVP_PKEY* pkey = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(bytes.size()));
  if (!pkey) return bad_parameter("The backup holds a key that cannot be read.");
  auto m = from_pkey(pkey);
  if (!m) return m;
  if (m->family_ != family) return bad_parameter("The backup's key type does not match its key.");
  // The bytes may come from outside (a state document): they must form a key that works.
  if (auto e = check_read_key(pkey, *m, "The backup's key")) return *e;
  return m;
}

json KeyMaterial::public_jwk() const {
  ClearOpenSslErrorsOnExit clear;
  json j = json::object();
  if (family_ == KeyFamily::Rsa) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, &e);
    BignumPtr hold_n(n), hold_e(e);
    if (n && e) {
      j["n"] = base64url_encode(bn_bytes(n));
      j["e"] = base64url_encode(bn_bytes(e));
    }
  } else if (family_ == KeyFamily::Ec) {
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    BignumPtr hold_x(x), hold_y(y);
    if (x && y) {
      const int field = curve_field_bytes(*curve_);
      j["crv"] = curve_name(*curve_);
      j["x"] = base64url_encode(bn_bytes(x, field));
      j["y"] = base64url_encode(bn_bytes(y, field));
    }
  }
  return j;
}

size_t KeyMaterial::max_rsa_plaintext(const EncryptionAlgorithm& alg) const {
  if (family_ != KeyFamily::Rsa) return 0;
  const size_t k = static_cast<size_t>(EVP_PKEY_get_size(pkey_.get()));
  switch (alg.kind) {
    case EncryptionAlgorithm::Kind::RsaOaep:
      return k - 2 * 20 - 2;
    case EncryptionAlgorithm::Kind::RsaOaep256:
      return k - 2 * 32 - 2;
    case EncryptionAlgorithm::Kind::Rsa15:
      return k - 11;
    default:
      return 0;
  }
}

namespace {
// Sets padding and digests of an RSA encryption context for `alg`.
bool set_rsa_padding(EVP_PKEY_CTX* ctx, const EncryptionAlgorithm& alg) {
  if (alg.kind == EncryptionAlgorithm::Kind::Rsa15)
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
  const EVP_MD* md = alg.kind == EncryptionAlgorithm::Kind::RsaOaep ? EVP_sha1() : EVP_sha256();
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1;
}

KeyError wrong_family(const std::string& alg, KeyFamily f) {
  return bad_parameter("The algorithm '" + alg + "' cannot be used with a key of type '" +
                       family_name(f) + "'.");
}
}  // namespace

KeyResult<CipherOutput> KeyMaterial::encrypt(const EncryptionAlgorithm& alg,
                                             const CipherInput& in) const {
  if (alg.is_rsa()) {
    if (family_ != KeyFamily::Rsa) return wrong_family(alg.name, family_);
    return rsa_encrypt(alg, in);
  }
  if (family_ != KeyFamily::Oct) return wrong_family(alg.name, family_);
  return aes_encrypt(alg, in);
}

KeyResult<std::string> KeyMaterial::decrypt(const EncryptionAlgorithm& alg,
                                            const CipherInput& in) const {
  if (alg.is_rsa()) {
    if (family_ != KeyFamily::Rsa) return wrong_family(alg.name, family_);
    return rsa_decrypt(alg, in);
  }
  if (family_ != KeyFamily::Oct) return wrong_family(alg.name, family_);
  return aes_decrypt(alg, in);
}

KeyResult<CipherOutput> KeyMaterial::rsa_encrypt(const EncryptionAlgorithm& alg,
                                                 const CipherInput& in) const {
  ClearOpenSslErrorsOnExit clear;
  const size_t max = max_rsa_plaintext(alg);
  if (in.value.size() > max)
    return bad_parameter("The value is too long for " + alg.name + " with a " + bits_text(bits_) +
                         " key: at most " + std::to_string(max) + " bytes, got " +
                         std::to_string(in.value.size()) + ".");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 || !set_rsa_padding(ctx.get(), alg) ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &len, bytes_of(in.value), in.value.size()) != 1)
    return internal("RSA encryption");
  CipherOutput out;
  out.value.resize(len);
  if (EVP_PKEY_encrypt(ctx.get(), bytes_of(out.value), &len, bytes_of(in.value), in.value.size()) !=
      1)
    return internal("RSA encryption");
  out.value.resize(len);
  return out;
}

KeyResult<std::string> KeyMaterial::rsa_decrypt(const EncryptionAlgorithm& alg,
                                                const CipherInput& in) const {
  ClearOpenSslErrorsOnExit clear;
  const size_t k = static_cast<size_t>(EVP_PKEY_get_size(pkey_.get()));
  if (in.value.size() != k)
    return bad_parameter("The value must be exactly " + std::to_string(k) + " bytes for a " +
                         bits_text(bits_) + " RSA key, got " + std::to_string(in.value.size()) +
                         ".");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 || !set_rsa_padding(ctx.get(), alg) ||
      EVP_PKEY_decrypt(ctx.get(), nullptr, &len, bytes_of(in.value), in.value.size()) != 1)
    return internal("RSA decryption");
  std::string out(len, '\0');
  if (EVP_PKEY_decrypt(ctx.get(), bytes_of(out), &len, bytes_of(in.value), in.value.size()) != 1) {
    wipe(out);
    return bad_parameter("Decryption with " + alg.name +
                         " failed: the value was not encrypted with this key and algorithm.");
  }
  out.resize(len);
  return out;
}

namespace {
const EVP_CIPHER* aes_cipher(const EncryptionAlgorithm& alg) {
  using K = EncryptionAlgorithm::Kind;
  const int b = alg.aes_bits;
  switch (alg.kind) {
    case K::AesKw:
      return b == 128 ? EVP_aes_128_wrap() : b == 192 ? EVP_aes_192_wrap() : EVP_aes_256_wrap();
    case K::AesGcm:
      return b == 128 ? EVP_aes_128_gcm() : b == 192 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
    case K::AesCbc:
    case K::AesCbcPad:
      return b == 128 ? EVP_aes_128_cbc() : b == 192 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
    default:
      return nullptr;
  }
}

// Runs one AES pass over `in` into `out`; false on failure (a bad unwrap, bad padding, or a
// GCM tag that does not match).
bool aes_run(EVP_CIPHER_CTX* ctx, std::string_view in, std::string& out, size_t extra) {
  out.assign(in.size() + extra + 32, '\0');
  int n = 0, m = 0;
  if (EVP_CipherUpdate(ctx, bytes_of(out), &n, bytes_of(in), static_cast<int>(in.size())) != 1)
    return false;
  if (EVP_CipherFinal_ex(ctx, bytes_of(out) + n, &m) != 1) return false;
  out.resize(static_cast<size_t>(n + m));
  return true;
}
}  // namespace

KeyResult<CipherOutput> KeyMaterial::aes_encrypt(const EncryptionAlgorithm& alg,
                                                 const CipherInput& in) const {
  ClearOpenSslErrorsOnExit clear;
  using K = EncryptionAlgorithm::Kind;
  if (alg.aes_bits != bits_)
    return bad_parameter("The algorithm '" + alg.name + "' needs a " + bits_text(alg.aes_bits) +
                         " key; this key has " + std::to_string(bits_) + " bits.");
  const std::string& v = in.value;
  CipherOutput out;
  std::string iv;
  if (alg.kind == K::AesKw) {
    if (v.size() < 16 || v.size() % 8 != 0)
      return bad_parameter(
          "AES key wrap needs a value of at least 16 bytes in multiples of 8, got " +
          std::to_string(v.size()) + ".");
  } else if (alg.kind == K::AesGcm) {
    iv = in.iv ? *in.iv : std::string(12, '\0');
    if (!in.iv && RAND_bytes(bytes_of(iv), 12) != 1) return internal("IV generation");
    if (iv.size() != 12) return bad_parameter("AES-GCM needs a 12-byte 'iv'.");
  } else {
    if (!in.iv || in.iv->size() != 16)
      return bad_parameter("The algorithm '" + alg.name + "' needs a 16-byte 'iv'.");
    iv = *in.iv;
    if (alg.kind == K::AesCbc && v.size() % 16 != 0)
      return bad_parameter("The algorithm '" + alg.name +
                           "' needs a value in multiples of 16 bytes (use " + alg.name +
                           "PAD for other lengths).");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return internal("AES");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_EncryptInit_ex(ctx.get(), aes_cipher(alg), nullptr, nullptr, nullptr) != 1)
    return internal("AES");
  if (alg.kind == K::AesGcm &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1)
    return internal("AES-GCM");
  if (EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes_of(oct_->bytes),
                         iv.empty() ? nullptr : bytes_of(iv)) != 1)
    return internal("AES");
  if (alg.kind == K::AesCbc) EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  if (alg.kind == K::AesGcm && in.aad && !in.aad->empty()) {
    int n = 0;
    if (EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes_of(*in.aad),
                          static_cast<int>(in.aad->size())) != 1)
      return internal("AES-GCM");
  }
  if (!aes_run(ctx.get(), v, out.value, 16)) return internal("AES encryption");
  if (alg.kind == K::AesGcm) {
    std::string tag(16, '\0');
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag.data()) != 1)
      return internal("AES-GCM");
    out.iv = iv;
    out.tag = tag;
    if (in.aad) out.aad = *in.aad;
  } else if (alg.kind != K::AesKw) {
    out.iv = iv;
  }
  return out;
}

KeyResult<std::string> KeyMaterial::aes_decrypt(const EncryptionAlgorithm& alg,
                                                const CipherInput& in) const {
  ClearOpenSslErrorsOnExit clear;
  using K = EncryptionAlgorithm::Kind;
  if (alg.aes_bits != bits_)
    return bad_parameter("The algorithm '" + alg.name + "' needs a " + bits_text(alg.aes_bits) +
                         " key; this key has " + std::to_string(bits_) + " bits.");
  const std::string& v = in.value;
  std::string iv;
  if (alg.kind == K::AesKw) {
    if (v.size() < 24 || v.size() % 8 != 0)
      return bad_parameter("An AES-wrapped value is at least 24 bytes in multiples of 8, got " +
                           std::to_string(v.size()) + ".");
  } else if (alg.kind == K::AesGcm) {
    if (!in.iv || in.iv->size() != 12)
      return bad_parameter("AES-GCM decryption needs the 12-byte 'iv'.");
    if (!in.tag || in.tag->size() != 16)
      return bad_parameter("AES-GCM decryption needs the 16-byte authentication 'tag'.");
    iv = *in.iv;
  } else {
    if (!in.iv || in.iv->size() != 16)
      return bad_parameter("The algorithm '" + alg.name + "' needs a 16-byte 'iv'.");
    if (v.empty() || v.size() % 16 != 0)
      return bad_parameter("An AES-CBC ciphertext is a non-empty multiple of 16 bytes.");
    iv = *in.iv;
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return internal("AES");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_DecryptInit_ex(ctx.get(), aes_cipher(alg), nullptr, nullptr, nullptr) != 1)
    return internal("AES");
  if (alg.kind == K::AesGcm &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1)
    return internal("AES-GCM");
  if (EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes_of(oct_->bytes),
                         iv.empty() ? nullptr : bytes_of(iv)) != 1)
    return internal("AES");
  if (alg.kind == K::AesCbc) EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  if (alg.kind == K::AesGcm) {
    std::string tag = *in.tag;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1)
      return internal("AES-GCM");
    if (in.aad && !in.aad->empty()) {
      int n = 0;
      if (EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes_of(*in.aad),
                            static_cast<int>(in.aad->size())) != 1)
        return internal("AES-GCM");
    }
  }
  std::string out;
  if (!aes_run(ctx.get(), v, out, 0)) {
    wipe(out);
    return bad_parameter(
        alg.kind == K::AesKw
            ? "Unwrapping with " + alg.name + " failed: the value was not wrapped with this key."
            : "Decryption with " + alg.name +
                  " failed: the value was not encrypted with this key, IV and tag.");
  }
  return out;
}

KeyResult<std::string> KeyMaterial::sign(const SignatureAlgorithm& alg,
                                         std::string_view digest) const {
  ClearOpenSslErrorsOnExit clear;
  using K = SignatureAlgorithm::Kind;
  const bool rsa_alg = alg.kind != K::Ecdsa;
  if (family_ == KeyFamily::Oct || rsa_alg != (family_ == KeyFamily::Rsa))
    return wrong_family(alg.name, family_);
  if (alg.kind == K::Ecdsa && alg.curve != curve_)
    return bad_parameter("The algorithm '" + alg.name + "' needs a key on " +
                         curve_name(*alg.curve) + "; this key is on " + curve_name(*curve_) + ".");
  if (static_cast<int>(digest.size()) != alg.digest_bytes())
    return bad_parameter("The digest for " + alg.name + " must be " +
                         std::to_string(alg.digest_bytes()) + " bytes, got " +
                         std::to_string(digest.size()) + ".");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) return internal("signing");
  if (rsa_alg) {
    const bool pss = alg.kind == K::RsaPss;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) !=
            1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), sha(alg.hash_bits)) != 1 ||
        (pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
                 EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), sha(alg.hash_bits)) != 1)))
      return internal("RSA signing set-up");
  }
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, bytes_of(digest), digest.size()) != 1)
    return internal("signing");
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), bytes_of(sig), &len, bytes_of(digest), digest.size()) != 1)
    return internal("signing");
  sig.resize(len);
  if (rsa_alg) return sig;
  // ECDSA: DER SEQUENCE {r, s} -> r||s, as JWS and Key Vault carry it.
  const unsigned char* p = bytes_of(sig);
  EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!parsed) return internal("ECDSA signature encoding");
  const int field = curve_field_bytes(*curve_);
  return bn_bytes(ECDSA_SIG_get0_r(parsed.get()), field) +
         bn_bytes(ECDSA_SIG_get0_s(parsed.get()), field);
}

KeyResult<bool> KeyMaterial::verify(const SignatureAlgorithm& alg, std::string_view digest,
                                    std::string_view signature) const {
  ClearOpenSslErrorsOnExit clear;
  using K = SignatureAlgorithm::Kind;
  const bool rsa_alg = alg.kind != K::Ecdsa;
  if (family_ == KeyFamily::Oct || rsa_alg != (family_ == KeyFamily::Rsa))
    return wrong_family(alg.name, family_);
  if (alg.kind == K::Ecdsa && alg.curve != curve_)
    return bad_parameter("The algorithm '" + alg.name + "' needs a key on " +
                         curve_name(*alg.curve) + "; this key is on " + curve_name(*curve_) + ".");
  if (static_cast<int>(digest.size()) != alg.digest_bytes())
    return bad_parameter("The digest for " + alg.name + " must be " +
                         std::to_string(alg.digest_bytes()) + " bytes, got " +
                         std::to_string(digest.size()) + ".");
  std::string der;
  std::string_view sig = signature;
  if (!rsa_alg) {
    const size_t field = static_cast<size_t>(curve_field_bytes(*curve_));
    if (signature.size() != 2 * field) return false;
    EcdsaSigPtr s(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes_of(signature), static_cast<int>(field), nullptr);
    BIGNUM* ss = BN_bin2bn(bytes_of(signature) + field, static_cast<int>(field), nullptr);
    if (!s || !r || !ss || ECDSA_SIG_set0(s.get(), r, ss) != 1) {
      BN_free(r);
      BN_free(ss);
      return internal("ECDSA signature decoding");
    }
    unsigned char* out = nullptr;
    const int len = i2d_ECDSA_SIG(s.get(), &out);
    if (len <= 0) return internal("ECDSA signature encoding");
    der.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    sig = der;
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) return internal("verification");
  if (rsa_alg) {
    const bool pss = alg.kind == K::RsaPss;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) !=
            1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), sha(alg.hash_bits)) != 1 ||
        (pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
                 EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), sha(alg.hash_bits)) != 1)))
      return internal("RSA verification set-up");
  }
  return EVP_PKEY_verify(ctx.get(), bytes_of(sig), sig.size(), bytes_of(digest), digest.size()) ==
         1;
}

}  // namespace cmk::keyvault_data
