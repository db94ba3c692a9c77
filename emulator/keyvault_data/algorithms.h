// The names Key Vault uses for curves and algorithms, parsed once into what
// the crypto code needs. Names compare exactly, as the service does ("RSA-OAEP", not
// "rsa-oaep").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cmk::keyvault_data {

enum class Curve { P256, P384, P521, P256K };

std::optional<Curve> parse_curve(std::string_view jwk_name);  // "P-256", "P-384", "P-521", "P-256K"
const char* curve_name(Curve c);                              // the JWK name
const char* curve_openssl_group(Curve c);                     // "prime256v1", ...
// Bytes of one coordinate (and of r and s in a signature): 32, 48, 66, 32.
int curve_field_bytes(Curve c);

// JsonWebKeyEncryptionAlgorithm: encrypt/decrypt and wrapKey/unwrapKey.
struct EncryptionAlgorithm {
  enum class Kind { RsaOaep, RsaOaep256, Rsa15, AesKw, AesGcm, AesCbc, AesCbcPad };
  Kind kind;
  int aes_bits = 0;  // 128/192/256 for the AES kinds
  std::string name;  // as the client sent it
  bool is_rsa() const { return kind == Kind::RsaOaep || kind == Kind::RsaOaep256 || kind == Kind::Rsa15; }
};
// RSA-OAEP, RSA-OAEP-256, RSA1_5, A128KW/A192KW/A256KW, A128GCM..., A128CBC..., A128CBCPAD...
std::optional<EncryptionAlgorithm> parse_encryption_algorithm(std::string_view name);

// JsonWebKeySignatureAlgorithm.
struct SignatureAlgorithm {
  enum class Kind { RsaPkcs1, RsaPss, Ecdsa };
  Kind kind;
  int hash_bits = 256;  // SHA-256/384/512: also the digest length the caller must pass
  std::optional<Curve> curve;  // ES*: the one curve the algorithm goes with
  std::string name;
  int digest_bytes() const { return hash_bits / 8; }
};
// RS256/384/512, PS256/384/512, ES256, ES256K, ES384, ES512.
std::optional<SignatureAlgorithm> parse_signature_algorithm(std::string_view name);

}  // namespace cmk::keyvault_data
