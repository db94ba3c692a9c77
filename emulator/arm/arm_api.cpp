#include "arm/arm_api.h"

#include <algorithm>

#include "arm/catalog.h"
#include "arm/resource_id.h"
#include "common/json_input.h"
#include "common/utf8.h"
#include "http/error_bodies.h"

namespace cmk::arm {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

Response arm_json(int status, const json& body) {
  Response r;
  r.set_json(status, json_text(body));
  return r;
}

std::optional<Response> require_api_version(const Request& req) {
  auto v = req.query_param("api-version");
  if (v && !v->empty()) return std::nullopt;
  return http::arm_error(400, "MissingApiVersionParameter",
                         "The api-version query parameter (?api-version=) is required for all "
                         "requests.");
}

std::optional<Response> check_subscription_access(const Request& req,
                                                  const SubscriptionRegistry& subs,
                                                  const std::string& subscription) {
  if (auto e = require_api_version(req)) return e;
  auto sub = subs.find(subscription);
  if (!sub)
    return http::arm_error(404, "SubscriptionNotFound",
                           "The subscription '" + subscription + "' could not be found.");
  if (req.principal && !http::iequals(req.principal->tenant_id, sub->tenant_id)) {
    const std::string message =
        "The access token is from the wrong issuer 'https://sts.windows.net/" +
        req.principal->tenant_id + "/'. It must match the tenant 'https://sts.windows.net/" +
        sub->tenant_id +
        "/' associated with this subscription. Please use the authority (URL) "
        "'https://login.windows.net/" +
        sub->tenant_id + "' to get the token.";
    return http::arm_unauthorized("InvalidAuthenticationTokenTenant", message,
                                  "The access token is from the wrong issuer.");
  }
  return std::nullopt;
}

std::optional<Response> check_group_access(const Request& req, const SubscriptionRegistry& subs,
                                           const ResourceGroupStore& groups,
                                           const std::string& subscription,
                                           const std::string& group) {
  if (auto e = check_subscription_access(req, subs, subscription)) return e;
  if (!groups.get(subscription, group))
    return http::arm_error(404, "ResourceGroupNotFound",
                           "Resource group '" + group + "' could not be found.");
  return std::nullopt;
}

std::optional<Response> parse_json_object(const Request& req, json& out) {
  if (req.body.empty()) {
    out = json::object();
    return std::nullopt;
  }
  auto parsed = parse_json_input(req.body);  // nesting limit, out-of-range numbers, position
  if (!parsed)
    return http::arm_error(
        400, "InvalidRequestContent",
        "The request content was invalid and could not be deserialized: " + parsed.error());
  out = std::move(parsed.value());
  if (!out.is_object())
    return http::arm_error(400, "InvalidRequestContent", "The request body must be a JSON object.");
  return std::nullopt;
}

json list_page(const Request& req, const std::vector<json>& items) {
  size_t top = 100, skip = 0;
  try {
    if (auto t = req.query_param("$top")) top = std::clamp<size_t>(std::stoul(*t), 1, 1000);
    if (auto s = req.query_param("$skiptoken")) skip = std::stoul(*s);
  } catch (...) {  // not a number: the defaults, as ARM ignores what it cannot read
  }
  const std::string base = req.base_url() + req.path + "?api-version=" +
                           http::percent_encode(req.query_param("api-version").value_or("")) +
                           "&$top=" + std::to_string(top);
  return paged_list(items, skip, top, base);
}

std::string caller_of(const Request& req) {
  if (!req.principal) return {};
  return req.principal->app_id.empty() ? req.principal->object_id : req.principal->app_id;
}

std::optional<Response> read_location_and_tags(const json& body, bool patch, bool existing,
                                               TrackedResource& out) {
  if (auto loc = body.find("location"); loc != body.end()) {
    if (!loc->is_string() || !find_region(loc->get<std::string>()))
      return http::arm_error(400, "LocationNotAvailableForResourceType",
                             "The provided location '" +
                                 (loc->is_string() ? loc->get<std::string>() : loc->dump()) +
                                 "' is not available for resource type '" + out.type + "'.");
    const std::string location = normalize_location(loc->get<std::string>());
    if (existing && out.location != location)
      return http::arm_error(400, "InvalidResourceLocation",
                             "The resource '" + out.id.name() + "' already exists in location '" +
                                 out.location + "'. A resource cannot move location.");
    out.location = location;
  } else if (!existing) {
    return http::arm_error(400, "LocationRequired",
                           "The location property is required for this definition.");
  }
  return read_tags(body, patch, out.tags);
}

// ARM's tag rules: at most 50 tags per resource or group, names up to 512 characters, values up to
// 256, strings only. (Lengths count characters, as Azure does, not UTF-8 bytes.)
std::optional<Response> check_tags(const json& tags) {
  constexpr size_t kMaxTags = 50, kMaxName = 512, kMaxValue = 256;
  const auto characters = [](const std::string& s) {
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  if (tags.size() > kMaxTags)
    return http::arm_error(400, "InvalidTagCount",
                           "A resource can have at most 50 tags; the request has " +
                               std::to_string(tags.size()) + ".");
  for (const auto& [name, value] : tags.items()) {
    if (characters(name) > kMaxName)
      return http::arm_error(400, "InvalidTagNameLength",
                             "The tag name '" + utf8_prefix(name, 64) +
                                 "' exceeds the maximum length of 512 characters.");
    if (!value.is_string())
      return http::arm_error(400, "InvalidRequestContent",
                             "The value of tag '" + utf8_prefix(name, 64) +
                                 "' must be a string, not " + value.type_name() + ".");
    if (characters(value.get<std::string>()) > kMaxValue)
      return http::arm_error(400, "InvalidTagValueLength",
                             "The value of tag '" + utf8_prefix(name, 64) +
                                 "' exceeds the maximum length of 256 characters.");
  }
  return std::nullopt;
}

std::optional<Response> read_tags(const json& body, bool patch, json& tags) {
  if (auto given = body.find("tags"); given != body.end()) {
    if (!given->is_object() && !given->is_null())
      return http::arm_error(400, "InvalidRequestContent", "'tags' must be an object.");
    if (auto e = check_tags(*given)) return e;
    tags = given->is_null() ? json::object() : *given;
  } else if (!patch) {
    tags = json::object();
  }
  return std::nullopt;
}

void ArmHeadersFilter::after(const Request& req, Response& res) {
  if (req.surface != http::Surface::Arm) return;
  const bool read = req.method == "GET" || req.method == "HEAD";
  const bool del = req.method == "DELETE";
  res.set_header(read  ? "x-ms-ratelimit-remaining-subscription-reads"
                 : del ? "x-ms-ratelimit-remaining-subscription-deletes"
                       : "x-ms-ratelimit-remaining-subscription-writes",
                 read ? "11999" : (del ? "14999" : "1199"));
  res.set_header("x-ms-routing-request-id", "WESTEUROPE:" + req.request_id);
  res.set_header("Pragma", "no-cache");
  res.set_header("Expires", "-1");
  res.set_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

namespace {

json subscription_json(const Subscription& s) {
  return {{"id", "/subscriptions/" + s.id},
          {"subscriptionId", s.id},
          {"tenantId", s.tenant_id},
          {"homeTenantId", s.tenant_id},
          {"displayName", s.display_name},
          {"state", s.state},
          {"subscriptionPolicies",
           {{"locationPlacementId", "Public_2014-09-01"},
            {"quotaId", "PayAsYouGo_2014-09-01"},
            {"spendingLimit", "Off"}}},
          {"authorizationSource", "RoleBased"},
          {"managedByTenants", json::array()}};
}

// Cloud metadata. On a management host (proxy mode) it describes the real
// cloud; on any other host (endpoint mode) it points every endpoint at this emulator, with an
// /adfs login endpoint so MSAL skips instance discovery.
Response metadata_endpoints(const Request& req) {
  const bool real_host =
      req.host == "management.azure.com" || req.host == "management.core.windows.net";
  const std::string base = req.base_url();
  const std::string rm = real_host ? "https://management.azure.com/" : base + "/";
  const std::string login = real_host ? "https://login.microsoftonline.com/" : base + "/adfs";
  const std::string vault_dns = real_host ? "vault.azure.net" : "vault.localhost";
  const std::string audience = "https://management.core.windows.net/";
  const std::string version = req.query_param("api-version").value_or("");
  if (version.empty() || version == "1.0" || version == "2015-01-01") {
    // Azure Stack form: what `az cloud register --endpoint-resource-manager` reads.
    return arm_json(200,
                    {{"galleryEndpoint", base + "/"},
                     {"graphEndpoint", "https://graph.windows.net/"},
                     {"portalEndpoint", base + "/"},
                     {"authentication", {{"loginEndpoint", login}, {"audiences", {audience}}}}});
  }
  json cloud = {{"name", real_host ? "AzureCloud" : "CmkEmulator"},
                {"resourceManager", rm},
                {"portal", base + "/"},
                {"gallery", base + "/"},
                {"graph", "https://graph.windows.net/"},
                {"graphAudience", "https://graph.windows.net/"},
                {"microsoftGraphResourceId", "https://graph.microsoft.com/"},
                {"authentication",
                 {{"loginEndpoint", login},
                  {"audiences", {audience, "https://management.azure.com/"}},
                  {"tenant", "common"},
                  {"identityProvider", "AAD"}}},
                {"suffixes", {{"keyVaultDns", vault_dns}, {"storage", "core.windows.net"}}}};
  // 2022-09-01 and later answer with the list of clouds.
  if (version >= "2022-09-01") return arm_json(200, json::array({cloud}));
  return arm_json(200, cloud);
}

}  // namespace

void register_arm_routes(http::Router& router, ArmContext ctx) {
  router.add("GET", "/metadata/endpoints",
             [](Request& req, const RouteParams&) { return metadata_endpoints(req); });

  router.add("GET", "/tenants", [ctx](Request& req, const RouteParams&) {
    if (auto e = require_api_version(req)) return *e;
    json value = json::array();
    for (const auto& t : ctx.directory->tenants()) {
      if (req.principal && !http::iequals(req.principal->tenant_id, t.id)) continue;
      value.push_back({{"id", "/tenants/" + t.id},
                       {"tenantId", t.id},
                       {"tenantCategory", "Home"},
                       {"displayName", t.display_name},
                       {"defaultDomain", t.default_domain},
                       {"domains", {t.default_domain}},
                       {"tenantType", "AAD"}});
    }
    return arm_json(200,
                    {{"value", value}, {"count", {{"type", "Total"}, {"value", value.size()}}}});
  });

  router.add("GET", "/subscriptions", [ctx](Request& req, const RouteParams&) {
    if (auto e = require_api_version(req)) return *e;
    json value = json::array();
    for (const auto& s : ctx.subscriptions->all()) {
      if (req.principal && !http::iequals(req.principal->tenant_id, s.tenant_id)) continue;
      value.push_back(subscription_json(s));
    }
    return arm_json(200,
                    {{"value", value}, {"count", {{"type", "Total"}, {"value", value.size()}}}});
  });

  router.add("GET", "/subscriptions/{sub}", [ctx](Request& req, const RouteParams& p) {
    if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub"))) return *e;
    return arm_json(200, subscription_json(*ctx.subscriptions->find(p.get("sub"))));
  });

  router.add("GET", "/subscriptions/{sub}/locations", [ctx](Request& req, const RouteParams& p) {
    if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub"))) return *e;
    json value = json::array();
    for (const auto& r : regions()) {
      value.push_back(
          {{"id", "/subscriptions/" + p.get("sub") + "/locations/" + r.name},
           {"name", r.name},
           {"displayName", r.display_name},
           {"regionalDisplayName", "(" + r.geography_group + ") " + r.display_name},
           {"metadata",
            {{"regionType", "Physical"},
             {"regionCategory", "Recommended"},
             {"geographyGroup", r.geography_group},
             {"longitude", r.longitude},
             {"latitude", r.latitude},
             {"physicalLocation", r.physical_location},
             {"pairedRegion", json::array({{{"name", r.paired_region},
                                            {"id", "/subscriptions/" + p.get("sub") +
                                                       "/locations/" + r.paired_region}}})}}}});
    }
    return arm_json(200, {{"value", value}});
  });

  auto list_providers = [](const std::string& sub) {
    json value = json::array();
    for (const auto& p : providers()) value.push_back(provider_json(p, sub));
    return arm_json(200, {{"value", value}});
  };
  router.add("GET", "/subscriptions/{sub}/providers",
             [ctx, list_providers](Request& req, const RouteParams& p) {
               if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub")))
                 return *e;
               return list_providers(p.get("sub"));
             });
  router.add("GET", "/providers", [list_providers](Request& req, const RouteParams&) {
    if (auto e = require_api_version(req)) return *e;
    return list_providers("");
  });
  auto one_provider = [](const std::string& sub, const std::string& ns) {
    const Provider* provider = find_provider(ns);
    if (!provider)
      return http::arm_error(404, "InvalidResourceNamespace",
                             "The resource namespace '" + ns + "' is invalid.");
    return arm_json(200, provider_json(*provider, sub));
  };
  router.add("GET", "/subscriptions/{sub}/providers/{ns}",
             [ctx, one_provider](Request& req, const RouteParams& p) {
               if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub")))
                 return *e;
               return one_provider(p.get("sub"), p.get("ns"));
             });
  router.add("POST", "/subscriptions/{sub}/providers/{ns}/register",
             [ctx, one_provider](Request& req, const RouteParams& p) {
               if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub")))
                 return *e;
               return one_provider(p.get("sub"), p.get("ns"));  // always registered
             });
  router.add("GET", "/providers/{ns}", [one_provider](Request& req, const RouteParams& p) {
    if (auto e = require_api_version(req)) return *e;
    return one_provider("", p.get("ns"));
  });

  // --- resource groups
  router.add("GET", "/subscriptions/{sub}/resourceGroups",
             [ctx](Request& req, const RouteParams& p) {
               if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub")))
                 return *e;
               json value = json::array();
               for (const auto& rg : ctx.groups->list(p.get("sub"))) value.push_back(rg.to_json());
               return arm_json(200, {{"value", value}});
             });

  auto not_found = [](const std::string& rg) {
    return http::arm_error(404, "ResourceGroupNotFound",
                           "Resource group '" + rg + "' could not be found.");
  };

  router.add("GET", "/subscriptions/{sub}/resourceGroups/{rg}",
             [ctx, not_found](Request& req, const RouteParams& p) {
               if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub")))
                 return *e;
               ctx.operations->settle_resource("/subscriptions/" + p.get("sub") +
                                               "/resourcegroups/" + p.get("rg"));
               auto rg = ctx.groups->get(p.get("sub"), p.get("rg"));
               if (!rg) return not_found(p.get("rg"));
               if (req.method == "HEAD") {
                 Response r;
                 r.status = 204;
                 return r;
               }
               return arm_json(200, rg->to_json());
             });

  auto write_group = [ctx](Request& req, const RouteParams& p, bool patch) -> Response {
    if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub"))) return *e;
    const std::string name = p.get("rg");
    if (!is_valid_resource_group_name(name))
      return http::arm_error(400, "InvalidResourceGroup",
                             "The provided resource group name '" + name +
                                 "' has these invalid characters or length. The name can only "
                                 "be a letter, digit, '-', '.', '(', ')' or '_', up to 90 "
                                 "characters, and cannot end in '.'.");
    json body;
    if (auto e = parse_json_object(req, body)) return *e;
    auto existing = ctx.groups->get(p.get("sub"), name);
    if (existing && existing->provisioning_state == "Deleting")
      return http::arm_error(409, "ResourceGroupBeingDeleted",
                             "The resource group '" + existing->name +
                                 "' is in deprovisioning state and cannot perform this "
                                 "operation.");
    if (patch && !existing)
      return http::arm_error(404, "ResourceGroupNotFound",
                             "Resource group '" + name + "' could not be found.");
    ResourceGroup rg = existing ? *existing : ResourceGroup{};
    rg.subscription = ctx.subscriptions->find(p.get("sub"))->id;
    rg.name = name;
    if (auto loc = body.find("location"); loc != body.end()) {
      if (!loc->is_string() || !find_region(loc->get<std::string>()))
        return http::arm_error(400, "LocationNotAvailableForResourceGroup",
                               "The provided location '" +
                                   (loc->is_string() ? loc->get<std::string>() : loc->dump()) +
                                   "' is not available for resource group.");
      if (existing &&
          !http::iequals(existing->location, normalize_location(loc->get<std::string>())))
        return http::arm_error(409, "InvalidResourceGroupLocation",
                               "Invalid resource group location '" + loc->get<std::string>() +
                                   "'. The Resource group already exists in location '" +
                                   existing->location + "'.");
      rg.location = normalize_location(loc->get<std::string>());
    } else if (!patch) {
      return http::arm_error(400, "LocationRequired",
                             "The location property is required for this definition.");
    }
    if (auto e = read_tags(body, patch, rg.tags)) return *e;
    if (!patch && !body.contains("tags")) rg.tags = json();  // an untagged group has no "tags"
    if (auto mb = body.find("managedBy"); mb != body.end() && mb->is_string())
      rg.managed_by = mb->get<std::string>();
    const bool created = ctx.groups->put(rg);
    return arm_json(created ? 201 : 200, ctx.groups->get(p.get("sub"), name)->to_json());
  };
  router.add(
      "PUT", "/subscriptions/{sub}/resourceGroups/{rg}",
      [write_group](Request& req, const RouteParams& p) { return write_group(req, p, false); });
  router.add(
      "PATCH", "/subscriptions/{sub}/resourceGroups/{rg}",
      [write_group](Request& req, const RouteParams& p) { return write_group(req, p, true); });

  // DELETE is long-running (202 + Location): the group shows "Deleting" until the operation
  // completes under the LRO policy, then it is gone with everything in it.
  router.add("DELETE", "/subscriptions/{sub}/resourceGroups/{rg}",
             [ctx](Request& req, const RouteParams& p) {
               if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub")))
                 return *e;
               auto rg = ctx.groups->get(p.get("sub"), p.get("rg"));
               if (!rg)
                 return http::arm_error(404, "ResourceGroupNotFound",
                                        "Resource group '" + p.get("rg") + "' could not be found.");
               const std::string sub = rg->subscription, name = rg->name;
               ctx.groups->set_state(sub, name, "Deleting");
               const std::string op = ctx.operations->start(
                   rg->id(), "ResourceGroupDelete", rg->location,
                   ctx.lro_policies->get("Microsoft.Resources/resourceGroups", "delete"),
                   [ctx, sub, name]() -> std::optional<OperationError> {
                     if (ctx.on_cascade_delete)
                       for (const auto& r : ctx.resources->list(sub, name))
                         ctx.on_cascade_delete(r);
                     ctx.resources->remove_resource_group(sub, name);
                     ctx.groups->remove(sub, name);
                     return std::nullopt;
                   });
               Response r;
               r.status = 202;
               r.set_header("Location",
                            req.base_url() + "/subscriptions/" + sub + "/operationresults/" + op +
                                "?api-version=" + req.query_param("api-version").value_or(""));
               r.set_header("Retry-After", "1");
               return r;
             });

  // The Location of a resource-group deletion: 202 while running, 200 when done.
  router.add("GET", "/subscriptions/{sub}/operationresults/{op}",
             [ctx](Request& req, const RouteParams& p) {
               if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub")))
                 return *e;
               auto op = ctx.operations->poll(p.get("op"));
               if (!op)
                 return http::arm_error(404, "OperationNotFound",
                                        "The operation '" + p.get("op") + "' could not be found.");
               Response r;
               if (op->status == OperationStatus::Running) {
                 r.status = 202;
                 r.set_header("Location", req.base_url() + req.raw_target);
                 r.set_header("Retry-After", "1");
                 return r;
               }
               if (op->error) return http::arm_error(500, op->error->code, op->error->message);
               r.status = 200;
               return r;
             });

  // Generic resource lists (`az keyvault show` finds a vault's group through these), with the
  // $filter forms clients send: "resourceType eq 'T'", "resourceGroup eq 'G'", joined by "and".
  auto resources = [ctx](Request& req, const RouteParams& p) {
    if (auto e = check_subscription_access(req, *ctx.subscriptions, p.get("sub"))) return *e;
    std::string group = p.get("rg"), type;
    if (!group.empty() && !ctx.groups->get(p.get("sub"), group))
      return http::arm_error(404, "ResourceGroupNotFound",
                             "Resource group '" + group + "' could not be found.");
    const std::string filter = req.query_param("$filter").value_or("");
    auto value_of = [&](const std::string& field) -> std::string {
      const std::string lower = http::to_lower(filter);
      size_t at = lower.find(http::to_lower(field) + " eq '");
      if (at == std::string::npos) return {};
      at += field.size() + 5;
      size_t end = filter.find('\'', at);
      return end == std::string::npos ? std::string() : filter.substr(at, end - at);
    };
    if (group.empty()) group = value_of("resourceGroup");
    type = value_of("resourceType");
    json value = json::array();
    for (auto& r : ctx.resources->summaries(p.get("sub"), group, type))
      value.push_back({{"id", std::move(r.id)},
                       {"name", std::move(r.name)},
                       {"type", std::move(r.type)},
                       {"location", std::move(r.location)},
                       {"tags", std::move(r.tags)}});
    return arm_json(200, {{"value", value}});
  };
  router.add("GET", "/subscriptions/{sub}/resources", resources);
  router.add("GET", "/subscriptions/{sub}/resourceGroups/{rg}/resources", resources);
}

}  // namespace cmk::arm
