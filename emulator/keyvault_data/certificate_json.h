// The wire shapes of the certificates data plane, both ways: CertificateStore views rendered as
// CertificateBundle / CertificateItem / DeletedCertificateBundle / CertificatePolicy /
// CertificateOperation / Contacts / IssuerBundle JSON, and request bodies read into the store's
// request structs. No HTTP: the adapter passes the vault URL the client addressed.
//
// Rendering rules (Key Vault's recorded traffic): `cer` and `csr` are base64 with padding,
// `x5t` base64url without; `kid`/`sid`/`x5t`/`cer` appear once the version has its X.509;
// `policy` is part of a bundle, not of list items; `pending` names the pending operation while
// there is one; issuers never show their password. Reading rules: unknown members are ignored;
// a member of the wrong JSON type is a BadParameter naming it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keyvault_data/certificate_store.h"
#include "keyvault_data/key_json.h"

namespace cmk::keyvault_data {

nlohmann::json certificate_policy_json(const CertificatePolicy& p, const std::string& vault_url,
                                       const std::string& name);
nlohmann::json certificate_bundle_json(const CertificateView& c, const std::string& vault_url,
                                       const AttributeSet& a = {});
nlohmann::json deleted_certificate_bundle_json(const CertificateView& c,
                                               const std::string& vault_url,
                                               const AttributeSet& a = {});
nlohmann::json certificate_item_json(const CertificateView& c, const std::string& vault_url,
                                     bool with_version, const AttributeSet& a = {});
nlohmann::json deleted_certificate_item_json(const CertificateView& c, const std::string& vault_url,
                                             const AttributeSet& a = {});
nlohmann::json certificate_operation_json(const CertificateOperationView& o,
                                          const std::string& vault_url);
nlohmann::json contacts_json(const std::vector<CertificateContact>& contacts,
                             const std::string& vault_url);
nlohmann::json issuer_json(const CertificateIssuer& i, const std::string& vault_url);
nlohmann::json issuer_item_json(const CertificateIssuer& i, const std::string& vault_url);

// The "policy" member of a body (absent members stay unset: complete_policy() or
// merged_policy() fill them).
CertResult<CertificatePolicy> read_certificate_policy(const nlohmann::json& policy);
CertResult<CreateCertificateRequest> read_create_certificate_request(const nlohmann::json& body);
// `value`: PEM text as is, else base64 of a PKCS #12 (decoded here).
CertResult<ImportCertificateRequest> read_import_certificate_request(const nlohmann::json& body);
CertResult<UpdateCertificateRequest> read_update_certificate_request(const nlohmann::json& body);
CertResult<MergeCertificateRequest> read_merge_request(const nlohmann::json& body);
CertResult<std::vector<CertificateContact>> read_contacts(const nlohmann::json& body);
CertResult<IssuerInput> read_issuer(const nlohmann::json& body);

}  // namespace cmk::keyvault_data
