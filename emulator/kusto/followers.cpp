#include "kusto/followers.h"

#include "http/message.h"
#include "kusto/principal_assignments.h"

namespace cmk::kusto {

using nlohmann::json;

namespace {

// Children of one cluster among the resources of its resource group.
std::vector<arm::TrackedResource> children(const arm::ResourceStore& store,
                                           const arm::ResourceId& cluster, const char* type) {
  std::vector<arm::TrackedResource> out;
  for (auto& r : store.list(cluster.subscription, cluster.resource_group, type))
    if (auto parent = r.id.parent(); parent && *parent == cluster) out.push_back(std::move(r));
  return out;
}

const json& properties_of(const arm::TrackedResource& r) {
  static const json empty = json::object();
  auto it = r.body.find("properties");
  return it != r.body.end() && it->is_object() ? *it : empty;
}

std::string string_property(const arm::TrackedResource& r, const char* name) {
  const json& p = properties_of(r);
  auto it = p.find(name);
  return it != p.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::vector<arm::TrackedResource> attachments_of(const arm::ResourceStore& store,
                                                 const arm::ResourceId& cluster) {
  return children(store, cluster, kAttachmentType);
}

std::vector<arm::TrackedResource> attachments_following(const arm::ResourceStore& store,
                                                        const arm::SubscriptionRegistry& subs,
                                                        const arm::ResourceId& cluster) {
  // Followers may live in any subscription; a leader is rare enough that a scan per question
  // is cheaper than an index every deletion path would have to keep right.
  std::vector<arm::TrackedResource> out;
  for (const auto& sub : subs.all())
    for (auto& a : store.list(sub.id, "", kAttachmentType)) {
      auto leader = arm::ResourceId::parse(string_property(a, "clusterResourceId"));
      auto follower = a.id.parent();
      if (leader && *leader == cluster && follower && !(*follower == cluster))
        out.push_back(std::move(a));
    }
  return out;
}

bool is_follower(const arm::ResourceStore& store, const arm::ResourceId& cluster) {
  return !attachments_of(store, cluster).empty();
}

bool is_leader(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
               const arm::ResourceId& cluster) {
  return !attachments_following(store, subs, cluster).empty();
}

bool is_leader_or_follower(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
                           const arm::ResourceId& cluster) {
  return is_follower(store, cluster) || is_leader(store, subs, cluster);
}

bool has_customer_managed_key(const arm::TrackedResource& cluster) {
  const json& p = properties_of(cluster);
  auto kvp = p.find("keyVaultProperties");
  if (kvp == p.end() || !kvp->is_object()) return false;
  for (const auto& [k, v] : kvp->items())
    if (!v.is_null() && !(v.is_string() && v.get<std::string>().empty())) return true;
  return false;
}

std::vector<arm::TrackedResource> databases_of(const arm::ResourceStore& store,
                                               const arm::ResourceId& cluster) {
  return children(store, cluster, kDatabaseType);
}

std::vector<arm::TrackedResource> replicas_of(const arm::ResourceStore& store,
                                              const arm::ResourceId& follower,
                                              const std::string& attachment_name) {
  std::vector<arm::TrackedResource> out;
  for (auto& d : databases_of(store, follower))
    if (http::iequals(string_property(d, "attachedDatabaseConfigurationName"), attachment_name))
      out.push_back(std::move(d));
  return out;
}

std::set<std::string> followed_database_names(const arm::ResourceStore& store,
                                              const arm::SubscriptionRegistry& subs,
                                              const arm::ResourceId& leader) {
  std::set<std::string> names;
  for (const auto& a : attachments_following(store, subs, leader))
    for (const auto& r : replicas_of(store, *a.id.parent(), a.id.name()))
      names.insert(http::to_lower(string_property(r, "originalDatabaseName")));
  return names;
}

bool is_followed(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
                 const arm::ResourceId& database) {
  auto leader = database.parent();
  return leader &&
         followed_database_names(store, subs, *leader).count(http::to_lower(database.name())) > 0;
}

std::string follower_database_name(const json& attachment_properties, const std::string& original) {
  const std::string followed = attachment_properties.value("databaseName", std::string());
  if (followed != "*") {
    const std::string override_name =
        attachment_properties.value("databaseNameOverride", std::string());
    if (!override_name.empty()) return override_name;
  }
  return attachment_properties.value("databaseNamePrefix", std::string()) + original;
}

void remove_cluster_children(arm::ResourceStore& store, const arm::ResourceId& cluster) {
  for (const auto& r : databases_of(store, cluster)) {
    remove_principal_assignments(store, r.id);
    store.remove(r.id);
  }
  remove_principal_assignments(store, cluster);
  for (const auto& r : attachments_of(store, cluster)) store.remove(r.id);
}

}  // namespace cmk::kusto
