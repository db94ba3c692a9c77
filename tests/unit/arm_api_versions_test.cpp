// Provider/type resolution and --strict-api-versions (arm/api_versions.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>

#include <nlohmann/json.hpp>

#include "arm/api_versions.h"
#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {
std::vector<std::string> segments_of(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

struct Arm {
  explicit Arm(bool strict) {
    auto o = test::test_options();
    o.strict_api_versions = strict;
    emu = test::start_emulator(o);
    cli = test::https_client(*emu);
    auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
  }
  std::unique_ptr<Emulator> emu;
  std::unique_ptr<httplib::SSLClient> cli;
  httplib::Headers auth;
  std::string rg = std::string("/subscriptions/") + test::kSubscription + "/resourceGroups/rg1";

  json call(const std::string& method, const std::string& path, int expected_status,
            const json& payload = nullptr) {
    httplib::Result r = method == "GET"    ? cli->Get(path, auth)
                        : method == "PUT"  ? cli->Put(path, auth, payload.dump(), "application/json")
                        : method == "POST" ? cli->Post(path, auth, payload.is_null() ? "" : payload.dump(),
                                                       "application/json")
                                           : cli->Delete(path, auth);
    REQUIRE(r);
    INFO(method << " " << path << " -> " << r->body);
    REQUIRE(r->status == expected_status);
    return r->body.empty() ? json() : json::parse(r->body);
  }
};
}  // namespace

TEST_CASE("ARM resolves the provider type of a path the way ARM does", "[arm][api_versions]") {
  auto t = arm::provider_target(segments_of(
      "/subscriptions/s/resourceGroups/r/providers/microsoft.kusto/Clusters/c/databases/d"));
  REQUIRE(t);
  REQUIRE(t->type);
  REQUIRE(t->type->resource_type == "clusters/databases");
  REQUIRE(t->resource_id ==
          "/subscriptions/s/resourceGroups/r/providers/microsoft.kusto/Clusters/c/databases/d");

  // An action resolves to the type it acts on; a collection to its parent's id.
  auto start = arm::provider_target(
      segments_of("/subscriptions/s/resourceGroups/r/providers/Microsoft.Kusto/clusters/c/start"));
  REQUIRE(start->type->resource_type == "clusters");
  REQUIRE(start->resource_id == "/subscriptions/s/resourceGroups/r/providers/Microsoft.Kusto/clusters/c");
  auto dbs = arm::provider_target(segments_of(
      "/subscriptions/s/resourceGroups/r/providers/Microsoft.Kusto/clusters/c/databases"));
  REQUIRE(dbs->type->resource_type == "clusters/databases");
  REQUIRE(dbs->resource_id == "/subscriptions/s/resourceGroups/r/providers/Microsoft.Kusto/clusters/c");
  auto purge = arm::provider_target(segments_of(
      "/subscriptions/s/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/v/purge"));
  REQUIRE(purge->type->resource_type == "locations/deletedVaults");
  auto ops = arm::provider_target(segments_of("/providers/Microsoft.Kusto/operations"));
  REQUIRE(ops->type->resource_type == "operations");

  // A type/name pair the provider does not have, an unknown namespace, and core paths.
  auto child = arm::provider_target(segments_of(
      "/subscriptions/s/resourceGroups/r/providers/Microsoft.Kusto/clusters/c/widgets/w"));
  REQUIRE(child->provider);
  REQUIRE_FALSE(child->type);
  REQUIRE(child->requested_type == "clusters/widgets");
  REQUIRE_FALSE(arm::provider_target(segments_of("/subscriptions/s/providers/Microsoft.Foo/bars/b"))
                    ->provider);
  REQUIRE_FALSE(arm::provider_target(segments_of("/subscriptions/s/resourceGroups/r")));
  REQUIRE_FALSE(arm::provider_target(segments_of("/subscriptions/s/providers/Microsoft.Kusto")));
  REQUIRE_FALSE(
      arm::provider_target(segments_of("/subscriptions/s/providers/Microsoft.Kusto/register")));
}

TEST_CASE("ARM: unknown namespaces and types get ARM's errors in both modes", "[arm][api_versions]") {
  Arm arm(false);
  auto ns = arm.call("GET", arm.rg + "/providers/Microsoft.Foo/bars/b?api-version=2023-01-01", 400);
  REQUIRE(ns["error"]["code"] == "InvalidResourceNamespace");
  REQUIRE(ns["error"]["message"] == "The resource namespace 'Microsoft.Foo' is invalid.");
  auto type = arm.call("PUT", arm.rg + "/providers/Microsoft.Kusto/widgets/w?api-version=2023-08-15",
                       404, json{{"location", "westeurope"}});
  REQUIRE(type["error"]["code"] == "InvalidResourceType");
  REQUIRE(type["error"]["message"] ==
          "The resource type 'widgets' could not be found in the namespace 'Microsoft.Kusto' for "
          "api version '2023-08-15'.");
  // Lenient: any api-version is served.
  arm.call("GET", std::string("/subscriptions/") + test::kSubscription + "?api-version=1999-01-01",
           200);
  arm.call("GET", arm.rg.substr(0, arm.rg.rfind("/rg1")) + "?api-version=2099-01-01", 200);
}

TEST_CASE("ARM --strict-api-versions refuses versions the providers do not list",
          "[arm][api_versions]") {
  Arm arm(true);
  const std::string sub = std::string("/subscriptions/") + test::kSubscription;
  // Core paths: InvalidApiVersionParameter, listing the supported versions.
  auto core = arm.call("GET", sub + "?api-version=2099-01-01", 400);
  REQUIRE(core["error"]["code"] == "InvalidApiVersionParameter");
  REQUIRE(core["error"]["message"].get<std::string>().rfind(
              "The api-version '2099-01-01' is invalid. The supported versions are '2024-11-01,", 0) ==
          0);
  arm.call("PUT", arm.rg + "?api-version=2022-09-01", 201, json{{"location", "westeurope"}});

  // A located type: NoRegisteredProviderFound naming the region from the body ...
  const std::string cluster = arm.rg + "/providers/Microsoft.Kusto/clusters/kcstrict1";
  auto put = arm.call("PUT", cluster + "?api-version=2099-01-01", 400,
                      json{{"location", "West Europe"}, {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}}});
  REQUIRE(put["error"]["code"] == "NoRegisteredProviderFound");
  const std::string msg = put["error"]["message"];
  REQUIRE(msg.rfind("No registered resource provider found for location 'westeurope' and API "
                    "version '2099-01-01' for type 'clusters'. The supported api-versions are "
                    "'2025-02-14, 2024-04-13,",
                    0) == 0);
  REQUIRE(msg.find("The supported locations are '") != std::string::npos);
  // ... from the resource group when the request has no body, and from the path's region.
  auto get = arm.call("GET", cluster + "?api-version=2015-01-01", 400);
  REQUIRE(get["error"]["message"].get<std::string>().find("for location 'westeurope'") !=
          std::string::npos);
  auto skus = arm.call(
      "GET", sub + "/providers/Microsoft.Kusto/locations/North Europe/skus?api-version=1.0", 400);
  REQUIRE(skus["error"]["message"].get<std::string>().find("for location 'northeurope'") !=
          std::string::npos);
  // A type without regions: InvalidApiVersionParameter.
  auto names = arm.call("POST", sub + "/providers/Microsoft.KeyVault/checkNameAvailability?api-version=2001-01-01",
                        400, json{{"name", "kv1"}, {"type", "Microsoft.KeyVault/vaults"}});
  REQUIRE(names["error"]["code"] == "InvalidApiVersionParameter");

  // Listed versions are served; case does not matter for the preview suffix.
  arm.call("PUT", cluster + "?api-version=2023-08-15", 201,
           json{{"location", "westeurope"}, {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}}});
  arm.call("GET", cluster + "?api-version=2018-09-07-PREVIEW", 200);
  arm.call("GET", sub + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31", 200);
  // Discovery is exempt; a missing api-version is still MissingApiVersionParameter.
  REQUIRE(arm.cli->Get("/metadata/endpoints?api-version=2022-09-01")->status == 200);
  REQUIRE(arm.call("GET", sub, 400)["error"]["code"] == "MissingApiVersionParameter");
}

TEST_CASE("lenient api-versions: served, each value logged once and all counted", "[arm][api_versions]") {
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mu = std::make_shared<std::mutex>();
  auto o = test::test_options();
  o.log_level = LogLevel::Warn;
  o.log_sink = [lines, mu](std::string_view line) {
    std::lock_guard lock(*mu);
    lines->emplace_back(line);
  };
  auto emu = test::start_emulator(o);
  auto cli = test::https_client(*emu);
  httplib::Headers auth{{"Authorization", "Bearer " + test::app_token(*emu)}};
  const std::string sub = std::string("/subscriptions/") + test::kSubscription;
  for (int i = 0; i < 3; ++i)
    REQUIRE(cli->Get(sub + "/resourcegroups?api-version=banana", auth)->status == 200);
  REQUIRE(cli->Get(sub + "/resourcegroups?api-version=2021-04-01", auth)->status == 200);
  REQUIRE(cli->Get(sub + "/providers/Microsoft.Kusto/clusters?api-version=2099-01-01", auth)->status == 200);

  auto info = json::parse(test::http_client(*emu)->Get("/_emulator/info")->body);
  CHECK(info["unlistedApiVersions"]["total"] == 4);
  CHECK(info["unlistedApiVersions"]["values"] == json{{"banana", 3}, {"2099-01-01", 1}});
  std::lock_guard lock(*mu);
  const auto mentions = [&](const std::string& text) {
    return std::count_if(lines->begin(), lines->end(),
                         [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  CHECK(mentions("api-version 'banana' is not one Microsoft.Resources lists; served anyway") == 1);
  CHECK(mentions("api-version '2099-01-01' is not one Microsoft.Kusto/clusters lists") == 1);
  CHECK(mentions("2021-04-01") == 0);
}
