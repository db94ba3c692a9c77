#include "keyvault_data/algorithms.h"

#include <array>

namespace cmk::keyvault_data {

namespace {
struct CurveInfo {
  Curve curve;
  const char* jwk;
  const char* group;
  int field_bytes;
};
constexpr std::array<CurveInfo, 4> kCurves = {{{Curve::P256, "P-256", "prime256v1", 32},
                                               {Curve::P384, "P-384", "secp384r1", 48},
                                               {Curve::P521, "P-521", "secp521r1", 66},
                                               {Curve::P256K, "P-256K", "secp256k1", 32}}};

const CurveInfo& info(Curve c) {
  for (const auto& i : kCurves)
    if (i.curve == c) return i;
  return kCurves[0];
}
}  // namespace

std::optional<Curve> parse_curve(std::string_view jwk_name) {
  for (const auto& i : kCurves)
    if (jwk_name == i.jwk) return i.curve;
  return std::nullopt;
}
const char* curve_name(Curve c) { return info(c).jwk; }
const char* curve_openssl_group(Curve c) { return info(c).group; }
int curve_field_bytes(Curve c) { return info(c).field_bytes; }

std::optional<EncryptionAlgorithm> parse_encryption_algorithm(std::string_view name) {
  using K = EncryptionAlgorithm::Kind;
  const std::string n(name);
  if (n == "RSA-OAEP") return EncryptionAlgorithm{K::RsaOaep, 0, n};
  if (n == "RSA-OAEP-256") return EncryptionAlgorithm{K::RsaOaep256, 0, n};
  if (n == "RSA1_5") return EncryptionAlgorithm{K::Rsa15, 0, n};
  // A128KW, A192GCM, A256CBCPAD, ...
  if (n.size() < 6 || n[0] != 'A') return std::nullopt;
  const std::string bits = n.substr(1, 3);
  const std::string mode = n.substr(4);
  int aes_bits = bits == "128" ? 128 : bits == "192" ? 192 : bits == "256" ? 256 : 0;
  if (aes_bits == 0) return std::nullopt;
  if (mode == "KW") return EncryptionAlgorithm{K::AesKw, aes_bits, n};
  if (mode == "GCM") return EncryptionAlgorithm{K::AesGcm, aes_bits, n};
  if (mode == "CBC") return EncryptionAlgorithm{K::AesCbc, aes_bits, n};
  if (mode == "CBCPAD") return EncryptionAlgorithm{K::AesCbcPad, aes_bits, n};
  return std::nullopt;
}

std::optional<SignatureAlgorithm> parse_signature_algorithm(std::string_view name) {
  using K = SignatureAlgorithm::Kind;
  const std::string n(name);
  if (n == "ES256") return SignatureAlgorithm{K::Ecdsa, 256, Curve::P256, n};
  if (n == "ES256K") return SignatureAlgorithm{K::Ecdsa, 256, Curve::P256K, n};
  if (n == "ES384") return SignatureAlgorithm{K::Ecdsa, 384, Curve::P384, n};
  if (n == "ES512") return SignatureAlgorithm{K::Ecdsa, 512, Curve::P521, n};
  if (n.size() != 5) return std::nullopt;
  const std::string bits = n.substr(2);
  const int hash_bits = bits == "256" ? 256 : bits == "384" ? 384 : bits == "512" ? 512 : 0;
  if (hash_bits == 0) return std::nullopt;
  if (n.substr(0, 2) == "RS") return SignatureAlgorithm{K::RsaPkcs1, hash_bits, std::nullopt, n};
  if (n.substr(0, 2) == "PS") return SignatureAlgorithm{K::RsaPss, hash_bits, std::nullopt, n};
  return std::nullopt;
}

}  // namespace cmk::keyvault_data
