#include "admin/admin_api.h"

#include <cmath>

#include "admin/admin_json.h"
#include "http/error_bodies.h"

namespace cmk::admin {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

json clock_json(const VirtualClock& clock) {
  const TimePoint now = clock.now();
  return {{"now", to_iso8601(now)},
          {"unix", to_unix_seconds(now)},
          {"offset_s", std::chrono::duration<double>(clock.offset()).count()},
          {"frozen", clock.frozen()}};
}

json msi_json(const AdminContext& ctx) {
  const std::string configured = ctx.msi->host_identity();
  const std::string effective = ctx.msi->effective_host_identity();
  json resolved = nullptr;
  if (auto mi = msi::find_identity(*ctx.directory, effective))
    resolved = {{"resourceId", mi->resource_id},
                {"clientId", mi->client_id},
                {"principalId", mi->principal_id},
                {"tenantId", mi->tenant_id},
                {"type", mi->kind == entra::IdentityKind::SystemAssigned ? "SystemAssigned"
                                                                         : "UserAssigned"}};
  return {{"identity", configured.empty() ? json(nullptr) : json(configured)},
          {"default_identity", ctx.msi->default_host_identity()},
          {"effective_identity", effective},
          {"resolved", resolved},
          {"identity_header_required", !ctx.msi->identity_header().empty()}};
}

}  // namespace

void register_admin_routes(http::Router& router, AdminContext ctx) {
  router.add("GET", "/_emulator/health", [ctx](Request&, const RouteParams&) {
    const double up =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - *ctx.started_at).count();
    return json_ok(
        {{"status", "ok"}, {"version", CMK_VERSION}, {"uptime_s", std::floor(up * 1000) / 1000}});
  });

  router.add("GET", "/_emulator/info", [ctx](Request&, const RouteParams&) {
    json info = ctx.info();
    info["version"] = CMK_VERSION;
    return json_ok(info);
  });

  router.add("GET", "/_emulator/ca.pem", [ctx](Request&, const RouteParams&) {
    Response r;
    r.status = 200;
    r.body = ctx.ca_pem();
    r.set_header("Content-Type", "application/x-pem-file");
    return r;
  });

  router.add("GET", "/_emulator/clock",
             [ctx](Request&, const RouteParams&) { return json_ok(clock_json(*ctx.clock)); });

  // {"seconds": N} (also "minutes", "hours", "days"; they add up). Time never runs backwards.
  router.add("POST", "/_emulator/clock/advance", [ctx](Request& req, const RouteParams&) {
    Response err;
    auto body = object_body(req, err);
    if (!body) return err;
    double seconds = 0;
    bool any = false;
    static const std::pair<const char*, double> units[] = {
        {"seconds", 1}, {"minutes", 60}, {"hours", 3600}, {"days", 86400}};
    for (const auto& [name, factor] : units) {
      auto it = body->find(name);
      if (it == body->end()) continue;
      if (!it->is_number())
        return http::admin_error(400, "InvalidRequestContent",
                                 std::string("'") + name + "' must be a number.");
      seconds += it->get<double>() * factor;
      any = true;
    }
    if (!any)
      return http::admin_error(
          400, "InvalidRequestContent",
          "Give how far to advance: {\"seconds\": N} (or minutes/hours/days).");
    if (!(seconds >= 0) || seconds > 1e11)
      return http::admin_error(400, "InvalidRequestContent",
                               "The virtual clock only moves forward, by at most 1e11 seconds.");
    ctx.clock->advance(
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
    return json_ok(clock_json(*ctx.clock));
  });

  // {"frozen": true|false}: stop or resume the virtual clock.
  router.add("PUT", "/_emulator/clock", [ctx](Request& req, const RouteParams&) {
    Response err;
    auto body = object_body(req, err);
    if (!body) return err;
    auto it = body->find("frozen");
    if (it == body->end() || !it->is_boolean())
      return http::admin_error(400, "InvalidRequestContent", "Expected {\"frozen\": true|false}.");
    ctx.clock->set_frozen(it->get<bool>());
    return json_ok(clock_json(*ctx.clock));
  });

  // Every access token issued so far stops validating; tokens issued afterwards work.
  router.add("POST", "/_emulator/tokens/revoke", [ctx](Request&, const RouteParams&) {
    entra::TokenService* service = ctx.token_service ? ctx.token_service() : nullptr;
    if (service == nullptr)
      return http::admin_error(503, "NotStarted", "The token service is not running.");
    service->revoke_tokens_issued_before_now();
    return json_ok({{"revoked", true}, {"iat_cutoff", service->revocation_cutoff()}});
  });

  // The identity the managed-identity endpoints speak for when a request names none.
  router.add("GET", "/_emulator/msi",
             [ctx](Request&, const RouteParams&) { return json_ok(msi_json(ctx)); });
  // {"identity": "<client id, principal id or resource id>" | null} (null or "" = the default),
  // optionally {"identity_header": "<value X-IDENTITY-HEADER must carry>" | null}.
  router.add("PUT", "/_emulator/msi", [ctx](Request& req, const RouteParams&) {
    Response err;
    auto body = object_body(req, err);
    if (!body) return err;
    auto read = [&](const char* name, std::optional<std::string>& out) {
      auto it = body->find(name);
      if (it == body->end()) return true;
      if (it->is_null()) {
        out = "";
        return true;
      }
      if (!it->is_string()) return false;
      out = it->get<std::string>();
      return true;
    };
    std::optional<std::string> identity, header;
    if (!read("identity", identity) || !read("identity_header", header))
      return http::admin_error(
          400, "InvalidRequestContent",
          "Expected {\"identity\": \"<client id, principal id or resource "
          "id>\" | null} and optionally {\"identity_header\": \"...\" | null}.");
    if (!identity && !header)
      return http::admin_error(400, "InvalidRequestContent",
                               "Give \"identity\" (and/or \"identity_header\").");
    if (identity) ctx.msi->set_host_identity(*identity);
    if (header) ctx.msi->set_identity_header(*header);
    return json_ok(msi_json(ctx));
  });

  // Long-running operation policies (arm/operations.h LroPolicySet): GET shows the table, PUT
  // replaces it whole (a rule left out is gone), DELETE restores the default (1 s, no rules).
  // They apply to operations started afterwards.
  router.add("GET", "/_emulator/lro-policy",
             [ctx](Request&, const RouteParams&) { return json_ok(ctx.lro_policies->to_json()); });
  router.add("PUT", "/_emulator/lro-policy", [ctx](Request& req, const RouteParams&) {
    Response error;
    auto body = object_body(req, error);
    if (!body) return error;
    auto set = arm::LroPolicySet::from_json(*body);
    if (!set) return http::admin_error(400, "InvalidRequestContent", set.status().message());
    ctx.lro_policies->replace(set.value());
    return json_ok(ctx.lro_policies->to_json());
  });
  router.add("DELETE", "/_emulator/lro-policy", [ctx](Request&, const RouteParams&) {
    ctx.lro_policies->clear();
    return json_ok(ctx.lro_policies->to_json());
  });

  // Customer-managed keys of Kusto clusters (kusto/cluster_keys.h): the key each cluster uses
  // (its version, which keyVaultProperties does not show when keyVersion is empty), and the
  // refresh interval, for all clusters or one.
  router.add("GET", "/_emulator/kusto/keys", [ctx](Request&, const RouteParams&) {
    return json_ok({{"value", ctx.cluster_keys->to_json()}});
  });
  router.add("PUT", "/_emulator/kusto/keys/refresh", [ctx](Request& req, const RouteParams&) {
    Response error;
    auto body = object_body(req, error);
    if (!body) return error;
    auto seconds = body->find("seconds");
    if (seconds == body->end() || !seconds->is_number_integer() || *seconds < 1 ||
        *seconds > int64_t{366} * 86400)
      return http::admin_error(400, "InvalidRequestContent",
                               "'seconds' must be an integer from 1 to 31622400.");
    const std::chrono::seconds interval(seconds->get<int64_t>());
    if (auto cluster = body->find("cluster"); cluster != body->end() && !cluster->is_null()) {
      auto id =
          cluster->is_string() ? arm::ResourceId::parse(cluster->get<std::string>()) : std::nullopt;
      if (!id)
        return http::admin_error(400, "InvalidRequestContent",
                                 "'cluster' must be a cluster's resource id.");
      ctx.cluster_keys->set_refresh_interval(id->key(), interval);
      return json_ok({{"cluster", id->str()}, {"seconds", interval.count()}});
    }
    ctx.cluster_keys->set_refresh_interval(interval);
    return json_ok({{"seconds", interval.count()}});
  });

  router.add("GET", "/_emulator/proxy/refusals", [ctx](Request&, const RouteParams&) {
    json list = json::array();
    for (const auto& r : ctx.front_door->refusals())
      list.push_back({{"target", r.host}, {"unix", r.unix_time}});
    return json_ok({{"count", ctx.front_door->refusal_count()}, {"value", list}});
  });

  if (ctx.journal) register_journal_routes(router, *ctx.journal, *ctx.clock);
  if (ctx.faults) register_fault_routes(router, *ctx.faults, *ctx.clock);
  if (ctx.operations) register_operation_routes(router, *ctx.operations);
}

}  // namespace cmk::admin
