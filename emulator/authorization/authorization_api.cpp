#include "authorization/authorization_api.h"

#include <re2/re2.h>

#include "entra/directory.h"
#include "http/error_bodies.h"

namespace cmk::authorization {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

constexpr const char* kProvider = "/providers/Microsoft.Authorization";

// The scope of a request: its path up to "/providers/Microsoft.Authorization".
std::string scope_of(const Request& req) {
  const std::string lower = http::to_lower(req.path);
  const size_t at = lower.rfind("/providers/microsoft.authorization/");
  std::string scope = at == std::string::npos ? req.path : req.path.substr(0, at);
  return scope.empty() ? "/" : scope;
}

std::optional<Response> check_scope(const Request& req, const arm::ArmContext& arm,
                                    const RouteParams& p) {
  if (p.get("sub").empty()) return arm::require_api_version(req);
  if (p.get("rg").empty())
    return arm::check_subscription_access(req, *arm.subscriptions, p.get("sub"));
  return arm::check_group_access(req, *arm.subscriptions, *arm.groups, p.get("sub"), p.get("rg"));
}

// "principalId eq 'x'" or "assignedTo('x')" -> x. (RE2: $filter is the client's text.)
std::optional<std::string> principal_filter(const std::string& filter) {
  static const re2::RE2 eq(R"((?i)principalId\s+eq\s+'([^']*)')");
  static const re2::RE2 to(R"((?i)assignedTo\('([^']*)'\))");
  std::string principal;
  if (re2::RE2::PartialMatch(filter, eq, &principal) ||
      re2::RE2::PartialMatch(filter, to, &principal))
    return principal;
  return std::nullopt;
}

}  // namespace

void register_authorization_routes(http::Router& router, arm::ArmContext arm,
                                   RoleAssignmentStore& store) {
  const std::vector<std::string> scopes = {
      "/subscriptions/{sub}",
      "/subscriptions/{sub}/resourceGroups/{rg}",
      "/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}",
      "/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}/{child_type}/{child}",
  };
  RoleAssignmentStore* s = &store;

  auto one_assignment = [arm, s](Request& req, const RouteParams& p) -> Response {
    if (auto e = check_scope(req, arm, p)) return *e;
    const std::string scope = scope_of(req);
    const std::string name = p.get("assignment");
    if (req.method == "GET") {
      auto a = s->get(scope, name);
      if (!a)
        return http::arm_error(404, "RoleAssignmentNotFound",
                               "The role assignment '" + name + "' is not found.");
      return arm::arm_json(200, a->to_json());
    }
    if (req.method == "DELETE") {
      auto a = s->remove(scope, name);
      if (!a) {
        Response r;
        r.status = 204;
        return r;
      }
      return arm::arm_json(200, a->to_json());
    }
    if (!entra::is_guid(name))
      return http::arm_error(400, "InvalidRoleAssignmentId",
                             "The role assignment ID '" + name +
                                 "' is not valid. The role assignment ID must be a GUID.");
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    const json props = body.value("properties", json::object());
    const std::string role = props.is_object() ? props.value("roleDefinitionId", "") : "";
    const std::string principal = props.is_object() ? props.value("principalId", "") : "";
    if (!find_role_definition(role))
      return http::arm_error(400, "RoleDefinitionDoesNotExist",
                             "The specified role definition with ID '" + role +
                                 "' does not exist. cmk-emulator knows the Key Vault built-in "
                                 "roles only.");
    if (!entra::is_guid(principal))
      return http::arm_error(400, "InvalidPrincipalId",
                             "A valid principal ID must be provided for role assignment.");
    RoleAssignment a;
    a.name = name;
    a.scope = scope;
    a.role_definition_id = role;
    a.principal_id = principal;
    a.principal_type = props.value("principalType", "ServicePrincipal");
    a.created_by = req.principal ? req.principal->object_id : "";
    switch (s->put(a)) {
      case RoleAssignmentStore::PutOutcome::Created:
        return arm::arm_json(201, s->get(scope, name)->to_json());
      case RoleAssignmentStore::PutOutcome::Unchanged:
        return arm::arm_json(200, s->get(scope, name)->to_json());
      case RoleAssignmentStore::PutOutcome::Exists:
        return http::arm_error(409, "RoleAssignmentExists", "The role assignment already exists.");
      case RoleAssignmentStore::PutOutcome::Conflict:
        break;
    }
    return http::arm_error(409, "RoleAssignmentUpdateNotPermitted",
                           "Tenant ID, application ID, principal ID, and scope are not allowed "
                           "to be updated.");
  };

  auto list_assignments = [arm, s](Request& req, const RouteParams& p) -> Response {
    if (auto e = check_scope(req, arm, p)) return *e;
    const std::string filter = req.query_param("$filter").value_or("");
    const bool at_scope = http::to_lower(filter).find("atscope()") != std::string::npos;
    std::vector<json> items;
    for (const auto& a : s->list(scope_of(req), at_scope, principal_filter(filter)))
      items.push_back(a.to_json());
    return arm::arm_json(200, {{"value", items}});
  };

  auto definitions = [arm](Request& req, const RouteParams& p) -> Response {
    if (auto e = check_scope(req, arm, p)) return *e;
    const std::string scope = scope_of(req);
    if (!p.get("role").empty()) {
      const RoleDefinition* r = find_role_definition(p.get("role"));
      if (!r)
        return http::arm_error(404, "RoleDefinitionDoesNotExist",
                               "The role definition '" + p.get("role") + "' could not be found.");
      return arm::arm_json(200, r->to_json(scope));
    }
    static const re2::RE2 by_name(R"((?i)roleName\s+eq\s+'([^']*)')");
    std::string name;
    const std::string filter = req.query_param("$filter").value_or("");
    const bool named = re2::RE2::PartialMatch(filter, by_name, &name);
    json value = json::array();
    for (const auto& r : builtin_role_definitions())
      if (!named || http::iequals(r.role_name, name)) value.push_back(r.to_json(scope));
    return arm::arm_json(200, {{"value", value}});
  };

  for (const auto& scope : scopes) {
    const std::string base = scope + kProvider;
    for (const char* method : {"PUT", "GET", "DELETE"})
      router.add(method, base + "/roleAssignments/{assignment}", one_assignment);
    router.add("GET", base + "/roleAssignments", list_assignments);
    router.add("GET", base + "/roleDefinitions", definitions);
    router.add("GET", base + "/roleDefinitions/{role}", definitions);
  }
  router.add("GET", std::string(kProvider) + "/roleDefinitions", definitions);
  router.add("GET", std::string(kProvider) + "/roleDefinitions/{role}", definitions);
}

}  // namespace cmk::authorization
