#include "authorization/role_assignments.h"

#include <algorithm>
#include <cctype>

namespace cmk::authorization {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool glob(const char* p, const char* s) {
  // Iterative wildcard match with backtracking to the last '*'.
  const char* star = nullptr;
  const char* resume = nullptr;
  while (*s) {
    if (*p == '*') {
      star = p++;
      resume = s;
    } else if (std::tolower(static_cast<unsigned char>(*p)) ==
               std::tolower(static_cast<unsigned char>(*s))) {
      ++p;
      ++s;
    } else if (star) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (*p == '*') ++p;
  return *p == '\0';
}

const std::vector<std::string> kKvReadActions = {
    "Microsoft.Authorization/*/read",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read"};

}  // namespace

bool action_matches(const std::string& pattern, const std::string& action) {
  return glob(pattern.c_str(), action.c_str());
}

bool scope_within(const std::string& scope, const std::string& ancestor) {
  const std::string a = lower(trim_slash(ancestor));
  const std::string s = lower(trim_slash(scope));
  if (a == "/" || a.empty()) return true;
  return s == a || (s.size() > a.size() && s.compare(0, a.size(), a) == 0 && s[a.size()] == '/');
}

const std::vector<RoleDefinition>& builtin_role_definitions() {
  static const std::vector<RoleDefinition> roles = {
      {"00482a5a-887f-4fb3-b363-3b7fe8e74483",
       "Key Vault Administrator",
       "Perform all data plane operations on a key vault and all objects in it, including "
       "certificates, keys, and secrets. Cannot manage key vault resources or manage role "
       "assignments. Only works for key vaults that use the 'Azure role-based access control' "
       "permission model.",
       kKvReadActions,
       {"Microsoft.KeyVault/vaults/*"},
       {}},
      {"14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
       "Key Vault Crypto Officer",
       "Perform any action on the keys of a key vault, except manage permissions. Only works for "
       "key vaults that use the 'Azure role-based access control' permission model.",
       kKvReadActions,
       {"Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"},
       {}},
      {"12338af0-0e69-4776-bea7-57ae8d297424",
       "Key Vault Crypto User",
       "Perform cryptographic operations using keys. Only works for key vaults that use the "
       "'Azure role-based access control' permission model.",
       {},
       {"Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/update/action",
        "Microsoft.KeyVault/vaults/keys/backup/action",
        "Microsoft.KeyVault/vaults/keys/encrypt/action",
        "Microsoft.KeyVault/vaults/keys/decrypt/action",
        "Microsoft.KeyVault/vaults/keys/wrap/action",
        "Microsoft.KeyVault/vaults/keys/unwrap/action",
        "Microsoft.KeyVault/vaults/keys/sign/action",
        "Microsoft.KeyVault/vaults/keys/verify/action"},
       {}},
      {"e147488a-f6f5-4113-8e2d-b22465e65bf6",
       "Key Vault Crypto Service Encryption User",
       "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that "
       "use the 'Azure role-based access control' permission model.",
       {},
       {"Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action",
        "Microsoft.KeyVault/vaults/keys/unwrap/action"},
       {}},
      {"b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
       "Key Vault Secrets Officer",
       "Perform any action on the secrets of a key vault, except manage permissions. Only works "
       "for key vaults that use the 'Azure role-based access control' permission model.",
       kKvReadActions,
       {"Microsoft.KeyVault/vaults/secrets/*"},
       {}},
      {"4633458b-17de-408a-b874-0445c86b69e6",
       "Key Vault Secrets User",
       "Read secret contents including secret portion of a certificate with private key. Only "
       "works for key vaults that use the 'Azure role-based access control' permission model.",
       {},
       {"Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
       {}},
      {"a4417e6f-fecd-4de8-b567-7b0420556985",
       "Key Vault Certificates Officer",
       "Perform any action on the certificates of a key vault, excluding reading the secret and "
       "key "
       "portions, and managing permissions. Only works for key vaults that use the 'Azure "
       "role-based access control' permission model.",
       kKvReadActions,
       {"Microsoft.KeyVault/vaults/certificatecas/*", "Microsoft.KeyVault/vaults/certificates/*",
        "Microsoft.KeyVault/vaults/certificatecontacts/write"},
       {}},
      {"21090545-7ca7-4776-b22c-e363652d74d2",
       "Key Vault Reader",
       "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive "
       "values such as secret contents or key material. Only works for key vaults that use the "
       "'Azure role-based access control' permission model.",
       kKvReadActions,
       {"Microsoft.KeyVault/vaults/*/read",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
       {}},
  };
  return roles;
}

const RoleDefinition* find_role_definition(const std::string& guid_or_id) {
  const std::string l = lower(trim_slash(guid_or_id));
  const size_t slash = l.rfind('/');
  const std::string guid = slash == std::string::npos ? l : l.substr(slash + 1);
  if (slash != std::string::npos &&
      l.find("/providers/microsoft.authorization/roledefinitions/") == std::string::npos)
    return nullptr;
  for (const auto& r : builtin_role_definitions())
    if (r.guid == guid) return &r;
  return nullptr;
}

json RoleDefinition::to_json(const std::string& scope) const {
  // Built-in roles are named by the subscription of the scope asked at (a group's or a resource's
  // scope lists them by the subscription's id, as az's recordings show), or at the root.
  const std::string prefix = "/subscriptions/";
  std::string head = scope.substr(0, prefix.size());
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string at;
  if (head == prefix) at = scope.substr(0, scope.find('/', prefix.size()));
  return {{"id", at + "/providers/Microsoft.Authorization/roleDefinitions/" + guid},
          {"name", guid},
          {"type", "Microsoft.Authorization/roleDefinitions"},
          {"properties",
           {{"roleName", role_name},
            {"type", "BuiltInRole"},
            {"description", description},
            {"assignableScopes", json::array({"/"})},
            {"permissions", json::array({{{"actions", actions},
                                          {"notActions", json::array()},
                                          {"dataActions", data_actions},
                                          {"notDataActions", not_data_actions}}})},
            {"createdOn", created_on},
            {"updatedOn", updated_on},
            {"createdBy", nullptr},
            {"updatedBy", nullptr}}}};
}

json RoleAssignment::to_json() const {
  const std::string when = to_iso8601(created_on);
  return {{"id", trim_slash(scope) + "/providers/Microsoft.Authorization/roleAssignments/" + name},
          {"name", name},
          {"type", "Microsoft.Authorization/roleAssignments"},
          {"properties",
           {{"roleDefinitionId", role_definition_id},
            {"principalId", principal_id},
            {"principalType", principal_type},
            {"scope", trim_slash(scope)},
            {"condition", nullptr},
            {"conditionVersion", nullptr},
            {"createdOn", when},
            {"updatedOn", when},
            {"createdBy", created_by},
            {"updatedBy", created_by},
            {"delegatedManagedIdentityResourceId", nullptr},
            {"description", nullptr}}}};
}

RoleAssignmentStore::PutOutcome RoleAssignmentStore::put(RoleAssignment a) {
  std::lock_guard lock(mu_);
  a.scope = trim_slash(a.scope);
  const std::string key = lower(a.scope) + "|" + lower(a.name);
  const RoleDefinition* role = find_role_definition(a.role_definition_id);
  auto same_grant = [&](const RoleAssignment& b) {
    return lower(b.scope) == lower(a.scope) && lower(b.principal_id) == lower(a.principal_id) &&
           find_role_definition(b.role_definition_id) == role;
  };
  if (auto it = by_key_.find(key); it != by_key_.end())
    return same_grant(it->second) ? PutOutcome::Unchanged : PutOutcome::Conflict;
  for (const auto& [k, b] : by_key_)
    if (same_grant(b)) return PutOutcome::Exists;
  a.created_on = clock_.now();
  by_key_.emplace(key, std::move(a));
  revision_.bump();
  return PutOutcome::Created;
}

std::vector<RoleAssignment> RoleAssignmentStore::all() const {
  std::lock_guard lock(mu_);
  std::vector<RoleAssignment> out;
  for (const auto& [k, a] : by_key_) out.push_back(a);
  return out;
}

void RoleAssignmentStore::replace_all(std::vector<RoleAssignment> assignments) {
  std::lock_guard lock(mu_);
  by_key_.clear();
  for (auto& a : assignments) {
    a.scope = trim_slash(a.scope);
    std::string key = lower(a.scope) + "|" + lower(a.name);
    by_key_.insert_or_assign(std::move(key), std::move(a));
  }
  revision_.bump();
}

std::optional<RoleAssignment> RoleAssignmentStore::get(const std::string& scope,
                                                       const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(lower(trim_slash(scope)) + "|" + lower(name));
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::optional<RoleAssignment> RoleAssignmentStore::remove(const std::string& scope,
                                                          const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(lower(trim_slash(scope)) + "|" + lower(name));
  if (it == by_key_.end()) return std::nullopt;
  RoleAssignment a = std::move(it->second);
  by_key_.erase(it);
  revision_.bump();
  return a;
}

std::vector<RoleAssignment> RoleAssignmentStore::list(
    const std::string& scope, bool at_scope_only,
    const std::optional<std::string>& principal_id) const {
  std::lock_guard lock(mu_);
  std::vector<RoleAssignment> out;
  for (const auto& [k, a] : by_key_) {
    if (principal_id && lower(a.principal_id) != lower(*principal_id)) continue;
    const bool above = scope_within(scope, a.scope);
    const bool below = scope_within(a.scope, scope);
    if (above || (below && !at_scope_only)) out.push_back(a);
  }
  return out;
}

bool RoleAssignmentStore::allows(const std::string& principal_id, const std::string& scope,
                                 const std::string& data_action) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, a] : by_key_) {
    if (lower(a.principal_id) != lower(principal_id) || !scope_within(scope, a.scope)) continue;
    const RoleDefinition* role = find_role_definition(a.role_definition_id);
    if (!role) continue;
    const auto match = [&](const std::string& p) { return action_matches(p, data_action); };
    if (std::any_of(role->data_actions.begin(), role->data_actions.end(), match) &&
        std::none_of(role->not_data_actions.begin(), role->not_data_actions.end(), match))
      return true;
  }
  return false;
}

}  // namespace cmk::authorization
