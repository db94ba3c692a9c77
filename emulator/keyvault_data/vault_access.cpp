#include "keyvault_data/vault_access.h"

#include <cctype>
#include <map>

namespace cmk::keyvault_data {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string string_member(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool grants(const json& entry, const Caller& caller, const char* family,
            const std::string& permission) {
  if (!entry.is_object()) return false;
  if (lower(string_member(entry, "tenantId")) != lower(caller.tenant_id)) return false;
  if (lower(string_member(entry, "objectId")) != lower(caller.object_id)) return false;
  const std::string app = string_member(entry, "applicationId");
  if (!app.empty() && lower(app) != lower(caller.app_id)) return false;
  auto perms = entry.find("permissions");
  if (perms == entry.end() || !perms->is_object()) return false;
  auto keys = perms->find(family);
  if (keys == perms->end() || !keys->is_array()) return false;
  const std::string want = lower(permission);
  for (const auto& p : *keys) {
    if (!p.is_string()) continue;
    const std::string have = lower(p.get<std::string>());
    if (have == want || (have == "all" && want != "purge")) return true;
  }
  return false;
}

}  // namespace

std::string key_data_action(const std::string& permission) {
  // As Azure's access-policy-to-RBAC mapping has them.
  static const std::map<std::string, std::string> actions = {
      {"get", "keys/read"},
      {"list", "keys/read"},
      {"create", "keys/create/action"},
      {"import", "keys/import/action"},
      {"update", "keys/update/action"},
      {"delete", "keys/delete"},
      {"recover", "keys/recover/action"},
      {"purge", "keys/purge/action"},
      {"backup", "keys/backup/action"},
      {"restore", "keys/restore/action"},
      {"encrypt", "keys/encrypt/action"},
      {"decrypt", "keys/decrypt/action"},
      {"wrapkey", "keys/wrap/action"},
      {"unwrapkey", "keys/unwrap/action"},
      {"sign", "keys/sign/action"},
      {"verify", "keys/verify/action"},
      {"release", "keys/release/action"},
      {"rotate", "keys/rotate/action"},
      {"getrotationpolicy", "keyrotationpolicies/read"},
      {"setrotationpolicy", "keyrotationpolicies/write"},
  };
  auto it = actions.find(lower(permission));
  return "Microsoft.KeyVault/vaults/" + (it == actions.end() ? "keys/read" : it->second);
}

std::string secret_data_action(const std::string& permission) {
  // As Azure's access-policy-to-RBAC mapping has them; "update" is the PATCH of a secret's
  // properties (the access-policy permission "set" covers it).
  static const std::map<std::string, std::string> actions = {
      {"get", "secrets/getSecret/action"},   {"list", "secrets/readMetadata/action"},
      {"set", "secrets/setSecret/action"},   {"update", "secrets/update/action"},
      {"delete", "secrets/delete"},          {"recover", "secrets/recover/action"},
      {"purge", "secrets/purge/action"},     {"backup", "secrets/backup/action"},
      {"restore", "secrets/restore/action"},
  };
  auto it = actions.find(lower(permission));
  return "Microsoft.KeyVault/vaults/" +
         (it == actions.end() ? "secrets/readMetadata/action" : it->second);
}

namespace {

std::optional<AccessDenial> check_permission(const VaultRef& vault, const Caller& caller,
                                             const char* family, const std::string& permission,
                                             const std::string& policy_permission,
                                             const std::string& action, const RbacCheck& rbac) {
  static const json empty = json::object();
  const json& props = vault.properties ? *vault.properties : empty;
  const std::string who =
      "appid=" + caller.app_id + ";oid=" + caller.object_id + ";numgroups=0;iss=" + caller.issuer;
  if (props.value("enableRbacAuthorization", false)) {
    if (rbac && rbac(caller, vault.resource_id, action)) return std::nullopt;
    return AccessDenial{
        "ForbiddenByRbac",
        "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
        "assignments or role definitions were changed recently, please observe propagation "
        "time.\r\nCaller: " +
            who + "\r\nAction: '" + action + "'\r\nResource: '" + lower(vault.resource_id) +
            "'\r\nAssignment: (not found)\r\nDenyAssignmentId: "
            "null\r\nDecisionReason: null \r\nVault: " +
            vault.name + ";location=" + vault.location + "\r\n"};
  }
  if (auto policies = props.find("accessPolicies"); policies != props.end() && policies->is_array())
    for (const auto& entry : *policies)
      if (grants(entry, caller, family, policy_permission)) return std::nullopt;
  return AccessDenial{"ForbiddenByPolicy", "The user, group or application '" + who +
                                               "' does not have " + family + " " + permission +
                                               " permission on key vault '" + vault.name +
                                               ";location=" + vault.location +
                                               "'. For help resolving this issue, please see "
                                               "https://go.microsoft.com/fwlink/?linkid=2125287"};
}

}  // namespace

std::optional<AccessDenial> check_key_permission(const VaultRef& vault, const Caller& caller,
                                                 const std::string& permission,
                                                 const RbacCheck& rbac) {
  return check_permission(vault, caller, "keys", permission, permission,
                          key_data_action(permission), rbac);
}

std::optional<AccessDenial> check_secret_permission(const VaultRef& vault, const Caller& caller,
                                                    const std::string& permission,
                                                    const RbacCheck& rbac) {
  // Access policies know no "update": setting a secret's properties takes "set".
  const std::string policy = lower(permission) == "update" ? "set" : permission;
  return check_permission(vault, caller, "secrets", policy, policy, secret_data_action(permission),
                          rbac);
}

std::string certificate_data_action(const std::string& permission) {
  static const std::map<std::string, std::string> actions = {
      {"get", "certificates/read"},
      {"list", "certificates/read"},
      {"update", "certificates/update/action"},
      {"create", "certificates/create/action"},
      {"import", "certificates/import/action"},
      {"delete", "certificates/delete"},
      {"recover", "certificates/recover/action"},
      {"backup", "certificates/backup/action"},
      {"restore", "certificates/restore/action"},
      {"purge", "certificates/purge/action"},
      {"managecontacts", "certificatecontacts/write"},
      {"getissuers", "certificatecas/read"},
      {"listissuers", "certificatecas/read"},
      {"setissuers", "certificatecas/write"},
      {"manageissuers", "certificatecas/write"},
      {"deleteissuers", "certificatecas/delete"},
  };
  auto it = actions.find(lower(permission));
  return "Microsoft.KeyVault/vaults/" + (it == actions.end() ? "certificates/read" : it->second);
}

std::optional<AccessDenial> check_certificate_permission(const VaultRef& vault,
                                                         const Caller& caller,
                                                         const std::string& permission,
                                                         const RbacCheck& rbac) {
  return check_permission(vault, caller, "certificates", permission, permission,
                          certificate_data_action(permission), rbac);
}

}  // namespace cmk::keyvault_data
