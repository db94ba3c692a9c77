// The ARM surface's own endpoints: cloud metadata, tenants, subscriptions,
// locations, providers, resource groups and their deletion operations, generic resource lists.
// Providers (Kusto, Key Vault, managed identity) register their routes beside these.
//
// Every route but GET /metadata/endpoints requires an api-version (400
// MissingApiVersionParameter) and a caller from the subscription's tenant (401
// InvalidAuthenticationTokenTenant); unknown subscriptions are 404 SubscriptionNotFound and
// unknown resource groups 404 ResourceGroupNotFound, as ARM answers before a provider sees the
// request.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "arm/operations.h"
#include "arm/resource_groups.h"
#include "arm/resource_store.h"
#include "arm/subscriptions.h"
#include "entra/directory.h"
#include "http/pipeline.h"
#include "http/router.h"

namespace cmk::arm {

struct ArmContext {
  entra::Directory* directory = nullptr;
  SubscriptionRegistry* subscriptions = nullptr;
  ResourceGroupStore* groups = nullptr;
  OperationEngine* operations = nullptr;
  LroPolicyTable* lro_policies = nullptr;
  ResourceStore* resources = nullptr;
  // Called for each resource a resource-group deletion removes, before it goes, so its provider
  // can release what lives outside the store (a user-assigned identity's directory entry).
  std::function<void(const TrackedResource&)> on_cascade_delete;
};

void register_arm_routes(http::Router& router, ArmContext ctx);

// Checks shared by every ARM route: api-version present, subscription known and reachable by the
// caller's tenant. Returns the error response, or nullopt when the request may proceed.
std::optional<http::Response> check_subscription_access(const http::Request& req,
                                                        const SubscriptionRegistry& subs,
                                                        const std::string& subscription);
std::optional<http::Response> require_api_version(const http::Request& req);
// check_subscription_access, then the resource group must exist (404 ResourceGroupNotFound).
std::optional<http::Response> check_group_access(const http::Request& req,
                                                 const SubscriptionRegistry& subs,
                                                 const ResourceGroupStore& groups,
                                                 const std::string& subscription,
                                                 const std::string& group);
// The request body as a JSON object (an empty body is {}); otherwise the ARM 400 to answer.
std::optional<http::Response> parse_json_object(const http::Request& req, nlohmann::json& out);

// A page of a list request ($top 1..1000, default 100; $skiptoken) with the nextLink to the rest.
nlohmann::json list_page(const http::Request& req, const std::vector<nlohmann::json>& items);
// Who made the request, for systemData: the token's app id, else its object id.
std::string caller_of(const http::Request& req);
// Reads `location` and `tags` of a PUT (`patch` false) or PATCH body into `out`, which holds the
// existing resource's values when `existing`: location is required on create, must be a known
// region (400 LocationNotAvailableForResourceType) and cannot change (400
// InvalidResourceLocation); PUT without tags clears them, PATCH keeps them.
// Reads `tags` of a PUT (`patch` false) or PATCH body into `tags`: an object or null; PUT without
// tags clears them, PATCH keeps them.
std::optional<http::Response> read_tags(const nlohmann::json& body, bool patch,
                                        nlohmann::json& tags);
std::optional<http::Response> read_location_and_tags(const nlohmann::json& body, bool patch,
                                                     bool existing, TrackedResource& out);

// A 200/201 JSON response with ARM's headers.
http::Response arm_json(int status, const nlohmann::json& body);

// Response headers every ARM answer carries: routing id, rate-limit counters.
class ArmHeadersFilter : public http::Filter {
 public:
  void after(const http::Request& req, http::Response& res) override;
};

}  // namespace cmk::arm
