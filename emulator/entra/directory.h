// The identity directory: tenants and the principals that can obtain tokens (service principals
// and managed identities). Filled from fixtures, by ARM (identities) and, unless strict auth is
// on, by first sign-in of an unknown client. Thread-safe; returns copies.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/revision.h"

namespace cmk::entra {

struct Tenant {
  std::string id;  // GUID, lower case
  std::string display_name;
  std::string default_domain;
};

struct ServicePrincipal {
  std::string app_id;     // client id, GUID
  std::string object_id;  // GUID: the `oid` of its tokens
  std::string tenant_id;
  std::string display_name;
  std::vector<std::string> secrets;
  std::vector<std::string> certificate_pems;  // for client_assertion (JWT signed by the cert's key)
  bool registered_on_the_fly = false;          // admitted unknown client (non-strict mode)
};

enum class IdentityKind { UserAssigned, SystemAssigned };

// A managed identity as the token service sees it. ARM creates user-assigned ones
// (Microsoft.ManagedIdentity/userAssignedIdentities) and system-assigned ones (a resource's
// `identity.type` SystemAssigned); both sign in through the MSI endpoints.
struct ManagedIdentity {
  // ARM id of the user-assigned identity resource, or of the resource that owns the
  // system-assigned identity. Becomes the token's `xms_mirid`. Unique key, case-insensitive.
  std::string resource_id;
  std::string principal_id;  // GUID: the `oid` of its tokens (ARM's identity.principalId)
  std::string client_id;     // GUID: the `appid` of its tokens (ARM's clientId)
  std::string tenant_id;
  IdentityKind kind = IdentityKind::UserAssigned;
};

class Directory {
 public:
  // Adds or replaces (by id / app id, case-insensitive).
  void put_tenant(Tenant t);
  void put_service_principal(ServicePrincipal sp);

  std::optional<Tenant> find_tenant(const std::string& id) const;
  std::optional<ServicePrincipal> find_service_principal(const std::string& app_id) const;
  std::vector<Tenant> tenants() const;
  std::vector<ServicePrincipal> service_principals() const;

  // Inserts `sp` unless a principal with its app id exists; returns the one now in the
  // directory. Atomic, so two first sign-ins of one unknown client register it once.
  ServicePrincipal add_service_principal_if_absent(ServicePrincipal sp);
  bool remove_service_principal(const std::string& app_id);

  // Managed identities: put adds or replaces by resource id; lookups are case-insensitive and
  // return the first match (ids are GUIDs, so duplicates only arise from inconsistent fixtures).
  void put_managed_identity(ManagedIdentity mi);
  bool remove_managed_identity(const std::string& resource_id);
  std::optional<ManagedIdentity> find_managed_identity_by_resource_id(const std::string& id) const;
  std::optional<ManagedIdentity> find_managed_identity_by_client_id(const std::string& id) const;
  std::optional<ManagedIdentity> find_managed_identity_by_principal_id(const std::string& id) const;
  std::vector<ManagedIdentity> managed_identities() const;

  // State import and reset (state/snapshot.h): everything at once, in the order given.
  void replace_all(std::vector<Tenant> tenants, std::vector<ServicePrincipal> service_principals,
                   std::vector<ManagedIdentity> managed_identities);
  // Bumped by every change (common/revision.h).
  uint64_t revision() const { return revision_.value(); }

 private:
  Revision revision_;
  mutable std::mutex mu_;
  std::vector<Tenant> tenants_;
  std::vector<ServicePrincipal> service_principals_;
  std::vector<ManagedIdentity> managed_identities_;
};

// The object id given to a client admitted on the fly (non-strict mode), so the same client in
// the same tenant always gets the same `oid` -- across restarts and machines -- and access
// policies written for it keep matching. Definition (stable; tests pin it):
//   h = SHA-256( to_lower(tenant_id) + ":" + to_lower(app_id) )
//   take h[0..15], set the version nibble to 8 (h[6] = h[6] & 0x0f | 0x80) and the RFC 9562
//   variant (h[8] = h[8] & 0x3f | 0x80), and print it as a lower-case 8-4-4-4-12 GUID.
// Version 8 is RFC 9562's "custom" UUID, so these never collide in form with random (v4) ids.
std::string deterministic_object_id(std::string_view tenant_id, std::string_view app_id);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" with hex digits of either case.
bool is_guid(std::string_view s);

}  // namespace cmk::entra
