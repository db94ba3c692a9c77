// Customer-managed keys on Kusto clusters: what a cluster does
// with properties.keyVaultProperties {keyVaultUri, keyName, keyVersion, userIdentity}.
//
// Contract:
// - Shape checks (read_key_vault_properties, check_key_identity) run when a write is accepted and
//   fail it at once with 400 (ARM error shape). `{}` or null switches CMK off.
// - Vault checks (ClusterKeys::activate) run when the create / ServiceConfigurationAlter
//   operation completes, and fail that operation. They use Key Vault as the real cluster does, as
//   a client: the cluster's managed identity (userIdentity, or its system identity when that is
//   empty) gets a token for https://vault.azure.net from the emulator's token service, and the
//   requests go through the emulator's own Key Vault endpoints (KeyVaultLink::send), carrying
//   `x-ms-emulator-caller: <cluster id>` so logs (and the journal) tell them from clients'.
//   Using the key = GET the key (version), check it, wrap a fresh 256-bit data-encryption key with
//   RSA-OAEP and unwrap it again; the wrapped key is kept.
// - Key refresh, on the virtual clock: once a refresh interval has passed since the last check,
//   the next read of the cluster repeats the key use. With an empty keyVersion the newest version
//   is used (rotation is followed); a pinned version stays. A failure suspends the cluster
//   (Provider: state Unavailable, stateReason naming the cause); a later success resumes it.
//   Nothing runs in the background, as with long-running operations.
//
// Error codes (emulator-defined: the service publishes none; each message names the fix):
//   sync 400  InvalidKeyVaultProperties   keyVaultUri not https://<vault>.vault.azure.net[/]
//                                         (or .vault.localhost), keyName invalid, keyVersion not
//                                         32 hex digits, userIdentity not a resource id
//   sync 400  KeyVaultIdentityNotAssigned userIdentity is not a user-assigned identity of the cluster
//   sync 400  SystemIdentityRequired      no userIdentity and the cluster has no system identity
//   operation KeyVaultNotFound, KeyVaultLocationMismatch, KeyVaultSoftDeleteRequired,
//             KeyVaultPurgeProtectionRequired, KeyVaultAccessDenied (token or permissions: get,
//             wrapKey, unwrapKey), KeyNotFound, KeyDisabled, KeyExpired, UnsupportedKeyType
//             (anything but RSA 2048), KeyOperationNotPermitted (key_ops), KeyVaultError
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "arm/resource_store.h"
#include "common/revision.h"
#include "common/status.h"
#include "entra/directory.h"
#include "entra/token_service.h"
#include "http/message.h"
#include "state/clock.h"

namespace cmk::kusto {

struct KeyVaultProperties {
  std::string vault_uri;      // as given
  std::string vault_host;     // "kv1.vault.azure.net"
  std::string vault_name;     // "kv1"
  std::string key_name;
  std::string key_version;    // "" = always the newest version
  std::string user_identity;  // ARM id; "" = the system-assigned identity
};

// nullopt when keyVaultProperties is absent, null, {} or has only empty values; the error when
// its shape is wrong.
Outcome<std::optional<KeyVaultProperties>, arm::OperationError> read_key_vault_properties(
    const nlohmann::json& cluster_properties);
// The cluster's `identity` block must provide the identity the key will be used with.
std::optional<arm::OperationError> check_key_identity(const KeyVaultProperties& kv,
                                                      const nlohmann::json& identity);

// How a cluster reaches Key Vault: the seam tests substitute to inject faults.
struct KeyVaultLink {
  // Handles a request as the emulator's HTTPS listener would (Emulator::handle).
  std::function<http::Response(http::Request&)> send;
  // An access token for Key Vault for the managed identity, or why there is none.
  std::function<Result<std::string>(const entra::ManagedIdentity&)> vault_token;
  // The live vault of that name (ARM resource), any subscription.
  std::function<std::optional<arm::TrackedResource>(const std::string& name)> find_vault;
};

// What a cluster holds while its key works.
struct KeyInUse {
  std::string kid;          // https://<vault>/keys/<name>/<version>
  std::string wrapped_dek;  // base64url, RSA-OAEP
  TimePoint checked_at{};
};

class ClusterKeys {
 public:
  ClusterKeys(KeyVaultLink link, entra::Directory& directory, const Clock& clock,
              std::chrono::seconds refresh_interval);

  // Vault checks and first key use for the cluster as stored (its keyVaultProperties must be
  // set). On success the key is recorded as in use; the error fails the operation.
  std::optional<arm::OperationError> activate(const arm::TrackedResource& cluster);
  // CMK switched off: the key in use is forgotten (a refresh interval set for the cluster stays).
  void forget(const std::string& cluster_key);
  // The cluster is gone (deleted, or with its resource group): its key in use and its own
  // refresh interval, so that neither outlives it (kusto/keys, the state export, memory).
  void drop_cluster(const std::string& cluster_key);

  // Health of a cluster's key after a refresh.
  struct Health {
    bool usable = true;
    std::string reason;  // why not, for stateReason
  };
  // Refreshes the cluster's key when an interval has passed since the last check; nullopt when
  // no refresh was due (or the cluster has no key in use).
  std::optional<Health> refresh_if_due(const arm::TrackedResource& cluster);

  std::optional<KeyInUse> key_in_use(const std::string& cluster_key) const;
  // Every cluster with a key in use, for GET /_emulator/kusto/keys:
  // [{"cluster", "kid", "usable", "checkedAt", "nextCheck", "refreshSeconds"}].
  nlohmann::json to_json() const;
  // Refresh interval for one cluster (admin API) or all (the default for those without one).
  void set_refresh_interval(std::chrono::seconds interval);
  void set_refresh_interval(const std::string& cluster_key, std::chrono::seconds interval);
  std::chrono::seconds refresh_interval(const std::string& cluster_key) const;

  // State export and import (state/snapshot.h): refresh intervals and every key in use with its
  // wrapped data key and check times:
  //   {"defaultRefreshSeconds": n, "refreshSeconds": {clusterKey: n},
  //    "clusters": [{"cluster", "kid", "wrappedKey", "checkedAt", "nextCheck", "usable"}]}
  // restore() checks everything first; on error nothing changes and the message names the path
  // under `path`.
  nlohmann::json snapshot() const;
  Status restore(const nlohmann::json& j, const std::string& path);
  uint64_t revision() const { return revision_.value(); }  // common/revision.h

 private:
  Revision revision_;
  struct Tracked {
    std::string cluster_id;  // as the cluster spells it
    KeyInUse key;
    TimePoint next_check{};
    bool usable = true;
  };
  // Uses the key once (GET, wrap, unwrap): the new key in use, or the error.
  Outcome<KeyInUse, arm::OperationError> use_key(const arm::TrackedResource& cluster,
                                                 const KeyVaultProperties& kv, bool full_checks);
  http::Response call(const arm::TrackedResource& cluster, const KeyVaultProperties& kv,
                      const std::string& method, const std::string& path,
                      const std::string& token, const nlohmann::json& body);

  KeyVaultLink link_;
  entra::Directory& directory_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::chrono::seconds default_interval_;
  std::map<std::string, std::chrono::seconds> intervals_;  // by cluster key
  std::map<std::string, Tracked> tracked_;                 // by cluster key
};

}  // namespace cmk::kusto
