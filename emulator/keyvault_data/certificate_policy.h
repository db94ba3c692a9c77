// A Key Vault certificate policy as the domain holds it: what a certificate's key, X.509
// contents, backing secret and issuer are, with Key Vault's defaults filled in and its rules
// checked. No JSON here (certificate_json reads and renders it).
//
// Contract:
// - complete_policy() fills what a create or import left out as Key Vault does: key RSA 2048,
//   exportable, reuse_key false; content type application/x-pkcs12; EKUs serverAuth and
//   clientAuth (1.3.6.1.5.5.7.3.1, 1.3.6.1.5.5.7.3.2); key usages digitalSignature and
//   keyEncipherment (EC keys: digitalSignature); 12 validity months; one lifetime action
//   (AutoRenew at 80 % of the lifetime for the Self issuer, EmailContacts otherwise).
// - check_policy() refuses, with the reason as a BadParameter: no subject and no SAN, a subject
//   that is not a distinguished name ("CN=a, O=b"), kty other than RSA/RSA-HSM/EC/EC-HSM, an RSA
//   size other than 2048/3072/4096, an EC curve other than P-256/P-384/P-521/P-256K, a content
//   type other than application/x-pkcs12 or application/x-pem-file, an unknown key usage,
//   an EKU that is not a dotted OID, validity months outside 1..1200, SANs with characters no
//   X.509 name may hold, a lifetime action with neither or both triggers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keyvault_data/algorithms.h"
#include "keyvault_data/key_errors.h"

namespace cmk::keyvault_data {

inline constexpr const char* kPkcs12ContentType = "application/x-pkcs12";
inline constexpr const char* kPemContentType = "application/x-pem-file";

struct SubjectAlternativeNames {
  std::vector<std::string> dns_names;
  std::vector<std::string> emails;
  std::vector<std::string> upns;
  bool empty() const { return dns_names.empty() && emails.empty() && upns.empty(); }
};

struct CertificateLifetimeAction {
  std::optional<int> lifetime_percentage;  // 1..99
  std::optional<int> days_before_expiry;
  std::string action_type;  // "AutoRenew" or "EmailContacts"
};

struct CertificatePolicy {
  // key_props
  std::string kty;  // "" until completed
  std::optional<int> key_size;
  std::optional<std::string> crv;
  std::optional<bool> exportable;
  std::optional<bool> reuse_key;
  // secret_props
  std::string content_type;
  // x509_props
  std::string subject;
  SubjectAlternativeNames sans;
  std::optional<std::vector<std::string>> ekus;
  std::optional<std::vector<std::string>> key_usage;
  std::optional<int> validity_months;
  // issuer
  std::string issuer_name;  // "Self", "Unknown" or an issuer of the vault; "" until completed
  std::optional<std::string> certificate_type;
  std::optional<bool> cert_transparency;
  std::optional<std::vector<CertificateLifetimeAction>> lifetime_actions;
  // attributes
  bool enabled = true;
  int64_t created = 0;
  int64_t updated = 0;

  bool is_ec() const { return kty == "EC" || kty == "EC-HSM"; }
  bool is_self() const;     // issuer "Self" (any casing)
  bool is_unknown() const;  // issuer "Unknown" (any casing)
};

// Key Vault's defaults for every member left out (see the contract).
void complete_policy(CertificatePolicy& p);
// nullopt when the (completed) policy may be used.
std::optional<KeyError> check_policy(const CertificatePolicy& p);
// The curve of a completed EC policy (crv, or the one key_size names: 256/384/521).
std::optional<Curve> policy_curve(const CertificatePolicy& p);

// "digitalSignature" ... "decipherOnly": the names Key Vault uses, in X.509 bit order.
const std::vector<std::string>& key_usage_names();

}  // namespace cmk::keyvault_data
