// Microsoft.Kusto databases and attached database configurations: the
// children of a cluster, on the ARM core, and the leader/follower relationships they build
// (domain in kusto/followers.h).
//
// Routes ({C} = .../providers/Microsoft.Kusto/clusters/{cluster},
//         {A} = {C}/attachedDatabaseConfigurations):
//   PUT {C}/databases/{db}[?callerRole=]  201 create / 200 replace; LRO DatabaseCreate /
//                                         DatabaseAlter
//   PATCH {C}/databases/{db}              200 merge; LRO DatabaseAlter
//   GET {C}/databases/{db}, GET {C}/databases ($top, $skiptoken; nextLink)
//   DELETE {C}/databases/{db}             202 + LRO DatabaseDelete (its principal assignments go
//                                         too); 204 when absent
//   PUT {A}/{name}                        201/200; LRO FollowerDatabaseCreate /
//                                         FollowerDatabaseUpdate
//   GET {A}/{name}, GET {A}
//   DELETE {A}/{name}                     202 + LRO FollowerDatabaseDelete; 204 when absent
//   POST|GET {C}/listFollowerDatabases    {value:[{clusterResourceId,
//                                         attachedDatabaseConfigurationName, databaseName,
//                                         tableLevelSharingProperties?, databaseShareOrigin}]}
//                                         (the GET form of 2025-02-14 wraps each in {properties})
//   POST {C}/detachFollowerDatabases      {clusterResourceId, attachedDatabaseConfigurationName}:
//                                         202 + LRO FollowerDatabaseDetach (the attachment and its
//                                         replicas go)
//   POST {C}/checkNameAvailability        {name, type: Microsoft.Kusto/clusters/databases or
//                                         Microsoft.Kusto/clusters/attachedDatabaseConfigurations}
//   POST {C}/attachedDatabaseConfigurationCheckNameAvailability   {name, type}
// LRO answers carry Azure-AsyncOperation, Location and Retry-After like the clusters'; policies
// come from the LroPolicyTable under "Microsoft.Kusto/clusters/databases" and
// "Microsoft.Kusto/clusters/attachedDatabaseConfigurations" ("write", "delete"); the detach
// action uses "Microsoft.Kusto/clusters" "action".
//
// Databases. Kinds ReadWrite and ReadOnlyFollowing (polymorphic on `kind`; a PUT creating a
// database without kind makes a ReadWrite one, as recorded with api-version 2022-12-29). An update
// (PUT or PATCH) is first answered provisioningState Accepted, a creation Creating.
// softDeletePeriod and hotCachePeriod are ISO-8601 durations, stored normalised to days and
// time (P1W -> P7D; Y counts 365 days and M 30, as .NET's XmlConvert reads them); read-only
// properties in bodies (provisioningState, statistics, isFollowed, ...) are ignored; `location`
// is the cluster's (another region is refused). statistics.size is 0; isFollowed is computed.
// A ReadOnlyFollowing database exists only through an attachment: creating one is refused, and
// of an existing one only hotCachePeriod may change (as in the service's example
// KustoDatabaseReadonlyUpdate.json); it cannot be deleted, only detached.
//
// Attached database configurations live on the follower. databaseName is one database of the
// leader or "*" (all, including those the leader creates later; a name the follower already
// uses is skipped, as the follower's own database takes precedence). The replicas are created
// when the FollowerDatabaseCreate operation completes: named databaseNameOverride (one
// database only) or databaseNamePrefix + the original name, copying the leader's periods, with
// principalsModificationKind, tableLevelSharingProperties, originalDatabaseName and
// databaseShareOrigin "Direct"; attachedDatabaseNames lists them. A PUT of an existing
// attachment may change only defaultPrincipalsModificationKind (Union, Replace, None; default
// Union) and tableLevelSharingProperties.
//
// Errors (ARM envelope). Codes marked * are emulator-defined: the service's are not published.
//   400 InvalidResourceName        database/attachment name: 1-260 letters, digits, spaces, '.',
//                                  '-', '_', not only spaces, not starting or ending with "__"
//   400 InvalidRequestContent      unknown kind, bad duration, malformed properties, an
//                                  attachment's immutable property changed, table-level sharing
//                                  or databaseNameOverride with databaseName "*", override and
//                                  prefix together
//   400 LocationNotAvailableForResourceType / InvalidResourceLocation
//                                  location unknown / not the cluster's
//   400 CannotCreateFollowerDatabase*    PUT of a new database of kind ReadOnlyFollowing
//   400 CannotAlterFollowerDatabase      changing a follower database beyond hotCachePeriod, or
//                                        its kind; also the async error of a FollowerDatabaseCreate
//                                        that fails ("[BadRequest] Cannot alter leader cluster
//                                        '<leader>' for resource name '<attachment>'. ..."), the
//                                        service's own code and wording
//   400 CannotDeleteFollowerDatabase*    DELETE of a ReadOnlyFollowing database (detach it)
//   400 CannotDeleteFollowedDatabase*    DELETE of a database that has replicas on a follower
//   400 LeaderClusterNotFound*           clusterResourceId names no cluster
//   400 LeaderDatabaseNotFound*          databaseName names no ReadWrite database of the leader
//   400 CannotFollowSameCluster*         clusterResourceId is the follower itself
//   400 LeaderFollowerLocationMismatch*  the two clusters are in different regions
//   400 CustomerManagedKeyNotSupportedOnLeaderOrFollower*   either cluster has keyVaultProperties
//   400 FollowerDatabaseNotFound*        detachFollowerDatabases names no attachment following
//                                        this cluster
//   404 ParentResourceNotFound           the cluster does not exist (ARM's wording)
//   404 ResourceNotFound                 database/attachment absent
//   409 FollowerDatabaseNameConflict*    the follower already has a database of the replica's name
//   409 ClusterNotRunning*               a write while the cluster (or the leader) is Stopped
//   409 RequestConflict                  a write while the database, attachment or cluster is not
//                                        terminal
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kusto/clusters.h"

namespace cmk::kusto {

// LroPolicyTable keys.
inline constexpr const char* kDatabasePolicyType = "Microsoft.Kusto/clusters/databases";
inline constexpr const char* kAttachmentPolicyType =
    "Microsoft.Kusto/clusters/attachedDatabaseConfigurations";

// Called by register_kusto_routes. `write_mu` is the clusters provider's: one lock serialises
// the check-then-write of every Kusto resource, so a database is not created on a cluster being
// deleted between the check and the write.
void register_database_routes(http::Router& router, KustoProviderContext ctx,
                              std::shared_ptr<std::mutex> write_mu);

// For the operation results of the provider: the operations of databases and attachments whose
// Location URL answers with the resource once done, and those that answer 204 (deletions).
bool child_operation_returns_resource(const std::string& kind);
bool child_operation_is_delete(const std::string& kind);
// A database or attachment as the service shows it: name "<cluster>/<child>", no etag,
// isFollowed computed for ReadWrite databases.
nlohmann::json child_resource_json(const arm::ResourceStore& store,
                                   const arm::SubscriptionRegistry& subs,
                                   const arm::TrackedResource& r);

// --- domain rules, exposed for tests ---

// Database (and attachment) names; see the header comment.
bool is_valid_database_name(const std::string& name);
// An ISO-8601 duration ("P365D", "PT12H", "P1W", "P1DT2H30M") in the service's normalised form
// ("P365D", "PT12H", "P7D", "P1DT2H30M"); nullopt when it is not one.
std::optional<std::string> normalize_duration(std::string_view text);

}  // namespace cmk::kusto
