// Leader and follower clusters of Microsoft.Kusto: the relationships, read
// from the ResourceStore (no HTTP here), that the databases provider, the clusters provider and
// the CMK rules share.
//
// Model. A follower cluster owns attached database configurations (child resources
// `{follower}/attachedDatabaseConfigurations/{name}`), each naming a leader cluster
// (`properties.clusterResourceId`) and one of its databases or "*". Attaching creates, on the
// follower, databases of kind ReadOnlyFollowing ("replicas") that record the attachment
// (`attachedDatabaseConfigurationName`) and the leader database they follow
// (`originalDatabaseName`). Nothing else is stored: "is this cluster a leader", "is this
// database followed" and listFollowerDatabases are computed from the attachments and replicas
// each time, so they stay right whatever removed a resource (a cluster deletion, a resource
// group's cascade).
//
// Known limit: a resource-group deletion removes a leader without asking (ARM's cascade cannot
// be refused here); followers elsewhere keep their attachment and replicas until deleted.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/resource_store.h"
#include "arm/subscriptions.h"

namespace cmk::kusto {

// Types as the service spells them in bodies.
inline constexpr const char* kDatabaseType = "Microsoft.Kusto/Clusters/Databases";
inline constexpr const char* kAttachmentType =
    "Microsoft.Kusto/Clusters/AttachedDatabaseConfigurations";
// Path segments of the child ids, spelled as in the service's examples.
inline constexpr const char* kDatabaseSegment = "Databases";
inline constexpr const char* kAttachmentSegment = "attachedDatabaseConfigurations";

// The error code of the rule "customer-managed keys are not supported on leader or follower
// clusters" (adxdocs follower limitations). The service's own code is not public, so this one
// is emulator-defined: 400 CustomerManagedKeyNotSupportedOnLeaderOrFollower. Attaching answers
// it when either cluster has keyVaultProperties; the CMK checks of a cluster update should answer
// it too when is_leader_or_follower().
inline constexpr const char* kCmkLeaderFollowerCode =
    "CustomerManagedKeyNotSupportedOnLeaderOrFollower";

// Attachments the cluster owns (it is their follower), ordered by id.
std::vector<arm::TrackedResource> attachments_of(const arm::ResourceStore& store,
                                                 const arm::ResourceId& cluster);
// Attachments of other clusters, in any subscription of `subs`, whose clusterResourceId names
// `cluster` (it is their leader).
std::vector<arm::TrackedResource> attachments_following(const arm::ResourceStore& store,
                                                        const arm::SubscriptionRegistry& subs,
                                                        const arm::ResourceId& cluster);

// Follower: the cluster owns at least one attachedDatabaseConfiguration (whatever its
// provisioning state, from the PUT that creates it until its deletion completes).
bool is_follower(const arm::ResourceStore& store, const arm::ResourceId& cluster);
// Leader: another cluster's attachedDatabaseConfiguration names this one as clusterResourceId.
bool is_leader(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
               const arm::ResourceId& cluster);
// Either of the two: the clusters on which customer-managed keys are refused
// (kCmkLeaderFollowerCode), which cannot be stopped, and (leaders) not deleted.
bool is_leader_or_follower(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
                           const arm::ResourceId& cluster);

// The cluster has customer-managed keys: properties.keyVaultProperties holds a non-empty value.
bool has_customer_managed_key(const arm::TrackedResource& cluster);

// Databases of the cluster (both kinds), ordered by id.
std::vector<arm::TrackedResource> databases_of(const arm::ResourceStore& store,
                                               const arm::ResourceId& cluster);
// Replicas on `follower` created by its attachment `attachment_name`.
std::vector<arm::TrackedResource> replicas_of(const arm::ResourceStore& store,
                                              const arm::ResourceId& follower,
                                              const std::string& attachment_name);
// A ReadWrite database has a replica on some follower (the service's `isFollowed`).
bool is_followed(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
                 const arm::ResourceId& database);
// The leader's databases that have a replica somewhere, lower-case (is_followed for a whole list).
std::set<std::string> followed_database_names(const arm::ResourceStore& store,
                                              const arm::SubscriptionRegistry& subs,
                                              const arm::ResourceId& leader);

// The name a leader database gets on the follower: databaseNameOverride when the attachment
// follows that one database, else databaseNamePrefix + the original name.
std::string follower_database_name(const nlohmann::json& attachment_properties,
                                   const std::string& original);

// Removes the cluster's databases and attachments (with the cluster, not instead of it).
void remove_cluster_children(arm::ResourceStore& store, const arm::ResourceId& cluster);

}  // namespace cmk::kusto
