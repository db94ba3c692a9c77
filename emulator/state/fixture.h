// Declarative fixtures: JSON files under fixtures/ that describe the world the
// emulator starts with. Applied in the order given; later files add to or replace (by id) what
// earlier ones defined.
//
// Top-level shape (every section optional):
//   {
//     "version": 1,                      only 1 is understood
//     "description": "...",              ignored
//     "tenants": [{"id": GUID, "displayName": str, "defaultDomain": str}],
//     "subscriptions": [{"id": GUID, "tenantId": GUID, "displayName": str, "state": str}],
//     "servicePrincipals": [{"appId": GUID, "objectId": GUID, "tenantId": GUID,
//                            "displayName": str, "secrets": [str], "certificates": [PEM str]}],
//     "resourceGroups": [{"id": ARM id | "subscriptionId": GUID + "name": str,
//                         "location": str, "tags": {}, "managedBy": str}],
//     "userAssignedIdentities": [{"id": ARM id, "location": str, "tags": {},
//                                 "properties": {"principalId": GUID, "clientId": GUID}}],
//     "vaults": [{"id": ARM id, "location": str, "tags": {},
//                 "properties": {ARM vault properties; tenantId defaults to the subscription's},
//                 "keys": [{"name": str, "versions": [version]}]}],
//        version: {"version": 32 hex, "kty": "RSA"|"RSA-HSM"|"EC"|..., "key_size": int,
//                  "crv": str  (generated)  |  "jwk": {JWK with private members}  |
//                  "pem": PEM private key, "hsm": bool  (given material);
//                  "key_ops": [str], "tags": {},
//                  "attributes": {"enabled": bool, "nbf"/"exp"/"created": ISO-8601 | "now+30d"
//                                 | Unix seconds}}
//                 "secrets": [{"name": str, "versions": [{"version": 32 hex, "value": str,
//                              "contentType": str, "tags": {}, "attributes": {"enabled": bool,
//                              "nbf"/"exp"/"created": as for keys}}]}]
//                 "certificates": [{"name": str, "versions": [{"version": 32 hex,
//                                   "value": PEM text with the private key | base64 PKCS #12,
//                                   "password": str, "policy": {as the import API takes it},
//                                   "tags": {}, "attributes": {"enabled": bool,
//                                   "created": as for keys}}]}]   each version imported as
//                                   POST .../certificates/{name}/import does (its key and
//                                   managed secret too)
//     "roleAssignments": [{"name": GUID, "properties": {"scope": ARM id, "roleDefinitionId":
//                          GUID | id | role name, "principalId": GUID, "principalType": str}}],
//     "clusters": [{"id": ARM id, "location": str, "tags": {}, "sku": {}, "zones": [],
//                   "identity": {ARM identity; "principalId"/"clientId" fix the system one},
//                   "properties": {ARM cluster properties, "state": "Running"|"Stopped",
//                                  "keyVaultProperties": {...}}}],
//     "lroPolicies": {"default": {policy}, "rules": [...]}   long-running operation policies,
//                                        as PUT /_emulator/lro-policy takes (arm/operations.h)
//     "faults": [rule]                   fault rules, as PUT /_emulator/faults takes
//                                        (faults/fault_rules.h); appended in fixture order
//     "state": {...}                     an exported state (state/snapshot.h): the stores'
//                                        contents exactly, applied last
//   }
// Service principals may say "registeredOnTheFly": true (admitted at first sign-in; exports
// keep it).
// Resources use the shapes ARM answers a GET with (read-only members such as "name", "type",
// "etag" and "systemData" are accepted and ignored), so an export can be a fixture. Ids that are
// minted when absent (principal and client ids, key versions, role assignment names) are kept
// when given. Sections are applied in the order above; a reference must name something defined
// in an earlier fixture or earlier in this one (a cluster's identity, vault, key and version; a
// role assignment's principal and scope; an access policy's objectId).
// Unknown keys are errors (a typo must not silently drop a section). Every error names the
// file, the JSON path and the problem: "fixtures/x.json: $.subscriptions[0].tenantId: ...".
//
// Resources are applied straight to the stores through the providers' own builders
// (msi::create_user_assigned_identity, keyvault_mgmt::merge_vault_properties, KeyStore
// create/import, kusto::build_cluster), not as internal HTTP requests through Emulator::handle:
// a request would need a token, be journaled, be subject to fault rules and LRO policies (which
// a later state import would meet while they are active), and could not keep fixed principal
// ids or key versions. The builders are the same code the PUT handlers run, so validation is
// shared. A cluster's customer-managed key is then activated as its operation's completion
// would (ClusterKeys::activate, through the Key Vault endpoints as the cluster's identity).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "arm/resource_groups.h"
#include "arm/resource_store.h"
#include "arm/subscriptions.h"
#include "authorization/role_assignments.h"
#include "common/ids.h"
#include "common/status.h"
#include "entra/directory.h"
#include "keyvault_data/key_store.h"
#include "keyvault_mgmt/vaults.h"
#include "kusto/clusters.h"
#include "state/clock.h"
#include "state/snapshot.h"

namespace cmk::state {

struct Fixture {
  std::string source;  // file name (or "built-in default") used in error messages
  std::vector<entra::Tenant> tenants;
  std::vector<arm::Subscription> subscriptions;
  std::vector<entra::ServicePrincipal> service_principals;
  std::optional<arm::LroPolicySet> lro_policies;  // added to the table, in fixture order
  std::optional<nlohmann::json> faults;           // validated rules, loaded at start
  // Resource sections, checked for shape when parsed and applied (with their references) by
  // apply_fixtures: arrays of objects, or null when absent.
  nlohmann::json resource_groups;
  nlohmann::json user_assigned_identities;
  nlohmann::json vaults;
  nlohmann::json role_assignments;
  nlohmann::json clusters;
  // An exported state (state/snapshot.h), applied after the sections above; null when absent.
  nlohmann::json state;
  bool has_resources() const;
};

// The stores a fixture fills. directory and subscriptions are always needed; the rest only by
// fixtures with resource sections (an error names the section otherwise), and every store by a
// "state" section.
struct FixtureTargets {
  StateStores stores;
  // The clusters' provider context: ARM core, ids, and the ClusterKeys that activate CMK.
  kusto::KustoProviderContext kusto;
  IdGenerator* ids = nullptr;  // role assignment names when absent
};

Result<Fixture> parse_fixture(const std::string& text, const std::string& source);
// The same from JSON already parsed (a state export, a PUT /_emulator/state body).
Result<Fixture> read_fixture(const nlohmann::json& doc, const std::string& source);
Result<Fixture> load_fixture_file(const std::filesystem::path& path);

// The fixture compiled into the binary from fixtures/default.json: what a bare start uses.
const std::string& builtin_default_fixture_text();

// Applies fixtures in order, checking references across them (a subscription's tenant, a
// principal's tenant must exist once all earlier fixtures and this one are applied).
Status apply_fixtures(const std::vector<Fixture>& fixtures, FixtureTargets& targets);
// Identity sections only (tenants, subscriptions, principals): no resource sections allowed.
Status apply_fixtures(const std::vector<Fixture>& fixtures, entra::Directory& directory,
                      arm::SubscriptionRegistry& subscriptions);

}  // namespace cmk::state
