// The X.509 side of a Key Vault certificate, with OpenSSL: a certificate chain (leaf first) with
// the private key of its leaf, made from a policy, merged from an issuer's answer to a CSR, or
// imported; and the forms Key Vault hands it out in.
//
// Contract:
// - self_signed(): a version 3 certificate signed by its own key (SHA-256 for RSA and P-256,
//   SHA-384 for P-384, SHA-512 for P-521): a random positive 128-bit serial, subject and issuer
//   the policy's subject (or empty when only SANs are given), notBefore = now - 10 minutes (as
//   Key Vault dates them), notAfter = now +
//   validity_months calendar months (the day clamped to the month's last), subject and
//   authority key identifiers (SHA-1 of the public key), basic constraints CA:FALSE (critical),
//   key usage (critical) and extended key usage from the policy, and the SANs (DNS, email, UPN
//   as the otherName 1.3.6.1.4.1.311.20.2.3).
// - csr(): a PKCS #10 request (DER) for the subject and the same extensions, signed by the key.
// - merge(): the chain an issuer returned (DER certificates, the leaf first or anywhere: the
//   leaf is the one whose public key is the pending key's) -> material; refused when no
//   certificate matches the key.
// - import_certificate(): `value` is PEM text (a private key, encrypted with `password` or not,
//   and one or more certificates) or the bytes of a PKCS #12 (with or without `password`). The
//   leaf is the certificate whose public key is the private key's; a certificate without its
//   private key is refused. OpenSSL 3's defaults read PKCS #12 files made with AES or 3DES
//   (what OpenSSL 3, .NET and Python's cryptography write); RC2-40 (old Windows exports) is
//   refused with a message saying so.
// - pem(): the private key (PKCS #8, unencrypted) then every certificate, leaf first, as Key
//   Vault's PEM secret holds them. pkcs12(): a PKCS #12 without password (key and certificates
//   unencrypted, MAC over the empty password), as Key Vault exports it. Both carry the private
//   key: callers keep them out of logs and wipe them.
// - der() is the leaf's DER (the `cer`); x5t() its SHA-1 (raw bytes; base64url on the wire).
// - Immutable after construction and safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/openssl_util.h"
#include "keyvault_data/certificate_policy.h"
#include "keyvault_data/key_material.h"

namespace cmk::keyvault_data {

class CertificateMaterial {
 public:
  static KeyResult<CertificateMaterial> self_signed(const CertificatePolicy& policy,
                                                    const KeyMaterial& key, int64_t now);
  static KeyResult<std::string> csr(const CertificatePolicy& policy, const KeyMaterial& key);
  static KeyResult<CertificateMaterial> merge(const KeyMaterial& key,
                                              const std::vector<std::string>& der_chain);
  static KeyResult<CertificateMaterial> import_certificate(const std::string& value,
                                                           const std::string& password);
  // The chain alone (DER, leaf first) and the key: a state import or a backup restore.
  static KeyResult<CertificateMaterial> from_parts(const KeyMaterial& key,
                                                   const std::vector<std::string>& der_chain);

  const KeyMaterial& key() const { return *key_; }
  std::string der() const;
  // Every certificate (DER), leaf first.
  std::vector<std::string> der_chain() const;
  std::string x5t() const;
  std::string pem() const;
  std::string pkcs12() const;
  X509* leaf() const { return chain_->front().get(); }

  int64_t not_before() const { return not_before_; }
  int64_t not_after() const { return not_after_; }
  // "CN=a, O=b" in the certificate's order.
  std::string subject() const;
  SubjectAlternativeNames sans() const;
  std::vector<std::string> ekus() const;       // dotted OIDs
  std::vector<std::string> key_usage() const;  // Key Vault's names
  // The policy Key Vault reports for an imported certificate: its subject, SANs, EKUs, key
  // usages, validity months (rounded), key type and size; issuer Unknown.
  CertificatePolicy derived_policy(const std::string& content_type) const;

 private:
  CertificateMaterial() = default;
  static KeyResult<CertificateMaterial> assemble(const KeyMaterial& key,
                                                 std::vector<X509Ptr> certs);

  std::shared_ptr<const KeyMaterial> key_;
  std::shared_ptr<const std::vector<X509Ptr>> chain_;
  int64_t not_before_ = 0;
  int64_t not_after_ = 0;
};

// "CN=a, O=b" (also "CN=a,O=b"; '\,' escapes a comma) -> X509_NAME; null when malformed.
X509_NAME* parse_distinguished_name(const std::string& text);

}  // namespace cmk::keyvault_data
