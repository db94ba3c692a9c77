// Microsoft.Kusto principal assignments and database principals: who may use a cluster or one
// of its databases, on the ARM core (ResourceStore, OperationEngine), as the service's REST
// specification describes them (api-versions 2022-12-29 to 2025-02-14 alike).
//
// Routes ({C} = .../providers/Microsoft.Kusto/clusters/{cluster}, {D} = {C}/databases/{db}):
//   PUT {C}/principalAssignments/{name}      201 create / 200 replace; LRO
//                                            ClusterPrincipalAssignmentCreateOrUpdate*
//   GET {C}/principalAssignments/{name}, GET {C}/principalAssignments   ({value}, one page)
//   DELETE {C}/principalAssignments/{name}   202 + LRO ClusterPrincipalAssignmentDelete*; 204 when
//   absent POST {C}/checkPrincipalAssignmentNameAvailability   {name, type:
//                                            Microsoft.Kusto/clusters/principalAssignments}
//   the same four under {D}/principalAssignments (kinds Database...*), and
//   POST {D}/checkPrincipalAssignmentNameAvailability   {name, type:
//                                            Microsoft.Kusto/clusters/databases/principalAssignments}
//   POST {D}/listPrincipals                  {value: [DatabasePrincipal]}
//   POST {D}/addPrincipals, {D}/removePrincipals   body {value: [DatabasePrincipal]}; 200 with the
//                                            database's principals afterwards
// (* operation kinds named by the emulator.) LRO answers carry Azure-AsyncOperation, Location and
// Retry-After like the clusters'; policies under the LroPolicyTable types below.
//
// An assignment's properties: principalId, role and principalType are required (role: cluster
// AllDatabasesAdmin | AllDatabasesViewer | AllDatabasesMonitor, database Admin | Ingestor |
// Monitor | User | UnrestrictedViewer | Viewer; principalType App | Group | User; each read
// case-insensitively and answered in that spelling); tenantId defaults to the subscription's
// tenant. The service fills tenantName (the tenant's display name), principalName (the
// application's display name for a known App, else the principal id) and aadObjectId (the
// service principal's object id for a known App, else the principal id). Bodies carry no
// location, tags or etag; the name is "<cluster>/<assignment>" ("<cluster>/<db>/<assignment>").
//
// Database principals (addPrincipals) are kept with the database and listed as given
// (DatabasePrincipal: role, name, type required; fqn, email, appId optional; tenantName
// read-only). Removing matches on role, type and fqn (or name when no fqn is given).
//
// Errors (ARM envelope):
//   400 InvalidResourceName     assignment name not 1-260 letters, digits, spaces, '.', '-', '_'
//   400 InvalidRequestContent   properties missing or malformed; role/principalType not allowed
//   404 ParentResourceNotFound  the cluster (or database) does not exist
//   404 ResourceNotFound        the assignment does not exist
//   409 RequestConflict         a write while the assignment or its cluster is not terminal
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "kusto/clusters.h"

namespace cmk::kusto {

// Types as the service spells them in bodies and ids.
inline constexpr const char* kClusterPrincipalAssignmentType =
    "Microsoft.Kusto/Clusters/PrincipalAssignments";
inline constexpr const char* kDatabasePrincipalAssignmentType =
    "Microsoft.Kusto/Clusters/Databases/PrincipalAssignments";
inline constexpr const char* kPrincipalAssignmentSegment = "PrincipalAssignments";
// LroPolicyTable keys.
inline constexpr const char* kClusterPrincipalAssignmentPolicyType =
    "Microsoft.Kusto/clusters/principalAssignments";
inline constexpr const char* kDatabasePrincipalAssignmentPolicyType =
    "Microsoft.Kusto/clusters/databases/principalAssignments";

// Called by register_kusto_routes with the clusters provider's write lock.
void register_principal_assignment_routes(http::Router& router, KustoProviderContext ctx,
                                          std::shared_ptr<std::mutex> write_mu);

// For the operation results of the provider.
bool principal_assignment_operation_returns_resource(const std::string& kind);
bool principal_assignment_operation_is_delete(const std::string& kind);
bool is_principal_assignment_type(const std::string& type);
// An assignment as the service shows it: name "<cluster>[/<db>]/<assignment>", no location,
// tags or etag.
nlohmann::json principal_assignment_json(const arm::TrackedResource& r);

// Removes the principal assignments directly under `parent` (a cluster or a database).
void remove_principal_assignments(arm::ResourceStore& store, const arm::ResourceId& parent);

// --- domain rules, exposed for tests ---

// The canonical spelling of a role for a cluster (`database` false) or database assignment;
// empty when the role is not one of them.
std::string canonical_principal_role(const std::string& role, bool database);

}  // namespace cmk::kusto
