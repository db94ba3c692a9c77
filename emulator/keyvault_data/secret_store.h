// The secrets of every vault: versions, attributes, soft delete, backup, and the rules Key Vault
// applies to reading them. No HTTP here: the adapter (secrets_api) parses requests into these
// calls and renders the views.
//
// Contract (stable: the certificates of a vault keep their backing secret here):
// - Vaults are addressed with the VaultSettings the caller read from the ARM vault (key_store.h);
//   a vault's secrets live until drop_vault() (the vault was purged).
// - Secret names: 1-127 letters, digits and '-', compared case-insensitively; the first casing
//   used is kept. Versions: 32 lower-case hex characters; "" means the latest (newest) version.
// - set() adds a version (the newest becomes the latest). A value is at most 25600 characters
//   (Unicode code points of its UTF-8 text; more is BadParameter "Secret is beyond the maximum
//   permitted length of 25600 characters."). Attributes (enabled, nbf, exp), contentType and
//   tags belong to a version; at most 15 tags of at most 512 characters each. Times are Unix
//   seconds read from the injected (virtual) clock.
// - get(): a disabled version is refused (SecretDisabled, "Operation get is not allowed on a
//   disabled secret."); a version outside its nbf/exp window is served, as Key Vault serves it.
//   update() changes a disabled version (that is how it is enabled again). Lists never carry
//   values; list items of a disabled secret are listed too.
// - Managed secrets (the secret behind a certificate, Actor::Certificate): `managed` is true and
//   `kid` names the certificate's key. A client (Actor::Client) may read, list, back up and
//   update their attributes like any secret, but set(), remove(), recover() and purge() by a
//   client are refused with SecretManaged (emulator-chosen words, 403 like Key Vault), because
//   the certificate owns their lifecycle: the certificates code calls them with
//   Actor::Certificate.
// - Delete moves the whole secret (all versions) to the deleted secrets with deletedDate = now and
//   scheduledPurgeDate = now + the vault's retention; its name cannot be set again
//   (DeletedButRecoverable) until it is recovered or purged. Purge is refused under purge
//   protection (PurgeProtected). When the clock passes scheduledPurgeDate the deleted secret is
//   gone (settled lazily at the next read of the vault). A vault without soft delete purges at
//   once. recoveryLevel / recoverableDays follow the vault as keys' do.
// - Backup is an opaque blob sealed (AES-256-GCM) under the key store's backup key (the same key,
//   saved with the state), holding every version with its value; restore() re-creates the
//   secret in any vault, refusing a name that exists (Conflict) or is soft-deleted
//   (DeletedButRecoverable); a blob it cannot open is MalformedBackup. Blobs of keys and of
//   secrets are not interchangeable.
// - Lists are ordered (secrets by lower-case name, versions by creation) and paged by an opaque
//   marker: items after `marker`, at most `max`, and the marker of the next page when there is one.
// - Snapshot (state export/import, --state-dir): secret_rows()/secret_row() render one secret per
//   row "<vault>/<secret>" (lower case), values only with include_values:
//     {"name": "Conn", "versions": [{"version": "<32 hex>", "value": "...",   // with values only
//                                    "contentType": "text/plain",            // when set
//                                    "attributes": {"enabled": true, "nbf": 1, "exp": 2,
//                                                   "created": 3, "updated": 4},
//                                    "tags": {"a": "b"}, "managed": true, "kid": "..."}],
//      "deletedDate": 5, "scheduledPurgeDate": 6}                              // deleted only
//   replace_all() loads {"<vault>": {"secrets": [row...], "deletedSecrets": [row...]}} back,
//   checked completely first (a version without "value" is refused); revision()/changes() tell
//   persistence what changed, as KeyStore's do.
// - Thread-safe. Nothing here logs, and values appear only in the views of set() and get(),
//   backup blobs (sealed) and snapshots with include_values; the store wipes its copies when a
//   version goes.
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

#include "common/ids.h"
#include "common/outcome.h"
#include "common/revision.h"
#include "common/status.h"
#include "keyvault_data/key_material.h"
#include "keyvault_data/key_store.h"
#include "keyvault_data/paging.h"
#include "state/clock.h"

namespace cmk::keyvault_data {

// Errors of the secrets domain; secrets_api maps each to one HTTP status and code:
//   BadParameter 400 BadParameter; SecretNotFound 404 SecretNotFound;
//   SecretDisabled 403 Forbidden (innererror SecretDisabled);
//   SecretManaged 403 Forbidden (emulator-chosen words); PurgeProtected 403 Forbidden;
//   MalformedBackup 400 "Malformed backup blob" ("Backup blob is corrupt.", Key Vault's words);
//   DeletedButRecoverable 409 Conflict (innererror ObjectIsDeletedButRecoverable);
//   Conflict 409 Conflict; Internal 500.
enum class SecretErrorKind {
  BadParameter,
  SecretNotFound,
  SecretDisabled,
  SecretManaged,
  MalformedBackup,
  PurgeProtected,
  DeletedButRecoverable,
  Conflict,
  Internal,
};

struct SecretError {
  SecretErrorKind kind = SecretErrorKind::BadParameter;
  std::string message;
};

template <typename T>
using SecretResult = Outcome<T, SecretError>;

// Who asks: a client through the secrets API, or the certificates of the vault.
enum class Actor { Client, Certificate };

constexpr size_t kMaxSecretChars = 25600;

struct SecretAttributes {
  bool enabled = true;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
  int64_t created = 0;
  int64_t updated = 0;
};

// Attributes as a request gives them: absent members keep their value (default on set).
struct SecretAttributesInput {
  std::optional<bool> enabled;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
};

struct SetSecretRequest {
  std::string value;
  std::optional<std::string> content_type;
  SecretAttributesInput attributes;
  std::optional<nlohmann::json> tags;  // object of strings
  // Certificates only (Actor::Certificate): the version is managed and names its key.
  bool managed = false;
  std::optional<std::string> kid;
  FixedVersion fixed;  // fixtures: the version id and creation time
};

struct UpdateSecretRequest {
  std::optional<std::string> content_type;
  SecretAttributesInput attributes;
  std::optional<nlohmann::json> tags;
};

// One secret version as the API shows it. `value` is set by set() and get() only.
struct SecretView {
  std::string name;     // as first set
  std::string version;  // empty for the items of list_secrets() and list_deleted()
  std::optional<std::string> value;
  std::optional<std::string> content_type;
  SecretAttributes attributes;
  nlohmann::json tags = nlohmann::json::object();
  bool managed = false;
  std::optional<std::string> kid;
  std::string recovery_level;
  int recoverable_days = 0;
  // Deleted secrets only.
  std::optional<int64_t> deleted_date;
  std::optional<int64_t> scheduled_purge_date;
};

using SecretPage = ItemPage<SecretView>;

bool is_valid_secret_name(const std::string& name);

class SecretStore {
 public:
  // The key that seals backup blobs (KeyStore::backup_sealing_key()); null = backups refused.
  using SealingKey = std::function<std::shared_ptr<const KeyMaterial>()>;
  // `clock` and `ids` must outlive the store.
  SecretStore(const Clock& clock, IdGenerator& ids, SealingKey sealing_key);
  ~SecretStore();

  SecretResult<SecretView> set(const VaultSettings& v, const std::string& name,
                               const SetSecretRequest& r, Actor who = Actor::Client);
  SecretResult<SecretView> get(const VaultSettings& v, const std::string& name,
                               const std::string& version);
  // Attributes, contentType and tags of a version (the latest for ""); no value in the view.
  SecretResult<SecretView> update(const VaultSettings& v, const std::string& name,
                                  const std::string& version, const UpdateSecretRequest& r);
  SecretPage list_secrets(const VaultSettings& v, const std::string& marker, size_t max);
  SecretResult<SecretPage> list_versions(const VaultSettings& v, const std::string& name,
                                         const std::string& marker, size_t max);

  SecretResult<SecretView> remove(const VaultSettings& v, const std::string& name,
                                  Actor who = Actor::Client);
  SecretResult<SecretView> get_deleted(const VaultSettings& v, const std::string& name);
  SecretPage list_deleted(const VaultSettings& v, const std::string& marker, size_t max);
  SecretResult<SecretView> recover(const VaultSettings& v, const std::string& name,
                                   Actor who = Actor::Client);
  SecretResult<Done> purge(const VaultSettings& v, const std::string& name,
                           Actor who = Actor::Client);

  SecretResult<std::string> backup(const VaultSettings& v, const std::string& name);
  SecretResult<SecretView> restore(const VaultSettings& v, const std::string& blob);

  // The vault is gone for good: its secrets, live and deleted, go too.
  void drop_vault(const std::string& vault_name);

  // Snapshot: see the top of this file. Every vault is settled first (expired deleted secrets
  // purged). Rows are ordered by row key.
  std::vector<std::pair<std::string, std::string>> secret_rows(bool include_values) const;
  std::optional<std::string> secret_row(const std::string& row, bool include_values) const;
  std::vector<std::string> vault_names() const;
  // One vault as {"secrets": [...], "deletedSecrets": [...]}, or null when it holds nothing.
  nlohmann::json export_vault(const std::string& vault_name, bool include_values) const;
  // Checks `vaults` completely, then replaces everything; on error nothing changes and the
  // message names the JSON path ("$.secrets.kv1.secrets[0].versions[1].value: ...").
  Status replace_all(const nlohmann::json& vaults, const std::string& path = "$.secrets");
  // The checks of replace_all() alone: nothing changes (a state import checks every section
  // before it changes any).
  Status check_all(const nlohmann::json& vaults, const std::string& path = "$.secrets") const;
  uint64_t revision() const;
  ChangeLog& changes() const { return changes_; }

  struct Version;
  struct StoredSecret;
  struct DeletedSecret;
  struct VaultSecrets;

 private:
  std::shared_ptr<VaultSecrets> vault(const VaultSettings& v);
  std::shared_ptr<VaultSecrets> find_vault(const std::string& lower_name) const;
  int64_t now() const;
  void touch(VaultSecrets& vs, const std::string& secret_lower) const;
  void sweep(VaultSecrets& vs, int64_t now) const;
  using VaultMap = std::map<std::string, std::shared_ptr<VaultSecrets>>;
  static Status parse_all(const nlohmann::json& vaults, const std::string& path, VaultMap& out);

  const Clock& clock_;
  IdGenerator& ids_;
  SealingKey sealing_key_;
  mutable std::mutex mu_;                                        // guards vaults_
  std::map<std::string, std::shared_ptr<VaultSecrets>> vaults_;  // by lower-case vault name
  mutable std::atomic<uint64_t> revision_{0};
  mutable ChangeLog changes_;

 public:
  SecretStore(const SecretStore&) = delete;
  SecretStore& operator=(const SecretStore&) = delete;
};

}  // namespace cmk::keyvault_data
