// Microsoft.Kusto/clusters (emulator/kusto/clusters.h), in process: a router with the ARM core,
// the user-assigned identity provider and the Kusto provider over the same stores the emulator
// uses, fed requests as the listeners would build them (the caller is the default service
// principal). No TLS and no sleeping: LRO policies are immediate, by polls, or by a duration on
// the virtual clock, which the tests advance.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "arm/arm_api.h"
#include "http/server.h"
#include "kusto/clusters.h"
#include "msi/user_assigned_identities.h"
#include "state/fixture.h"

using namespace cmk;
using nlohmann::json;

namespace {

constexpr const char* kTenant = "72f988bf-0000-0000-0000-000000000001";
constexpr const char* kSub = "00000000-0000-0000-0000-000000000001";
const std::string kSubPath = std::string("/subscriptions/") + kSub;
const std::string kRg = kSubPath + "/resourceGroups/rg1";
const std::string kCluster = kRg + "/providers/Microsoft.Kusto/clusters/kc01";
const std::string kV = "?api-version=2024-04-13";

struct Kusto {
  VirtualClock clock;
  IdGenerator ids;
  entra::Directory directory;
  arm::SubscriptionRegistry subscriptions;
  arm::ResourceGroupStore groups;
  arm::LroPolicyTable lro;
  arm::OperationEngine operations{clock, ids};
  arm::ResourceStore resources{clock, ids};
  http::Router router;

  explicit Kusto(arm::LroPolicy policy = policy_immediate()) {
    auto f = state::parse_fixture(state::builtin_default_fixture_text(), "built-in default");
    REQUIRE(f.is_ok());
    REQUIRE(state::apply_fixtures({*f}, directory, subscriptions).is_ok());
    arm::ArmContext arm;
    arm.directory = &directory;
    arm.subscriptions = &subscriptions;
    arm.groups = &groups;
    arm.operations = &operations;
    arm.lro_policies = &lro;
    arm.resources = &resources;
    arm.on_cascade_delete = [this](const arm::TrackedResource& r) {
      if (http::iequals(r.type, msi::kUserAssignedIdentityType))
        directory.remove_managed_identity(r.id.str());
      if (kusto::is_cluster_type(r.type)) kusto::release_cluster(directory, r);
    };
    arm::register_arm_routes(router, arm);
    msi::register_user_assigned_identity_routes(router, {arm, &resources, &ids});
    kusto::register_kusto_routes(router, {arm, &ids});
    lro.set_default(policy);
    REQUIRE(call("PUT", kRg + kV, {{"location", "westeurope"}}).status == 201);
  }

  static arm::LroPolicy policy_immediate() {
    arm::LroPolicy p;
    p.mode = arm::LroPolicy::Mode::Immediate;
    return p;
  }

  http::Response call(const std::string& method, const std::string& target, const json& body = nullptr,
                      const http::Headers& headers = {}) {
    http::Request req;
    req.method = method;
    req.listener = http::Listener::Https;
    http::parse_target(req, target, "management.azure.com", 443);
    req.headers = headers;
    if (!body.is_null()) req.body = body.dump();
    req.principal = http::Principal{};
    req.principal->tenant_id = kTenant;
    req.principal->object_id = "11111111-0000-0000-0000-000000000001";
    req.principal->app_id = "11111111-1111-1111-1111-111111111111";
    http::Response res;
    auto outcome = router.dispatch(req, res);
    INFO(method << " " << target);
    REQUIRE(outcome == http::Router::Outcome::Handled);
    return res;
  }
  json get_json(const std::string& target) {
    auto r = call("GET", target);
    INFO(r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
  // An absolute URL from a header, back to a target on this router.
  static std::string target_of(const std::string& url) {
    const std::string prefix = "https://management.azure.com";
    REQUIRE(url.rfind(prefix, 0) == 0);
    return url.substr(prefix.size());
  }
  std::string create_identity(const std::string& name) {
    const std::string id = kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name;
    REQUIRE(call("PUT", id + kV, {{"location", "westeurope"}}).status == 201);
    return id;
  }
};

json parse(const http::Response& r) { return json::parse(r.body); }

json cluster_body(const std::string& sku = "Standard_E8ads_v5", const std::string& tier = "Standard") {
  return {{"location", "West Europe"}, {"sku", {{"name", sku}, {"tier", tier}, {"capacity", 2}}}};
}

}  // namespace

TEST_CASE("kusto clusters: cluster name rules and identity types", "[kusto]") {
  CHECK(kusto::is_valid_cluster_name("kc01"));
  CHECK(kusto::is_valid_cluster_name("a234567890123456789012"));
  CHECK_FALSE(kusto::is_valid_cluster_name("a2345678901234567890123"));
  CHECK_FALSE(kusto::is_valid_cluster_name("kc1"));
  CHECK_FALSE(kusto::is_valid_cluster_name("1abc"));
  CHECK(kusto::is_valid_cluster_name("kustoCluster"));  // recorded az traffic: mixed case accepted
  CHECK_FALSE(kusto::is_valid_cluster_name("1Abc"));
  CHECK_FALSE(kusto::is_valid_cluster_name("ab-cd"));
  CHECK(kusto::normalize_identity_type("systemassigned,userassigned") == "SystemAssigned, UserAssigned");
  CHECK(kusto::normalize_identity_type("SystemAssigned, UserAssigned") == "SystemAssigned, UserAssigned");
  CHECK(kusto::normalize_identity_type("NONE") == "None");
  CHECK_FALSE(kusto::normalize_identity_type("Both"));
}

TEST_CASE("kusto clusters: create, read, shape, LRO headers and operation status", "[kusto]") {
  Kusto k;
  auto put = k.call("PUT", kCluster + kV, cluster_body());
  INFO(put.body);
  REQUIRE(put.status == 201);
  const std::string async = *put.header("Azure-AsyncOperation");
  const std::string location = *put.header("Location");
  CHECK(put.header("Retry-After") == "1");
  CHECK(async.rfind("https://management.azure.com/subscriptions/" + std::string(kSub) +
                        "/providers/Microsoft.Kusto/locations/westeurope/operationResults/", 0) == 0);
  CHECK(async.find("?api-version=2024-04-13") != std::string::npos);
  CHECK(location == async + "&operationResultResponseType=Location");
  CHECK(put.header("ETag").has_value());

  auto c = k.get_json(kCluster + kV);
  CHECK(c["id"] == kRg + "/providers/Microsoft.Kusto/Clusters/kc01");
  CHECK(c["type"] == "Microsoft.Kusto/Clusters");
  CHECK(c["name"] == "kc01");
  CHECK(c["location"] == "westeurope");
  CHECK(c["sku"] == json{{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}, {"capacity", 2}});
  const json& p = c["properties"];
  CHECK(p["provisioningState"] == "Succeeded");
  CHECK(p["state"] == "Running");
  CHECK(p["uri"] == "https://kc01.westeurope.kusto.windows.net");
  CHECK(p["dataIngestionUri"] == "https://ingest-kc01.westeurope.kusto.windows.net");
  CHECK(p["enableDiskEncryption"] == false);
  CHECK(p["enableDoubleEncryption"] == false);
  CHECK(p["engineType"] == "V3");
  CHECK(p["enableAutoStop"] == true);
  CHECK(p["publicNetworkAccess"] == "Enabled");
  CHECK(p["restrictOutboundNetworkAccess"] == "Disabled");
  CHECK(p["publicIPType"] == "IPv4");
  CHECK(p["trustedExternalTenants"] == json::array({{{"value", "*"}}}));
  CHECK_FALSE(p.contains("keyVaultProperties"));
  CHECK(c.contains("etag"));
  CHECK(c["systemData"]["createdBy"] == "11111111-1111-1111-1111-111111111111");
  CHECK_FALSE(c.contains("identity"));

  // Casing of the path does not matter.
  CHECK(k.get_json(kSubPath + "/resourcegroups/RG1/providers/microsoft.kusto/Clusters/KC01" + kV)["name"] == "kc01");

  auto status = k.get_json(Kusto::target_of(async));
  CHECK(status["status"] == "Succeeded");
  CHECK(status["percentComplete"] == 1.0);
  CHECK(status["properties"]["operationKind"] == "ClusterCreateExternal");
  CHECK(status["properties"]["operationState"] == "Completed");
  CHECK(status["properties"]["provisioningState"] == "Succeeded");
  CHECK(status["id"].get<std::string>().find("/locations/westeurope/operationresults/") != std::string::npos);
  CHECK(status["name"] == status["id"].get<std::string>().substr(status["id"].get<std::string>().rfind('/') + 1));
  CHECK(status.contains("startTime"));
  CHECK(status.contains("endTime"));
  CHECK_FALSE(status.contains("error"));
  auto final_result = k.call("GET", Kusto::target_of(location));
  CHECK(final_result.status == 200);
  CHECK(parse(final_result)["name"] == "kc01");

  // Another subscription's or provider's operation ids are not found here.
  CHECK(k.call("GET", kSubPath + "/providers/Microsoft.Kusto/locations/westeurope/operationResults/nope" + kV).status == 404);
}

TEST_CASE("kusto clusters: validation of create requests", "[kusto]") {
  Kusto k;
  auto code = [&](const std::string& target, const json& body) {
    auto r = k.call("PUT", target + kV, body);
    return std::make_pair(r.status, parse(r)["error"]["code"].get<std::string>());
  };
  CHECK(code(kRg + "/providers/Microsoft.Kusto/clusters/Bad_Name", cluster_body()) ==
        std::make_pair(400, std::string("InvalidResourceName")));
  CHECK(code(kCluster, {{"sku", cluster_body()["sku"]}}) == std::make_pair(400, std::string("LocationRequired")));
  CHECK(code(kCluster, {{"location", "mars"}, {"sku", cluster_body()["sku"]}}).second ==
        "LocationNotAvailableForResourceType");
  CHECK(code(kCluster, {{"location", "westeurope"}}) == std::make_pair(400, std::string("InvalidRequestContent")));
  CHECK(code(kCluster, cluster_body("Standard_E8ads_v5", "Premium")).second == "InvalidRequestContent");
  CHECK(code(kCluster, cluster_body("Standard_E8ads_v5", "Basic")).second == "InvalidRequestContent");
  CHECK(code(kCluster, cluster_body("Dev(No SLA)_Standard_E2a_v4", "Standard")).second == "InvalidRequestContent");
  CHECK(k.call("PUT", kCluster + kV, cluster_body("Dev(No SLA)_Standard_E2a_v4", "basic")).status == 201);
  CHECK(k.get_json(kCluster + kV)["sku"]["tier"] == "Basic");
  CHECK(k.get_json(kCluster + kV)["sku"]["capacity"] == 2);
  // Missing resource group and missing api-version are ARM's answers.
  CHECK(code(kSubPath + "/resourceGroups/nope/providers/Microsoft.Kusto/clusters/kc2", cluster_body()) ==
        std::make_pair(404, std::string("ResourceGroupNotFound")));
  CHECK(k.call("GET", kCluster).status == 400);
  CHECK(parse(k.call("GET", kRg + "/providers/Microsoft.Kusto/clusters/kc09" + kV))["error"]["code"] ==
        "ResourceNotFound");
}

TEST_CASE("kusto clusters: provisioning state advances on the virtual clock and 409 meanwhile", "[kusto]") {
  arm::LroPolicy by_time;  // the default: about a second of virtual time
  Kusto k(by_time);
  k.clock.set_frozen(true);
  auto put = k.call("PUT", kCluster + kV, cluster_body());
  REQUIRE(put.status == 201);
  CHECK(parse(put)["properties"]["provisioningState"] == "Creating");
  CHECK(parse(put)["properties"]["state"] == "Creating");
  CHECK(k.get_json(kCluster + kV)["properties"]["provisioningState"] == "Creating");

  const std::string async = Kusto::target_of(*put.header("Azure-AsyncOperation"));
  const std::string location = Kusto::target_of(*put.header("Location"));
  auto running = k.get_json(async);
  CHECK(running["status"] == "Running");
  CHECK(running["percentComplete"] == 0.5);
  CHECK(running["properties"]["operationState"] == "InProgress");
  CHECK(running.contains("endTime"));
  auto loc202 = k.call("GET", location);
  CHECK(loc202.status == 202);
  CHECK(loc202.header("Location").has_value());
  CHECK(loc202.header("Retry-After") == "1");

  auto again = k.call("PATCH", kCluster + kV, {{"tags", {{"a", "b"}}}});
  CHECK(again.status == 409);
  CHECK(parse(again)["error"]["code"] == "RequestConflict");
  CHECK(parse(again)["error"]["message"] ==
        "Cannot modify resource with id '" + kRg +
            "/providers/Microsoft.Kusto/Clusters/kc01' because the resource entity provisioning state "
            "is not terminal. Please wait for the provisioning state to become terminal and then "
            "retry the request.");
  CHECK(k.call("DELETE", kCluster + kV).status == 409);

  k.clock.advance(std::chrono::seconds(2));
  // A GET alone shows progress (az kusto cluster wait only polls GET).
  auto c = k.get_json(kCluster + kV);
  CHECK(c["properties"]["provisioningState"] == "Succeeded");
  CHECK(c["properties"]["state"] == "Running");
  CHECK(k.get_json(async)["status"] == "Succeeded");
  CHECK(k.call("GET", location).status == 200);

  auto patch = k.call("PATCH", kCluster + kV, {{"tags", {{"a", "b"}}}});
  REQUIRE(patch.status == 200);
  CHECK(parse(patch)["properties"]["provisioningState"] == "Accepted");  // as recorded for updates
  CHECK(parse(patch)["properties"]["state"] == "Updating");
  CHECK(k.get_json(Kusto::target_of(*patch.header("Azure-AsyncOperation")))["properties"]["operationKind"] ==
        "ServiceConfigurationAlter");
  k.clock.advance(std::chrono::seconds(2));
  CHECK(k.get_json(kCluster + kV)["properties"]["provisioningState"] == "Succeeded");
  CHECK(k.get_json(kCluster + kV)["tags"] == json{{"a", "b"}});
}

TEST_CASE("kusto clusters: an operation by polls completes after N polls of either URL", "[kusto]") {
  arm::LroPolicy polls;
  polls.mode = arm::LroPolicy::Mode::AfterPolls;
  polls.polls = 2;
  Kusto k(polls);
  auto put = k.call("PUT", kCluster + kV, cluster_body());
  const std::string async = Kusto::target_of(*put.header("Azure-AsyncOperation"));
  const std::string location = Kusto::target_of(*put.header("Location"));
  // GETs of the cluster are not polls.
  for (int i = 0; i < 3; ++i) CHECK(k.get_json(kCluster + kV)["properties"]["provisioningState"] == "Creating");
  CHECK(k.get_json(async)["status"] == "Running");
  auto done = k.call("GET", location);
  CHECK(done.status == 200);
  CHECK(parse(done)["properties"]["provisioningState"] == "Succeeded");
}

TEST_CASE("kusto clusters: PATCH merges and keeps create-only settings - the SDK defaults do not clobber", "[kusto]") {
  Kusto k;
  json body = cluster_body();
  body["properties"] = {{"enableDoubleEncryption", true}, {"enableStreamingIngest", true},
                        {"enablePurge", true}, {"state", "Stopped"}, {"uri", "https://elsewhere"}};
  body["identity"] = {{"type", "SystemAssigned"}};  // the identity the key will be used with
  REQUIRE(k.call("PUT", kCluster + kV, body).status == 201);
  auto c = k.get_json(kCluster + kV);
  CHECK(c["properties"]["enableDoubleEncryption"] == true);
  CHECK(c["properties"]["state"] == "Running");                           // read-only: ignored
  CHECK(c["properties"]["uri"] == "https://kc01.westeurope.kusto.windows.net");

  // What Debian's azure-mgmt-kusto 3.1.0b1 sends for a key rotation.
  json patch = {{"properties", kusto::sdk_patch_defaults()}};
  patch["properties"]["keyVaultProperties"] = {{"keyName", "cmk1"}, {"keyVersion", ""},
                                               {"keyVaultUri", "https://kv1.vault.azure.net/"}};
  auto r = k.call("PATCH", kCluster + kV, patch, {{"If-Match", "*"}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("Azure-AsyncOperation").has_value());
  CHECK(r.header("Location").has_value());
  c = k.get_json(kCluster + kV);
  CHECK(c["properties"]["enableDoubleEncryption"] == true);
  CHECK(c["properties"]["enableStreamingIngest"] == true);
  CHECK(c["properties"]["enablePurge"] == true);
  CHECK(c["properties"]["keyVaultProperties"] ==
        json{{"keyName", "cmk1"}, {"keyVersion", ""}, {"keyVaultUri", "https://kv1.vault.azure.net/"}});
  CHECK(c["sku"]["name"] == "Standard_E8ads_v5");

  // A value the SDK user did set is applied; explicit changes by other clients too.
  json set = {{"properties", kusto::sdk_patch_defaults()}};
  set["properties"]["enableAutoStop"] = false;
  REQUIRE(k.call("PATCH", kCluster + kV, set).status == 200);
  CHECK(k.get_json(kCluster + kV)["properties"]["enableAutoStop"] == false);
  REQUIRE(k.call("PATCH", kCluster + kV, {{"properties", {{"enablePurge", false}}}}).status == 200);
  CHECK(k.get_json(kCluster + kV)["properties"]["enablePurge"] == false);

  // Changing a create-only property explicitly is refused.
  auto dbl = k.call("PATCH", kCluster + kV, {{"properties", {{"enableDoubleEncryption", false}}}});
  CHECK(dbl.status == 400);
  CHECK(parse(dbl)["error"]["code"] == "InvalidRequestContent");

  // {} switches back to Microsoft-managed keys.
  REQUIRE(k.call("PATCH", kCluster + kV, {{"properties", {{"keyVaultProperties", json::object()}}}}).status == 200);
  CHECK_FALSE(k.get_json(kCluster + kV)["properties"].contains("keyVaultProperties"));

  // sku merges; location cannot move.
  REQUIRE(k.call("PATCH", kCluster + kV, {{"sku", {{"capacity", 4}}}}).status == 200);
  CHECK(k.get_json(kCluster + kV)["sku"] == json{{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}, {"capacity", 4}});
  CHECK(parse(k.call("PATCH", kCluster + kV, {{"location", "westus"}}))["error"]["code"] == "InvalidResourceLocation");
  CHECK(k.call("PATCH", kRg + "/providers/Microsoft.Kusto/clusters/kc09" + kV, {{"tags", json::object()}}).status == 404);
}

TEST_CASE("kusto clusters: PUT replaces, accepts the whole resource back (az resource update), 200 on replace", "[kusto]") {
  Kusto k;
  json body = cluster_body();
  body["tags"] = {{"env", "test"}};
  body["properties"] = {{"enableDoubleEncryption", true}, {"enableStreamingIngest", true}};
  body["identity"] = {{"type", "SystemAssigned"}};
  REQUIRE(k.call("PUT", kCluster + kV, body).status == 201);
  json whole = k.get_json(kCluster + kV);
  whole["properties"]["keyVaultProperties"] = {{"keyName", "cmk1"}, {"keyVaultUri", "https://kv1.vault.azure.net"}};
  auto r = k.call("PUT", kCluster + kV, whole);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("Azure-AsyncOperation").has_value());
  auto c = k.get_json(kCluster + kV);
  CHECK(c["properties"]["keyVaultProperties"]["keyName"] == "cmk1");
  CHECK(c["properties"]["enableStreamingIngest"] == true);
  CHECK(c["tags"] == json{{"env", "test"}});
  CHECK(c["id"] == whole["id"]);

  // A bare replace resets what it does not restate, except create-only settings.
  REQUIRE(k.call("PUT", kCluster + kV, cluster_body()).status == 200);
  c = k.get_json(kCluster + kV);
  CHECK(c["properties"]["enableStreamingIngest"] == false);
  CHECK(c["properties"]["enableDoubleEncryption"] == true);
  CHECK(c["tags"] == json::object());
}

TEST_CASE("kusto clusters: If-Match and If-None-Match", "[kusto]") {
  Kusto k;
  CHECK(k.call("PATCH", kCluster + kV, {{"tags", json::object()}}, {{"If-Match", "*"}}).status == 412);
  REQUIRE(k.call("PUT", kCluster + kV, cluster_body(), {{"If-None-Match", "*"}}).status == 201);
  auto again = k.call("PUT", kCluster + kV, cluster_body(), {{"If-None-Match", "*"}});
  CHECK(again.status == 412);
  CHECK(parse(again)["error"]["code"] == "PreconditionFailed");
  const std::string etag = k.get_json(kCluster + kV)["etag"];
  CHECK(k.call("PATCH", kCluster + kV, {{"tags", json::object()}}, {{"If-Match", "\"other\""}}).status == 412);
  CHECK(k.call("PATCH", kCluster + kV, {{"tags", json::object()}}, {{"If-Match", etag}}).status == 200);
  CHECK(k.call("PATCH", kCluster + kV, {{"tags", json::object()}}, {{"If-Match", etag}}).status == 412);  // changed
  CHECK(k.call("PATCH", kCluster + kV, {{"tags", json::object()}}, {{"If-Match", "*"}}).status == 200);
}

TEST_CASE("kusto clusters: identities (system, user-assigned, both, none)", "[kusto]") {
  Kusto k;
  const std::string uami = k.create_identity("id1");
  const auto uami_mi = k.directory.find_managed_identity_by_resource_id(uami);
  REQUIRE(uami_mi);

  json body = cluster_body();
  body["identity"] = {{"type", "systemassigned"}};
  REQUIRE(k.call("PUT", kCluster + kV, body).status == 201);
  auto c = k.get_json(kCluster + kV);
  CHECK(c["identity"]["type"] == "SystemAssigned");
  CHECK(c["identity"]["tenantId"] == kTenant);
  CHECK(c["identity"]["userAssignedIdentities"] == json::object());
  const std::string principal = c["identity"]["principalId"];
  const std::string cluster_id = c["id"];
  auto sys = k.directory.find_managed_identity_by_resource_id(cluster_id);
  REQUIRE(sys);
  CHECK(sys->kind == entra::IdentityKind::SystemAssigned);
  CHECK(sys->principal_id == principal);

  // Add a user-assigned identity: the system one keeps its principal id; the map is filled in.
  auto r = k.call("PATCH", kCluster + kV,
                  {{"identity", {{"type", "SystemAssigned, UserAssigned"},
                                 {"userAssignedIdentities", {{uami, json::object()}}}}}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  c = k.get_json(kCluster + kV);
  CHECK(c["identity"]["type"] == "SystemAssigned, UserAssigned");
  CHECK(c["identity"]["principalId"] == principal);
  CHECK(c["identity"]["userAssignedIdentities"][uami] ==
        json{{"principalId", uami_mi->principal_id}, {"clientId", uami_mi->client_id}});

  // UserAssigned only: the system identity goes from the directory.
  REQUIRE(k.call("PATCH", kCluster + kV, {{"identity", {{"type", "UserAssigned"}}}}).status == 200);
  c = k.get_json(kCluster + kV);
  CHECK(c["identity"]["type"] == "UserAssigned");
  CHECK_FALSE(c["identity"].contains("principalId"));
  CHECK(c["identity"]["userAssignedIdentities"].contains(uami));
  CHECK_FALSE(k.directory.find_managed_identity_by_resource_id(cluster_id));
  CHECK(k.directory.find_managed_identity_by_resource_id(uami));  // the user-assigned one stays

  // Errors: unknown identity, wrong type of id, inconsistent type.
  auto missing = k.call("PATCH", kCluster + kV,
                        {{"identity", {{"type", "UserAssigned"},
                                       {"userAssignedIdentities",
                                        {{kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope", json::object()}}}}}});
  CHECK(missing.status == 400);
  CHECK(parse(missing)["error"]["code"] == "FailedIdentityOperation");
  auto wrong = k.call("PATCH", kCluster + kV,
                      {{"identity", {{"type", "UserAssigned"}, {"userAssignedIdentities", {{kCluster, json::object()}}}}}});
  CHECK(parse(wrong)["error"]["code"] == "InvalidIdentity");
  CHECK(parse(k.call("PATCH", kCluster + kV, {{"identity", {{"type", "Both"}}}}))["error"]["code"] == "InvalidIdentity");
  CHECK(parse(k.call("PATCH", kCluster + kV,
                     {{"identity", {{"type", "UserAssigned"}, {"userAssignedIdentities", {{uami, nullptr}}}}}}))["error"]["code"] ==
        "InvalidIdentity");  // removing the last one leaves UserAssigned without identities

  // None removes all.
  REQUIRE(k.call("PATCH", kCluster + kV, {{"identity", {{"type", "None"}}}}).status == 200);
  CHECK_FALSE(k.get_json(kCluster + kV).contains("identity"));

  // Deleting a cluster releases its system identity.
  REQUIRE(k.call("PATCH", kCluster + kV, {{"identity", {{"type", "SystemAssigned"}}}}).status == 200);
  REQUIRE(k.directory.find_managed_identity_by_resource_id(cluster_id));
  REQUIRE(k.call("DELETE", kCluster + kV).status == 202);
  CHECK_FALSE(k.directory.find_managed_identity_by_resource_id(cluster_id));
}

TEST_CASE("kusto clusters: delete is an LRO, then 404 - absent is 204", "[kusto]") {
  arm::LroPolicy by_time;
  Kusto k(by_time);
  k.clock.set_frozen(true);
  REQUIRE(k.call("PUT", kCluster + kV, cluster_body()).status == 201);
  k.clock.advance(std::chrono::seconds(2));
  auto del = k.call("DELETE", kCluster + kV);
  REQUIRE(del.status == 202);
  CHECK(del.body.empty());
  const std::string async = Kusto::target_of(*del.header("Azure-AsyncOperation"));
  const std::string location = Kusto::target_of(*del.header("Location"));
  CHECK(del.header("Retry-After") == "1");
  auto c = k.get_json(kCluster + kV);
  CHECK(c["properties"]["provisioningState"] == "Deleting");
  CHECK(c["properties"]["state"] == "Deleting");
  CHECK(k.call("GET", location).status == 202);
  CHECK(k.get_json(async)["properties"]["operationKind"] == "ClusterDelete");
  k.clock.advance(std::chrono::seconds(2));
  CHECK(k.call("GET", kCluster + kV).status == 404);
  CHECK(k.get_json(async)["status"] == "Succeeded");
  CHECK(k.call("GET", location).status == 204);
  CHECK(k.call("DELETE", kCluster + kV).status == 204);
}

TEST_CASE("kusto clusters: stop and start", "[kusto]") {
  arm::LroPolicy by_time;
  Kusto k(by_time);
  k.clock.set_frozen(true);
  REQUIRE(k.call("PUT", kCluster + kV, cluster_body()).status == 201);
  k.clock.advance(std::chrono::seconds(2));
  auto stop = k.call("POST", kCluster + "/stop" + kV);
  REQUIRE(stop.status == 202);
  CHECK(stop.header("Azure-AsyncOperation").has_value());
  CHECK(k.get_json(kCluster + kV)["properties"]["state"] == "Stopping");
  CHECK(k.call("POST", kCluster + "/start" + kV).status == 409);
  k.clock.advance(std::chrono::seconds(2));
  CHECK(k.get_json(kCluster + kV)["properties"]["state"] == "Stopped");
  CHECK(k.call("GET", Kusto::target_of(*stop.header("Location"))).status == 200);
  // Reconfiguring a stopped cluster leaves it stopped.
  REQUIRE(k.call("PATCH", kCluster + kV, {{"tags", {{"x", "y"}}}}).status == 200);
  k.clock.advance(std::chrono::seconds(2));
  CHECK(k.get_json(kCluster + kV)["properties"]["state"] == "Stopped");
  REQUIRE(k.call("POST", kCluster + "/start" + kV).status == 202);
  CHECK(k.get_json(kCluster + kV)["properties"]["state"] == "Starting");
  k.clock.advance(std::chrono::seconds(2));
  CHECK(k.get_json(kCluster + kV)["properties"]["state"] == "Running");
  CHECK(k.call("POST", kRg + "/providers/Microsoft.Kusto/clusters/kc09/stop" + kV).status == 404);
}

TEST_CASE("kusto clusters: names are global across resource groups and subscriptions", "[kusto]") {
  Kusto k;
  REQUIRE(k.call("PUT", kRg + "/providers/Microsoft.Kusto/clusters/kcglobal1" + kV, cluster_body()).status == 201);
  const std::string other_sub = "00000000-0000-0000-0000-000000000002";
  k.subscriptions.put({other_sub, kTenant, "Second", "Enabled"});
  const std::string other_rg = "/subscriptions/" + other_sub + "/resourceGroups/rgx";
  REQUIRE(k.call("PUT", other_rg + kV, {{"location", "westus"}}).status == 201);
  auto dup = k.call("PUT", other_rg + "/providers/Microsoft.Kusto/clusters/kcglobal1" + kV, cluster_body());
  CHECK(dup.status == 400);
  CHECK(parse(dup)["error"]["code"] == "InvalidClusterName");
  CHECK(parse(dup)["error"]["message"] ==
        "Name 'kcglobal1' with type Engine is already taken. Please specify a different name");
  auto check = parse(k.call("POST", "/subscriptions/" + other_sub +
                                        "/providers/Microsoft.Kusto/locations/westus/checkNameAvailability" + kV,
                            {{"name", "kcglobal1"}, {"type", "Microsoft.Kusto/clusters"}}));
  CHECK(check["nameAvailable"] == false);
  // Replacing the cluster itself is not a clash; once it is gone the name is free again.
  CHECK(k.call("PUT", kRg + "/providers/Microsoft.Kusto/clusters/kcglobal1" + kV, cluster_body()).status == 200);
  REQUIRE(k.call("DELETE", kRg + "/providers/Microsoft.Kusto/clusters/kcglobal1" + kV).status == 202);
  CHECK(k.call("PUT", other_rg + "/providers/Microsoft.Kusto/clusters/kcglobal1" + kV, cluster_body()).status == 201);
}

TEST_CASE("kusto clusters: lists page with nextLink - name availability - SKUs", "[kusto]") {
  Kusto k;
  for (const char* n : {"kca1", "kca2", "kca3"})
    REQUIRE(k.call("PUT", kRg + "/providers/Microsoft.Kusto/clusters/" + n + kV, cluster_body()).status == 201);
  REQUIRE(k.call("PUT", kSubPath + "/resourceGroups/rg2" + kV, {{"location", "westus"}}).status == 201);
  REQUIRE(k.call("PUT", kSubPath + "/resourceGroups/rg2/providers/Microsoft.Kusto/clusters/kcb1" + kV, cluster_body()).status == 201);

  auto page = k.get_json(kRg + "/providers/Microsoft.Kusto/clusters" + kV + "&$top=2");
  CHECK(page["value"].size() == 2);
  REQUIRE(page.contains("nextLink"));
  auto rest = k.get_json(Kusto::target_of(page["nextLink"]));
  CHECK(rest["value"].size() == 1);
  CHECK_FALSE(rest.contains("nextLink"));
  CHECK(k.get_json(kSubPath + "/providers/Microsoft.Kusto/clusters" + kV)["value"].size() == 4);

  const std::string check = kSubPath + "/providers/Microsoft.Kusto/locations/westeurope/checkNameAvailability" + kV;
  auto taken = parse(k.call("POST", check, {{"name", "kca1"}, {"type", "Microsoft.Kusto/clusters"}}));
  CHECK(taken["nameAvailable"] == false);
  CHECK(taken["reason"] == "AlreadyExists");
  CHECK(taken["message"] == "Name 'kca1' with type Engine is already taken. Please specify a different name");
  auto free = parse(k.call("POST", check, {{"name", "kcfree"}, {"type", "Microsoft.Kusto/clusters"}}));
  CHECK(free["nameAvailable"] == true);
  auto invalid = parse(k.call("POST", check, {{"name", "X"}, {"type", "Microsoft.Kusto/clusters"}}));
  CHECK(invalid["nameAvailable"] == false);
  CHECK(invalid["reason"] == "Invalid");
  CHECK(k.call("POST", check, {{"name", "kcx1"}, {"type", "Microsoft.Kusto/clusters/databases"}}).status == 400);

  auto names = [](const json& list) {
    std::vector<std::string> v;
    for (const auto& s : list["value"]) v.push_back(s.contains("sku") ? s["sku"]["name"] : s["name"]);
    return v;
  };
  auto all = k.get_json(kSubPath + "/providers/Microsoft.Kusto/skus" + kV);
  auto all_names = names(all);
  for (const char* s : {"Standard_E8ads_v5", "Dev(No SLA)_Standard_E2a_v4", "Standard_L8s_v3"})
    CHECK(std::find(all_names.begin(), all_names.end(), s) != all_names.end());
  auto regional = k.get_json(kSubPath + "/providers/Microsoft.Kusto/locations/westeurope/skus" + kV);
  // As recorded (2025-02-14): a region's list names the region in locationInfo only.
  CHECK(regional["value"][0]["locationInfo"][0]["location"] == "westeurope");
  CHECK_FALSE(regional["value"][0].contains("locations"));
  CHECK(all["value"][0]["locations"].size() == 1);  // one entry per SKU and region
  auto operations = k.get_json("/providers/Microsoft.Kusto/operations" + kV);
  CHECK(operations["value"][0]["display"]["provider"] == "Microsoft.Kusto");
  CHECK(k.call("GET", kSubPath + "/providers/Microsoft.Kusto/locations/mars/skus" + kV).status == 400);
  auto by_cluster = k.get_json(kRg + "/providers/Microsoft.Kusto/clusters/kca1/skus" + kV);
  CHECK(by_cluster["value"][0].contains("capacity"));
  CHECK(by_cluster["value"][0]["resourceType"] == "Microsoft.Kusto/clusters");
}

TEST_CASE("kusto clusters: deleting the resource group releases the clusters' system identities", "[kusto]") {
  Kusto k;
  json body = cluster_body();
  body["identity"] = {{"type", "SystemAssigned"}};
  REQUIRE(k.call("PUT", kCluster + kV, body).status == 201);
  const std::string id = k.get_json(kCluster + kV)["id"];
  REQUIRE(k.directory.find_managed_identity_by_resource_id(id));
  auto del = k.call("DELETE", kRg + kV);
  REQUIRE((del.status == 202 || del.status == 200));
  CHECK_FALSE(k.directory.find_managed_identity_by_resource_id(id));
  CHECK(k.resources.list(kSub, "", kusto::kClusterType).empty());
}

TEST_CASE("kusto clusters: language extensions are added and removed by a ServiceConfigurationAlter operation",
          "[kusto]") {
  arm::LroPolicy by_time;
  Kusto k(by_time);
  k.clock.set_frozen(true);
  REQUIRE(k.call("PUT", kCluster + kV, cluster_body()).status == 201);
  k.clock.advance(std::chrono::seconds(2));
  auto added = k.call("POST", kCluster + "/addLanguageExtensions" + kV,
                      {{"value", {{{"languageExtensionName", "PYTHON"}}, {{"languageExtensionName", "R"}}}}});
  REQUIRE(added.status == 202);
  CHECK(k.get_json(Kusto::target_of(*added.header("Azure-AsyncOperation")))["properties"]["operationKind"] ==
        "ServiceConfigurationAlter");
  CHECK(k.call("POST", kCluster + "/addLanguageExtensions" + kV, {{"value", json::array()}}).status == 409);
  k.clock.advance(std::chrono::seconds(2));
  auto listed = json::parse(k.call("POST", kCluster + "/listLanguageExtensions" + kV).body);
  CHECK(listed["value"].size() == 2);
  REQUIRE(k.call("POST", kCluster + "/removeLanguageExtensions" + kV,
                 {{"value", {{{"languageExtensionName", "python"}}}}})
              .status == 202);
  k.clock.advance(std::chrono::seconds(2));
  const json c = k.get_json(kCluster + kV);
  CHECK(c["properties"]["languageExtensions"]["value"] == json::array({{{"languageExtensionName", "R"}}}));
  CHECK(c["properties"]["state"] == "Running");
  CHECK(k.call("POST", kCluster + "/addLanguageExtensions" + kV, {{"value", {{{"x", 1}}}}}).status == 400);
  CHECK(k.call("POST", kRg + "/providers/Microsoft.Kusto/clusters/kc09/listLanguageExtensions" + kV).status == 404);
}
