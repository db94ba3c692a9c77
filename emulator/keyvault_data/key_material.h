// The key material of one Key Vault key version, and every cryptographic operation on it, with
// OpenSSL's EVP API.
//
// Contract:
// - Families: RSA (2048/3072/4096 bits when generated; 2048-4096 when imported), EC (P-256,
//   P-384, P-521, P-256K) and oct (AES keys of 128/192/256 bits).
// - public_jwk() returns only public members: n and e for RSA (big-endian, base64url, no
//   padding), crv, x and y for EC (each coordinate padded to the field size), nothing for oct.
//   Private members (d, p, q, dp, dq, qi, k) never leave through it.
// - from_jwk() imports a JWK that carries the private key (RSA: n, e, d and optionally all of
//   p, q, dp, dq, qi; EC: crv, x, y, d; oct: k) and checks that the parts belong together; an
//   RSA key given without the CRT members gets them derived (so it can be exported). from_pem()
//   and restore_private() check that the key they read works (an RSA round trip; EC: the public
//   point is the private scalar's).
// - Results interoperate with any implementation of the standards: RSA-OAEP (SHA-1, MGF1-SHA-1),
//   RSA-OAEP-256 (SHA-256, MGF1-SHA-256), RSA1_5 (PKCS #1 v1.5), AES key wrap (RFC 3394), AES-GCM
//   (12-byte IV made here, 16-byte tag), AES-CBC (client IV, no padding) and AES-CBC-PAD (PKCS #7);
//   RS* (PKCS #1 v1.5 over the given digest), PS* (PSS, MGF1 with the same hash, salt length =
//   digest length), ES* (ECDSA, signature as raw r||s each padded to the field size, as JWS does).
// - Sign and verify take the digest, not the message; its length must be the hash's.
// - Input checks return BadParameter with the reason: algorithm not valid for the family, AES
//   key size not the algorithm's, plaintext too long (RSA-OAEP: k - 2*hLen - 2 bytes; RSA1_5:
//   k - 11), ciphertext of the wrong length, CBC/KW lengths, missing IV or tag, failed
//   decryption or unwrap.
// - Objects are immutable and cheap to copy (the key is shared); every method is safe to call
//   from several threads at once. Secret bytes held here are wiped when the last copy goes.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "keyvault_data/algorithms.h"
#include "keyvault_data/key_errors.h"

namespace cmk::keyvault_data {

enum class KeyFamily { Rsa, Ec, Oct };

// Input of encrypt/decrypt/wrap/unwrap; binary values already decoded.
struct CipherInput {
  std::string value;
  std::optional<std::string> iv;
  std::optional<std::string> aad;
  std::optional<std::string> tag;
};

struct CipherOutput {
  std::string value;
  std::optional<std::string> iv;   // AES-GCM (made here) and AES-CBC (echoed)
  std::optional<std::string> tag;  // AES-GCM
  std::optional<std::string> aad;  // AES-GCM, echoed
};

class KeyMaterial {
 public:
  // `cancel`, when set during generation, makes it fail fast (the key pool's shutdown).
  static KeyResult<KeyMaterial> generate_rsa(int bits, unsigned long public_exponent = 65537,
                                             const std::atomic<bool>* cancel = nullptr);
  static KeyResult<KeyMaterial> generate_ec(Curve curve);
  static KeyResult<KeyMaterial> generate_oct(int bits);
  static KeyResult<KeyMaterial> from_jwk(const nlohmann::json& jwk);
  // An RSA or EC private key in PEM ("BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY", "BEGIN EC
  // PRIVATE KEY"); unencrypted only. Fixtures use it to give key material.
  static KeyResult<KeyMaterial> from_pem(const std::string& pem);
  // An RSA or EC key OpenSSL read elsewhere (a certificate's PKCS #12 or PEM), checked as
  // from_pem() checks it. Takes ownership of `pkey`.
  static KeyResult<KeyMaterial> from_evp_key(EVP_PKEY* pkey);
  // The OpenSSL key of an RSA or EC key (null for oct), shared and never modified: a
  // certificate is signed by it and carries its public part.
  const std::shared_ptr<EVP_PKEY>& evp_key() const { return pkey_; }

  // The private key in a form only restore_private() reads (DER for RSA/EC, raw for oct), for
  // encrypted backups. The caller must wipe `out` (cmk::wipe) when done.
  void export_private(std::string& out) const;
  static KeyResult<KeyMaterial> restore_private(KeyFamily family, const std::string& bytes);

  KeyFamily family() const { return family_; }
  int size_bits() const { return bits_; }
  std::optional<Curve> curve() const { return curve_; }
  // n/e, crv/x/y, or an empty object for oct.
  nlohmann::json public_jwk() const;

  // The most bytes `alg` can encrypt with this RSA key; 0 for non-RSA algorithms.
  size_t max_rsa_plaintext(const EncryptionAlgorithm& alg) const;

  KeyResult<CipherOutput> encrypt(const EncryptionAlgorithm& alg, const CipherInput& in) const;
  KeyResult<std::string> decrypt(const EncryptionAlgorithm& alg, const CipherInput& in) const;
  KeyResult<std::string> sign(const SignatureAlgorithm& alg, std::string_view digest) const;
  // False for a signature that does not verify (including one of the wrong length).
  KeyResult<bool> verify(const SignatureAlgorithm& alg, std::string_view digest,
                         std::string_view signature) const;

 private:
  struct Secret;
  KeyMaterial() = default;
  static KeyResult<KeyMaterial> from_pkey(EVP_PKEY* pkey);  // takes ownership

  KeyResult<CipherOutput> rsa_encrypt(const EncryptionAlgorithm& alg, const CipherInput& in) const;
  KeyResult<std::string> rsa_decrypt(const EncryptionAlgorithm& alg, const CipherInput& in) const;
  KeyResult<CipherOutput> aes_encrypt(const EncryptionAlgorithm& alg, const CipherInput& in) const;
  KeyResult<std::string> aes_decrypt(const EncryptionAlgorithm& alg, const CipherInput& in) const;

  KeyFamily family_ = KeyFamily::Rsa;
  int bits_ = 0;
  std::optional<Curve> curve_;
  std::shared_ptr<EVP_PKEY> pkey_;      // RSA and EC
  std::shared_ptr<const Secret> oct_;  // oct
};

const char* family_name(KeyFamily f);  // "RSA", "EC", "oct"

}  // namespace cmk::keyvault_data
