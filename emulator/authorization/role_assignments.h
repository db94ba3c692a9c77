// Microsoft.Authorization, the part Key Vault's RBAC mode needs: built-in role
// definitions for Key Vault keys and a store of role assignments at any ARM scope.
//
// Contract:
// - Role definitions: the five Key Vault built-in roles with their data actions, by GUID:
//   Key Vault Administrator, Crypto Officer, Crypto User, Crypto Service Encryption User, Reader.
//   Custom roles are not supported.
// - Role assignments: {name (GUID), scope, roleDefinitionId, principalId, principalType}. The
//   scope is an ARM id ("/subscriptions/s", ".../resourceGroups/g", a resource, or a child
//   resource such as a vault's key) compared case-insensitively. An assignment applies to its
//   scope and everything below it.
// - allows(principal, scope, data_action): some assignment of the principal at `scope` or above
//   has a role whose dataActions match (Azure's wildcards: '*' matches any characters,
//   comparison case-insensitive) and whose notDataActions do not.
// - Thread-safe; times from the injected clock.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/revision.h"
#include "state/clock.h"

namespace cmk::authorization {

struct RoleDefinition {
  std::string guid;
  std::string role_name;
  std::string description;
  std::vector<std::string> actions;
  std::vector<std::string> data_actions;
  std::vector<std::string> not_data_actions;
  // Built-in roles answer fixed dates (ARM lists createdOn/updatedOn; these are the emulator's).
  std::string created_on = "2020-05-19T17:52:46.2616711Z";
  std::string updated_on = "2021-11-11T20:14:31.8573587Z";
  // ARM JSON; `scope` prefixes the id ("" for the tenant-level id).
  nlohmann::json to_json(const std::string& scope) const;
};

const std::vector<RoleDefinition>& builtin_role_definitions();
// By GUID, or by a roleDefinitionId ending in one ("/subscriptions/s/providers/
// Microsoft.Authorization/roleDefinitions/<guid>").
const RoleDefinition* find_role_definition(const std::string& guid_or_id);

// Azure's action wildcard match ("Microsoft.KeyVault/vaults/*/read").
bool action_matches(const std::string& pattern, const std::string& action);

struct RoleAssignment {
  std::string name;   // GUID
  std::string scope;  // as the client wrote it
  std::string role_definition_id;
  std::string principal_id;
  std::string principal_type;
  std::string created_by;
  TimePoint created_on{};
  nlohmann::json to_json() const;
};

class RoleAssignmentStore {
 public:
  explicit RoleAssignmentStore(const Clock& clock) : clock_(clock) {}

  enum class PutOutcome { Created, Unchanged, Conflict, Exists };
  // Creates an assignment; an identical one under the same name is Unchanged; another content
  // under that name is Conflict (assignments cannot be updated); the same principal, role and
  // scope under another name is Exists.
  PutOutcome put(RoleAssignment a);
  std::optional<RoleAssignment> get(const std::string& scope, const std::string& name) const;
  std::optional<RoleAssignment> remove(const std::string& scope, const std::string& name);
  // Assignments relevant to `scope`: at it and above, plus below it unless `at_scope_only`;
  // only the principal's when `principal_id` is set.
  std::vector<RoleAssignment> list(const std::string& scope, bool at_scope_only,
                                   const std::optional<std::string>& principal_id) const;

  bool allows(const std::string& principal_id, const std::string& scope,
              const std::string& data_action) const;

  // State export and import (state/snapshot.h): every assignment ordered by scope and name;
  // replace_all keeps names and creation stamps as given.
  std::vector<RoleAssignment> all() const;
  void replace_all(std::vector<RoleAssignment> assignments);
  uint64_t revision() const { return revision_.value(); }  // common/revision.h

 private:
  Revision revision_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, RoleAssignment> by_key_;  // lower(scope) + "|" + lower(name)
};

// True when `scope` is `ancestor` or lies below it ("/" is above everything).
bool scope_within(const std::string& scope, const std::string& ancestor);

}  // namespace cmk::authorization
