// Microsoft.Kusto/clusters: the ARM resource provider of Azure Data Explorer
// clusters, on the shared ARM core (ResourceStore for the resource, OperationEngine for the
// long-running operations).
//
// Routes ({C} = /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Kusto/clusters/{name}):
//   PUT {C}            create (201, provisioningState Creating) / replace (200, Accepted, as recorded);
//                      LRO ClusterCreateExternal / ServiceConfigurationAlter
//   PATCH {C}          merge (200, Accepted); LRO ServiceConfigurationAlter
//   GET {C}            settles due operations first, so `az kusto cluster wait` sees progress
//   DELETE {C}         202 + LRO ClusterDelete (gone, with its databases and attachments, when it
//                      completes); 204 when absent; refused for a leader (kusto/followers.h)
//   POST {C}/addLanguageExtensions, {C}/removeLanguageExtensions   202 + LRO ServiceConfigurationAlter
//                      (properties.languageExtensions changes when it completes); POST
//                      {C}/listLanguageExtensions {value}
//   GET /providers/Microsoft.Kusto/operations   the provider's operations
//   POST {C}/start, {C}/stop   202 + LRO ClusterStart / ClusterStop (state Starting→Running, Stopping→Stopped);
//                      stop is refused for a leader or follower
//   databases, attachedDatabaseConfigurations and the follower actions: kusto/databases.h
//   principalAssignments (cluster and database) and database principals: kusto/principal_assignments.h
//   GET {C}/skus, .../providers/Microsoft.Kusto/skus, .../locations/{loc}/skus
//   GET .../resourceGroups/{rg}/providers/Microsoft.Kusto/clusters, .../providers/Microsoft.Kusto/clusters
//       ($top, default 100, and $skiptoken; nextLink)
//   POST .../providers/Microsoft.Kusto/locations/{loc}/checkNameAvailability
//   GET .../providers/Microsoft.Kusto/locations/{loc}/operationResults/{opId}[&operationResultResponseType=Location]
//
// Api-versions: bodies are the same in every api-version but one member: before 2022-07-07 the
// list of allowed FQDNs is spelled `allowedFQDNList` (since, `allowedFqdnList`). Answers use the
// request's api-version spelling (SDK deserialisers are case-sensitive); bodies may use either.
//
// Write semantics:
//   - PUT replaces: properties start again from the defaults plus the body;
//     read-only properties in the body (state, provisioningState, uri, ...) are ignored, so
//     `az resource update` may send the whole resource back; create-only properties
//     (enableDoubleEncryption, virtualClusterGraduationProperties) keep their stored value.
//   - PATCH merges: tags replaced when given, sku merged, identity.userAssignedIdentities merged
//     (a null value removes an entry), properties merged key by key (null removes one,
//     keyVaultProperties {} clears CMK). Changing a create-only property is 400.
//   - Debian's Python SDK sends nine model defaults on every PATCH (sdk_patch_defaults()). A PATCH
//     carrying all nine is recognised as that SDK, and those still at their default value are
//     skipped, so a key rotation does not reset streaming ingestion, purge, double encryption...
//     Known limit: such a client cannot PATCH one of them back to its default (PUT can).
//   - identity: SystemAssigned mints principalId/tenantId and registers an entra::ManagedIdentity
//     (kind SystemAssigned, resource_id = the cluster id), kept while the type keeps
//     SystemAssigned and removed when it drops it or the cluster goes (release_cluster).
//     UserAssigned keys must name existing Microsoft.ManagedIdentity/userAssignedIdentities
//     resources; the response fills {principalId, clientId} from them.
//   - keyVaultProperties is stored and echoed as given; the CMK checks belong in the completion of
//     the ServiceConfigurationAlter operation (marked "CMK HOOK" in clusters.cpp).
//   - Operation kinds: ClusterCreateExternal (create), ServiceConfigurationAlter (PUT replace,
//     PATCH), ClusterDelete, ClusterStart, ClusterStop (the last two are emulator names).
//
// Every LRO answer carries Azure-AsyncOperation and Location (absolute, on the host the request
// came in on, normalised location in the path) and Retry-After: 1. LRO policies come from the
// LroPolicyTable under type "Microsoft.Kusto/clusters" and operation "write" (PUT, PATCH),
// "delete" (DELETE) or "action" (start, stop).
//
// Errors (ARM envelope) the provider itself answers:
//   400 InvalidResourceName          cluster name not 4-22 letters/digits starting with a letter
//   400 LocationRequired / LocationNotAvailableForResourceType / InvalidResourceLocation (a cluster cannot move)
//   400 InvalidRequestContent        malformed sku / identity / properties, or PATCH of a create-only property
//   400 InvalidIdentity              identity.type unknown, or userAssignedIdentities inconsistent with it,
//                                    or a key that is not a userAssignedIdentities resource id
//   400 FailedIdentityOperation      a user-assigned identity that does not exist (ARM's wording for it)
//   404 ResourceNotFound             cluster (or operation) absent
//   400 CannotStopLeaderOrFollowerCluster   stop of a cluster with attached follower or leader databases
//   400 CannotDeleteLeaderCluster    delete of a cluster whose databases another cluster follows
//                                    (both codes emulator-defined; adxdocs follower limitations)
//   409 RequestConflict              a write while an operation runs / provisioningState is not terminal
//   412 PreconditionFailed           If-Match mismatch (or `*` on an absent cluster), If-None-Match: * on an existing one
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "arm/arm_api.h"
#include "kusto/cluster_keys.h"
#include "arm/resource_store.h"
#include "common/ids.h"
#include "common/outcome.h"

namespace cmk::kusto {

struct KustoProviderContext {
  arm::ArmContext arm;  // needs directory, subscriptions, groups, operations, lro_policies, resources
  IdGenerator* ids = nullptr;
  // Customer-managed keys (kusto/cluster_keys.h); null: keyVaultProperties are only stored.
  ClusterKeys* keys = nullptr;
};

// Canonical casing of the type in bodies and ids (the service answers `Clusters`).
inline constexpr const char* kClusterType = "Microsoft.Kusto/Clusters";
// The LroPolicyTable key (lower-case `clusters`, as the resource type is registered).
inline constexpr const char* kClusterPolicyType = "Microsoft.Kusto/clusters";

void register_kusto_routes(http::Router& router, KustoProviderContext ctx);

// Releases what a cluster owns outside the store: its system-assigned identity in the directory
// and, given `keys`, its customer-managed key in use. Call from ArmContext::on_cascade_delete for
// Kusto clusters.
void release_cluster(entra::Directory& directory, const arm::TrackedResource& cluster,
                     ClusterKeys* keys = nullptr);
bool is_cluster_type(const std::string& type);

// Stores a new cluster as a creating PUT of `body` would leave it once its operation completed,
// without the operation: the same checks (name, location, sku, identity, properties, the shape
// of keyVaultProperties), the system identity registered (its ids minted, or the body's
// identity.principalId / identity.clientId when given), provisioningState Succeeded and
// properties.state `state`. The customer-managed key is not used here: the caller activates
// it (ClusterKeys::activate). A cluster of the same id is replaced (its system identity kept
// unless the body fixes other ids). For fixtures (and state import). The error: ARM code and
// message.
Outcome<arm::TrackedResource, arm::OperationError> build_cluster(
    const KustoProviderContext& ctx, const arm::ResourceId& id, const nlohmann::json& body,
    const std::string& state, const std::string& by);

// --- shared by the Kusto providers (clusters, databases) ---

// Azure-AsyncOperation and Location (absolute, on the host the request came in on, under
// `subscription` and the normalised `location`) and Retry-After: 1, for operation `op`.
void set_lro_headers(http::Response& res, const http::Request& req, const std::string& subscription,
                     const std::string& location, const std::string& op);
// 409 RequestConflict: a write while the resource's provisioning state is not terminal.
http::Response request_conflict(const arm::ResourceId& id);

// --- domain rules, exposed for tests ---

// 4-22 characters, letters and digits, starting with a letter (the URI uses it lower-cased).
bool is_valid_cluster_name(const std::string& name);

// "systemassigned,userassigned" etc. -> the canonical spelling ("SystemAssigned, UserAssigned");
// nullopt when it is not one of the four types.
std::optional<std::string> normalize_identity_type(const std::string& type);

// The nine properties Debian's azure-mgmt-kusto 3.1.0b1 models send on every PATCH with fixed
// defaults, and those values.
const nlohmann::json& sdk_patch_defaults();

}  // namespace cmk::kusto
