// Who may do what with a vault's keys and secrets.
//
// Contract:
// - Access-policy vaults (enableRbacAuthorization false): a caller is allowed a key permission
//   when an entry of properties.accessPolicies has the caller's tenantId and objectId (compared
//   case-insensitively), an applicationId that is absent or equal to the caller's app id, and
//   the permission, or "all", in permissions.keys. "all" grants every key permission except
//   "purge", as it historically did. Permission names compare case-insensitively.
// - RBAC vaults: decided by `rbac` (role assignments) when given; without it nobody is allowed.
// - A refusal carries Key Vault's 403 words: innererror ForbiddenByPolicy with
//   "The user, group or application 'appid=...;oid=...;numgroups=0;iss=...' does not have keys
//   <permission> permission on key vault '<vault>;location=<region>'. ..." for access policies,
//   ForbiddenByRbac with "Caller is not authorized to perform action on resource. ..." for RBAC.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace cmk::keyvault_data {

struct Caller {
  std::string tenant_id;
  std::string object_id;
  std::string app_id;
  std::string issuer;
};

struct VaultRef {
  std::string name;
  std::string location;
  std::string resource_id;  // ARM id of the vault, or of the key addressed (".../vaults/v/keys/k"):
                            // the RBAC scope, and the resource named in messages
  const nlohmann::json* properties = nullptr;  // the vault's ARM properties
};

struct AccessDenial {
  std::string inner_code;  // ForbiddenByPolicy or ForbiddenByRbac
  std::string message;
};

// The RBAC data action of a key permission ("wrapKey" ->
// "Microsoft.KeyVault/vaults/keys/wrap/action").
std::string key_data_action(const std::string& permission);

// Decides an RBAC request: true when a role assignment grants `data_action` to the caller at the
// vault's scope (or above).
using RbacCheck = std::function<bool(const Caller& caller, const std::string& scope,
                                     const std::string& data_action)>;

// nullopt when allowed.
std::optional<AccessDenial> check_key_permission(const VaultRef& vault, const Caller& caller,
                                                 const std::string& permission,
                                                 const RbacCheck& rbac = {});

// Secrets: the same rules with permissions.secrets (get, list, set, delete, recover, backup,
// restore, purge; "all" grants all but purge) and "does not have secrets <permission>
// permission" in the refusal. The permission "update" (PATCH of a secret's properties) is
// "set" in access policies and Microsoft.KeyVault/vaults/secrets/update/action in RBAC.
std::string secret_data_action(const std::string& permission);
std::optional<AccessDenial> check_secret_permission(const VaultRef& vault, const Caller& caller,
                                                    const std::string& permission,
                                                    const RbacCheck& rbac = {});

// Certificates: the same rules with permissions.certificates (get, list, update, create,
// import, delete, recover, backup, restore, managecontacts, manageissuers, getissuers,
// listissuers, setissuers, deleteissuers, purge; "all" grants all but purge) and "does not have
// certificates <permission> permission" in the refusal. RBAC data actions as Azure maps them:
// certificates/read (get, list), certificates/<op>/action, certificates/delete,
// certificatecontacts/write, certificatecas/read|write|delete (issuers).
std::string certificate_data_action(const std::string& permission);
std::optional<AccessDenial> check_certificate_permission(const VaultRef& vault,
                                                         const Caller& caller,
                                                         const std::string& permission,
                                                         const RbacCheck& rbac = {});

}  // namespace cmk::keyvault_data
