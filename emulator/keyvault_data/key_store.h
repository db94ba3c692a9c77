// The keys of every vault: versions, attributes, soft delete, rotation, backup, and the
// cryptographic operations with the rules Key Vault applies.
// No HTTP here: the adapter (keys_api) parses requests into these calls and renders the views.
//
// Contract:
// - Vaults are addressed by name with the settings the caller read from the ARM vault
//   (VaultSettings); a vault's keys live until drop_vault() (the vault was purged).
// - Key names: 1-127 letters, digits and '-', compared case-insensitively; the first casing
//   used is kept. Versions: 32 lower-case hex characters; "" means the latest (newest) version.
// - Every create/import/rotate/restore adds versions; attributes, key_ops and tags belong to a
//   version. Times are Unix seconds read from the injected (virtual) clock.
// - kty: RSA, RSA-HSM (2048/3072/4096, default 2048, exponent 65537 unless given), EC, EC-HSM
//   (P-256 default, P-384, P-521, P-256K), oct, oct-HSM (128/192/256, default 256). -HSM types
//   and oct keys need a premium vault (in Azure, oct needs a Managed HSM). key_ops must be valid
//   for the type (RSA: encrypt, decrypt, sign, verify, wrapKey, unwrapKey; EC: sign, verify;
//   oct: encrypt, decrypt, wrapKey, unwrapKey); the default is all of them.
// - Rules for use (encrypt, decrypt, wrapKey, unwrapKey, sign, verify; get reads a disabled
//   version, as Key Vault's recorded traffic shows): a disabled version is refused (KeyDisabled,
//   "Operation <op> is not allowed on a disabled key."); an operation outside key_ops is refused
//   (KeyOperationForbidden); outside nbf/exp, encrypt, wrapKey and sign are refused (KeyNotYetValid
//   / KeyExpired) while decrypt, unwrapKey and verify still work, so data protected earlier stays
//   readable. wrapKey/unwrapKey take RSA-OAEP, RSA-OAEP-256, RSA1_5 and A*KW; encrypt/decrypt take
//   the RSA ones, A*GCM, A*CBC and A*CBCPAD. The result names the version actually used.
// - Delete moves the whole key (all versions) to the deleted keys with deletedDate = now and
//   scheduledPurgeDate = now + the vault's retention; its name cannot be reused
//   (DeletedButRecoverable) until it is recovered or purged. Purge is refused under purge
//   protection (PurgeProtected). When the clock passes scheduledPurgeDate the deleted key is
//   gone. A vault without soft delete purges at once.
// - recoveryLevel / recoverableDays follow the vault: soft delete with purge protection is
//   "Recoverable" (90 days) or "CustomizedRecoverable" (7-89 days); without purge protection the
//   same with "+Purgeable"; no soft delete is "Purgeable" with 0 days.
// - Rotation: rotate() adds a version with new material of the same type and size, the same
//   key_ops and tags, exp = now + the policy's expiryTime when it has one. A policy with a
//   "Rotate" lifetime action rotates by itself when the clock passes its trigger (timeAfterCreate
//   after the newest version's creation, or timeBeforeExpiry before its exp); the new version's
//   created time is the trigger time. Rotation is settled lazily whenever the key is read, so
//   advancing the virtual clock is enough. The default policy (never set) is "Notify 30 days
//   before expiry".
// - Backup is an opaque blob (AES-256-GCM under a key of this store) holding every version with
//   its private material; restore() re-creates the key in any vault of this store, refusing a
//   name that exists (Conflict) or is soft-deleted (DeletedButRecoverable).
// - Lists are ordered (keys by lower-case name, versions by creation) and paged by an opaque
//   marker: items after `marker`, at most `max`, and the marker for the next page when there is
//   one.
// - Snapshot (state export/import, --state-dir persistence): export_vault() renders one vault's
//   keys exactly (see its comment for the format), replace_all() loads such renderings back;
//   key_rows()/key_row() render the same one key at a time, and revision()/changes() tell
//   persistence which keys changed since it last looked.
// - Thread-safe. Cryptography runs outside the store's locks. Nothing here logs, and no view
//   carries private key material (only export_vault(..., true) and export_backup_key() do).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/revision.h"
#include "common/status.h"
#include "keyvault_data/key_material.h"
#include "keyvault_data/paging.h"
#include "keyvault_data/rsa_key_pool.h"
#include "state/clock.h"

namespace cmk::keyvault_data {

struct VaultSettings {
  std::string name;  // the vault's name; compared case-insensitively
  bool soft_delete = true;
  int retention_days = 90;
  bool purge_protection = false;
  bool premium = false;
};
std::string recovery_level(const VaultSettings& v);
int recoverable_days(const VaultSettings& v);

struct KeyAttributes {
  bool enabled = true;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
  int64_t created = 0;
  int64_t updated = 0;
  bool exportable = false;
};

// Attributes as a request gives them: absent members keep their value (default on create).
struct AttributesInput {
  std::optional<bool> enabled;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
  std::optional<bool> exportable;
};

// What a fixture (or a state import) fixes instead of letting the store choose: the version id
// and the creation time. Requests from clients leave both empty.
struct FixedVersion {
  std::optional<std::string> id;   // 32 hex characters, unique within the key
  std::optional<int64_t> created;  // Unix seconds; `updated` is the same
};

struct CreateKeyRequest {
  CreateKeyRequest() = default;
  CreateKeyRequest(std::string key_type) : kty(std::move(key_type)) {}  // NOLINT: implicit
  std::string kty;
  std::optional<int> key_size;
  std::optional<unsigned long> public_exponent;
  std::optional<std::string> crv;
  std::optional<std::vector<std::string>> key_ops;
  AttributesInput attributes;
  std::optional<nlohmann::json> tags;  // object of strings
  std::optional<nlohmann::json> release_policy;
  FixedVersion fixed;
};

struct ImportKeyRequest {
  nlohmann::json jwk;  // with private members; its key_ops are used when present
  // Instead of `jwk`: an unencrypted RSA or EC private key in PEM (fixtures); `key_ops` then
  // gives the operations (default: all of the type's).
  std::optional<std::string> pem;
  // Instead of both: material already read (a certificate's key, which the certificate store
  // made or imported); `key_ops` as for `pem`.
  std::optional<KeyMaterial> material;
  std::optional<std::vector<std::string>> key_ops;
  bool hsm = false;  // import as an -HSM type
  AttributesInput attributes;
  std::optional<nlohmann::json> tags;
  std::optional<nlohmann::json> release_policy;
  FixedVersion fixed;
};

// The settings the keys of a vault follow, read from the ARM vault's `properties`.
VaultSettings vault_settings(const std::string& vault_name, const nlohmann::json& properties);

struct UpdateKeyRequest {
  std::optional<std::vector<std::string>> key_ops;
  AttributesInput attributes;
  std::optional<nlohmann::json> tags;
  std::optional<nlohmann::json> release_policy;
};

// One key version as the API shows it (public parts only).
struct KeyView {
  std::string name;
  std::string version;
  std::string kty;
  std::vector<std::string> key_ops;
  nlohmann::json public_jwk = nlohmann::json::object();
  KeyAttributes attributes;
  nlohmann::json tags = nlohmann::json::object();
  std::optional<nlohmann::json> release_policy;
  std::string recovery_level;
  int recoverable_days = 0;
  // Deleted keys only.
  std::optional<int64_t> deleted_date;
  std::optional<int64_t> scheduled_purge_date;
};

using KeyPage = ItemPage<KeyView>;

struct LifetimeAction {
  std::string type;  // "Rotate" or "Notify" (as stored: canonical casing)
  std::optional<std::string> time_after_create;   // ISO-8601 duration
  std::optional<std::string> time_before_expiry;  // ISO-8601 duration
};

struct RotationPolicy {
  std::vector<LifetimeAction> lifetime_actions;
  std::optional<std::string> expiry_time;  // ISO-8601 duration for new versions' exp
  std::optional<int64_t> created;          // absent for the default policy
  std::optional<int64_t> updated;
};
RotationPolicy default_rotation_policy();
// "P90D", "P1Y2M", "PT36H", "P2W" -> seconds (Y = 365 days, M = 30 days); nullopt if malformed.
std::optional<int64_t> parse_iso8601_duration(const std::string& text);

enum class CipherOperation { Encrypt, Decrypt, WrapKey, UnwrapKey };
const char* operation_name(CipherOperation op);  // "encrypt", "decrypt", "wrapKey", "unwrapKey"

struct CipherResult {
  std::string name;     // the key's name as first created
  std::string version;  // the version that did the work
  CipherOutput output;
};
struct SignResult {
  std::string name;
  std::string version;
  std::string signature;
};
struct VerifyResult {
  std::string name;
  std::string version;
  bool valid = false;
};

bool is_valid_key_name(const std::string& name);

class KeyStore {
 public:
  // `clock`, `ids` and `pool` must outlive the store.
  KeyStore(const Clock& clock, IdGenerator& ids, RsaKeyPool& pool);

  KeyResult<KeyView> create(const VaultSettings& v, const std::string& name,
                            const CreateKeyRequest& r);
  KeyResult<KeyView> import(const VaultSettings& v, const std::string& name,
                            const ImportKeyRequest& r);
  KeyResult<KeyView> get(const VaultSettings& v, const std::string& name,
                         const std::string& version);
  KeyResult<KeyView> update(const VaultSettings& v, const std::string& name,
                            const std::string& version, const UpdateKeyRequest& r);
  KeyPage list_keys(const VaultSettings& v, const std::string& marker, size_t max);
  KeyResult<KeyPage> list_versions(const VaultSettings& v, const std::string& name,
                                   const std::string& marker, size_t max);

  KeyResult<KeyView> remove(const VaultSettings& v, const std::string& name);
  KeyResult<KeyView> get_deleted(const VaultSettings& v, const std::string& name);
  KeyPage list_deleted(const VaultSettings& v, const std::string& marker, size_t max);
  KeyResult<KeyView> recover(const VaultSettings& v, const std::string& name);
  KeyResult<Done> purge(const VaultSettings& v, const std::string& name);

  KeyResult<std::string> backup(const VaultSettings& v, const std::string& name);
  KeyResult<KeyView> restore(const VaultSettings& v, const std::string& blob);

  KeyResult<KeyView> rotate(const VaultSettings& v, const std::string& name);
  KeyResult<RotationPolicy> get_rotation_policy(const VaultSettings& v, const std::string& name);
  KeyResult<RotationPolicy> set_rotation_policy(const VaultSettings& v, const std::string& name,
                                                const RotationPolicy& policy);

  KeyResult<CipherResult> cipher(const VaultSettings& v, const std::string& name,
                                 const std::string& version, CipherOperation op,
                                 const std::string& alg, const CipherInput& in);
  KeyResult<SignResult> sign(const VaultSettings& v, const std::string& name,
                             const std::string& version, const std::string& alg,
                             const std::string& digest);
  KeyResult<VerifyResult> verify(const VaultSettings& v, const std::string& name,
                                 const std::string& version, const std::string& alg,
                                 const std::string& digest, const std::string& signature);

  // 1..128 random bytes.
  static KeyResult<std::string> random_bytes(int count);

  // The vault is gone for good: its keys, live and deleted, go too.
  void drop_vault(const std::string& vault_name);

  // Snapshot (GET/PUT /_emulator/state and --state-dir persistence): every vault's keys, live
  // and deleted, exactly: versions with their ids, material, kty, key_ops, attributes (enabled,
  // nbf, exp, created, updated, exportable), tags, release policies; each key's rotation policy
  // when set; deleted keys with deletedDate/scheduledPurgeDate; and the backup-sealing key (so
  // backup blobs taken before a restart still restore).
  //
  // export_vault(name, include_private): one vault's keys as JSON, or null when the store holds
  // nothing for that vault (no live key, no deleted key). Private material only with
  // include_private; without it, each version carries its public JWK only. The vault is first
  // settled as of the clock's now, as any read does (expired deleted keys purged, due automatic
  // rotations made; both are changes), so the rendering is the state a request would see now.
  // Deterministic: keys sorted by lower-case name, versions in creation order, members sorted:
  //   {"keys": [{"name": "MyKey",                      // first casing used
  //              "versions": [{"version": "<32 hex>", "kty": "RSA", "key_ops": ["sign", ...],
  //                            "attributes": {"enabled": true, "nbf": 1, "exp": 2,  // nbf/exp
  //                                           "created": 3, "updated": 4,         // only when set
  //                                           "exportable": false},
  //                            "tags": {}, "release_policy": {...},  // only when set
  //                            "jwk": {"kty": "RSA", "n": "...", "e": "..."},  // public, always
  //                            "material": "<base64url>"}],  // only with include_private
  //              "rotationPolicy": {"lifetimeActions": [{"type": "Rotate",   // only when set
  //                                                      "timeAfterCreate": "P30D"}],
  //                                 "expiryTime": "P90D", "created": 5, "updated": 6}}],
  //    "deletedKeys": [{...as a key..., "deletedDate": 7, "scheduledPurgeDate": 8}]}
  // (nlohmann::json keeps members sorted, so "deletedKeys" dumps first.) "material" is
  // KeyMaterial::export_private() in base64url (DER for RSA/EC, raw for oct), or the bytes
  // replace_all() was given; a lifetime action has timeAfterCreate or timeBeforeExpiry. The
  // result carries secrets when include_private: never log it; the store wipes its own copies,
  // not the caller's.
  nlohmann::json export_vault(const std::string& vault_name, bool include_private) const;
  // The same one key at a time, as rows for persistence: "<vault>/<key>" (both lower case) ->
  // the key's element of export_vault()'s "keys" (or, with deletedDate, "deletedKeys"), dumped
  // exactly as export_vault(...).dump() writes it. Made from texts cached per version, so a
  // write pays neither for building nor for serialising the JSON of keys it did not touch.
  // Secret with include_private.
  // key_rows(): every row, ordered, each vault settled first as export_vault() does.
  // key_row(row): that row as it is now (not settled: settling is a change of its own, which
  // the next reader sees), or nullopt when the store holds no such key.
  std::vector<std::pair<std::string, std::string>> key_rows(bool include_private) const;
  std::optional<std::string> key_row(const std::string& row, bool include_private) const;
  // Names (lower case) of every vault the store holds keys for (live, or deleted and not yet
  // past scheduledPurgeDate), sorted. export_vault() may still answer null for one of them
  // when the clock moves on in between.
  std::vector<std::string> vault_names() const;
  // The backup-sealing key (AES-256) as base64url (a secret), and its restore: 32 bytes, else
  // an error and nothing changes. Importing bumps revision().
  std::string export_backup_key() const;
  // The same key as material, for the other stores whose backups it seals (secrets: the state
  // saves one key for all); null only if the store failed to make one.
  std::shared_ptr<const KeyMaterial> backup_sealing_key() const { return backup_key(); }
  Status import_backup_key(const std::string& b64url);
  // Validates `vaults` (an object: vault name -> export_vault() JSON, or null for nothing)
  // completely, then replaces everything the store holds with it; on error nothing changes and
  // the Status message names the JSON path ("$.keys.kv1.keys[0].versions[1].material: ...").
  // Checked: names (keys and vaults, unique case-insensitively, a name never both live and
  // deleted), version ids (32 hex, unique within the key), kty, key_ops for the kty, attribute
  // types, tags, release policy (exportable needs one), the rotation policy (as
  // set_rotation_policy checks it), dates, unknown members (refused), the material (readable,
  // of the kty's family, RSA 2048-4096 bits) and, when given, that "jwk" is its public key. A
  // version without private material is refused ("...: carries no private key material: export
  // with ?include=secrets to import"). Vault tiers are not checked (the snapshot does not know
  // them). Requests running on the replaced state while this runs are lost.
  Status replace_all(const nlohmann::json& vaults, const std::string& path = "$.keys");
  // Incremented by every change (create, import, update, delete, recover, purge, restore,
  // rotate incl. automatic rotation, policy set, drop_vault, replace_all, import_backup_key):
  // persistence compares it to know whether to export again; read it before exporting. Lazy
  // effects of the clock (automatic rotation, purge of expired deleted keys) count when they
  // are settled, i.e. at the next read of the key or vault, or export_vault(), not when the
  // clock passes the moment. Cheap: an atomic load.
  uint64_t revision() const;
  // Once tracked (common/revision.h): the key_row() names of the keys each change touched,
  // recorded before revision() moves; replace_all() records "everything".
  ChangeLog& changes() const { return changes_; }

  struct Version;
  struct StoredKey;
  struct DeletedKey;
  struct VaultKeys;

 private:
  std::shared_ptr<VaultKeys> vault(const VaultSettings& v);
  // The vault by lower-case name, or null; never creates it.
  std::shared_ptr<VaultKeys> find_vault(const std::string& lower_name) const;
  std::shared_ptr<const KeyMaterial> backup_key() const;
  int64_t now() const;
  // Records a change of the key `key_lower` of `vk` (under the vault's lock): in changes(), then
  // in revision().
  void touch(VaultKeys& vk, const std::string& key_lower) const;
  static std::string row_of(const std::string& vault_lower, const std::string& key_lower);
  // Purges expired deleted keys and makes due rotations, as of now; under the vault lock.
  void settle(VaultKeys& vk) const;
  // Purges the deleted keys past their scheduledPurgeDate; under the vault lock.
  void sweep(VaultKeys& vk, int64_t now) const;
  KeyResult<KeyMaterial> make_material(const VaultSettings& v, const std::string& kty,
                                       std::optional<int> size, std::optional<std::string> crv,
                                       std::optional<unsigned long> exponent);
  KeyResult<KeyView> add_version(const VaultSettings& v, const std::string& name, Version version);
  // New material of the same type and size as `like` (rotation).
  KeyResult<KeyMaterial> regenerate(const Version& like) const;
  // Rotates `key` (of `vk`) as its policy demands up to `now` (auto-rotation); called under the
  // vault lock.
  void settle_rotation(VaultKeys& vk, StoredKey& key, int64_t now) const;
  Version next_version(const StoredKey& key, KeyMaterial material, int64_t created) const;
  // The version to use for an operation, with the rules for use checked. `op` names the
  // operation in messages ("get", "encrypt", ...); `needs_window` applies nbf/exp.
  struct Resolved;
  KeyResult<Resolved> resolve(const VaultSettings& v, const std::string& name,
                              const std::string& version, const char* op, const char* key_op,
                              bool needs_window, bool want_view);

  const Clock& clock_;
  IdGenerator& ids_;
  RsaKeyPool& pool_;
  mutable std::mutex mu_;                                     // guards backup_key_ and vaults_
  std::shared_ptr<const KeyMaterial> backup_key_;             // AES-256 key that seals backup blobs
  std::map<std::string, std::shared_ptr<VaultKeys>> vaults_;  // by lower-case vault name
  mutable std::atomic<uint64_t> revision_{0};
  mutable ChangeLog changes_;

 public:
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;
};

}  // namespace cmk::keyvault_data
