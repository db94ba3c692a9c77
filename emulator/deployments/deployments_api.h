// Microsoft.Resources/deployments routes (docs/deployments.md): the thin HTTP adapter
// over deployment.h / template.h.
//
// {D} = /subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Resources/deployments
//       or, for templates that create resource groups,
//       /subscriptions/{sub}/providers/Microsoft.Resources/deployments
//   PUT {D}/{name}             201/200 + Azure-AsyncOperation {D}/{name}/operationStatuses/{id};
//                              the body as az sends it is accepted (template_json.h)
//   GET {D}/{name}, HEAD       the deployment, advanced first (deployment.h); GET {D}: the list
//   DELETE {D}/{name}          202 + Location: the record goes (its resources stay)
//   GET {D}/{name}/operationStatuses/{id}
//                              {"status": Running|Succeeded|Failed|Canceled[, "error"]}
//   GET {D}/{name}/operations[/{opId}]
//                              per-resource operations (at group scope also without
//                              providers/Microsoft.Resources, the SDKs' path)
//   POST {D}/{name}/validate   200 with the validated resources, or 400 InvalidTemplate
//   POST {D}/{name}/whatIf     202 + Location {D}/{name}/whatIfOperationResults/{id}: changes
//   POST {D}/{name}/exportTemplate   {"template": ...}
//   POST {D}/{name}/cancel     204 while running (then Canceled); 409 otherwise
//
// Errors: 400 InvalidTemplate (with additionalInfo TemplateViolation {path, position}),
// InvalidRequestContent (body), InvalidDeploymentName, InvalidDeploymentMode, LocationRequired
// (subscription scope); 404 DeploymentNotFound; 409 DeploymentActive (replace or delete while it
// runs), DeploymentCannotBeCancelled.
#pragma once

#include <functional>

#include "arm/arm_api.h"
#include "common/ids.h"
#include "http/message.h"
#include "http/router.h"
#include "state/clock.h"

namespace cmk::deployments {

struct DeploymentsContext {
  arm::ArmContext arm;  // subscriptions, groups, operations, lro_policies
  IdGenerator* ids = nullptr;
  const Clock* clock = nullptr;
  // Handles an internal request as the listeners would (Emulator::handle): how resources are
  // applied, read (reference) and deleted (Complete mode).
  std::function<http::Response(http::Request&)> send;
};

void register_deployment_routes(http::Router& router, DeploymentsContext ctx);

// Header marking the requests a deployment makes on its caller's behalf (value: deployment id).
inline constexpr const char* kDeploymentCallerHeader = "x-ms-emulator-caller";

}  // namespace cmk::deployments
