#include "kusto/clusters.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "arm/catalog.h"
#include "http/error_bodies.h"
#include "kusto/databases.h"
#include "kusto/followers.h"
#include "kusto/kusto_errors.h"
#include "kusto/principal_assignments.h"
#include "state/clock.h"

namespace cmk::kusto {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

constexpr const char* kCreateKind = "ClusterCreateExternal";
constexpr const char* kAlterKind = "ServiceConfigurationAlter";
constexpr const char* kDeleteKind = "ClusterDelete";
constexpr const char* kStartKind = "ClusterStart";
constexpr const char* kStopKind = "ClusterStop";
constexpr const char* kUamiType = "Microsoft.ManagedIdentity/userAssignedIdentities";

// Properties the service computes: ignored in PUT/PATCH bodies (az resource update sends the
// whole resource back, read-only fields included).
const std::vector<std::string>& read_only_properties() {
  static const std::vector<std::string> v = {"state",
                                             "provisioningState",
                                             "uri",
                                             "dataIngestionUri",
                                             "stateReason",
                                             "privateEndpointConnections",
                                             "migrationCluster",
                                             "zoneStatus"};
  return v;
}

// Settable only when the cluster is created: a replace keeps the stored value, a PATCH that
// tries to change one is refused.
const std::vector<std::string>& create_only_properties() {
  static const std::vector<std::string> v = {"enableDoubleEncryption",
                                             "virtualClusterGraduationProperties"};
  return v;
}

json default_properties() {
  return {{"trustedExternalTenants", json::array({{{"value", "*"}}})},
          {"enableDiskEncryption", false},
          {"enableStreamingIngest", false},
          {"enablePurge", false},
          {"enableDoubleEncryption", false},
          {"publicNetworkAccess", "Enabled"},
          {"engineType", "V3"},
          {"enableAutoStop", true},
          {"restrictOutboundNetworkAccess", "Disabled"},
          {"publicIPType", "IPv4"},
          {"allowedIpRangeList", json::array()},
          {"allowedFqdnList", json::array()},
          {"acceptedAudiences", json::array()},
          {"languageExtensions", {{"value", json::array()}}},
          {"privateEndpointConnections", json::array()},
          {"zoneStatus", "NonZonal"}};
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The start of stateReason while a cluster is suspended for its key; resumption clears only that.
constexpr const char* kKeySuspension = "Suspended: the customer-managed key cannot be used. ";

// The id as the service spells it (`Clusters`), whatever casing the request used.
arm::ResourceId cluster_id(const std::string& sub, const std::string& rg, const std::string& name) {
  arm::ResourceId id;
  id.subscription = sub;
  id.resource_group = rg;
  id.provider = "Microsoft.Kusto";
  id.types_and_names = {{"Clusters", name}};
  return id;
}

std::string api_version(const Request& req) {
  return req.query_param("api-version").value_or("");
}

// Api-versions before 2022-07-07 spell the list of allowed FQDNs `allowedFQDNList` (2022-02-01
// and earlier; `allowedFqdnList` since). SDK deserialisers are case-sensitive, so each
// api-version is answered in its own spelling; the store keeps the current one.
bool uses_upper_fqdn_spelling(const std::string& api_version) {
  return !api_version.empty() && api_version < "2022-07-07";
}

json cluster_json_for(const arm::TrackedResource& r, const std::string& api_version) {
  json j = r.to_json();
  if (uses_upper_fqdn_spelling(api_version))
    if (auto p = j.find("properties"); p != j.end() && p->is_object())
      if (auto f = p->find("allowedFqdnList"); f != p->end()) {
        (*p)["allowedFQDNList"] = *f;
        p->erase("allowedFqdnList");
      }
  return j;
}

Response cluster_response(int status, const arm::TrackedResource& r, const Request& req) {
  Response res = arm::arm_json(status, cluster_json_for(r, api_version(req)));
  res.set_header("ETag", r.etag);
  return res;
}

// The service's words for a cluster name held by another cluster, anywhere (Kusto calls a
// cluster an "Engine" here).
std::string name_taken_message(const std::string& name) {
  return "Name '" + name + "' with type Engine is already taken. Please specify a different name";
}

std::string operation_url(const Request& req, const std::string& sub, const std::string& location,
                          const std::string& op) {
  return req.base_url() + "/subscriptions/" + sub + "/providers/Microsoft.Kusto/locations/" +
         location + "/operationResults/" + op +
         "?api-version=" + http::percent_encode(api_version(req));
}

}  // namespace

void set_lro_headers(Response& res, const Request& req, const std::string& sub,
                     const std::string& location, const std::string& op) {
  const std::string url = operation_url(req, sub, location, op);
  res.set_header("Azure-AsyncOperation", url);
  res.set_header("Location", url + "&operationResultResponseType=Location");
  res.set_header("Retry-After", "1");
}

Response request_conflict(const arm::ResourceId& id) {
  return http::arm_error(409, "RequestConflict",
                         "Cannot modify resource with id '" + id.str() +
                             "' because the resource entity provisioning state is not terminal. "
                             "Please wait for the provisioning state to become terminal and then "
                             "retry the request.");
}

namespace {

// If-Match / If-None-Match. `existing` is the stored cluster, if any.
std::optional<Response> check_preconditions(const Request& req,
                                            const std::optional<arm::TrackedResource>& existing) {
  if (auto m = req.header("If-Match")) {
    if (!existing)
      return http::arm_error(412, "PreconditionFailed",
                             "The resource does not exist, but the If-Match header was specified.");
    if (*m != "*" && *m != existing->etag && "\"" + *m + "\"" != existing->etag)
      return http::arm_error(412, "PreconditionFailed",
                             "The specified If-Match value '" + *m +
                                 "' does not match the current entity tag of the resource.");
  }
  if (auto m = req.header("If-None-Match"); m && existing && (*m == "*" || *m == existing->etag))
    return http::arm_error(
        412, "PreconditionFailed",
        "The resource already exists and the If-None-Match header was specified.");
  return std::nullopt;
}

// --- sku ---

std::optional<Response> apply_sku(const json& sku, json& out, bool patch) {
  if (!sku.is_object()) return bad("InvalidRequestContent", "'sku' must be an object.");
  json merged = patch && out.is_object() ? out : json::object();
  for (const auto& [k, v] : sku.items()) merged[k] = v;
  auto name = merged.find("name");
  if (name == merged.end() || !name->is_string() || name->get<std::string>().empty())
    return bad("InvalidRequestContent", "'sku.name' is required.");
  auto tier = merged.find("tier");
  if (tier == merged.end() || !tier->is_string())
    return bad("InvalidRequestContent", "'sku.tier' is required: 'Basic' or 'Standard'.");
  std::string t = http::to_lower(tier->get<std::string>());
  if (t != "basic" && t != "standard")
    return bad("InvalidRequestContent", "The sku tier '" + tier->get<std::string>() +
                                            "' is invalid: 'Basic' or 'Standard'.");
  merged["tier"] = t == "basic" ? "Basic" : "Standard";
  // Basic is exactly the Dev(No SLA) family.
  const bool dev = name->get<std::string>().rfind("Dev(No SLA)", 0) == 0;
  if (dev != (t == "basic"))
    return bad("InvalidRequestContent",
               "The sku '" + name->get<std::string>() + "' does not belong to tier '" +
                   merged["tier"].get<std::string>() + "' (Basic is the Dev(No SLA) family).");
  auto cap = merged.find("capacity");
  if (cap == merged.end() || cap->is_null()) {
    merged["capacity"] = t == "basic" ? 1 : 2;
  } else if (!cap->is_number_integer() || cap->get<long long>() < 1 ||
             cap->get<long long>() > 1000) {
    return bad("InvalidRequestContent", "'sku.capacity' must be an integer from 1 to 1000.");
  }
  out = merged;
  return std::nullopt;
}

}  // namespace

bool is_valid_cluster_name(const std::string& name) {
  if (name.size() < 4 || name.size() > 22) return false;
  // Recorded traffic creates "kustoCluster": letters of either case (the DNS name is lower-case).
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name)
    if (!(std::isalpha(c) || std::isdigit(c))) return false;
  return true;
}

std::optional<std::string> normalize_identity_type(const std::string& type) {
  std::string t;
  for (unsigned char c : type)
    if (!std::isspace(c)) t += static_cast<char>(std::tolower(c));
  if (t == "none") return "None";
  if (t == "systemassigned") return "SystemAssigned";
  if (t == "userassigned") return "UserAssigned";
  if (t == "systemassigned,userassigned" || t == "userassigned,systemassigned")
    return "SystemAssigned, UserAssigned";
  return std::nullopt;
}

const json& sdk_patch_defaults() {
  // The SDK's model defaults are the service's own defaults for these nine properties.
  static const json d = [] {
    const json all = default_properties();
    json picked = json::object();
    for (const char* k : {"enableDiskEncryption", "enableStreamingIngest", "enablePurge",
                          "enableDoubleEncryption", "publicNetworkAccess", "engineType",
                          "enableAutoStop", "restrictOutboundNetworkAccess", "publicIPType"})
      picked[k] = all.at(k);
    return picked;
  }();
  return d;
}

bool is_cluster_type(const std::string& type) {
  return http::iequals(type, kClusterType);
}

void release_cluster(entra::Directory& directory, const arm::TrackedResource& cluster,
                     ClusterKeys* keys) {
  if (auto mi = directory.find_managed_identity_by_resource_id(cluster.id.str());
      mi && mi->kind == entra::IdentityKind::SystemAssigned)
    directory.remove_managed_identity(cluster.id.str());
  if (keys) keys->drop_cluster(cluster.id.key());
}

namespace {

// --- identity ---

// What a write asks of the identity directory once the request is accepted.
struct IdentityPlan {
  json identity;                 // the resource's new `identity` (null: none at all)
  bool system_assigned = false;  // the cluster must have a system identity
  // Fixtures only: the system identity's ids instead of minted ones.
  std::string fixed_principal_id;
  std::string fixed_client_id;
};

// Resolves `requested` (the body's identity) against `current` (stored, maybe null). PATCH
// merges userAssignedIdentities (a null value removes one); PUT replaces.
std::optional<Response> plan_identity(const KustoProviderContext& ctx, const json& requested,
                                      const json& current, bool patch, IdentityPlan& plan) {
  if (!requested.is_object()) return bad("InvalidIdentity", "'identity' must be an object.");
  auto type_it = requested.find("type");
  if (type_it == requested.end() || !type_it->is_string())
    return bad("InvalidIdentity", "'identity.type' is required.");
  auto type = normalize_identity_type(type_it->get<std::string>());
  if (!type)
    return bad("InvalidIdentity",
               "The identity type '" + type_it->get<std::string>() +
                   "' is invalid. Allowed: 'None', 'SystemAssigned', 'UserAssigned', "
                   "'SystemAssigned, UserAssigned'.");
  if (*type == "None") {
    plan.identity = {{"type", "None"}};
    return std::nullopt;
  }
  const bool system = type->find("SystemAssigned") != std::string::npos;
  const bool user = type->find("UserAssigned") != std::string::npos;

  json uamis = json::object();
  if (patch && current.is_object())
    if (auto c = current.find("userAssignedIdentities"); c != current.end() && c->is_object())
      for (const auto& [k, v] : c->items()) uamis[k] = v;
  if (auto u = requested.find("userAssignedIdentities"); u != requested.end() && !u->is_null()) {
    if (!u->is_object())
      return bad("InvalidIdentity", "'identity.userAssignedIdentities' must be an object.");
    for (const auto& [k, v] : u->items()) {
      // Keys are ids, compared case-insensitively: drop an existing spelling of the same id.
      for (auto it = uamis.begin(); it != uamis.end();)
        it = http::iequals(it.key(), k) ? uamis.erase(it) : std::next(it);
      if (!v.is_null()) uamis[k] = json::object();
    }
  }
  if (!user && !uamis.empty()) {
    // Switching away from UserAssigned drops the map the client did not restate.
    if (requested.contains("userAssignedIdentities") &&
        !requested["userAssignedIdentities"].is_null() &&
        !requested["userAssignedIdentities"].empty())
      return bad("InvalidIdentity",
                 "The identity type '" + *type +
                     "' does not allow 'userAssignedIdentities'; use 'UserAssigned' or "
                     "'SystemAssigned, UserAssigned'.");
    uamis = json::object();
  }
  if (user && uamis.empty())
    return bad("InvalidIdentity", "The identity type '" + *type +
                                      "' requires at least one entry in "
                                      "'userAssignedIdentities'.");
  json filled = json::object();
  for (const auto& [k, v] : uamis.items()) {
    auto id = arm::ResourceId::parse(k);
    if (!id || !http::iequals(id->type(), kUamiType))
      return bad("InvalidIdentity", "'" + k +
                                        "' is not the resource id of a "
                                        "Microsoft.ManagedIdentity/userAssignedIdentities "
                                        "resource.");
    auto r = ctx.arm.resources->get(*id);
    if (!r)
      return bad("FailedIdentityOperation",
                 "Identity operation for resource '" + k +
                     "' failed with error 'Failed to perform resource identity operation. "
                     "Status: 'NotFound'. Response: 'The user-assigned identity '" +
                     k + "' does not exist.''.");
    const json p = r->body.value("properties", json::object());
    filled[k] = {{"principalId", p.value("principalId", "")},
                 {"clientId", p.value("clientId", "")}};
  }
  plan.identity = {{"type", *type}, {"userAssignedIdentities", filled}};
  plan.system_assigned = system;
  return std::nullopt;
}

// Makes the directory agree with the plan and fills principalId/tenantId. The system identity
// keeps its principal id for the life of the cluster while it stays enabled.
void apply_identity(const KustoProviderContext& ctx, const arm::ResourceId& id,
                    const std::string& tenant, IdentityPlan& plan) {
  const std::string rid = id.str();
  auto existing = ctx.arm.directory->find_managed_identity_by_resource_id(rid);
  if (!plan.system_assigned) {
    if (existing && existing->kind == entra::IdentityKind::SystemAssigned)
      ctx.arm.directory->remove_managed_identity(rid);
    return;
  }
  entra::ManagedIdentity mi;
  if (existing && existing->kind == entra::IdentityKind::SystemAssigned) {
    mi = *existing;
  } else {
    mi.resource_id = rid;
    mi.principal_id = ctx.ids->guid();
    mi.client_id = ctx.ids->guid();
    if (!plan.fixed_principal_id.empty()) mi.principal_id = plan.fixed_principal_id;
    if (!plan.fixed_client_id.empty()) mi.client_id = plan.fixed_client_id;
    mi.tenant_id = tenant;
    mi.kind = entra::IdentityKind::SystemAssigned;
    ctx.arm.directory->put_managed_identity(mi);
  }
  plan.identity["principalId"] = mi.principal_id;
  plan.identity["tenantId"] = mi.tenant_id;
}

// --- properties ---

// Merges body `properties` into `props`. `replace`: PUT (start from defaults, keep create-only
// values of an existing cluster). PATCH merges key by key; `existing` says whether a cluster
// already exists (create-only keys may then not change).
std::optional<Response> merge_properties(const json& in, json& props, bool patch, bool existing) {
  if (!in.is_object()) return bad("InvalidRequestContent", "'properties' must be an object.");
  // Debian's Python SDK sends the nine model defaults on every PATCH. When a
  // body carries all nine, the ones still at their default are the SDK's, not the caller's:
  // applying them would reset e.g. streaming ingestion whenever a key is rotated. A caller of
  // that SDK who wants one of them back at its default uses PUT.
  bool sdk_fingerprint = patch;
  for (const auto& [k, v] : sdk_patch_defaults().items())
    if (!in.contains(k)) sdk_fingerprint = false;
  for (const auto& [key, v] : in.items()) {
    // Either spelling of the FQDN list is read (api-versions before 2022-07-07 send the upper).
    const std::string k = key == "allowedFQDNList" ? std::string("allowedFqdnList") : key;
    if (contains(read_only_properties(), k)) continue;
    if (sdk_fingerprint && sdk_patch_defaults().contains(k) && sdk_patch_defaults()[k] == v)
      continue;
    if (existing && contains(create_only_properties(), k)) {
      if (props.contains(k) && props[k] == v) continue;
      if (!patch) continue;  // a replace keeps what the cluster was created with
      return bad("InvalidRequestContent",
                 "The property '" + k + "' can only be set when the cluster is created.");
    }
    if (k == "keyVaultProperties") {
      // {} (or null) switches back to Microsoft-managed keys: the response then omits it.
      if (v.is_null() || (v.is_object() && v.empty())) {
        props.erase(k);
        continue;
      }
      if (!v.is_object())
        return bad("InvalidRequestContent", "'keyVaultProperties' must be an object.");
      for (const char* f :
           {"keyVaultUri", "keyName", "keyVersion", "userIdentity", "federatedIdentityClientId"})
        if (v.contains(f) && !v[f].is_null() && !v[f].is_string())
          return bad("InvalidRequestContent",
                     std::string("'keyVaultProperties.") + f + "' must be a string.");
      props[k] = v;  // echoed as given (CMK preconditions: see the completion hook below)
      continue;
    }
    if (v.is_null()) {
      props.erase(k);
      continue;
    }
    props[k] = v;
  }
  return std::nullopt;
}

// A write's resource before it is accepted: built from the body and the stored cluster.
struct ClusterDraft {
  arm::TrackedResource r;  // id and type set by the caller; the rest filled by shape_cluster
  IdentityPlan plan;
  bool identity_given = false;
  json props;
  json previous_key;  // the stored keyVaultProperties (null: none)
};

// Everything a write checks before it is accepted (location, tags, sku, zones, identity,
// properties, the customer-managed key's shape), without side effects. Shared by PUT/PATCH and
// by build_cluster (fixtures).
std::optional<Response> shape_cluster(const KustoProviderContext& ctx, const json& body, bool patch,
                                      const std::optional<arm::TrackedResource>& existing,
                                      ClusterDraft& d) {
  arm::TrackedResource& r = d.r;
  json& b = r.body;
  IdentityPlan& plan = d.plan;
  // location: required on create, a known region, immutable; tags: PUT replaces, PATCH keeps.
  if (auto e = arm::read_location_and_tags(body, patch, existing.has_value(), r)) return *e;

  if (auto sku = body.find("sku"); sku != body.end() && !sku->is_null()) {
    json out = b.value("sku", json::object());
    if (auto e = apply_sku(*sku, out, patch)) return *e;
    b["sku"] = out;
  } else if (!patch) {
    return bad("InvalidRequestContent", "'sku' is required: {name, tier[, capacity]}.");
  }

  if (auto zones = body.find("zones"); zones != body.end() && !zones->is_null()) {
    if (!zones->is_array()) return bad("InvalidRequestContent", "'zones' must be an array.");
    if (!existing) b["zones"] = *zones;  // zones are chosen at creation
  }

  bool& identity_given = d.identity_given;
  if (auto ident = body.find("identity"); ident != body.end() && !ident->is_null()) {
    if (auto e = plan_identity(ctx, *ident, b.value("identity", json()), patch, plan)) return *e;
    identity_given = true;
  } else if (!patch) {
    plan.identity = {{"type", "None"}};  // PUT replaces: no identity given = none
    identity_given = true;
  }

  json& props = d.props;
  props = existing ? b["properties"] : default_properties();
  if (!patch && existing) {
    // Replace: start over from the defaults, keeping create-only values and the computed ones.
    json fresh = default_properties();
    for (const auto& k : create_only_properties())
      if (props.contains(k)) fresh[k] = props[k];
    for (const auto& k : read_only_properties())
      if (props.contains(k)) fresh[k] = props[k];
    props = fresh;
  }
  if (auto in = body.find("properties"); in != body.end() && !in->is_null())
    if (auto e = merge_properties(*in, props, patch, existing.has_value())) return *e;
  // Customer-managed key: what can be checked without the vault fails the request now.
  auto kv = read_key_vault_properties(props);
  if (!kv) return bad(kv.error().code, kv.error().message);
  if (kv.value()) {
    const json identity_after = identity_given ? plan.identity : b.value("identity", json());
    if (auto e = check_key_identity(*kv.value(), identity_after)) return bad(e->code, e->message);
    if (existing && is_leader_or_follower(*ctx.arm.resources, *ctx.arm.subscriptions, r.id))
      return bad(kCmkLeaderFollowerCode,
                 "Customer-managed keys are not supported on leader or follower clusters: "
                 "detach the follower databases first.");
  }
  d.previous_key =
      existing
          ? existing->body.value("properties", json::object()).value("keyVaultProperties", json())
          : json();
  return std::nullopt;
}

// "code: message" of an ARM error response built by the helpers above.
arm::OperationError error_of(const Response& res) {
  const json e = json::parse(res.body, nullptr, false);
  if (e.is_object() && e.contains("error") && e["error"].is_object())
    return {e["error"].value("code", "Error"), e["error"].value("message", res.body)};
  return {"Error", res.body};
}

// --- the provider ---

struct Provider {
  KustoProviderContext ctx;
  // Serialises check-then-write of clusters (409/412 checks and the write they guard).
  // Completions never take it, so settling under it is safe.
  std::mutex write_mu;

  arm::LroPolicy policy(const char* operation) const {
    return ctx.arm.lro_policies->get(kClusterPolicyType, operation);
  }

  bool name_taken(const std::string& name) const {
    return !ctx.arm.resources->find_named(kClusterType, name).empty();
  }

  std::optional<arm::TrackedResource> settled(const arm::ResourceId& id) const {
    ctx.arm.operations->settle_resource(id.key());
    refresh_key(id);
    return ctx.arm.resources->get(id);
  }

  // Completion of a create or ServiceConfigurationAlter: the customer-managed key, when set, is
  // checked and used through Key Vault (cluster_keys.h); a failure fails the operation, leaves
  // provisioningState Failed and puts the previous keyVaultProperties back.
  arm::Completion configured(arm::ResourceId id, std::string state, json previous_key) const {
    auto* resources = ctx.arm.resources;
    ClusterKeys* keys = ctx.keys;
    return [resources, keys, id, state, previous_key]() -> std::optional<arm::OperationError> {
      std::optional<arm::OperationError> failure;
      if (keys)
        if (auto stored = resources->get(id)) failure = keys->activate(*stored);
      resources->update(id, "", [&](arm::TrackedResource& r) {
        json& props = r.body["properties"];
        props["provisioningState"] = failure ? "Failed" : "Succeeded";
        props["state"] = state;
        if (failure) restore_key(props, previous_key);
        return true;
      });
      return failure;
    };
  }

  // An injected failure or cancellation (faults/) ends the operation without its completion; the
  // key settings the request wrote are put back as a real failure does (the engine's fault hook
  // has set provisioningState and state).
  arm::Rollback unconfigured(arm::ResourceId id, json previous_key) const {
    auto* resources = ctx.arm.resources;
    return [resources, id, previous_key] {
      resources->update(id, "", [&](arm::TrackedResource& r) {
        if (!r.body.contains("properties") || !r.body["properties"].is_object()) return false;
        restore_key(r.body["properties"], previous_key);
        return true;
      });
    };
  }

  static void restore_key(json& props, const json& previous_key) {
    if (previous_key.is_null())
      props.erase("keyVaultProperties");
    else
      props["keyVaultProperties"] = previous_key;
  }

  // Key refresh on the virtual clock (cluster_keys.h): suspends a cluster whose key cannot be
  // used (state Unavailable, stateReason) and resumes it once the key works again.
  void refresh_key(const arm::ResourceId& id) const {
    if (!ctx.keys) return;
    auto cluster = ctx.arm.resources->get(id);
    if (!cluster) return;
    auto health = ctx.keys->refresh_if_due(*cluster);
    if (!health) return;
    ctx.arm.resources->update(id, "", [&](arm::TrackedResource& r) {
      json& props = r.body["properties"];
      const std::string state = props.value("state", "Running");
      const bool suspended_by_key =
          state == "Unavailable" && props.value("stateReason", "").rfind(kKeySuspension, 0) == 0;
      if (!health->usable && state == "Running") {
        props["state"] = "Unavailable";
        props["stateReason"] = kKeySuspension + health->reason;
        return true;
      }
      if (health->usable && suspended_by_key) {
        props["state"] = "Running";
        props.erase("stateReason");
        return true;
      }
      return false;
    });
  }

  bool busy(const arm::TrackedResource& r) const {
    if (ctx.arm.operations->has_running(r.id.key())) return true;
    return !is_terminal_state(
        r.body.value("properties", json::object()).value("provisioningState", "Succeeded"));
  }

  // Moves the cluster to its terminal state when an operation completes.
  arm::Completion finish(arm::ResourceId id, std::string state) const {
    auto* resources = ctx.arm.resources;
    return [resources, id, state]() -> std::optional<arm::OperationError> {
      resources->update(id, "", [&](arm::TrackedResource& r) {
        r.body["properties"]["provisioningState"] = "Succeeded";
        r.body["properties"]["state"] = state;
        return true;
      });
      return std::nullopt;
    };
  }

  Response write(Request& req, const RouteParams& p, bool patch) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), name = p.get("name");
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, sub, rg))
      return *e;
    if (!is_valid_cluster_name(name))
      return bad("InvalidResourceName",
                 "Cluster name '" + name +
                     "' is invalid: it must be 4 to 22 characters, letters and digits, "
                     "starting with a letter.");
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    const arm::ResourceId id = cluster_id(sub, rg, name);

    std::lock_guard<std::mutex> lock(write_mu);
    auto existing = settled(id);
    if (auto e = check_preconditions(req, existing)) return *e;
    if (patch && !existing) return cluster_not_found(rg, name);
    if (existing && busy(*existing)) return request_conflict(id);
    if (!existing && name_taken(name))  // names are global: a cluster's URI is a DNS name
      return bad("InvalidClusterName", name_taken_message(name));

    ClusterDraft draft;
    draft.r = existing ? *existing : arm::TrackedResource{};
    draft.r.id = existing ? existing->id : id;
    draft.r.type = kClusterType;
    if (auto e = shape_cluster(ctx, body, patch, existing, draft)) return *e;
    arm::TrackedResource& r = draft.r;
    json& b = r.body;
    IdentityPlan& plan = draft.plan;
    const bool identity_given = draft.identity_given;
    json& props = draft.props;
    const json previous_key = draft.previous_key;

    // Accepted: from here on nothing fails, so side effects may begin.
    if (identity_given) {
      const auto subscription = ctx.arm.subscriptions->find(sub);
      apply_identity(ctx, r.id, subscription ? subscription->tenant_id : std::string(), plan);
      if (plan.identity["type"] == "None")
        b.erase("identity");
      else
        b["identity"] = plan.identity;
    }
    const std::string previous_state = existing ? props.value("state", "Running") : "Running";
    props["uri"] = "https://" + http::to_lower(name) + "." + r.location + ".kusto.windows.net";
    props["dataIngestionUri"] =
        "https://ingest-" + http::to_lower(name) + "." + r.location + ".kusto.windows.net";
    // Recorded traffic: a replace or update is first answered provisioningState Accepted.
    props["provisioningState"] = existing ? "Accepted" : "Creating";
    props["state"] = existing ? "Updating" : "Creating";
    b["properties"] = props;

    const bool created = ctx.arm.resources->put(r, arm::caller_of(req));
    std::string op;
    if (created) {
      op = ctx.arm.operations->start(r.id.key(), kCreateKind, r.location, policy("write"),
                                     configured(r.id, "Running", previous_key),
                                     unconfigured(r.id, previous_key));
    } else {
      // A stopped cluster that is reconfigured stays stopped.
      const std::string settle_to = previous_state == "Stopped" ? "Stopped" : "Running";
      op = ctx.arm.operations->start(r.id.key(), kAlterKind, r.location, policy("write"),
                                     configured(r.id, settle_to, previous_key),
                                     unconfigured(r.id, previous_key));
    }
    auto now = ctx.arm.resources->get(r.id);
    Response res = cluster_response(created ? 201 : 200, now ? *now : r, req);
    set_lro_headers(res, req, sub, r.location, op);
    return res;
  }

  Response get(Request& req, const RouteParams& p) {
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    const arm::ResourceId id = cluster_id(p.get("sub"), p.get("rg"), p.get("name"));
    ctx.arm.operations->settle_resource(id.key());
    refresh_key(id);
    if (uses_upper_fqdn_spelling(api_version(req))) {
      auto r = ctx.arm.resources->get(id);
      if (!r) return cluster_not_found(p.get("rg"), p.get("name"));
      return cluster_response(200, *r, req);
    }
    auto rendered = ctx.arm.resources->get_rendered(id);  // the hot path: no JSON work per GET
    if (!rendered) return cluster_not_found(p.get("rg"), p.get("name"));
    Response res;
    res.set_json(200, *rendered->json);
    res.set_header("ETag", rendered->etag);
    return res;
  }

  Response remove(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), name = p.get("name");
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, sub, rg))
      return *e;
    const arm::ResourceId id = cluster_id(sub, rg, name);
    std::lock_guard<std::mutex> lock(write_mu);
    auto existing = settled(id);
    if (!existing) {
      Response res;
      res.status = 204;
      return res;
    }
    if (auto e = check_preconditions(req, existing)) return *e;
    if (busy(*existing)) return request_conflict(id);
    // adxdocs follower limitations: "You can't delete a cluster that has a database attached to
    // a different cluster before detaching it." A follower may go: its attachments go with it.
    if (is_leader(*ctx.arm.resources, *ctx.arm.subscriptions, existing->id))
      return bad(
          "CannotDeleteLeaderCluster",
          "Cluster '" + existing->id.name() +
              "' has databases attached to a different cluster. Detach the follower "
              "databases (listFollowerDatabases, detachFollowerDatabases) before deleting it.");
    ctx.arm.resources->update(id, arm::caller_of(req), [](arm::TrackedResource& c) {
      c.body["properties"]["provisioningState"] = "Deleting";
      c.body["properties"]["state"] = "Deleting";
      return true;
    });
    auto* resources = ctx.arm.resources;
    auto* directory = ctx.arm.directory;
    ClusterKeys* keys = ctx.keys;
    const std::string op = ctx.arm.operations->start(
        id.key(), kDeleteKind, existing->location, policy("delete"),
        [resources, directory, keys, id]() -> std::optional<arm::OperationError> {
          if (auto c = resources->get(id)) release_cluster(*directory, *c, keys);
          remove_cluster_children(*resources, id);
          resources->remove(id);
          return std::nullopt;
        });
    Response res;
    res.status = 202;
    set_lro_headers(res, req, sub, existing->location, op);
    return res;
  }

  // POST {C}/addLanguageExtensions and {C}/removeLanguageExtensions: 202 and a
  // ServiceConfigurationAlter operation (as recorded for `az kusto cluster add-language-extension`)
  // that changes properties.languageExtensions.value when it completes; an extension is named by
  // languageExtensionName (PYTHON, R), compared without case.
  Response change_language_extensions(Request& req, const RouteParams& p, bool add) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), name = p.get("name");
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, sub, rg))
      return *e;
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    auto given = body.find("value");
    if (given == body.end() || !given->is_array())
      return bad("InvalidRequestContent",
                 "'value' is required: a list of {languageExtensionName, "
                 "languageExtensionImageName}.");
    for (const auto& x : *given)
      if (!x.is_object() || !x.contains("languageExtensionName") ||
          !x["languageExtensionName"].is_string())
        return bad("InvalidRequestContent",
                   "Each language extension needs a 'languageExtensionName' (PYTHON or R).");
    const arm::ResourceId id = cluster_id(sub, rg, name);
    std::lock_guard<std::mutex> lock(write_mu);
    auto existing = settled(id);
    if (!existing) return cluster_not_found(rg, name);
    if (busy(*existing)) return request_conflict(id);
    const json requested = *given;
    ctx.arm.resources->update(id, arm::caller_of(req), [](arm::TrackedResource& c) {
      c.body["properties"]["provisioningState"] = "Accepted";
      return true;
    });
    auto* resources = ctx.arm.resources;
    const std::string state = existing->body["properties"].value("state", "Running");
    const std::string op = ctx.arm.operations->start(
        id.key(), kAlterKind, existing->location, policy("action"),
        [resources, id, requested, add, state]() -> std::optional<arm::OperationError> {
          resources->update(id, "", [&](arm::TrackedResource& c) {
            json& props = c.body["properties"];
            json list =
                props.value("languageExtensions", json::object()).value("value", json::array());
            for (const auto& x : requested) {
              const std::string n = x["languageExtensionName"].get<std::string>();
              for (auto it = list.begin(); it != list.end();)
                it = it->is_object() && http::iequals(it->value("languageExtensionName", ""), n)
                         ? list.erase(it)
                         : std::next(it);
              if (add) list.push_back(x);
            }
            props["languageExtensions"] = {{"value", list}};
            props["provisioningState"] = "Succeeded";
            props["state"] = state;
            return true;
          });
          return std::nullopt;
        });
    Response res;
    res.status = 202;
    set_lro_headers(res, req, sub, existing->location, op);
    return res;
  }

  Response list_language_extensions(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), name = p.get("name");
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, sub, rg))
      return *e;
    auto existing = settled(cluster_id(sub, rg, name));
    if (!existing) return cluster_not_found(rg, name);
    const json& props = existing->body["properties"];
    return arm::arm_json(
        200, {{"value",
               props.value("languageExtensions", json::object()).value("value", json::array())}});
  }

  Response start_stop(Request& req, const RouteParams& p, bool start) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), name = p.get("name");
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, sub, rg))
      return *e;
    const arm::ResourceId id = cluster_id(sub, rg, name);
    std::lock_guard<std::mutex> lock(write_mu);
    auto existing = settled(id);
    if (!existing) return cluster_not_found(rg, name);
    if (busy(*existing)) return request_conflict(id);
    // adxdocs: a cluster that has attached follower or leader databases cannot be stopped.
    if (!start && is_leader_or_follower(*ctx.arm.resources, *ctx.arm.subscriptions, existing->id))
      return bad("CannotStopLeaderOrFollowerCluster",
                 "Cluster '" + existing->id.name() +
                     "' has attached follower or leader databases and cannot be stopped. Detach "
                     "them first.");
    ctx.arm.resources->update(id, arm::caller_of(req), [start](arm::TrackedResource& c) {
      c.body["properties"]["state"] = start ? "Starting" : "Stopping";
      return true;
    });
    const std::string op =
        ctx.arm.operations->start(id.key(), start ? kStartKind : kStopKind, existing->location,
                                  policy("action"), finish(id, start ? "Running" : "Stopped"));
    Response res;
    res.status = 202;
    set_lro_headers(res, req, sub, existing->location, op);
    return res;
  }

  Response list(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg");
    if (auto e = rg.empty() ? arm::check_subscription_access(req, *ctx.arm.subscriptions, sub)
                            : arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups,
                                                      sub, rg))
      return *e;
    // Listing shows progress too: settle the clusters with a running operation, then read.
    for (const auto& r : ctx.arm.resources->list(sub, rg, kClusterType)) {
      if (ctx.arm.operations->has_running(r.id.key()))
        ctx.arm.operations->settle_resource(r.id.key());
      refresh_key(r.id);
    }
    std::vector<json> items;
    for (const auto& r : ctx.arm.resources->list(sub, rg, kClusterType))
      items.push_back(cluster_json_for(r, api_version(req)));
    return arm::arm_json(200, arm::list_page(req, items));
  }

  Response operation_result(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub");
    if (auto e = arm::check_subscription_access(req, *ctx.arm.subscriptions, sub)) return *e;
    const std::string op_id = p.get("op");
    auto op = ctx.arm.operations->poll(op_id);
    // Only this subscription's Kusto operations answer here.
    const std::string prefix = http::to_lower("/subscriptions/" + sub + "/resourcegroups/");
    if (!op || op->resource_key.rfind(prefix, 0) != 0 ||
        op->resource_key.find("/providers/microsoft.kusto/") == std::string::npos)
      return http::arm_error(404, "ResourceNotFound",
                             "The operation '" + op_id + "' was not found.");
    const auto location_form = req.query_param("operationResultResponseType");
    if (location_form && http::iequals(*location_form, "Location")) {
      if (op->status == arm::OperationStatus::Running) {
        Response res;
        res.status = 202;
        set_lro_headers(res, req, sub, op->location, op->id);
        return res;
      }
      if (op->status != arm::OperationStatus::Succeeded) {
        const auto err = op->error.value_or(arm::OperationError{"Failed", "The operation failed."});
        return http::arm_error(400, err.code, err.message);
      }
      // Done: what the synchronous call would have returned.
      if (op->kind == kCreateKind || op->kind == kAlterKind ||
          child_operation_returns_resource(op->kind) ||
          principal_assignment_operation_returns_resource(op->kind)) {
        auto id = arm::ResourceId::parse(op->resource_key);
        auto r = id ? ctx.arm.resources->get(*id) : std::nullopt;
        if (r && is_cluster_type(r->type)) return cluster_response(200, *r, req);
        if (r && is_principal_assignment_type(r->type))
          return arm::arm_json(200, principal_assignment_json(*r));
        if (r)
          return arm::arm_json(200,
                               child_resource_json(*ctx.arm.resources, *ctx.arm.subscriptions, *r));
        return http::arm_error(404, "ResourceNotFound", "The resource no longer exists.");
      }
      Response res;
      res.status = op->kind == kDeleteKind || child_operation_is_delete(op->kind) ||
                           principal_assignment_operation_is_delete(op->kind)
                       ? 204
                       : 200;
      return res;
    }
    const bool running = op->status == arm::OperationStatus::Running;
    const char* op_state = running                                         ? "InProgress"
                           : op->status == arm::OperationStatus::Succeeded ? "Completed"
                           : op->status == arm::OperationStatus::Failed    ? "Failed"
                                                                           : "Canceled";
    json j = {{"id", "/subscriptions/" + sub + "/providers/Microsoft.Kusto/locations/" +
                         op->location + "/operationresults/" + op->id},
              {"name", op->id},
              {"status", arm::operation_status_name(op->status)},
              {"startTime", to_iso8601(op->started_at)},
              // The service sends endTime while running too.
              {"endTime", to_iso8601(op->ended_at.value_or(op->started_at))},
              {"percentComplete", running ? 0.5 : 1.0},
              {"properties",
               {{"operationKind", op->kind},
                {"provisioningState", arm::operation_status_name(op->status)},
                {"operationState", op_state}}}};
    if (op->error) j["error"] = {{"code", op->error->code}, {"message", op->error->message}};
    Response res = arm::arm_json(200, j);
    if (running) res.set_header("Retry-After", "1");
    return res;
  }
};

// --- SKUs ---

struct SkuInfo {
  const char* name;
  const char* tier;
};
const std::vector<SkuInfo>& skus() {
  static const std::vector<SkuInfo> v = {
      {"Dev(No SLA)_Standard_E2a_v4", "Basic"}, {"Dev(No SLA)_Standard_D11_v2", "Basic"},
      {"Standard_E2ads_v5", "Standard"},        {"Standard_E4ads_v5", "Standard"},
      {"Standard_E8ads_v5", "Standard"},        {"Standard_E16ads_v5", "Standard"},
      {"Standard_D11_v2", "Standard"},          {"Standard_L8s_v3", "Standard"},
      {"Standard_L16s_v3", "Standard"}};
  return v;
}

// Recorded traffic (api-version 2025-02-14): the subscription's list has one entry per SKU and
// region, regions by name; a region's list carries only resourceType, name, tier and
// locationInfo.
json sku_description(const SkuInfo& s, const arm::Region& r, bool subscription_list) {
  json info = {{"location", r.name}, {"zones", json::array({"2", "3", "1"})}};
  if (!subscription_list)
    return {{"resourceType", "clusters"},
            {"name", s.name},
            {"tier", s.tier},
            {"locationInfo", json::array({info})}};
  info["zoneDetails"] = json::array();
  return {{"resourceType", "clusters"},
          {"name", s.name},
          {"tier", s.tier},
          {"locations", json::array({r.name})},
          {"locationInfo", json::array({info})},
          {"restrictions", json::array()}};
}

// GET /providers/Microsoft.Kusto/operations: the provider's operations, in the shape of recorded
// traffic (name, display {provider, resource, operation, description}, origin).
json provider_operations() {
  struct Op {
    const char* name;
    const char* resource;
    const char* operation;
    const char* description;
  };
  static const Op ops[] = {
      {"Microsoft.Kusto/register/action", "", "Register action",
       "Registers the subscription to the Kusto Resource Provider."},
      {"Microsoft.Kusto/Locations/CheckNameAvailability/action",
       "Check name availability resource type", "Check name availability action",
       "Checks resource name availability."},
      {"Microsoft.Kusto/Operations/read", "Operations resource type", "Read operations resources",
       "Reads operations resources"},
      {"Microsoft.Kusto/Clusters/read", "Clusters resource type", "Read cluster resource",
       "Reads a cluster resource."},
      {"Microsoft.Kusto/Clusters/write", "Clusters resource type", "Write cluster resource",
       "Writes a cluster resource."},
      {"Microsoft.Kusto/Clusters/delete", "Clusters resource type", "Delete cluster resource",
       "Deletes a cluster resource."},
      {"Microsoft.Kusto/Clusters/start/action", "Clusters resource type", "Cluster start action",
       "Starts the cluster."},
      {"Microsoft.Kusto/Clusters/stop/action", "Clusters resource type", "Cluster stop action",
       "Stops the cluster."},
      {"Microsoft.Kusto/Clusters/SKUs/read", "Cluster SKUs resource type",
       "Read cluster SKU resource", "Reads a cluster SKU resource."},
      {"Microsoft.Kusto/SKUs/read", "SKUs resource type", "Read SKU resource",
       "Reads a SKU resource."},
      {"Microsoft.Kusto/Clusters/Databases/read", "Databases resource type",
       "Read database resource", "Reads a database resource."},
      {"Microsoft.Kusto/Clusters/Databases/write", "Databases resource type",
       "Write database resource", "Writes a database resource."},
      {"Microsoft.Kusto/Clusters/Databases/delete", "Databases resource type",
       "Delete database resource", "Deletes a database resource."},
      {"Microsoft.Kusto/Clusters/PrincipalAssignments/read", "Cluster principal assignments",
       "Read cluster principal assignment", "Reads a cluster principal assignment."},
      {"Microsoft.Kusto/Clusters/PrincipalAssignments/write", "Cluster principal assignments",
       "Write cluster principal assignment", "Writes a cluster principal assignment."},
      {"Microsoft.Kusto/Clusters/PrincipalAssignments/delete", "Cluster principal assignments",
       "Delete cluster principal assignment", "Deletes a cluster principal assignment."},
  };
  json value = json::array();
  for (const auto& op : ops) {
    json display = {{"provider", "Microsoft.Kusto"},
                    {"operation", op.operation},
                    {"description", op.description}};
    if (*op.resource) display["resource"] = op.resource;
    value.push_back({{"name", op.name}, {"display", display}, {"origin", "user,system"}});
  }
  return {{"value", value}};
}

}  // namespace

void register_kusto_routes(http::Router& router, KustoProviderContext ctx) {
  auto provider = std::make_shared<Provider>();
  provider->ctx = ctx;
  const std::string base =
      "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Kusto/clusters";
  const std::string one = base + "/{name}";

  router.add("GET", one,
             [provider](Request& req, const RouteParams& p) { return provider->get(req, p); });
  router.add("PUT", one, [provider](Request& req, const RouteParams& p) {
    return provider->write(req, p, false);
  });
  router.add("PATCH", one, [provider](Request& req, const RouteParams& p) {
    return provider->write(req, p, true);
  });
  router.add("DELETE", one,
             [provider](Request& req, const RouteParams& p) { return provider->remove(req, p); });
  router.add("POST", one + "/start", [provider](Request& req, const RouteParams& p) {
    return provider->start_stop(req, p, true);
  });
  router.add("POST", one + "/stop", [provider](Request& req, const RouteParams& p) {
    return provider->start_stop(req, p, false);
  });
  router.add("POST", one + "/addLanguageExtensions",
             [provider](Request& req, const RouteParams& p) {
               return provider->change_language_extensions(req, p, true);
             });
  router.add("POST", one + "/removeLanguageExtensions",
             [provider](Request& req, const RouteParams& p) {
               return provider->change_language_extensions(req, p, false);
             });
  router.add("POST", one + "/listLanguageExtensions",
             [provider](Request& req, const RouteParams& p) {
               return provider->list_language_extensions(req, p);
             });
  router.add("GET", base,
             [provider](Request& req, const RouteParams& p) { return provider->list(req, p); });
  router.add("GET", "/subscriptions/{sub}/providers/Microsoft.Kusto/clusters",
             [provider](Request& req, const RouteParams& p) { return provider->list(req, p); });
  router.add("GET",
             "/subscriptions/{sub}/providers/Microsoft.Kusto/locations/{loc}/operationResults/{op}",
             [provider](Request& req, const RouteParams& p) {
               return provider->operation_result(req, p);
             });

  router.add(
      "POST",
      "/subscriptions/{sub}/providers/Microsoft.Kusto/locations/{loc}/checkNameAvailability",
      [ctx](Request& req, const RouteParams& p) {
        if (auto e = arm::check_subscription_access(req, *ctx.arm.subscriptions, p.get("sub")))
          return *e;
        json body;
        if (auto e = arm::parse_json_object(req, body)) return *e;
        if (!body.contains("name") || !body["name"].is_string())
          return bad("InvalidRequestContent", "'name' is required.");
        const std::string type = body.value("type", std::string("Microsoft.Kusto/clusters"));
        if (!http::iequals(type, "Microsoft.Kusto/clusters"))
          return bad("InvalidRequestContent",
                     "The type '" + type +
                         "' is not supported here; expected 'Microsoft.Kusto/clusters'.");
        const std::string name = body["name"].get<std::string>();
        json out = {{"name", name}, {"nameAvailable", true}};
        if (!is_valid_cluster_name(name)) {
          out["nameAvailable"] = false;
          out["reason"] = "Invalid";
          out["message"] = "Name '" + name +
                           "' is invalid: 4 to 22 characters, letters and digits, "
                           "starting with a letter.";
        } else if (!ctx.arm.resources->find_named(kClusterType, name).empty()) {
          out["nameAvailable"] = false;
          out["reason"] = "AlreadyExists";
          out["message"] = name_taken_message(name);
        }
        return arm::arm_json(200, out);
      });

  router.add("GET", "/providers/Microsoft.Kusto/operations", [](Request& req, const RouteParams&) {
    if (auto e = arm::require_api_version(req)) return *e;
    return arm::arm_json(200, provider_operations());
  });
  router.add(
      "GET", "/subscriptions/{sub}/providers/Microsoft.Kusto/skus",
      [ctx](Request& req, const RouteParams& p) {
        if (auto e = arm::check_subscription_access(req, *ctx.arm.subscriptions, p.get("sub")))
          return *e;
        json value = json::array();
        for (const auto& s : skus())
          for (const auto& r : arm::regions()) value.push_back(sku_description(s, r, true));
        return arm::arm_json(200, {{"value", value}});
      });
  router.add(
      "GET", "/subscriptions/{sub}/providers/Microsoft.Kusto/locations/{loc}/skus",
      [ctx](Request& req, const RouteParams& p) {
        if (auto e = arm::check_subscription_access(req, *ctx.arm.subscriptions, p.get("sub")))
          return *e;
        const arm::Region* region = arm::find_region(p.get("loc"));
        if (!region)
          return bad("LocationNotAvailableForResourceType",
                     "The provided location '" + p.get("loc") +
                         "' is not available for resource type 'Microsoft.Kusto/clusters'.");
        json value = json::array();
        for (const auto& s : skus()) value.push_back(sku_description(s, *region, false));
        return arm::arm_json(200, {{"value", value}});
      });
  // Databases, attached database configurations and the follower actions, under the same lock.
  register_database_routes(router, ctx, std::shared_ptr<std::mutex>(provider, &provider->write_mu));
  register_principal_assignment_routes(router, ctx,
                                       std::shared_ptr<std::mutex>(provider, &provider->write_mu));

  router.add("GET", one + "/skus", [provider](Request& req, const RouteParams& p) {
    const auto& ctx = provider->ctx;
    if (auto e = arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    if (!ctx.arm.resources->get(cluster_id(p.get("sub"), p.get("rg"), p.get("name"))))
      return cluster_not_found(p.get("rg"), p.get("name"));
    json value = json::array();
    for (const auto& s : skus()) {
      const bool basic = std::string(s.tier) == "Basic";
      value.push_back({{"resourceType", kClusterPolicyType},
                       {"sku", {{"name", s.name}, {"tier", s.tier}}},
                       {"capacity",
                        {{"scaleType", basic ? "none" : "automatic"},
                         {"minimum", basic ? 1 : 2},
                         {"maximum", basic ? 1 : 1000},
                         {"default", basic ? 1 : 2}}}});
    }
    return arm::arm_json(200, {{"value", value}});
  });
}

Outcome<arm::TrackedResource, arm::OperationError> build_cluster(const KustoProviderContext& ctx,
                                                                 const arm::ResourceId& id,
                                                                 const json& body,
                                                                 const std::string& state,
                                                                 const std::string& by) {
  if (!is_valid_cluster_name(id.name()))
    return arm::OperationError{"InvalidResourceName",
                               "Cluster name '" + id.name() +
                                   "' is invalid: it must be 4 to 22 characters, "
                                   "letters and digits, starting with a letter."};
  const arm::ResourceId canonical = cluster_id(id.subscription, id.resource_group, id.name());
  // Names are global; the same id is a replacement (a later fixture redefining the cluster).
  for (const auto& other : ctx.arm.resources->find_named(kClusterType, id.name()))
    if (!(other == canonical))
      return arm::OperationError{"InvalidClusterName", name_taken_message(id.name())};
  ClusterDraft d;
  d.r.id = canonical;
  d.r.type = kClusterType;
  if (auto e = shape_cluster(ctx, body, false, std::nullopt, d)) return error_of(*e);
  if (auto ident = body.find("identity"); ident != body.end() && ident->is_object()) {
    d.plan.fixed_principal_id = http::to_lower(ident->value("principalId", ""));
    d.plan.fixed_client_id = http::to_lower(ident->value("clientId", ""));
  }
  const auto subscription = ctx.arm.subscriptions->find(canonical.subscription);
  apply_identity(ctx, canonical, subscription ? subscription->tenant_id : std::string(), d.plan);
  if (d.plan.identity["type"] == "None")
    d.r.body.erase("identity");
  else
    d.r.body["identity"] = d.plan.identity;
  const std::string name = http::to_lower(canonical.name());
  d.props["uri"] = "https://" + name + "." + d.r.location + ".kusto.windows.net";
  d.props["dataIngestionUri"] =
      "https://ingest-" + name + "." + d.r.location + ".kusto.windows.net";
  d.props["provisioningState"] = "Succeeded";
  d.props["state"] = state;
  d.r.body["properties"] = d.props;
  ctx.arm.resources->put(d.r, by);
  return *ctx.arm.resources->get(canonical);
}

}  // namespace cmk::kusto
