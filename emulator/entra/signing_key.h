// The key the emulator signs access tokens with, and its published form (JWKS).
//
// Contract:
// - load_or_create(dir) reuses `token-signing-key.pem` and `token-signing-cert.pem` in `dir`, or
//   creates them: RSA-2048, and a self-signed certificate for that key (10 years, SHA-256) whose
//   only job is to give the key an `x5t` and an `x5c`, as Entra's keys have. The folder is made
//   0700 if this call creates it; the key file is created 0600 with open() (never through a
//   umask-dependent path) and tightened to 0600 if found looser. Files are written to a temporary
//   name and renamed, so a crash never leaves half a key. Concurrent callers on one folder (two
//   emulators starting together) are serialised by flock on `token-signing.lock`, so both end up
//   with the same key. An existing key is never replaced (tokens already handed out must keep
//   verifying); a missing or mismatching certificate is re-issued for it. An existing key file
//   that cannot be read, or is not RSA of at least 2048 bits, is an error, not a reason to
//   overwrite it. Loading existing files takes a few milliseconds.
// - kid == x5t == base64url(SHA-1 of the certificate's DER), as Entra does.
// - jwk()/jwks() publish only public material: {kty:"RSA", use:"sig", kid, x5t, n, e,
//   x5c:[standard base64 DER], issuer?}. n and e are unpadded base64url big-endian integers
//   without leading zero bytes (RFC 7518 §6.3.1).
// - Error messages name files and reasons, never key bytes. The object is immutable and cheap
//   to copy (shared key handle); safe to use from many threads.
#pragma once

#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cmk::entra {

inline constexpr const char* kSigningKeyFile = "token-signing-key.pem";
inline constexpr const char* kSigningCertFile = "token-signing-cert.pem";
inline constexpr const char* kSigningLockFile = "token-signing.lock";

class SigningKey {
 public:
  static Result<SigningKey> load_or_create(const std::filesystem::path& dir);
  // A fresh key and certificate held in memory only (in-memory emulators, tests).
  static Result<SigningKey> generate();
  // From given PEM texts (fixed material). The certificate must hold the key's public half.
  static Result<SigningKey> from_pem(const std::string& private_key_pem,
                                     const std::string& certificate_pem);

  // The key pair; OpenSSL reads only the public half when verifying with it.
  EVP_PKEY* pkey() const { return key_.get(); }
  const std::string& kid() const { return kid_; }
  const std::string& x5t() const { return kid_; }
  const std::string& certificate_der() const { return cert_der_; }
  const std::string& certificate_pem() const { return cert_pem_; }
  // Base64url n and e of the public key.
  const std::string& modulus_b64url() const { return n_; }
  const std::string& exponent_b64url() const { return e_; }

  nlohmann::json jwk(const std::optional<std::string>& issuer = std::nullopt) const;
  nlohmann::json jwks(const std::optional<std::string>& issuer = std::nullopt) const;

 private:
  SigningKey() = default;
  static Result<SigningKey> assemble(std::shared_ptr<EVP_PKEY> key, std::string cert_der,
                                     std::string cert_pem);

  std::shared_ptr<EVP_PKEY> key_;
  std::string kid_;
  std::string cert_der_;
  std::string cert_pem_;
  std::string n_;
  std::string e_;
};

}  // namespace cmk::entra
