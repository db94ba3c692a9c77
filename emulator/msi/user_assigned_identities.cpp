#include "msi/user_assigned_identities.h"

#include <cctype>

#include "arm/catalog.h"
#include "http/error_bodies.h"

namespace cmk::msi {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

bool is_valid_identity_name(const std::string& name) {
  if (name.size() < 3 || name.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
  return true;
}

void create_user_assigned_identity(arm::ResourceStore& resources, entra::Directory& directory,
                                   arm::TrackedResource r, entra::ManagedIdentity mi,
                                   const std::string& by) {
  mi.kind = entra::IdentityKind::UserAssigned;
  r.type = kUserAssignedIdentityType;
  r.body = {{"properties",
             {{"tenantId", mi.tenant_id},
              {"principalId", mi.principal_id},
              {"clientId", mi.client_id},
              {"isolationScope", "None"}}}};
  directory.put_managed_identity(std::move(mi));
  resources.put(std::move(r), by);
}

namespace {

constexpr const char* kBase =
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities";

// An identity as Microsoft.ManagedIdentity answers it: no etag and no systemData (az's
// recordings and the REST examples of every api-version).
json render(const arm::TrackedResource& r) {
  json j = r.to_json();
  j.erase("etag");
  j.erase("systemData");
  return j;
}

Response not_found(const RouteParams& p) {
  return http::arm_error(404, "ResourceNotFound",
                         "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/" +
                             p.get("name") + "' under resource group '" + p.get("rg") +
                             "' was not found. For more details please go to "
                             "https://aka.ms/ARMResourceNotFoundFix");
}

}  // namespace

void register_user_assigned_identity_routes(http::Router& router, IdentityProviderContext ctx) {
  const std::string one = std::string(kBase) + "/{name}";

  router.add("GET", one, [ctx](Request& req, const RouteParams& p) {
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    auto id = arm::ResourceId::parse(req.path);
    auto r = id ? ctx.resources->get(*id) : std::nullopt;
    if (!r) return not_found(p);
    return arm::arm_json(200, render(*r));
  });

  auto write = [ctx](Request& req, const RouteParams& p, bool patch) -> Response {
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    if (!is_valid_identity_name(p.get("name")))
      return http::arm_error(400, "InvalidResourceName",
                             "Resource name '" + p.get("name") +
                                 "' is invalid. The name can be 3-128 characters: letters, "
                                 "digits, '-' and '_', starting with a letter or digit.");
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    auto id = *arm::ResourceId::parse(req.path);
    auto existing = ctx.resources->get(id);
    if (patch && !existing) return not_found(p);

    arm::TrackedResource r = existing ? *existing : arm::TrackedResource{};
    r.id = id;
    r.type = kUserAssignedIdentityType;
    if (auto e = arm::read_location_and_tags(body, patch, existing.has_value(), r)) return *e;
    if (!existing) {
      // principalId and clientId are minted once and never change (read-only in every body).
      const auto sub = ctx.arm.subscriptions->find(p.get("sub"));
      entra::ManagedIdentity mi;
      mi.resource_id = id.str();
      mi.principal_id = ctx.ids->guid();
      mi.client_id = ctx.ids->guid();
      mi.tenant_id = sub->tenant_id;
      create_user_assigned_identity(*ctx.resources, *ctx.arm.directory, r, mi, arm::caller_of(req));
      return arm::arm_json(201, render(*ctx.resources->get(id)));
    }
    const bool created = ctx.resources->put(r, arm::caller_of(req));
    return arm::arm_json(created ? 201 : 200, render(*ctx.resources->get(id)));
  };
  router.add("PUT", one,
             [write](Request& req, const RouteParams& p) { return write(req, p, false); });
  router.add("PATCH", one,
             [write](Request& req, const RouteParams& p) { return write(req, p, true); });

  router.add("DELETE", one, [ctx](Request& req, const RouteParams& p) {
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    auto id = *arm::ResourceId::parse(req.path);
    Response r;
    r.status = 204;
    if (!ctx.resources->remove(id)) return r;
    ctx.arm.directory->remove_managed_identity(id.str());
    r.status = 200;
    return r;
  });

  auto list = [ctx](Request& req, const RouteParams& p) {
    const std::string rg = p.get("rg");
    if (auto e = rg.empty()
                     ? arm::check_subscription_access(req, *ctx.arm.subscriptions, p.get("sub"))
                     : arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups,
                                               p.get("sub"), rg))
      return *e;
    std::vector<json> items;
    for (const auto& r : ctx.resources->list(p.get("sub"), rg, kUserAssignedIdentityType))
      items.push_back(render(r));
    return arm::arm_json(200, arm::list_page(req, items));
  };
  // `az identity list-resources`: the resources that use the identity. The emulator's resources
  // name identities only in Kusto clusters, which are listed by their own provider; an identity
  // answers its (empty) list in the service's shape, or 404 when it does not exist.
  router.add("POST", one + "/listAssociatedResources", [ctx](Request& req, const RouteParams& p) {
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    auto id = arm::ResourceId::parse(req.path.substr(0, req.path.rfind('/')));
    if (!id || !ctx.resources->get(*id)) return not_found(p);
    return arm::arm_json(200, {{"totalCount", 0}, {"value", json::array()}});
  });
  router.add("GET", kBase, list);
  router.add("GET",
             "/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
             list);
}

}  // namespace cmk::msi
