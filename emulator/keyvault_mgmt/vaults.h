// Microsoft.KeyVault/vaults, the management plane.
//
// Vault rules the emulator enforces:
// - names: 3-24 characters, letters, digits and '-', starting with a letter, ending with a letter
//   or digit, no "--"; globally unique (409 VaultAlreadyExists), also against soft-deleted vaults
//   (409 ConflictError) unless the PUT recovers it (properties.createMode "recover");
// - enableSoftDelete defaults to true and never goes back to false (400 BadRequest);
//   softDeleteRetentionInDays 7-90 (default 90), fixed once soft delete is on;
//   enablePurgeProtection is true or absent: false is refused (400 BadRequest, the service's
//   words), and once true it stays true;
// - tenantId and sku (family A, name standard|premium) are required; accessPolicies are
//   required unless RBAC authorization is on or the vault is being recovered;
// - DELETE of a soft-delete vault moves it to deletedVaults (deletionDate now, scheduledPurgeDate
//   now + retention, on the virtual clock); it is purged by POST .../purge (409 ConflictError
//   while purge protection is on; otherwise 202 and a Location to poll, a long-running operation
//   as Azure's) or when the virtual clock passes scheduledPurgeDate;
// - accessPolicies/{add|replace|remove}: entries match by (tenantId, objectId, applicationId);
//   add merges permissions, replace overwrites the entry's, remove takes permissions away and
//   drops an entry left with none.
// The vault is the same object the keys data plane serves (find_vault_by_name).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "arm/arm_api.h"
#include "arm/operations.h"
#include "arm/resource_store.h"
#include "common/revision.h"

namespace cmk::keyvault_mgmt {

inline constexpr const char* kVaultType = "Microsoft.KeyVault/vaults";

struct DeletedVault {
  arm::TrackedResource vault;  // as it was when deleted
  TimePoint deleted_at{};
  TimePoint scheduled_purge_at{};
  nlohmann::json to_json() const;
};

class VaultProvider {
 public:
  VaultProvider(arm::ArmContext arm, arm::ResourceStore& resources, const Clock& clock);
  void register_routes(http::Router& router);

  // The live vault of that name in any subscription (names are global).
  std::optional<arm::TrackedResource> find_vault_by_name(const std::string& name) const;
  // The same as an immutable snapshot shared with the store (no copy): the Key Vault data plane
  // reads its vault on every request. Null when there is none.
  std::shared_ptr<const arm::TrackedResource> find_vault_snapshot(const std::string& name) const;
  // Every live vault, all subscriptions.
  std::vector<arm::TrackedResource> all_vaults() const;
  std::optional<DeletedVault> find_deleted(const std::string& name);
  // Moves a vault that is being removed (DELETE, or its resource group's deletion) to the
  // deleted vaults when soft delete is on; the caller removes it from the store.
  void retain_deleted(const arm::TrackedResource& vault);
  // Called with the name of each vault that is gone for good (purged, or past its retention),
  // so what lives outside the store (its keys) goes too. Set before serving.
  void set_on_purged(std::function<void(const std::string& name)> f) { on_purged_ = std::move(f); }

  // State export and import (state/snapshot.h): the deleted vaults (those past their retention
  // purged first), ordered by lower-case name; replace_deleted sets them all at once without
  // purging anything (the keys of a replaced vault are the caller's business).
  std::vector<DeletedVault> deleted_vaults();
  void replace_deleted(std::vector<DeletedVault> vaults);
  uint64_t revision() const { return revision_.value(); }  // common/revision.h

 private:
  void purge_expired();  // retention on the virtual clock
  // Finishes the purge of the deleted vault of that name if it has fallen due (call without mu_).
  void settle_purge(const std::string& name);
  bool name_taken_elsewhere(const std::string& name, const arm::ResourceId& id) const;

  arm::ArmContext arm_;
  arm::ResourceStore& resources_;
  const Clock& clock_;
  Revision revision_;
  mutable std::mutex mu_;  // deleted_ and the check-then-act of create/delete/recover
  std::map<std::string, DeletedVault> deleted_;  // by lower-case name
  std::function<void(const std::string&)> on_purged_;
};

bool is_valid_vault_name(const std::string& name);

// A vault as ARM answers it: its tags always present ({} when it has none), as Azure shows them.
nlohmann::json vault_json(const arm::TrackedResource& vault);

// The properties of a new vault before a request's are merged in (the service's defaults).
nlohmann::json new_vault_properties();
// Merges a request's `props` into `merged` (the stored properties, or new_vault_properties())
// and enforces the vault rules above (one-way soft delete and purge protection, retention, tenant,
// sku, access policies); sets vaultUri and provisioningState. The error (code BadRequest, the
// service's words) when a rule is broken. Used by PUT/PATCH and by fixtures.
std::optional<arm::OperationError> merge_vault_properties(nlohmann::json& merged,
                                                          const nlohmann::json& props,
                                                          bool existing, const std::string& name);

}  // namespace cmk::keyvault_mgmt
