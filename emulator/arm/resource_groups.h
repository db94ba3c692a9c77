// Resource groups of the emulated subscriptions. Thread-safe; returns copies.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/revision.h"

namespace cmk::arm {

struct ResourceGroup {
  std::string subscription;
  std::string name;      // as first created (ARM keeps the creator's casing)
  std::string location;  // normalised
  nlohmann::json tags;   // null: never tagged, so the group answers without "tags" (as ARM does)
  std::string managed_by;
  std::string provisioning_state = "Succeeded";  // "Deleting" while its deletion runs

  std::string id() const { return "/subscriptions/" + subscription + "/resourceGroups/" + name; }
  nlohmann::json to_json() const;
};

class ResourceGroupStore {
 public:
  // Creates or replaces; returns true when it created. A replace keeps the original name casing.
  bool put(ResourceGroup rg);
  std::optional<ResourceGroup> get(const std::string& subscription, const std::string& name) const;
  std::vector<ResourceGroup> list(const std::string& subscription) const;
  bool remove(const std::string& subscription, const std::string& name);
  // Sets provisioningState; false when the group does not exist.
  bool set_state(const std::string& subscription, const std::string& name,
                 const std::string& state);
  // Every group of every subscription, ordered by subscription and lower-case name.
  std::vector<ResourceGroup> all() const;
  // State import and reset (state/snapshot.h): names keep their casing.
  void replace_all(std::vector<ResourceGroup> groups);
  uint64_t revision() const { return revision_.value(); }  // common/revision.h

 private:
  Revision revision_;
  static std::string key(const std::string& subscription, const std::string& name);
  mutable std::mutex mu_;
  std::map<std::string, ResourceGroup> groups_;
};

// ARM's rule: 1-90 characters, letters, digits, '_', '-', '.', '(' and ')', not ending in '.'.
bool is_valid_resource_group_name(const std::string& name);

}  // namespace cmk::arm
