// The certificates of every vault: versions, policies, pending operations (create with the Self
// or Unknown issuer, merge), import, soft delete, backup, contacts and issuers, each
// certificate version backed by a key version (KeyStore) and a managed secret version
// (SecretStore) of the same name and version id, as in Azure.
// No HTTP here: the adapter (certificates_api) parses requests into these calls.
//
// Contract:
// - Names: 1-127 letters, digits and '-', compared case-insensitively, the first casing kept.
//   Versions: 32 lower-case hex characters; "" = the latest.
// - create(): the policy is completed and checked (certificate_policy.h); a version is added at
//   once, disabled and without X.509 (Key Vault shows it so while pending: nbf = now - 10 min,
//   exp = nbf's month + validity), and a pending operation "inProgress" with a CSR.
//   * Self issuer: the key (RSA from the pool, or EC) and the self-signed certificate are made
//     now; the operation completes as the LRO policy for "Microsoft.KeyVault/vaults/
//     certificates" (the default policy or "*" rules) says: at once, after N reads of the
//     pending operation, or once the virtual clock passed the duration. Completion is settled
//     lazily whenever the certificate is read. On completion the version gets its X.509, is
//     enabled (unless the request disabled it), and its key version (key_ops from the key
//     usages) and managed secret version (PEM or base64 PKCS #12 per the content type, `kid`
//     set) are written with the same version id.
//   * Unknown issuer: the operation stays inProgress until merge() gives the signed chain whose
//     leaf has the pending key (then as above, status "completed"), or it is deleted.
//   * Another issuer (one set in the vault): the operation fails at its first settlement
//     ("failed", error CertificateIssuanceFailed: the emulator reaches no certificate
//     authority); an issuer the vault does not have is a BadParameter at create.
//   A create while an operation is inProgress is a Conflict. cancel_operation() sets
//   cancellation_requested; an inProgress operation then ends "cancelled" at its next
//   settlement (the version stays disabled without X.509). delete_operation() removes it.
// - import(): PEM or PKCS #12 (certificate_material.h); the policy is the given one completed,
//   or the one derived from the certificate; the version, key and secret are written at once.
// - Rules for use: get/update read disabled versions; a soft-deleted name refuses create and
//   import (DeletedButRecoverable). remove() soft-deletes the certificate with its key and its
//   secret (every version); recover() and purge() do the same to all three; purge is refused
//   under purge protection; a vault without soft delete purges at once; deleted certificates
//   past scheduledPurgeDate are gone (settled lazily).
// - Backup is an opaque blob sealed under the key store's backup key (certificate versions with
//   their key material and chain, policy); restore() re-creates the certificate, its key and its
//   secret, refusing a name that exists (Conflict) or is deleted (DeletedButRecoverable).
// - Contacts: one list per vault (get: ContactsNotFound when never set or deleted). Issuers:
//   per vault by name (case-insensitive); their password is kept but never shown.
// - Thread-safe; cryptography runs outside the store's lock except the lazy completion (which
//   only writes what create() made). Nothing here logs; views carry no private key material
//   (CertificateMaterial is reachable from a view for the public parts; the adapter renders
//   only the certificate).
// - Snapshot (state export/import, --state-dir): certificate_rows()/certificate_row() render one
//   certificate per row "<vault>/<certificate>" and a vault's contacts and issuers as the row
//   "<vault>" (all lower case); see certificate_snapshot.cpp for the format. Private material
//   (each issued version's key, a pending operation's key, an issuer's password) only with
//   include_private. check_vaults() reads such rows back without changing anything;
//   replace_vaults() replaces the vaults it names (their keys and secrets live in KeyStore and
//   SecretStore, which the state imports on their own). revision()/changes() tell persistence
//   what changed, as KeyStore's do.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "common/ids.h"
#include "common/revision.h"
#include "common/status.h"
#include "keyvault_data/certificate_errors.h"
#include "keyvault_data/certificate_material.h"
#include "keyvault_data/certificate_policy.h"
#include "keyvault_data/key_store.h"
#include "keyvault_data/paging.h"
#include "keyvault_data/rsa_key_pool.h"
#include "keyvault_data/secret_store.h"
#include "state/clock.h"

namespace cmk::keyvault_data {

struct CertificateAttributes {
  bool enabled = true;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
  int64_t created = 0;
  int64_t updated = 0;
};

struct CertificateAttributesInput {
  std::optional<bool> enabled;
};

struct CertificateView {
  std::string name;     // as first created
  std::string version;  // empty for the items of list() and list_deleted()
  std::shared_ptr<const CertificateMaterial> material;  // null while pending
  CertificateAttributes attributes;
  nlohmann::json tags = nlohmann::json::object();
  CertificatePolicy policy;
  bool pending = false;  // a pending operation exists
  std::string recovery_level;
  int recoverable_days = 0;
  std::optional<int64_t> deleted_date;
  std::optional<int64_t> scheduled_purge_date;
};
using CertificatePage = ItemPage<CertificateView>;

struct CertificateOperationView {
  std::string name;
  std::string issuer_name;
  std::optional<std::string> certificate_type;
  std::optional<bool> cert_transparency;
  std::string csr;  // DER
  bool cancellation_requested = false;
  std::string status;  // inProgress, completed, cancelled, failed
  std::string status_details;
  std::string request_id;
  std::optional<CertError> error;  // failed
  bool has_target = false;         // completed: "target" names the certificate
};

struct CreateCertificateRequest {
  CertificatePolicy policy;
  CertificateAttributesInput attributes;
  std::optional<nlohmann::json> tags;
};

struct ImportCertificateRequest {
  std::string value;  // PEM text, or the bytes of a PKCS #12
  std::string password;
  std::optional<CertificatePolicy> policy;
  CertificateAttributesInput attributes;
  std::optional<nlohmann::json> tags;
  FixedVersion fixed;  // fixtures: the version id and creation time
};

struct UpdateCertificateRequest {
  std::optional<CertificatePolicy> policy;  // members given replace the current ones
  CertificateAttributesInput attributes;
  std::optional<nlohmann::json> tags;
};

struct MergeCertificateRequest {
  std::vector<std::string> x5c;  // DER
  CertificateAttributesInput attributes;
  std::optional<nlohmann::json> tags;
};

struct CertificateContact {
  std::optional<std::string> email;
  std::optional<std::string> name;
  std::optional<std::string> phone;
};

struct CertificateIssuer {
  std::string name;  // as first set
  std::string provider;
  std::optional<std::string> account_id;
  std::optional<std::string> password;  // kept, never rendered
  nlohmann::json org_details;           // null when not given
  bool enabled = true;
  int64_t created = 0;
  int64_t updated = 0;
};

struct IssuerInput {
  std::optional<std::string> provider;
  std::optional<std::string> account_id;
  std::optional<std::string> password;
  std::optional<nlohmann::json> org_details;
  std::optional<bool> enabled;
};

bool is_valid_certificate_name(const std::string& name);
// Members of `patch` that are set replace those of `base` (PATCH of a policy).
CertificatePolicy merged_policy(CertificatePolicy base, const CertificatePolicy& patch);

class CertificateStore {
 public:
  // How a Self-issued certificate's pending operation completes (the LRO policy table's entry
  // for Microsoft.KeyVault/vaults/certificates "write"); empty = at once.
  using LroPolicyFor = std::function<arm::LroPolicy()>;
  // Every reference must outlive the store.
  CertificateStore(const Clock& clock, IdGenerator& ids, RsaKeyPool& pool, KeyStore& keys,
                   SecretStore& secrets, LroPolicyFor lro = {});

  CertResult<CertificateOperationView> create(const VaultSettings& v, const std::string& name,
                                              const CreateCertificateRequest& r);
  CertResult<CertificateView> import(const VaultSettings& v, const std::string& name,
                                     const ImportCertificateRequest& r);
  CertResult<CertificateView> get(const VaultSettings& v, const std::string& name,
                                  const std::string& version);
  CertResult<CertificateView> update(const VaultSettings& v, const std::string& name,
                                     const std::string& version, const UpdateCertificateRequest& r);
  CertificatePage list(const VaultSettings& v, const std::string& marker, size_t max,
                       bool include_pending);
  CertResult<CertificatePage> list_versions(const VaultSettings& v, const std::string& name,
                                            const std::string& marker, size_t max);
  CertResult<CertificatePolicy> get_policy(const VaultSettings& v, const std::string& name);
  CertResult<CertificatePolicy> update_policy(const VaultSettings& v, const std::string& name,
                                              const CertificatePolicy& patch);

  // `poll` counts a read for the "polls" LRO mode (GET of the pending operation).
  CertResult<CertificateOperationView> get_operation(const VaultSettings& v,
                                                     const std::string& name, bool poll);
  CertResult<CertificateOperationView> cancel_operation(const VaultSettings& v,
                                                        const std::string& name);
  CertResult<CertificateOperationView> delete_operation(const VaultSettings& v,
                                                        const std::string& name);
  CertResult<CertificateView> merge(const VaultSettings& v, const std::string& name,
                                    const MergeCertificateRequest& r);

  CertResult<CertificateView> remove(const VaultSettings& v, const std::string& name);
  CertResult<CertificateView> get_deleted(const VaultSettings& v, const std::string& name);
  CertificatePage list_deleted(const VaultSettings& v, const std::string& marker, size_t max);
  CertResult<CertificateView> recover(const VaultSettings& v, const std::string& name);
  CertResult<Done> purge(const VaultSettings& v, const std::string& name);

  CertResult<std::string> backup(const VaultSettings& v, const std::string& name);
  CertResult<CertificateView> restore(const VaultSettings& v, const std::string& blob);

  CertResult<std::vector<CertificateContact>> get_contacts(const VaultSettings& v);
  CertResult<std::vector<CertificateContact>> set_contacts(
      const VaultSettings& v, const std::vector<CertificateContact>& contacts);
  CertResult<std::vector<CertificateContact>> delete_contacts(const VaultSettings& v);

  CertResult<CertificateIssuer> set_issuer(const VaultSettings& v, const std::string& name,
                                           const IssuerInput& in);
  CertResult<CertificateIssuer> update_issuer(const VaultSettings& v, const std::string& name,
                                              const IssuerInput& in);
  CertResult<CertificateIssuer> get_issuer(const VaultSettings& v, const std::string& name);
  CertResult<CertificateIssuer> delete_issuer(const VaultSettings& v, const std::string& name);
  ItemPage<CertificateIssuer> list_issuers(const VaultSettings& v, const std::string& marker,
                                           size_t max);

  void drop_vault(const std::string& vault_name);
  // Everything goes: every vault's certificates, deleted certificates, contacts and issuers (a
  // reset or an import of the whole state, which replace the keys and secrets they stand on).
  void clear();

  // Snapshot (see the top of this file). Rows are ordered by row key; deleted certificates past
  // scheduledPurgeDate are left out (and dropped).
  std::vector<std::pair<std::string, std::string>> certificate_rows(bool include_private) const;
  std::optional<std::string> certificate_row(const std::string& row, bool include_private) const;
  // `vaults`: {"<vault>": {"certificates": [...], "deletedCertificates": [...], "contacts": [...],
  // "issuers": [...]} | null}. Checks everything (names, versions, X.509 chains against their
  // keys, policies, pending operations); errors name the JSON path under `path`. A version with
  // X.509, or a pending operation in progress, without its private key is refused ("export with
  // ?include=secrets to import"). Deleted certificates already past scheduledPurgeDate are
  // skipped.
  Status check_vaults(const nlohmann::json& vaults, const std::string& path) const;
  // The same checks, then each vault named is replaced (null: emptied); others are kept.
  Status replace_vaults(const nlohmann::json& vaults, const std::string& path);
  uint64_t revision() const { return revision_.load(); }
  ChangeLog& changes() const { return changes_; }

  struct Version;
  struct Pending;
  struct Stored;
  struct Deleted;
  struct VaultCertificates;

 private:
  std::shared_ptr<VaultCertificates> vault(const VaultSettings& v);
  int64_t now() const;
  void sweep(VaultCertificates& vc, const VaultSettings& v, int64_t now);
  // Completes, fails or cancels the pending operation of `c` when it is due; under the lock.
  void settle(Stored& c, const VaultSettings& v);
  void settle_pending(Stored& c, const VaultSettings& v);
  // Writes the issued version with its key and secret; under the lock.
  std::optional<CertError> issue(Stored& c, const VaultSettings& v, Version& version,
                                 std::shared_ptr<const CertificateMaterial> material,
                                 const CertificateAttributesInput& attributes);
  CertificateView view_of(const Stored& c, const Version& ver, const VaultSettings& v) const;
  CertificateOperationView operation_view(const Stored& c) const;
  // Records a change of the row "<vault>/<certificate>" (or "<vault>" for `cert_lower` empty),
  // then bumps the revision (common/revision.h); under mu_.
  void touch(const std::string& vault_lower, const std::string& cert_lower) const;
  using VaultMap = std::map<std::string, std::shared_ptr<VaultCertificates>>;
  Status parse_vaults(const nlohmann::json& vaults, const std::string& path, VaultMap& out) const;

  const Clock& clock_;
  IdGenerator& ids_;
  RsaKeyPool& pool_;
  KeyStore& keys_;
  SecretStore& secrets_;
  LroPolicyFor lro_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<VaultCertificates>> vaults_;
  mutable std::atomic<uint64_t> revision_{0};
  mutable ChangeLog changes_;

 public:
  CertificateStore(const CertificateStore&) = delete;
  CertificateStore& operator=(const CertificateStore&) = delete;
};

}  // namespace cmk::keyvault_data
