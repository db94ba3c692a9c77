#include "arm/resource_groups.h"

#include <cctype>

#include "http/message.h"

namespace cmk::arm {

nlohmann::json ResourceGroup::to_json() const {
  nlohmann::json j = {{"id", id()},
                      {"name", name},
                      {"type", "Microsoft.Resources/resourceGroups"},
                      {"location", location},
                      {"properties", {{"provisioningState", provisioning_state}}}};
  if (tags.is_object()) j["tags"] = tags;  // "tags": {} once a request set them empty
  if (!managed_by.empty()) j["managedBy"] = managed_by;
  return j;
}

std::string ResourceGroupStore::key(const std::string& subscription, const std::string& name) {
  return http::to_lower(subscription) + "/" + http::to_lower(name);
}

bool ResourceGroupStore::put(ResourceGroup rg) {
  std::lock_guard lock(mu_);
  revision_.bump();
  auto [it, created] = groups_.try_emplace(key(rg.subscription, rg.name), rg);
  if (!created) {
    rg.name = it->second.name;
    rg.subscription = it->second.subscription;
    it->second = std::move(rg);
  }
  return created;
}

std::optional<ResourceGroup> ResourceGroupStore::get(const std::string& subscription,
                                                     const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(key(subscription, name));
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

std::vector<ResourceGroup> ResourceGroupStore::list(const std::string& subscription) const {
  std::lock_guard lock(mu_);
  std::vector<ResourceGroup> out;
  const std::string prefix = http::to_lower(subscription) + "/";
  for (auto it = groups_.lower_bound(prefix);
       it != groups_.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out.push_back(it->second);
  return out;
}

bool ResourceGroupStore::remove(const std::string& subscription, const std::string& name) {
  std::lock_guard lock(mu_);
  revision_.bump();
  return groups_.erase(key(subscription, name)) > 0;
}

bool ResourceGroupStore::set_state(const std::string& subscription, const std::string& name,
                                   const std::string& state) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(key(subscription, name));
  if (it == groups_.end()) return false;
  it->second.provisioning_state = state;
  revision_.bump();
  return true;
}

std::vector<ResourceGroup> ResourceGroupStore::all() const {
  std::lock_guard lock(mu_);
  std::vector<ResourceGroup> out;
  out.reserve(groups_.size());
  for (const auto& [k, g] : groups_) out.push_back(g);
  return out;
}

void ResourceGroupStore::replace_all(std::vector<ResourceGroup> groups) {
  std::lock_guard lock(mu_);
  groups_.clear();
  for (auto& g : groups) {
    std::string k = key(g.subscription, g.name);
    groups_.insert_or_assign(std::move(k), std::move(g));
  }
  revision_.bump();
}

bool is_valid_resource_group_name(const std::string& name) {
  if (name.empty() || name.size() > 90 || name.back() == '.') return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '(' || c == ')'))
      return false;
  return true;
}

}  // namespace cmk::arm
