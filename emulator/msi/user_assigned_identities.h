// Microsoft.ManagedIdentity/userAssignedIdentities: the ARM resource provider
// of user-assigned identities. Each identity is also registered in the identity directory, so it
// can obtain tokens at once (through the managed-identity endpoints, or as a cluster's identity).
//
// PUT creates (201) or updates tags (200) — principalId and clientId never change once created;
// PATCH merges tags; GET; DELETE (200, or 204 when absent) also removes the directory entry;
// lists by resource group and by subscription page with nextLink ($top, default 100).
#pragma once

#include "arm/arm_api.h"
#include "arm/resource_store.h"
#include "entra/directory.h"

namespace cmk::msi {

struct IdentityProviderContext {
  arm::ArmContext arm;
  arm::ResourceStore* resources = nullptr;
  IdGenerator* ids = nullptr;
};

inline constexpr const char* kUserAssignedIdentityType =
    "Microsoft.ManagedIdentity/userAssignedIdentities";

void register_user_assigned_identity_routes(http::Router& router, IdentityProviderContext ctx);

// Stores a new identity: resource `r` (id, location and tags set; its body is filled here from
// `mi`) and the directory entry `mi` (resource_id, principal, client and tenant ids set by the
// caller). What a creating PUT does with minted ids, and what fixtures do with fixed ones.
void create_user_assigned_identity(arm::ResourceStore& resources, entra::Directory& directory,
                                   arm::TrackedResource r, entra::ManagedIdentity mi,
                                   const std::string& by);

// 3-128 characters: letters, digits, '-' and '_', starting with a letter or digit.
bool is_valid_identity_name(const std::string& name);

}  // namespace cmk::msi
