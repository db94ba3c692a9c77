// The whole state of an emulator as a fixture (issue 8): what GET /_emulator/state exports,
// PUT /_emulator/state and `--fixture` import, and --state-dir persists row by row.
//
// Shape: a fixture (state/fixture.h) with the identity sections it already knows (tenants,
// subscriptions, servicePrincipals), lroPolicies and faults, plus one "state" section that holds
// everything else exactly as the stores keep it:
//   "state": {
//     "secrets": bool,                   whether key material and secrets are included
//     "clock": {"frozen": false, "offsetNanoseconds": n} | {"frozen": true, "at": ISO-8601},
//     "managedIdentities": [{"resourceId", "principalId", "clientId", "tenantId", "kind"}],
//     "resourceGroups": [{"subscriptionId", "name", "location", "tags", "managedBy",
//                         "provisioningState"}],
//     "resources": [ARM JSON of every tracked resource, etag and systemData included],
//     "deletedVaults": [{"vault": ARM JSON, "deletedAt": ISO, "scheduledPurgeAt": ISO}],
//     "keys": {"<vault name>": KeyStore::export_vault()},
//     "keyBackupKey": str,               secrets only: the key that seals key and secret backups
//     "vaultSecrets": {"<vault name>": {"secrets": [SecretStore row], "deletedSecrets": [...]}},
//                                        values only with secrets (SecretStore::secret_rows())
//     "vaultCertificates": {"<vault name>": {"certificates": [row], "deletedCertificates": [...],
//                                            "contacts": [...], "issuers": [...]}},
//                                        every version's X.509 chain, attributes, tags, the
//                                        policy, a pending operation (CSR, LRO progress);
//                                        private keys and issuer passwords only with secrets
//                                        (CertificateStore::certificate_rows(),
//                                        keyvault_data/certificate_snapshot.cpp)
//     "roleAssignments": [{"name", "scope", "roleDefinitionId", "principalId",
//                          "principalType", "createdBy", "createdOn"}],
//     "operations": [{"id", "resourceId", "kind", "location", "startedAt", "endedAt",
//                     "status", "error": {"code", "message"}}],
//     "clusterKeys": ClusterKeys::snapshot()
//   }
// Every list is ordered by its key, so the same state always exports to the same bytes, and an
// export imported again exports identically (tests/unit/state_snapshot_test.cpp).
//
// Importing the "state" section adds to or replaces (by key) what the stores hold. It is checked
// completely before anything changes. Two things cannot be imported as they were:
// - an operation that was running: its work lives in the process that started it, so it ends
//   Failed with code "OperationInterrupted" and its resource's provisioningState becomes Failed
//   (arm::mark_faulted), as an injected failure would leave it;
// - key versions without private material, secret versions without their value, certificate
//   versions (and pending operations in progress) without their private key (an export without
//   secrets): refused, naming the path.
// A pending certificate operation is not interrupted: its key and progress are in the state, and
// it completes on the virtual clock or by reads after the import as it would have before.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "arm/resource_groups.h"
#include "arm/resource_store.h"
#include "arm/subscriptions.h"
#include "authorization/role_assignments.h"
#include "common/status.h"
#include "entra/directory.h"
#include "faults/fault_rules.h"
#include "keyvault_data/certificate_store.h"
#include "keyvault_data/key_store.h"
#include "keyvault_data/secret_store.h"
#include "keyvault_mgmt/vaults.h"
#include "kusto/cluster_keys.h"
#include "state/clock.h"

namespace cmk::state {

// Every store the state lives in.
struct StateStores {
  VirtualClock* clock = nullptr;
  entra::Directory* directory = nullptr;
  arm::SubscriptionRegistry* subscriptions = nullptr;
  arm::ResourceGroupStore* groups = nullptr;
  arm::ResourceStore* resources = nullptr;
  keyvault_mgmt::VaultProvider* vaults = nullptr;
  keyvault_data::KeyStore* keys = nullptr;
  keyvault_data::SecretStore* secrets = nullptr;            // may be null: no vaultSecrets section
  keyvault_data::CertificateStore* certificates = nullptr;  // may be null: no vaultCertificates
  authorization::RoleAssignmentStore* role_assignments = nullptr;
  arm::OperationEngine* operations = nullptr;
  kusto::ClusterKeys* cluster_keys = nullptr;
  arm::LroPolicyTable* lro_policies = nullptr;
  faults::FaultSet* faults = nullptr;
};

// One piece of a section: a key (unique within the section) and its JSON text.
struct StateRow {
  std::string key;
  std::shared_ptr<const std::string> text;
};

struct SectionRows {
  std::string section;  // "tenants", "resources", "keys", ...
  uint64_t revision = 0;
  std::vector<StateRow> rows;  // ordered by key
  // Only the rows that changed (collect_sections(..., changes_only)): `rows` were added or
  // changed (each with text), `removed` are gone; the section's other rows are as they were.
  bool partial = false;
  std::vector<std::string> removed;
};

// What a caller already holds, so unchanged sections are not rendered again: section ->
// store revision as of the caller's last collection.
struct SeenState {
  std::map<std::string, uint64_t> revisions;
};

// The sections whose store revision differs from `seen` (all of them for an empty SeenState),
// with every row.
// changes_only (persistence, after track_changes()): the sections with many rows (resources,
// operations, keys, secrets, certificates) come `partial`, with just the rows their stores recorded
// as changed since the last collection, unless a store recorded that everything changed (a
// replace_all).
std::vector<SectionRows> collect_sections(const StateStores& stores, bool include_secrets,
                                          const SeenState& seen = {}, bool changes_only = false);

// Starts (or restarts, forgetting what they hold) the change logs that changes_only reads:
// call it right before a full collection, so that every change after it is recorded.
void track_changes(const StateStores& stores);

// The sum of every section's store revision. Revisions only grow, so an unchanged sum means no
// store changed: the lock-free test persistence makes after every request.
uint64_t state_signature(const StateStores& stores);

// Puts rows (each with text) together into the export document. Unknown sections are ignored.
nlohmann::json assemble(const std::vector<SectionRows>& sections, bool include_secrets);

// The whole state as a fixture document.
nlohmann::json export_state(const StateStores& stores, bool include_secrets);

// Applies a fixture's "state" section to the stores (see the top of this file). `path` prefixes
// error messages ("<source>: $.state.resources[3].etag: must be a non-empty string").
Status apply_state_section(const nlohmann::json& state, const StateStores& stores,
                           const std::string& source);

// Empties every store (state import and reset start from nothing).
void clear_state(const StateStores& stores);

}  // namespace cmk::state
