// Microsoft.Authorization on the ARM surface (thin adapter over role_assignments.h), at these
// scopes: a subscription, a resource group, a resource, and a child resource (a vault's key):
//
//   PUT    {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}
//          {"properties":{"roleDefinitionId","principalId"[,"principalType"]}} -> 201 (200 when
//          the same assignment exists); 400 InvalidRoleAssignmentId, RoleDefinitionDoesNotExist,
//          InvalidPrincipalId; 409 RoleAssignmentExists (same grant, other name),
//          RoleAssignmentUpdateNotPermitted (other grant, same name)
//   GET    .../roleAssignments/{guid}  -> 200, 404 RoleAssignmentNotFound
//   DELETE .../roleAssignments/{guid}  -> 200 with the assignment, 204 when absent
//   GET    {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=atScope() |
//          principalId eq '<id>' | assignedTo('<id>')]
//   GET    {scope}/providers/Microsoft.Authorization/roleDefinitions[/{guid}][?$filter=roleName eq '<name>']
//   GET    /providers/Microsoft.Authorization/roleDefinitions[/{guid}]
// The subscription (and resource group) of the scope must exist; the resource need not.
#pragma once

#include "arm/arm_api.h"
#include "authorization/role_assignments.h"
#include "http/router.h"

namespace cmk::authorization {

void register_authorization_routes(http::Router& router, arm::ArmContext arm,
                                   RoleAssignmentStore& store);

}  // namespace cmk::authorization
