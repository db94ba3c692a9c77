#include "kusto/databases.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "arm/catalog.h"
#include "http/error_bodies.h"
#include "kusto/followers.h"
#include "kusto/kusto_errors.h"
#include "kusto/principal_assignments.h"

namespace cmk::kusto {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

constexpr const char* kDatabaseCreateKind = "DatabaseCreate";
constexpr const char* kDatabaseAlterKind = "DatabaseAlter";
constexpr const char* kDatabaseDeleteKind = "DatabaseDelete";
// FollowerDatabaseCreate is the service's; the other three are emulator names.
constexpr const char* kAttachKind = "FollowerDatabaseCreate";
constexpr const char* kAttachUpdateKind = "FollowerDatabaseUpdate";
constexpr const char* kAttachDeleteKind = "FollowerDatabaseDelete";
constexpr const char* kDetachKind = "FollowerDatabaseDetach";

constexpr const char* kReadWrite = "ReadWrite";
constexpr const char* kReadOnlyFollowing = "ReadOnlyFollowing";
constexpr const char* kDatabasesCheckType = "Microsoft.Kusto/clusters/databases";
constexpr const char* kAttachmentsCheckType =
    "Microsoft.Kusto/clusters/attachedDatabaseConfigurations";

// Properties the service computes: ignored in PUT/PATCH bodies, whatever their value.
const std::vector<std::string>& read_only_database_properties() {
  static const std::vector<std::string> v = {
      "provisioningState", "statistics", "isFollowed", "suspensionDetails",
      // ReadOnlyFollowing's own
      "leaderClusterResourceId", "attachedDatabaseConfigurationName", "principalsModificationKind",
      "tableLevelSharingProperties", "originalDatabaseName", "databaseShareOrigin"};
  return v;
}

const std::vector<std::string>& sharing_lists() {
  static const std::vector<std::string> v = {"tablesToInclude",
                                             "tablesToExclude",
                                             "externalTablesToInclude",
                                             "externalTablesToExclude",
                                             "materializedViewsToInclude",
                                             "materializedViewsToExclude"};
  return v;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Response child_not_found(const std::string& rg, const std::string& cluster, const char* type,
                         const std::string& name) {
  return http::arm_error(404, "ResourceNotFound",
                         std::string("The Resource 'Microsoft.Kusto/clusters/") + cluster + "/" +
                             type + "/" + name + "' under resource group '" + rg +
                             "' was not found. For more details please go to "
                             "https://aka.ms/ARMResourceNotFoundFix");
}

const json& props(const arm::TrackedResource& r) {
  static const json empty = json::object();
  auto it = r.body.find("properties");
  return it != r.body.end() && it->is_object() ? *it : empty;
}

std::string provisioning_state(const arm::TrackedResource& r) {
  const std::string s = string_member(props(r), "provisioningState");
  return s.empty() ? "Succeeded" : s;
}

std::string kind_of(const arm::TrackedResource& db) {
  return db.body.value("kind", kReadWrite);
}

arm::ResourceId child_id(const arm::ResourceId& cluster, const char* segment,
                         const std::string& name) {
  arm::ResourceId id = cluster;
  id.types_and_names.emplace_back(segment, name);
  return id;
}

// A database of the follower whose name equals `name` (database names are case-insensitive).
std::optional<arm::TrackedResource> database_named(const arm::ResourceStore& store,
                                                   const arm::ResourceId& cluster,
                                                   const std::string& name) {
  return store.get(child_id(cluster, kDatabaseSegment, name));
}

// The follower's replica of leader database `original` through attachment `attachment`.
arm::TrackedResource make_replica(const arm::TrackedResource& follower,
                                  const arm::TrackedResource& attachment,
                                  const arm::TrackedResource& leader_db, const std::string& name) {
  const json& a = props(attachment);
  const json& l = props(leader_db);
  arm::TrackedResource r;
  r.id = child_id(follower.id, kDatabaseSegment, name);
  r.type = kDatabaseType;
  r.location = follower.location;
  json p = {{"provisioningState", "Succeeded"},
            {"statistics", {{"size", 0}}},
            {"leaderClusterResourceId", string_member(a, "clusterResourceId")},
            {"attachedDatabaseConfigurationName", attachment.id.name()},
            {"principalsModificationKind", string_member(a, "defaultPrincipalsModificationKind")},
            {"originalDatabaseName", leader_db.id.name()},
            {"databaseShareOrigin", "Direct"}};
  for (const char* period : {"softDeletePeriod", "hotCachePeriod"})
    if (!string_member(l, period).empty()) p[period] = string_member(l, period);
  if (auto s = a.find("tableLevelSharingProperties"); s != a.end())
    p["tableLevelSharingProperties"] = *s;
  r.body = {{"kind", kReadOnlyFollowing}, {"properties", p}};
  return r;
}

// Leader databases an attachment may follow: ReadWrite ones not on their way out.
bool followable(const arm::TrackedResource& db) {
  return kind_of(db) == kReadWrite && provisioning_state(db) != "Deleting";
}

// Adds the name to the attachment's attachedDatabaseNames.
void record_attached(arm::ResourceStore& store, const arm::ResourceId& attachment,
                     const std::string& name) {
  store.update(attachment, "", [&](arm::TrackedResource& a) {
    json& names = a.body["properties"]["attachedDatabaseNames"];
    if (!names.is_array()) names = json::array();
    for (const auto& n : names)
      if (n.is_string() && http::iequals(n.get<std::string>(), name)) return false;
    names.push_back(name);
    return true;
  });
}

// A new leader database joins every "*" attachment that follows its cluster (docs: "* follows all
// current and future databases"), unless the follower already uses the name.
void follow_new_database(arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
                         const arm::TrackedResource& db, const std::string& by) {
  for (const auto& a : attachments_following(store, subs, *db.id.parent())) {
    const json& p = props(a);
    const std::string state = provisioning_state(a);
    if (string_member(p, "databaseName") != "*" || state == "Failed" || state == "Deleting")
      continue;
    auto follower = store.get(*a.id.parent());
    if (!follower) continue;
    const std::string name = follower_database_name(p, db.id.name());
    if (!is_valid_database_name(name) || database_named(store, follower->id, name)) continue;
    store.put(make_replica(*follower, a, db, name), by);
    record_attached(store, a.id, name);
  }
}

// The replicas an attachment's creation makes: (leader database, replica name), or the error.
std::optional<arm::OperationError> plan_replicas(
    const arm::ResourceStore& store, const arm::TrackedResource& follower,
    const arm::TrackedResource& leader, const arm::TrackedResource& attachment,
    std::vector<std::pair<arm::TrackedResource, std::string>>& plan) {
  const json& p = props(attachment);
  const std::string followed = string_member(p, "databaseName");
  auto failure = [&](const std::string& why) {
    return arm::OperationError{"CannotAlterFollowerDatabase",
                               "[BadRequest] Cannot alter leader cluster '" + leader.id.name() +
                                   "' for resource name '" + attachment.id.name() + "'. " + why};
  };
  if (followed == "*") {
    for (const auto& db : databases_of(store, leader.id)) {
      if (!followable(db)) continue;
      const std::string name = follower_database_name(p, db.id.name());
      // The follower's own database of that name takes precedence (adxdocs follower notes).
      if (!is_valid_database_name(name) || database_named(store, follower.id, name)) continue;
      plan.emplace_back(db, name);
    }
    return std::nullopt;
  }
  auto db = database_named(store, leader.id, followed);
  if (!db || !followable(*db))
    return failure("Database '" + followed + "' does not exist on the leader cluster.");
  const std::string name = follower_database_name(p, db->id.name());
  if (database_named(store, follower.id, name))
    return failure("Database '" + name + "' already exists on cluster '" + follower.id.name() +
                   "'.");
  plan.emplace_back(*db, name);
  return std::nullopt;
}

// An ISO-8601 property of a database body: nullopt when fine (stored normalised into `out`).
std::optional<Response> read_period(const std::string& key, const json& v, json& out) {
  if (v.is_null()) {
    out.erase(key);
    return std::nullopt;
  }
  auto normal = v.is_string() ? normalize_duration(v.get<std::string>()) : std::nullopt;
  if (!normal)
    return bad("InvalidRequestContent", "'properties." + key +
                                            "' must be an ISO 8601 duration such as 'P365D' or "
                                            "'PT12H', not " +
                                            v.dump() + ".");
  out[key] = *normal;
  return std::nullopt;
}

// `followed`: the cluster's followed databases when the caller has them (a list), else computed.
json render(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
            const arm::TrackedResource& r, const std::set<std::string>* followed) {
  json j = r.to_json();
  // Proxy resources: no etag or tags in the service's bodies; the name carries the cluster's.
  j.erase("etag");
  j.erase("tags");
  j.erase("principals");  // the database principals (addPrincipals) are listed by listPrincipals
  if (auto parent = r.id.parent()) j["name"] = parent->name() + "/" + r.id.name();
  if (http::iequals(r.type, kDatabaseType) && kind_of(r) == kReadWrite)
    j["properties"]["isFollowed"] = followed ? followed->count(http::to_lower(r.id.name())) > 0
                                             : is_followed(store, subs, r.id);
  return j;
}

}  // namespace

// --- domain rules ---

bool is_valid_database_name(const std::string& name) {
  if (name.empty() || name.size() > 260) return false;
  bool visible = false;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-')
      visible = true;
    else if (c != ' ')
      return false;
  }
  // Kusto reserves identifiers that start or end with two underscores.
  if (name.rfind("__", 0) == 0 || (name.size() >= 2 && name.compare(name.size() - 2, 2, "__") == 0))
    return false;
  return visible;
}

std::optional<std::string> normalize_duration(std::string_view text) {
  constexpr int64_t kSecond = 10'000'000;  // .NET TimeSpan ticks, the service's unit
  constexpr int64_t kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;
  constexpr int64_t kMax = 100'000 * kDay;  // far beyond any retention; keeps the sums exact
  if (text.size() < 2 || std::toupper(static_cast<unsigned char>(text[0])) != 'P')
    return std::nullopt;
  int64_t total = 0;
  int last_rank = -1;
  bool in_time = false, any = false, time_part = false;
  for (size_t i = 1; i < text.size();) {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    if (c == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++i;
      continue;
    }
    int64_t whole = 0;
    size_t digits = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
      if (digits >= 12) return std::nullopt;
      whole = whole * 10 + (text[i] - '0');
    }
    std::string fraction;
    if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
      for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i)
        fraction.push_back(text[i]);
      if (fraction.empty() || fraction.size() > 7) return std::nullopt;
    }
    if (digits == 0 || i >= text.size()) return std::nullopt;
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i++])));
    int rank;
    int64_t per;
    if (!in_time && unit == 'Y')
      rank = 0, per = 365 * kDay;
    else if (!in_time && unit == 'M')
      rank = 1, per = 30 * kDay;
    else if (!in_time && unit == 'W')
      rank = 2, per = 7 * kDay;
    else if (!in_time && unit == 'D')
      rank = 3, per = kDay;
    else if (in_time && unit == 'H')
      rank = 4, per = kHour;
    else if (in_time && unit == 'M')
      rank = 5, per = kMinute;
    else if (in_time && unit == 'S')
      rank = 6, per = kSecond;
    else
      return std::nullopt;
    if (rank <= last_rank || (!fraction.empty() && unit != 'S')) return std::nullopt;
    last_rank = rank;
    if (whole > kMax / per) return std::nullopt;
    total += whole * per;
    if (!fraction.empty()) total += std::stoll((fraction + "000000").substr(0, 7));
    if (total > kMax) return std::nullopt;
    any = true;
    time_part = time_part || in_time;
  }
  if (!any || (in_time && !time_part)) return std::nullopt;

  const int64_t days = total / kDay;
  int64_t rest = total % kDay;
  std::string out = "P";
  if (days > 0 || rest == 0) out += std::to_string(days) + "D";
  if (rest > 0) {
    out += "T";
    if (rest >= kHour) out += std::to_string(rest / kHour) + "H";
    rest %= kHour;
    if (rest >= kMinute) out += std::to_string(rest / kMinute) + "M";
    rest %= kMinute;
    if (rest > 0) {
      out += std::to_string(rest / kSecond);
      if (int64_t ticks = rest % kSecond; ticks > 0) {
        std::string f = std::to_string(ticks);
        f = std::string(7 - f.size(), '0') + f;
        while (f.back() == '0') f.pop_back();
        out += "." + f;
      }
      out += "S";
    }
  }
  return out;
}

bool child_operation_returns_resource(const std::string& kind) {
  return kind == kDatabaseCreateKind || kind == kDatabaseAlterKind || kind == kAttachKind ||
         kind == kAttachUpdateKind;
}

bool child_operation_is_delete(const std::string& kind) {
  return kind == kDatabaseDeleteKind || kind == kAttachDeleteKind;
}

json child_resource_json(const arm::ResourceStore& store, const arm::SubscriptionRegistry& subs,
                         const arm::TrackedResource& r) {
  return render(store, subs, r, nullptr);
}

namespace {

struct DatabaseProvider {
  KustoProviderContext ctx;
  std::shared_ptr<std::mutex> write_mu;

  arm::ResourceStore& store() const { return *ctx.arm.resources; }
  const arm::SubscriptionRegistry& subs() const { return *ctx.arm.subscriptions; }

  arm::LroPolicy policy(const char* type, const char* operation) const {
    return ctx.arm.lro_policies->get(type, operation);
  }

  std::optional<arm::TrackedResource> settled(const arm::ResourceId& id) const {
    ctx.arm.operations->settle_resource(id.key());
    return store().get(id);
  }

  bool busy(const arm::TrackedResource& r) const {
    return ctx.arm.operations->has_running(r.id.key()) || !is_terminal_state(provisioning_state(r));
  }

  std::optional<arm::TrackedResource> cluster(const std::string& sub, const std::string& rg,
                                              const std::string& name) const {
    arm::ResourceId id;
    id.subscription = sub;
    id.resource_group = rg;
    id.provider = "Microsoft.Kusto";
    id.types_and_names = {{"Clusters", name}};
    return settled(id);
  }

  // Writes under a cluster need it settled and Running (`role` names it in the message).
  std::optional<Response> check_running(const arm::TrackedResource& c,
                                        const std::string& role) const {
    if (busy(c)) return request_conflict(c.id);
    const std::string state = string_member(props(c), "state");
    if (!state.empty() && state != "Running")
      return http::arm_error(409, "ClusterNotRunning",
                             "[Conflict] " + role + " '" + c.id.name() + "' is in state '" + state +
                                 "'. Start it and retry the request.");
    return std::nullopt;
  }

  std::optional<Response> check_location(const json& body, const arm::TrackedResource& c,
                                         const char* type, const std::string& name) const {
    auto loc = body.find("location");
    if (loc == body.end() || loc->is_null()) return std::nullopt;
    if (!loc->is_string() || !arm::find_region(loc->get<std::string>()))
      return bad("LocationNotAvailableForResourceType",
                 "The provided location '" +
                     (loc->is_string() ? loc->get<std::string>() : loc->dump()) +
                     "' is not available for resource type '" + type + "'.");
    if (arm::normalize_location(loc->get<std::string>()) != c.location)
      return bad("InvalidResourceLocation", "The resource '" + name +
                                                "' must be in the location of its cluster '" +
                                                c.id.name() + "' ('" + c.location + "'), not '" +
                                                loc->get<std::string>() + "'.");
    return std::nullopt;
  }

  Response lro_response(int status, const Request& req, const arm::ResourceId& id,
                        const std::string& location, const std::string& op, bool with_body) const {
    Response res;
    if (with_body) {
      auto now = store().get(id);
      res =
          arm::arm_json(status, now ? child_resource_json(store(), subs(), *now) : json::object());
    } else {
      res.status = status;
    }
    set_lro_headers(res, req, id.subscription, location, op);
    return res;
  }

  // Settles what a database read depends on: its own operation and, for a replica, its
  // attachment's (whose deletion removes it).
  void settle_database(const arm::ResourceId& cluster_id, const arm::ResourceId& db_id) const {
    ctx.arm.operations->settle_resource(db_id.key());
    if (auto db = store().get(db_id)) {
      const std::string attachment = string_member(props(*db), "attachedDatabaseConfigurationName");
      if (!attachment.empty())
        ctx.arm.operations->settle_resource(
            child_id(cluster_id, kAttachmentSegment, attachment).key());
    }
  }

  // --- databases ---

  Response write_database(Request& req, const RouteParams& p, bool patch) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name"),
                      dbname = p.get("db");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    if (!is_valid_database_name(dbname))
      return bad("InvalidResourceName",
                 "Database name '" + dbname +
                     "' is invalid: 1 to 260 letters, digits, spaces, '.', '-' or '_', not only "
                     "spaces, not starting or ending with '__'.");
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;

    std::lock_guard<std::mutex> lock(*write_mu);
    auto c = cluster(sub, rg, cname);
    if (!c) return parent_not_found(cname);
    const arm::ResourceId id = child_id(c->id, kDatabaseSegment, dbname);
    auto existing = settled(id);
    if (patch && !existing) return child_not_found(rg, cname, "databases", dbname);

    std::string kind = existing ? kind_of(*existing) : std::string();
    if (auto k = body.find("kind"); k != body.end() && !k->is_null()) {
      if (!k->is_string() || !(http::iequals(k->get<std::string>(), kReadWrite) ||
                               http::iequals(k->get<std::string>(), kReadOnlyFollowing)))
        return bad("InvalidRequestContent", "The database kind " + k->dump() +
                                                " is invalid: 'ReadWrite' or 'ReadOnlyFollowing'.");
      kind = http::iequals(k->get<std::string>(), kReadWrite) ? kReadWrite : kReadOnlyFollowing;
    } else if (!existing) {
      // Recorded traffic (api-version 2022-12-29): a PUT without kind creates a ReadWrite database.
      kind = kReadWrite;
    }
    if (kind == kReadOnlyFollowing && !existing)
      return bad("CannotCreateFollowerDatabase",
                 "Database '" + dbname +
                     "' cannot be created with kind 'ReadOnlyFollowing': follower databases are "
                     "created by attaching them, with an attachedDatabaseConfiguration on the "
                     "follower cluster.");
    if (existing && kind != kind_of(*existing)) {
      if (kind_of(*existing) == kReadOnlyFollowing)
        return bad("CannotAlterFollowerDatabase",
                   "Database '" + dbname + "' follows leader cluster '" +
                       string_member(props(*existing), "leaderClusterResourceId") +
                       "' and cannot become a ReadWrite database; detach it first.");
      return bad("InvalidRequestContent",
                 "Database '" + dbname + "' is of kind 'ReadWrite'; its kind cannot change.");
    }
    if (existing && busy(*existing)) return request_conflict(existing->id);
    if (auto e = check_running(*c, "Cluster")) return *e;
    if (auto e = check_location(body, *c, kDatabasePolicyType, dbname)) return *e;

    json in = body.value("properties", json::object());
    if (in.is_null()) in = json::object();
    if (!in.is_object()) return bad("InvalidRequestContent", "'properties' must be an object.");
    json out = existing ? props(*existing) : json::object();
    if (kind == kReadOnlyFollowing) {
      // Only the caching period of a follower database is the follower's to set.
      for (const auto& [k, v] : in.items()) {
        if (contains(read_only_database_properties(), k) || k == "softDeletePeriod") continue;
        if (k != "hotCachePeriod")
          return bad("CannotAlterFollowerDatabase",
                     "Database '" + dbname + "' follows leader cluster '" +
                         string_member(out, "leaderClusterResourceId") +
                         "': only 'hotCachePeriod' can be changed, not '" + k + "'.");
        if (auto e = read_period(k, v, out)) return *e;
      }
    } else {
      if (!patch) {
        // Replace: computed properties stay, the settable ones start again from the body.
        json fresh = json::object();
        for (const auto& k : read_only_database_properties())
          if (out.contains(k)) fresh[k] = out[k];
        out = fresh;
      }
      for (const auto& [k, v] : in.items()) {
        if (contains(read_only_database_properties(), k)) continue;
        if (k == "softDeletePeriod" || k == "hotCachePeriod") {
          if (auto e = read_period(k, v, out)) return *e;
        } else if (k == "keyVaultProperties") {
          // Database-level CMK is outside the cluster scenario: stored and echoed.
          if (v.is_null() || (v.is_object() && v.empty()))
            out.erase(k);
          else if (v.is_object())
            out[k] = v;
          else
            return bad("InvalidRequestContent",
                       "'properties.keyVaultProperties' must be an object.");
        } else if (v.is_null()) {
          out.erase(k);
        } else {
          out[k] = v;
        }
      }
      if (!out.contains("statistics")) out["statistics"] = {{"size", 0}};
    }
    // Recorded traffic: an update is first answered provisioningState Accepted.
    out["provisioningState"] = existing ? "Accepted" : "Creating";

    arm::TrackedResource r = existing ? *existing : arm::TrackedResource{};
    r.id = existing ? existing->id : id;
    r.type = kDatabaseType;
    r.location = c->location;
    const json principals = existing ? existing->body.value("principals", json()) : json();
    r.body = {{"kind", kind}, {"properties", out}};
    if (!principals.is_null()) r.body["principals"] = principals;  // addPrincipals' (kept apart)
    const std::string by = arm::caller_of(req);
    const bool created = store().put(r, by);

    auto* resources = ctx.arm.resources;
    auto* subscriptions = ctx.arm.subscriptions;
    const arm::ResourceId rid = r.id;
    const std::string op = ctx.arm.operations->start(
        rid.key(), created ? kDatabaseCreateKind : kDatabaseAlterKind, c->location,
        policy(kDatabasePolicyType, "write"),
        [resources, subscriptions, rid, created, by]() -> std::optional<arm::OperationError> {
          resources->update(rid, "", [](arm::TrackedResource& d) {
            d.body["properties"]["provisioningState"] = "Succeeded";
            return true;
          });
          if (created)
            if (auto db = resources->get(rid))
              follow_new_database(*resources, *subscriptions, *db, by);
          return std::nullopt;
        });
    return lro_response(created ? 201 : 200, req, rid, c->location, op, true);
  }

  Response get_database(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name"),
                      dbname = p.get("db");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    auto c = cluster(sub, rg, cname);
    if (!c) return parent_not_found(cname);
    const arm::ResourceId id = child_id(c->id, kDatabaseSegment, dbname);
    settle_database(c->id, id);
    auto db = store().get(id);
    if (!db) return child_not_found(rg, cname, "databases", dbname);
    return arm::arm_json(200, child_resource_json(store(), subs(), *db));
  }

  Response list_databases(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    auto c = cluster(sub, rg, cname);
    if (!c) return parent_not_found(cname);
    // Listing shows progress too: the databases' operations and the attachments' (replicas).
    for (const auto& a : attachments_of(store(), c->id))
      ctx.arm.operations->settle_resource(a.id.key());
    for (const auto& d : databases_of(store(), c->id))
      if (ctx.arm.operations->has_running(d.id.key()))
        ctx.arm.operations->settle_resource(d.id.key());
    const std::set<std::string> followed = followed_database_names(store(), subs(), c->id);
    std::vector<json> items;
    for (const auto& d : databases_of(store(), c->id))
      items.push_back(render(store(), subs(), d, &followed));
    return arm::arm_json(200, arm::list_page(req, items));
  }

  Response delete_database(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name"),
                      dbname = p.get("db");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    std::lock_guard<std::mutex> lock(*write_mu);
    auto c = cluster(sub, rg, cname);
    if (!c) return parent_not_found(cname);
    const arm::ResourceId id = child_id(c->id, kDatabaseSegment, dbname);
    settle_database(c->id, id);
    auto db = store().get(id);
    if (!db) return no_content();
    if (busy(*db)) return request_conflict(db->id);
    if (kind_of(*db) == kReadOnlyFollowing)
      return bad("CannotDeleteFollowerDatabase",
                 "Database '" + db->id.name() + "' is attached from leader cluster '" +
                     string_member(props(*db), "leaderClusterResourceId") +
                     "' by attached database configuration '" +
                     string_member(props(*db), "attachedDatabaseConfigurationName") +
                     "'. Attached databases can't be deleted: detach them (delete the "
                     "configuration, or detachFollowerDatabases on the leader).");
    if (is_followed(store(), subs(), db->id))
      return bad(
          "CannotDeleteFollowedDatabase",
          "Database '" + db->id.name() +
              "' is attached to a different cluster. Detach its followers before deleting it.");
    if (auto e = check_running(*c, "Cluster")) return *e;
    store().update(id, arm::caller_of(req), [](arm::TrackedResource& d) {
      d.body["properties"]["provisioningState"] = "Deleting";
      return true;
    });
    auto* resources = ctx.arm.resources;
    const std::string op = ctx.arm.operations->start(
        id.key(), kDatabaseDeleteKind, c->location, policy(kDatabasePolicyType, "delete"),
        [resources, id]() -> std::optional<arm::OperationError> {
          remove_principal_assignments(*resources, id);
          resources->remove(id);
          return std::nullopt;
        });
    return lro_response(202, req, id, c->location, op, false);
  }

  // --- attached database configurations ---

  Response write_attachment(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name"),
                      aname = p.get("att");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    if (!is_valid_database_name(aname))
      return bad("InvalidResourceName",
                 "Attached database configuration name '" + aname +
                     "' is invalid: 1 to 260 letters, digits, spaces, '.', '-' or '_'.");
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    auto in_it = body.find("properties");
    if (in_it == body.end() || !in_it->is_object())
      return bad("InvalidRequestContent",
                 "'properties' is required: {databaseName, clusterResourceId, "
                 "defaultPrincipalsModificationKind}.");
    const json& in = *in_it;

    // The body on its own.
    json out = json::object();
    auto db_it = in.find("databaseName");
    if (db_it == in.end() || !db_it->is_string() ||
        !(db_it->get<std::string>() == "*" || is_valid_database_name(db_it->get<std::string>())))
      return bad("InvalidRequestContent",
                 "'properties.databaseName' is required: the name of a database of the leader "
                 "cluster, or '*' for all of them.");
    const std::string followed = db_it->get<std::string>();
    out["databaseName"] = followed;
    auto leader_it = in.find("clusterResourceId");
    std::optional<arm::ResourceId> leader_id;
    if (leader_it != in.end() && leader_it->is_string())
      leader_id = arm::ResourceId::parse(leader_it->get<std::string>());
    if (!leader_id || !http::iequals(leader_id->type(), "Microsoft.Kusto/clusters"))
      return bad("InvalidRequestContent",
                 "'properties.clusterResourceId' is required: the resource id of the leader "
                 "Microsoft.Kusto/clusters resource.");
    out["clusterResourceId"] = leader_it->get<std::string>();
    std::string modification = "Union";
    if (auto m = in.find("defaultPrincipalsModificationKind"); m != in.end() && !m->is_null()) {
      modification.clear();
      for (const char* k : {"Union", "Replace", "None"})
        if (m->is_string() && http::iequals(m->get<std::string>(), k)) modification = k;
      if (modification.empty())
        return bad("InvalidRequestContent", "'properties.defaultPrincipalsModificationKind' " +
                                                m->dump() +
                                                " is invalid: 'Union', 'Replace' or 'None'.");
    }
    out["defaultPrincipalsModificationKind"] = modification;
    if (auto s = in.find("tableLevelSharingProperties"); s != in.end() && !s->is_null()) {
      if (!s->is_object())
        return bad("InvalidRequestContent",
                   "'properties.tableLevelSharingProperties' must be an object.");
      for (const auto& [k, v] : s->items()) {
        bool strings = v.is_array() || v.is_null();
        if (v.is_array())
          for (const auto& e : v) strings = strings && e.is_string();
        if (!contains(sharing_lists(), k) || !strings)
          return bad(
              "InvalidRequestContent",
              "'properties.tableLevelSharingProperties." + k +
                  "' is not one of the six lists of names (tablesToInclude, tablesToExclude, "
                  "externalTablesToInclude, externalTablesToExclude, "
                  "materializedViewsToInclude, materializedViewsToExclude).");
      }
      if (followed == "*")
        return bad("InvalidRequestContent",
                   "Table level sharing properties aren't supported when following all databases "
                   "(databaseName '*').");
      out["tableLevelSharingProperties"] = *s;
    }
    for (const char* k : {"databaseNameOverride", "databaseNamePrefix"})
      if (auto v = in.find(k); v != in.end() && !v->is_null()) {
        if (!v->is_string())
          return bad("InvalidRequestContent",
                     std::string("'properties.") + k + "' must be a string.");
        if (!v->get<std::string>().empty()) out[k] = *v;
      }
    if (out.contains("databaseNameOverride")) {
      if (followed == "*")
        return bad("InvalidRequestContent",
                   "'databaseNameOverride' applies to one database only; with databaseName '*' use "
                   "'databaseNamePrefix'.");
      if (out.contains("databaseNamePrefix"))
        return bad("InvalidRequestContent",
                   "Give 'databaseNameOverride' or 'databaseNamePrefix', not both.");
      if (!is_valid_database_name(out["databaseNameOverride"]))
        return bad("InvalidRequestContent",
                   "'properties.databaseNameOverride' is not a valid database name.");
    }
    if (out.contains("databaseNamePrefix") &&
        !is_valid_database_name(out["databaseNamePrefix"].get<std::string>() + "x"))
      return bad("InvalidRequestContent",
                 "'properties.databaseNamePrefix' may hold letters, digits, spaces, '.', '-' and "
                 "'_' only.");

    // Then the clusters.
    std::lock_guard<std::mutex> lock(*write_mu);
    auto follower = cluster(sub, rg, cname);
    if (!follower) return parent_not_found(cname);
    const arm::ResourceId id = child_id(follower->id, kAttachmentSegment, aname);
    auto existing = settled(id);
    if (existing && busy(*existing)) return request_conflict(existing->id);
    if (auto e = check_location(body, *follower, kAttachmentPolicyType, aname)) return *e;
    if (existing) {
      const json& was = props(*existing);
      auto was_leader = arm::ResourceId::parse(string_member(was, "clusterResourceId"));
      for (const char* k : {"databaseName", "databaseNameOverride", "databaseNamePrefix"})
        if (string_member(was, k) != string_member(out, k))
          return bad("InvalidRequestContent", std::string("'properties.") + k +
                                                  "' of an attached database configuration cannot "
                                                  "change; delete it and attach again.");
      if (!was_leader || !(*was_leader == *leader_id))
        return bad("InvalidRequestContent",
                   "'properties.clusterResourceId' of an attached database configuration cannot "
                   "change; delete it and attach again.");
    }
    if (*leader_id == follower->id)
      return bad(
          "CannotFollowSameCluster",
          "Cluster '" + cname +
              "' cannot follow its own databases: clusterResourceId must name another cluster.");
    ctx.arm.operations->settle_resource(leader_id->key());
    auto leader = store().get(*leader_id);
    if (!leader || !is_cluster_type(leader->type))
      return bad("LeaderClusterNotFound",
                 "The leader cluster '" + leader_id->str() + "' was not found.");
    if (leader->location != follower->location)
      return bad("LeaderFollowerLocationMismatch",
                 "The follower and the leader clusters must be in the same region: '" + cname +
                     "' is in '" + follower->location + "', '" + leader->id.name() + "' in '" +
                     leader->location + "'.");
    for (const auto* side : {&*follower, &*leader})
      if (has_customer_managed_key(*side))
        return bad(kCmkLeaderFollowerCode,
                   "Cluster '" + side->id.name() +
                       "' uses customer-managed keys (keyVaultProperties), which are not supported "
                       "on leader or follower clusters.");
    if (auto e = check_running(*follower, "Cluster")) return *e;
    if (auto e = check_running(*leader, "Leader cluster")) return *e;
    // A new attachment, or one whose creation failed, attaches (again); otherwise it updates.
    const bool attach = !existing || provisioning_state(*existing) == "Failed";
    if (attach && followed != "*") {
      auto leader_db = database_named(store(), leader->id, followed);
      if (!leader_db || provisioning_state(*leader_db) == "Deleting")
        return bad("LeaderDatabaseNotFound", "Database '" + followed +
                                                 "' was not found on leader cluster '" +
                                                 leader->id.name() + "'.");
      if (kind_of(*leader_db) != kReadWrite)
        return bad(
            "LeaderDatabaseNotFound",
            "Database '" + followed + "' of cluster '" + leader->id.name() +
                "' is itself a follower database; only ReadWrite databases can be followed.");
      const std::string name = follower_database_name(out, leader_db->id.name());
      if (database_named(store(), follower->id, name))
        return http::arm_error(409, "FollowerDatabaseNameConflict",
                               "Cluster '" + cname + "' already has a database named '" + name +
                                   "'. Use databaseNameOverride or databaseNamePrefix.");
    }

    out["attachedDatabaseNames"] =
        attach ? json::array() : props(*existing).value("attachedDatabaseNames", json::array());
    out["provisioningState"] = attach ? "Creating" : "Running";
    arm::TrackedResource r = existing ? *existing : arm::TrackedResource{};
    r.id = existing ? existing->id : id;
    r.type = kAttachmentType;
    r.location = follower->location;
    r.body = {{"properties", out}};
    const std::string by = arm::caller_of(req);
    const bool created = store().put(r, by);

    auto* resources = ctx.arm.resources;
    const arm::ResourceId rid = r.id, fid = follower->id, lid = leader->id;
    arm::Completion done;
    if (attach) {
      done = [resources, rid, fid, lid, by]() -> std::optional<arm::OperationError> {
        auto a = resources->get(rid);
        auto f = resources->get(fid);
        if (!a || !f) return std::nullopt;  // removed meanwhile: nothing left to attach
        auto l = resources->get(lid);
        std::vector<std::pair<arm::TrackedResource, std::string>> plan;
        std::optional<arm::OperationError> error;
        if (!l)
          error = arm::OperationError{"CannotAlterFollowerDatabase",
                                      "[BadRequest] Cannot alter leader cluster '" + lid.name() +
                                          "' for resource name '" + rid.name() +
                                          "'. The leader cluster no longer exists."};
        else
          error = plan_replicas(*resources, *f, *l, *a, plan);
        json names = json::array();
        if (!error)
          for (const auto& [db, name] : plan) {
            resources->put(make_replica(*f, *a, db, name), by);
            names.push_back(name);
          }
        resources->update(rid, "", [&](arm::TrackedResource& x) {
          x.body["properties"]["provisioningState"] = error ? "Failed" : "Succeeded";
          x.body["properties"]["attachedDatabaseNames"] = names;
          return true;
        });
        return error;
      };
    } else {
      done = [resources, rid, fid]() -> std::optional<arm::OperationError> {
        auto a = resources->get(rid);
        if (!a) return std::nullopt;
        const json& ap = props(*a);
        for (const auto& replica : replicas_of(*resources, fid, rid.name()))
          resources->update(replica.id, "", [&](arm::TrackedResource& d) {
            json& dp = d.body["properties"];
            dp["principalsModificationKind"] =
                ap.value("defaultPrincipalsModificationKind", "Union");
            if (ap.contains("tableLevelSharingProperties"))
              dp["tableLevelSharingProperties"] = ap["tableLevelSharingProperties"];
            else
              dp.erase("tableLevelSharingProperties");
            return true;
          });
        resources->update(rid, "", [](arm::TrackedResource& x) {
          x.body["properties"]["provisioningState"] = "Succeeded";
          return true;
        });
        return std::nullopt;
      };
    }
    const std::string op =
        ctx.arm.operations->start(rid.key(), attach ? kAttachKind : kAttachUpdateKind,
                                  follower->location, policy(kAttachmentPolicyType, "write"), done);
    return lro_response(created ? 201 : 200, req, rid, follower->location, op, true);
  }

  Response get_attachment(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name"),
                      aname = p.get("att");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    auto c = cluster(sub, rg, cname);
    if (!c) return parent_not_found(cname);
    auto a = settled(child_id(c->id, kAttachmentSegment, aname));
    if (!a) return child_not_found(rg, cname, "attachedDatabaseConfigurations", aname);
    return arm::arm_json(200, child_resource_json(store(), subs(), *a));
  }

  Response list_attachments(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    auto c = cluster(sub, rg, cname);
    if (!c) return parent_not_found(cname);
    for (const auto& a : attachments_of(store(), c->id))
      ctx.arm.operations->settle_resource(a.id.key());
    json value = json::array();
    for (const auto& a : attachments_of(store(), c->id))
      value.push_back(child_resource_json(store(), subs(), a));
    // AttachedDatabaseConfigurationListResult has no nextLink: one page.
    return arm::arm_json(200, {{"value", value}});
  }

  // Starts the removal of an attachment and its replicas; the caller holds write_mu and has
  // checked that the attachment is not busy.
  std::string detach(const arm::TrackedResource& attachment, const char* kind,
                     const std::string& location, const arm::LroPolicy& lro,
                     const std::string& by) {
    store().update(attachment.id, by, [](arm::TrackedResource& a) {
      a.body["properties"]["provisioningState"] = "Deleting";
      return true;
    });
    auto* resources = ctx.arm.resources;
    const arm::ResourceId id = attachment.id;
    return ctx.arm.operations->start(
        id.key(), kind, location, lro, [resources, id]() -> std::optional<arm::OperationError> {
          if (auto follower = id.parent())
            for (const auto& r : replicas_of(*resources, *follower, id.name()))
              resources->remove(r.id);
          resources->remove(id);
          return std::nullopt;
        });
  }

  Response delete_attachment(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name"),
                      aname = p.get("att");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    std::lock_guard<std::mutex> lock(*write_mu);
    auto c = cluster(sub, rg, cname);
    if (!c) return parent_not_found(cname);
    auto a = settled(child_id(c->id, kAttachmentSegment, aname));
    if (!a) return no_content();
    if (busy(*a)) return request_conflict(a->id);
    if (busy(*c)) return request_conflict(c->id);
    const std::string op = detach(*a, kAttachDeleteKind, c->location,
                                  policy(kAttachmentPolicyType, "delete"), arm::caller_of(req));
    return lro_response(202, req, a->id, c->location, op, false);
  }

  // --- the leader's side ---

  Response list_followers(Request& req, const RouteParams& p, bool get_form) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    auto c = cluster(sub, rg, cname);
    if (!c) return cluster_not_found(rg, cname);
    for (const auto& a : attachments_following(store(), subs(), c->id))
      ctx.arm.operations->settle_resource(a.id.key());
    json value = json::array();
    for (const auto& a : attachments_following(store(), subs(), c->id)) {
      const json& ap = props(a);
      json d = {{"clusterResourceId", a.id.parent()->str()},
                {"attachedDatabaseConfigurationName", a.id.name()},
                {"databaseName", string_member(ap, "databaseName")},
                {"databaseShareOrigin", "Direct"}};
      if (ap.contains("tableLevelSharingProperties"))
        d["tableLevelSharingProperties"] = ap["tableLevelSharingProperties"];
      value.push_back(get_form ? json{{"properties", d}} : d);
    }
    return arm::arm_json(200, {{"value", value}});
  }

  Response detach_followers(Request& req, const RouteParams& p) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    const std::string follower_text = body.value("clusterResourceId", json()).is_string()
                                          ? body["clusterResourceId"].get<std::string>()
                                          : std::string();
    const std::string aname = body.value("attachedDatabaseConfigurationName", json()).is_string()
                                  ? body["attachedDatabaseConfigurationName"].get<std::string>()
                                  : std::string();
    auto follower_id = arm::ResourceId::parse(follower_text);
    if (!follower_id || !http::iequals(follower_id->type(), "Microsoft.Kusto/clusters") ||
        aname.empty())
      return bad("InvalidRequestContent",
                 "The body must name the follower: {clusterResourceId (the follower cluster's "
                 "resource id), attachedDatabaseConfigurationName}.");
    std::lock_guard<std::mutex> lock(*write_mu);
    auto leader = cluster(sub, rg, cname);
    if (!leader) return cluster_not_found(rg, cname);
    auto a = settled(child_id(*follower_id, kAttachmentSegment, aname));
    auto points_at =
        a ? arm::ResourceId::parse(string_member(props(*a), "clusterResourceId")) : std::nullopt;
    if (!a || !points_at || !(*points_at == leader->id))
      return bad("FollowerDatabaseNotFound", "Cluster '" + follower_text +
                                                 "' has no attached database configuration '" +
                                                 aname + "' following cluster '" + cname + "'.");
    if (busy(*a)) return request_conflict(a->id);
    const std::string op = detach(*a, kDetachKind, a->location,
                                  policy(kClusterPolicyType, "action"), arm::caller_of(req));
    return lro_response(202, req, a->id, a->location, op, false);
  }

  Response check_name(Request& req, const RouteParams& p, bool attachments_route) {
    const std::string sub = p.get("sub"), rg = p.get("rg"), cname = p.get("name");
    if (auto e = arm::check_group_access(req, subs(), *ctx.arm.groups, sub, rg)) return *e;
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    if (!body.contains("name") || !body["name"].is_string())
      return bad("InvalidRequestContent", "'name' is required.");
    std::string type = body.value("type", json()).is_string() ? body["type"].get<std::string>()
                       : attachments_route                    ? kAttachmentsCheckType
                                                              : std::string();
    const bool databases = http::iequals(type, kDatabasesCheckType);
    if (!(databases && !attachments_route) && !http::iequals(type, kAttachmentsCheckType))
      return bad("InvalidRequestContent",
                 "The type '" + type + "' is not supported here; expected '" +
                     (attachments_route
                          ? std::string(kAttachmentsCheckType)
                          : std::string(kDatabasesCheckType) + "' or '" + kAttachmentsCheckType) +
                     "'.");
    auto c = cluster(sub, rg, cname);
    if (!c) return cluster_not_found(rg, cname);
    const std::string name = body["name"].get<std::string>();
    json out = {{"name", name}, {"nameAvailable", true}};
    if (!is_valid_database_name(name)) {
      out["nameAvailable"] = false;
      out["reason"] = "Invalid";
      out["message"] = "Name '" + name +
                       "' is invalid: 1 to 260 letters, digits, spaces, '.', '-' or '_', not only "
                       "spaces, not starting or ending with '__'.";
    } else if (store().get(
                   child_id(c->id, databases ? kDatabaseSegment : kAttachmentSegment, name))) {
      out["nameAvailable"] = false;
      out["reason"] = "AlreadyExists";
      out["message"] = "Name '" + name + "' is already taken. Please specify a different name";
    }
    return arm::arm_json(200, out);
  }
};

}  // namespace

void register_database_routes(http::Router& router, KustoProviderContext ctx,
                              std::shared_ptr<std::mutex> write_mu) {
  auto dp = std::make_shared<DatabaseProvider>();
  dp->ctx = ctx;
  dp->write_mu = std::move(write_mu);
  const std::string c =
      "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Kusto/clusters/{name}";
  using P = const RouteParams;

  router.add("GET", c + "/databases", [dp](Request& r, P& p) { return dp->list_databases(r, p); });
  router.add("GET", c + "/databases/{db}",
             [dp](Request& r, P& p) { return dp->get_database(r, p); });
  router.add("PUT", c + "/databases/{db}",
             [dp](Request& r, P& p) { return dp->write_database(r, p, false); });
  router.add("PATCH", c + "/databases/{db}",
             [dp](Request& r, P& p) { return dp->write_database(r, p, true); });
  router.add("DELETE", c + "/databases/{db}",
             [dp](Request& r, P& p) { return dp->delete_database(r, p); });

  const std::string att = c + "/attachedDatabaseConfigurations";
  router.add("GET", att, [dp](Request& r, P& p) { return dp->list_attachments(r, p); });
  router.add("GET", att + "/{att}", [dp](Request& r, P& p) { return dp->get_attachment(r, p); });
  router.add("PUT", att + "/{att}", [dp](Request& r, P& p) { return dp->write_attachment(r, p); });
  router.add("DELETE", att + "/{att}",
             [dp](Request& r, P& p) { return dp->delete_attachment(r, p); });

  router.add("POST", c + "/listFollowerDatabases",
             [dp](Request& r, P& p) { return dp->list_followers(r, p, false); });
  router.add("GET", c + "/listFollowerDatabases",
             [dp](Request& r, P& p) { return dp->list_followers(r, p, true); });
  router.add("POST", c + "/detachFollowerDatabases",
             [dp](Request& r, P& p) { return dp->detach_followers(r, p); });
  router.add("POST", c + "/checkNameAvailability",
             [dp](Request& r, P& p) { return dp->check_name(r, p, false); });
  router.add("POST", c + "/attachedDatabaseConfigurationCheckNameAvailability",
             [dp](Request& r, P& p) { return dp->check_name(r, p, true); });
}

}  // namespace cmk::kusto
