#include "kusto/principal_assignments.h"

#include <algorithm>
#include <array>

#include "http/error_bodies.h"
#include "kusto/databases.h"
#include "kusto/followers.h"
#include "kusto/kusto_errors.h"

namespace cmk::kusto {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

constexpr const char* kClusterCreateKind = "ClusterPrincipalAssignmentCreateOrUpdate";
constexpr const char* kClusterDeleteKind = "ClusterPrincipalAssignmentDelete";
constexpr const char* kDatabaseCreateKind = "DatabasePrincipalAssignmentCreateOrUpdate";
constexpr const char* kDatabaseDeleteKind = "DatabasePrincipalAssignmentDelete";

constexpr std::array<const char*, 3> kClusterRoles = {"AllDatabasesAdmin", "AllDatabasesViewer",
                                                      "AllDatabasesMonitor"};
constexpr std::array<const char*, 6> kDatabaseRoles = {"Admin", "Ingestor",           "Monitor",
                                                       "User",  "UnrestrictedViewer", "Viewer"};
constexpr std::array<const char*, 3> kPrincipalTypes = {"App", "Group", "User"};

// The member of `allowed` equal to `value` ignoring case; empty when none is.
template <size_t N>
std::string canonical(const std::array<const char*, N>& allowed, const std::string& value) {
  for (const char* a : allowed)
    if (http::iequals(a, value)) return a;
  return {};
}

template <size_t N>
std::string joined(const std::array<const char*, N>& allowed) {
  std::string out;
  for (const char* a : allowed) out += (out.empty() ? "'" : ", '") + std::string(a) + "'";
  return out;
}

// "<cluster>/<db>/<assignment>": every name of the id, as the service names child resources.
std::string chained_name(const arm::ResourceId& id) {
  std::string out;
  for (const auto& [type, name] : id.types_and_names) out += (out.empty() ? "" : "/") + name;
  return out;
}

json render(const arm::TrackedResource& r) {
  json j = r.to_json();
  // Proxy resources of the service: no location, tags or etag in its bodies.
  j.erase("location");
  j.erase("tags");
  j.erase("etag");
  j["name"] = chained_name(r.id);
  return j;
}

// A database principal equals another when role, type and fqn (or, without fqn, name) agree.
bool same_principal(const json& a, const json& b) {
  if (!http::iequals(string_member(a, "role"), string_member(b, "role")) ||
      !http::iequals(string_member(a, "type"), string_member(b, "type")))
    return false;
  const std::string fa = string_member(a, "fqn"), fb = string_member(b, "fqn");
  if (!fa.empty() && !fb.empty()) return http::iequals(fa, fb);
  return http::iequals(string_member(a, "name"), string_member(b, "name"));
}

struct PrincipalAssignmentProvider {
  KustoProviderContext ctx;
  std::shared_ptr<std::mutex> write_mu;

  arm::ResourceStore& store() const { return *ctx.arm.resources; }

  std::optional<arm::TrackedResource> settled(const arm::ResourceId& id) const {
    ctx.arm.operations->settle_resource(id.key());
    return store().get(id);
  }

  bool busy(const arm::TrackedResource& r) const {
    const std::string state =
        string_member(r.body.value("properties", json::object()), "provisioningState");
    return ctx.arm.operations->has_running(r.id.key()) ||
           (!state.empty() && !is_terminal_state(state));
  }

  // The parent of the assignments a route addresses: the cluster, or its database when the
  // route has {db}. The error when either is missing.
  std::optional<Response> parent(const Request& req, const RouteParams& p,
                                 std::optional<arm::TrackedResource>& cluster,
                                 std::optional<arm::TrackedResource>& out) const {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name");
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, sub, rg))
      return *e;
    arm::ResourceId cid;
    cid.subscription = sub;
    cid.resource_group = rg;
    cid.provider = "Microsoft.Kusto";
    cid.types_and_names = {{"Clusters", cname}};
    cluster = settled(cid);
    if (!cluster) return parent_not_found(cname);
    if (p.get("db").empty()) {
      out = cluster;
      return std::nullopt;
    }
    arm::ResourceId did = cluster->id;
    did.types_and_names.emplace_back(kDatabaseSegment, p.get("db"));
    out = settled(did);
    if (!out) return parent_not_found(cname + "/" + p.get("db"));
    return std::nullopt;
  }

  static bool database_route(const RouteParams& p) { return !p.get("db").empty(); }

  arm::LroPolicy policy(bool database, const char* operation) const {
    return ctx.arm.lro_policies->get(
        database ? kDatabasePrincipalAssignmentPolicyType : kClusterPrincipalAssignmentPolicyType,
        operation);
  }

  Response not_found(const RouteParams& p) const {
    std::string path = "Microsoft.Kusto/clusters/" + p.get("name");
    if (database_route(p)) path += "/databases/" + p.get("db");
    path += "/principalAssignments/" + p.get("pa");
    return http::arm_error(404, "ResourceNotFound",
                           "The Resource '" + path + "' under resource group '" + p.get("rg") +
                               "' was not found. For more details please go to "
                               "https://aka.ms/ARMResourceNotFoundFix");
  }

  Response write(Request& req, const RouteParams& p) {
    const bool database = database_route(p);
    const std::string name = p.get("pa");
    if (!is_valid_database_name(name))
      return bad("InvalidResourceName",
                 "Principal assignment name '" + name +
                     "' is invalid: 1 to 260 letters, digits, spaces, '.', '-' or '_'.");
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    auto in_it = body.find("properties");
    if (in_it == body.end() || !in_it->is_object())
      return bad("InvalidRequestContent",
                 "'properties' is required: {principalId, role, principalType[, tenantId]}.");
    const json& in = *in_it;
    const std::string principal_id = string_member(in, "principalId");
    if (principal_id.empty())
      return bad("InvalidRequestContent", "'properties.principalId' is required.");
    const std::string role = canonical_principal_role(string_member(in, "role"), database);
    if (role.empty())
      return bad("InvalidRequestContent",
                 "'properties.role' " + in.value("role", json()).dump() + " is invalid: " +
                     (database ? joined(kDatabaseRoles) : joined(kClusterRoles)) + ".");
    const std::string type = canonical(kPrincipalTypes, string_member(in, "principalType"));
    if (type.empty())
      return bad("InvalidRequestContent", "'properties.principalType' " +
                                              in.value("principalType", json()).dump() +
                                              " is invalid: " + joined(kPrincipalTypes) + ".");
    if (in.contains("tenantId") && !in["tenantId"].is_null() && !in["tenantId"].is_string())
      return bad("InvalidRequestContent", "'properties.tenantId' must be a string.");

    std::lock_guard<std::mutex> lock(*write_mu);
    std::optional<arm::TrackedResource> cluster, owner;
    if (auto e = parent(req, p, cluster, owner)) return *e;
    arm::ResourceId id = owner->id;
    id.types_and_names.emplace_back(kPrincipalAssignmentSegment, name);
    auto existing = settled(id);
    if (existing && busy(*existing)) return request_conflict(existing->id);
    if (busy(*cluster)) return request_conflict(cluster->id);

    std::string tenant = string_member(in, "tenantId");
    if (tenant.empty())
      if (auto s = ctx.arm.subscriptions->find(id.subscription)) tenant = s->tenant_id;
    std::string tenant_name = tenant;
    if (auto t = ctx.arm.directory->find_tenant(http::to_lower(tenant)))
      tenant_name = t->display_name.empty() ? t->default_domain : t->display_name;
    std::string principal_name = principal_id, object_id = principal_id;
    if (type == "App")
      if (auto sp = ctx.arm.directory->find_service_principal(http::to_lower(principal_id))) {
        principal_name = sp->display_name.empty() ? principal_id : sp->display_name;
        object_id = sp->object_id;
      }
    json props = {
        {"principalId", principal_id}, {"role", role},
        {"principalType", type},       {"tenantId", tenant},
        {"tenantName", tenant_name},   {"principalName", principal_name},
        {"aadObjectId", object_id},    {"provisioningState", existing ? "Accepted" : "Creating"}};

    arm::TrackedResource r = existing ? *existing : arm::TrackedResource{};
    r.id = existing ? existing->id : id;
    r.type = database ? kDatabasePrincipalAssignmentType : kClusterPrincipalAssignmentType;
    r.location = cluster->location;
    r.body = {{"properties", props}};
    const bool created = store().put(r, arm::caller_of(req));
    auto* resources = ctx.arm.resources;
    const arm::ResourceId rid = r.id;
    const std::string op = ctx.arm.operations->start(
        rid.key(), database ? kDatabaseCreateKind : kClusterCreateKind, cluster->location,
        policy(database, "write"), [resources, rid]() -> std::optional<arm::OperationError> {
          resources->update(rid, "", [](arm::TrackedResource& a) {
            a.body["properties"]["provisioningState"] = "Succeeded";
            return true;
          });
          return std::nullopt;
        });
    auto now = store().get(rid);
    Response res = arm::arm_json(created ? 201 : 200, render(now ? *now : r));
    set_lro_headers(res, req, rid.subscription, cluster->location, op);
    return res;
  }

  Response get(Request& req, const RouteParams& p) {
    std::optional<arm::TrackedResource> cluster, owner;
    if (auto e = parent(req, p, cluster, owner)) return *e;
    arm::ResourceId id = owner->id;
    id.types_and_names.emplace_back(kPrincipalAssignmentSegment, p.get("pa"));
    auto a = settled(id);
    if (!a) return not_found(p);
    return arm::arm_json(200, render(*a));
  }

  Response list(Request& req, const RouteParams& p) {
    std::optional<arm::TrackedResource> cluster, owner;
    if (auto e = parent(req, p, cluster, owner)) return *e;
    const char* type =
        database_route(p) ? kDatabasePrincipalAssignmentType : kClusterPrincipalAssignmentType;
    json value = json::array();
    for (const auto& a : store().list(owner->id.subscription, owner->id.resource_group, type)) {
      auto parent_id = a.id.parent();
      if (!parent_id || !(*parent_id == owner->id)) continue;
      ctx.arm.operations->settle_resource(a.id.key());
      if (auto now = store().get(a.id)) value.push_back(render(*now));
    }
    // ClusterPrincipalAssignmentListResult has no nextLink: one page.
    return arm::arm_json(200, {{"value", value}});
  }

  Response remove(Request& req, const RouteParams& p) {
    const bool database = database_route(p);
    std::lock_guard<std::mutex> lock(*write_mu);
    std::optional<arm::TrackedResource> cluster, owner;
    if (auto e = parent(req, p, cluster, owner)) return *e;
    arm::ResourceId id = owner->id;
    id.types_and_names.emplace_back(kPrincipalAssignmentSegment, p.get("pa"));
    auto a = settled(id);
    if (!a) return no_content();
    if (busy(*a)) return request_conflict(a->id);
    store().update(a->id, arm::caller_of(req), [](arm::TrackedResource& x) {
      x.body["properties"]["provisioningState"] = "Deleting";
      return true;
    });
    auto* resources = ctx.arm.resources;
    const arm::ResourceId rid = a->id;
    const std::string op = ctx.arm.operations->start(
        rid.key(), database ? kDatabaseDeleteKind : kClusterDeleteKind, cluster->location,
        policy(database, "delete"), [resources, rid]() -> std::optional<arm::OperationError> {
          resources->remove(rid);
          return std::nullopt;
        });
    Response res;
    res.status = 202;
    set_lro_headers(res, req, rid.subscription, cluster->location, op);
    return res;
  }

  Response check_name(Request& req, const RouteParams& p) {
    const bool database = database_route(p);
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    const char* expected = database ? "Microsoft.Kusto/clusters/databases/principalAssignments"
                                    : "Microsoft.Kusto/clusters/principalAssignments";
    if (!body.contains("name") || !body["name"].is_string())
      return bad("InvalidRequestContent", "'name' is required.");
    if (!http::iequals(string_member(body, "type"), expected))
      return bad("InvalidRequestContent", "'type' must be '" + std::string(expected) + "'.");
    std::optional<arm::TrackedResource> cluster, owner;
    if (auto e = parent(req, p, cluster, owner)) return *e;
    const std::string name = body["name"].get<std::string>();
    json out = {{"name", name}, {"nameAvailable", true}};
    arm::ResourceId id = owner->id;
    id.types_and_names.emplace_back(kPrincipalAssignmentSegment, name);
    if (!is_valid_database_name(name)) {
      out["nameAvailable"] = false;
      out["reason"] = "Invalid";
      out["message"] =
          "Name '" + name + "' is invalid: 1 to 260 letters, digits, spaces, '.', '-' or '_'.";
    } else if (store().get(id)) {
      out["nameAvailable"] = false;
      out["reason"] = "AlreadyExists";
      out["message"] = "Name '" + name + "' is already taken. Please specify a different name";
    }
    return arm::arm_json(200, out);
  }

  // --- database principals ---

  // The body's principals, checked; the error response otherwise.
  std::optional<Response> read_principals(const Request& req, json& out) const {
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    auto v = body.find("value");
    if (v == body.end() || v->is_null()) {
      out = json::array();
      return std::nullopt;
    }
    if (!v->is_array()) return bad("InvalidRequestContent", "'value' must be an array.");
    out = json::array();
    for (const auto& item : *v) {
      if (!item.is_object())
        return bad("InvalidRequestContent", "Each principal must be an object.");
      const std::string role = canonical(kDatabaseRoles, string_member(item, "role"));
      if (role.empty())
        return bad("InvalidRequestContent", "The principal role " +
                                                item.value("role", json()).dump() +
                                                " is invalid: " + joined(kDatabaseRoles) + ".");
      const std::string type = canonical(kPrincipalTypes, string_member(item, "type"));
      if (type.empty())
        return bad("InvalidRequestContent", "The principal type " +
                                                item.value("type", json()).dump() +
                                                " is invalid: " + joined(kPrincipalTypes) + ".");
      if (string_member(item, "name").empty())
        return bad("InvalidRequestContent", "'name' is required for each principal.");
      json principal = {{"role", role}, {"name", item["name"]}, {"type", type}};
      for (const char* k : {"fqn", "email", "appId"})
        if (item.contains(k) && item[k].is_string()) principal[k] = item[k];
      out.push_back(principal);
    }
    return std::nullopt;
  }

  // listPrincipals (`mode` 0), addPrincipals (1), removePrincipals (2).
  Response principals(Request& req, const RouteParams& p, int mode) {
    json given = json::array();
    if (mode != 0)
      if (auto e = read_principals(req, given)) return *e;
    std::unique_lock<std::mutex> lock(*write_mu, std::defer_lock);
    if (mode != 0) lock.lock();
    std::optional<arm::TrackedResource> cluster, db;
    if (auto e = parent(req, p, cluster, db)) return *e;
    json current = db->body.value("principals", json::array());
    if (mode != 0) {
      for (const auto& g : given) {
        auto match = std::find_if(current.begin(), current.end(),
                                  [&](const json& c) { return same_principal(c, g); });
        if (mode == 1 && match == current.end()) current.push_back(g);
        if (mode == 2 && match != current.end()) current.erase(match);
      }
      store().update(db->id, arm::caller_of(req), [&](arm::TrackedResource& d) {
        d.body["principals"] = current;
        return true;
      });
    }
    return arm::arm_json(200, {{"value", current}});
  }
};

}  // namespace

std::string canonical_principal_role(const std::string& role, bool database) {
  return database ? canonical(kDatabaseRoles, role) : canonical(kClusterRoles, role);
}

bool principal_assignment_operation_returns_resource(const std::string& kind) {
  return kind == kClusterCreateKind || kind == kDatabaseCreateKind;
}

bool principal_assignment_operation_is_delete(const std::string& kind) {
  return kind == kClusterDeleteKind || kind == kDatabaseDeleteKind;
}

bool is_principal_assignment_type(const std::string& type) {
  return http::iequals(type, kClusterPrincipalAssignmentType) ||
         http::iequals(type, kDatabasePrincipalAssignmentType);
}

json principal_assignment_json(const arm::TrackedResource& r) {
  return render(r);
}

void remove_principal_assignments(arm::ResourceStore& store, const arm::ResourceId& parent) {
  for (const char* type : {kClusterPrincipalAssignmentType, kDatabasePrincipalAssignmentType})
    for (const auto& a : store.list(parent.subscription, parent.resource_group, type))
      if (auto p = a.id.parent(); p && *p == parent) store.remove(a.id);
}

void register_principal_assignment_routes(http::Router& router, KustoProviderContext ctx,
                                          std::shared_ptr<std::mutex> write_mu) {
  auto pp = std::make_shared<PrincipalAssignmentProvider>();
  pp->ctx = ctx;
  pp->write_mu = std::move(write_mu);
  const std::string c =
      "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Kusto/clusters/{name}";
  const std::string d = c + "/databases/{db}";
  using P = const RouteParams;
  for (const std::string& owner : {c, d}) {
    const std::string pa = owner + "/principalAssignments";
    router.add("GET", pa, [pp](Request& r, P& p) { return pp->list(r, p); });
    router.add("GET", pa + "/{pa}", [pp](Request& r, P& p) { return pp->get(r, p); });
    router.add("PUT", pa + "/{pa}", [pp](Request& r, P& p) { return pp->write(r, p); });
    router.add("DELETE", pa + "/{pa}", [pp](Request& r, P& p) { return pp->remove(r, p); });
    router.add("POST", owner + "/checkPrincipalAssignmentNameAvailability",
               [pp](Request& r, P& p) { return pp->check_name(r, p); });
  }
  router.add("POST", d + "/listPrincipals",
             [pp](Request& r, P& p) { return pp->principals(r, p, 0); });
  router.add("POST", d + "/addPrincipals",
             [pp](Request& r, P& p) { return pp->principals(r, p, 1); });
  router.add("POST", d + "/removePrincipals",
             [pp](Request& r, P& p) { return pp->principals(r, p, 2); });
}

}  // namespace cmk::kusto
