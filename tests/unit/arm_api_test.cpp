// The ARM surface's own endpoints, end to end over HTTPS with real tokens.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {
struct Arm {
  std::unique_ptr<Emulator> emu = test::start_emulator();
  std::unique_ptr<httplib::SSLClient> cli = test::https_client(*emu);
  httplib::Headers auth{{"Authorization", "Bearer " + test::app_token(*emu)}};
  std::string sub = std::string("/subscriptions/") + test::kSubscription;

  httplib::Result get(const std::string& path) { return cli->Get(path, auth); }
  httplib::Result put(const std::string& path, const json& body) {
    return cli->Put(path, auth, body.dump(), "application/json");
  }
};
json body(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}
}  // namespace

TEST_CASE("ARM: subscriptions, tenants, locations and providers", "[arm][arm_api]") {
  Arm arm;
  auto subs = arm.get("/subscriptions?api-version=2019-11-01");
  REQUIRE(subs->status == 200);
  auto s = body(subs)["value"][0];
  REQUIRE(s["subscriptionId"] == test::kSubscription);
  REQUIRE(s["tenantId"] == test::kTenant);
  REQUIRE(s["state"] == "Enabled");
  REQUIRE(subs->get_header_value("x-ms-ratelimit-remaining-subscription-reads") == "11999");

  REQUIRE(body(arm.get(arm.sub + "?api-version=2022-12-01"))["displayName"] ==
          "Emulated subscription");
  REQUIRE(body(arm.get("/tenants?api-version=2022-12-01"))["value"][0]["tenantId"] ==
          test::kTenant);
  auto locations = body(arm.get(arm.sub + "/locations?api-version=2022-12-01"))["value"];
  REQUIRE(locations.size() > 5);
  for (const auto& l : locations)
    if (l["name"] == "westeurope") {  // the metadata ARM records for each region
      CHECK(l["regionalDisplayName"] == "(Europe) West Europe");
      CHECK(l["metadata"]["geographyGroup"] == "Europe");
      CHECK(l["metadata"]["physicalLocation"] == "Netherlands");
      CHECK(l["metadata"]["pairedRegion"][0]["name"] == "northeurope");
      CHECK(l["metadata"]["latitude"].is_string());
    }

  auto kusto = body(arm.get(arm.sub + "/providers/microsoft.kusto?api-version=2021-04-01"));
  REQUIRE(kusto["namespace"] == "Microsoft.Kusto");
  REQUIRE(kusto["registrationState"] == "Registered");
  REQUIRE(kusto["resourceTypes"][0]["resourceType"] == "clusters");
  REQUIRE(kusto["resourceTypes"][0]["apiVersions"][0] == "2025-02-14");  // newest stable first
  auto reg =
      arm.cli->Post(arm.sub + "/providers/Microsoft.KeyVault/register?api-version=2021-04-01",
                    arm.auth, "", "application/json");
  REQUIRE(body(reg)["registrationState"] == "Registered");
  auto unknown = arm.get(arm.sub + "/providers/Microsoft.Nope?api-version=2021-04-01");
  REQUIRE(unknown->status == 404);
  REQUIRE(body(unknown)["error"]["code"] == "InvalidResourceNamespace");
}

TEST_CASE("ARM: errors ARM answers before a provider sees the request", "[arm][arm_api]") {
  Arm arm;
  auto no_version = arm.get(arm.sub);
  REQUIRE(no_version->status == 400);
  REQUIRE(body(no_version)["error"]["code"] == "MissingApiVersionParameter");
  auto unknown =
      arm.get("/subscriptions/99999999-0000-0000-0000-000000000000?api-version=2022-12-01");
  REQUIRE(unknown->status == 404);
  REQUIRE(body(unknown)["error"]["code"] == "SubscriptionNotFound");
  auto no_group = arm.get(arm.sub + "/resourceGroups/nope?api-version=2022-09-01");
  REQUIRE(no_group->status == 404);
  REQUIRE(body(no_group)["error"]["code"] == "ResourceGroupNotFound");
  auto no_token = arm.cli->Get(arm.sub + "?api-version=2022-12-01");
  REQUIRE(no_token->status == 401);
}

TEST_CASE("ARM: a subscription is only visible to its own tenant", "[arm][arm_api]") {
  auto emu = test::start_emulator();
  entra::Tenant other{"aaaaaaaa-0000-0000-0000-000000000002", "Other", "other.onmicrosoft.com"};
  emu->directory().put_tenant(other);
  emu->subscriptions().put(
      {"bbbbbbbb-0000-0000-0000-000000000002", other.id, "Other sub", "Enabled"});
  auto cli = test::https_client(*emu);
  httplib::Headers auth{{"Authorization", "Bearer " + test::app_token(*emu)}};
  auto list = body(cli->Get("/subscriptions?api-version=2019-11-01", auth))["value"];
  REQUIRE(list.size() == 1);  // the default tenant's subscription only
  auto foreign =
      cli->Get("/subscriptions/bbbbbbbb-0000-0000-0000-000000000002?api-version=2022-12-01", auth);
  REQUIRE(foreign->status == 401);
  REQUIRE(body(foreign)["error"]["code"] == "InvalidAuthenticationTokenTenant");
}

TEST_CASE("ARM: resource groups are created, read case-insensitively, patched, deleted",
          "[arm][arm_api]") {
  Arm arm;
  const std::string rg = arm.sub + "/resourcegroups/Rg1?api-version=2022-09-01";
  auto created = arm.put(rg, {{"location", "West Europe"}, {"tags", {{"env", "test"}}}});
  REQUIRE(created->status == 201);
  auto j = body(created);
  REQUIRE(j["name"] == "Rg1");
  REQUIRE(j["location"] == "westeurope");
  REQUIRE(j["properties"]["provisioningState"] == "Succeeded");
  auto replaced = arm.put(rg, {{"location", "westeurope"}});
  REQUIRE(replaced->status == 200);              // update
  CHECK_FALSE(body(replaced).contains("tags"));  // an untagged group answers without "tags"
  CHECK(body(arm.put(rg, {{"location", "westeurope"}, {"tags", json::object()}}))["tags"] ==
        json::object());
  REQUIRE(arm.put(rg, {{"location", "westeurope"}})->status == 200);
  REQUIRE(body(arm.get(arm.sub + "/resourceGroups/RG1?api-version=2022-09-01"))["name"] == "Rg1");
  REQUIRE(arm.cli->Head(arm.sub + "/resourceGroups/rg1?api-version=2022-09-01", arm.auth)->status ==
          204);
  REQUIRE(
      arm.cli->Head(arm.sub + "/resourceGroups/nope?api-version=2022-09-01", arm.auth)->status ==
      404);

  auto patched = arm.cli->Patch(rg, arm.auth, R"({"tags":{"a":"b"}})", "application/json");
  REQUIRE(body(patched)["tags"] == json{{"a", "b"}});
  REQUIRE(body(patched)["location"] == "westeurope");  // PATCH merges

  auto moved = arm.put(rg, {{"location", "eastus"}});
  REQUIRE(moved->status == 409);
  REQUIRE(body(moved)["error"]["code"] == "InvalidResourceGroupLocation");
  REQUIRE(body(arm.put(arm.sub + "/resourceGroups/x?api-version=2022-09-01",
                       {{"location", "mars"}}))["error"]["code"] ==
          "LocationNotAvailableForResourceGroup");
  REQUIRE(body(arm.put(arm.sub + "/resourceGroups/x?api-version=2022-09-01",
                       json::object()))["error"]["code"] == "LocationRequired");
  REQUIRE(body(arm.put(arm.sub + "/resourceGroups/bad.?api-version=2022-09-01",
                       {{"location", "eastus"}}))["error"]["code"] == "InvalidResourceGroup");
  auto garbage = arm.cli->Put(rg, arm.auth, "{not json", "application/json");
  REQUIRE(garbage->status == 400);
  REQUIRE(body(garbage)["error"]["code"] == "InvalidRequestContent");

  auto list = body(arm.get(arm.sub + "/resourcegroups?api-version=2022-09-01"))["value"];
  REQUIRE(list.size() == 1);

  // Deletion is long-running: with a poll-counting policy the group shows Deleting until the
  // Location URL has been polled, then it is gone.
  arm.emu->lro_policies().set("Microsoft.Resources/resourceGroups", "delete",
                              arm::LroPolicy{arm::LroPolicy::Mode::AfterPolls, 2});
  auto del = arm.cli->Delete(rg, arm.auth);
  REQUIRE(del->status == 202);
  const std::string location = del->get_header_value("Location");
  REQUIRE(location.find("/operationresults/") != std::string::npos);
  REQUIRE(del->get_header_value("Retry-After") == "1");
  REQUIRE(body(arm.get(rg))["properties"]["provisioningState"] == "Deleting");
  REQUIRE(arm.put(rg, {{"location", "westeurope"}})->status == 409);
  const std::string path = location.substr(location.find("/subscriptions/"));
  REQUIRE(arm.get(path)->status == 202);
  REQUIRE(arm.get(path)->status == 200);
  REQUIRE(arm.get(rg)->status == 404);
}

TEST_CASE("ARM: cloud metadata for az cloud register (no token needed)", "[arm][arm_api]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto stack = body(cli->Get("/metadata/endpoints?api-version=2015-01-01"));
  const std::string base = "https://127.0.0.1:" + std::to_string(emu->https_port());
  REQUIRE(stack["authentication"]["loginEndpoint"] == base + "/adfs");
  REQUIRE(stack["authentication"]["audiences"][0] == "https://management.core.windows.net/");
  auto doubled = cli->Get("//metadata/endpoints?api-version=2015-01-01");  // az with a trailing '/'
  REQUIRE(doubled->status == 200);
  auto list = body(cli->Get("/metadata/endpoints?api-version=2022-09-01"));
  REQUIRE(list.is_array());
  REQUIRE(list[0]["resourceManager"] == base + "/");
  REQUIRE(list[0]["suffixes"]["keyVaultDns"] == "vault.localhost");
  auto real = body(test::proxied_client(*emu, "management.azure.com")
                       ->Get("/metadata/endpoints?api-version=2019-05-01"));
  REQUIRE(real["authentication"]["loginEndpoint"] == "https://login.microsoftonline.com/");
  REQUIRE(real["resourceManager"] == "https://management.azure.com/");
}

TEST_CASE("ARM: user-assigned identities get tokens and go with their resource group",
          "[arm][arm_api][identities]") {
  Arm arm;
  const std::string rg = arm.sub + "/resourceGroups/rg1";
  REQUIRE(arm.put(rg + "?api-version=2022-09-01", {{"location", "westeurope"}})->status == 201);
  const std::string id1 = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";
  auto created = arm.put(id1 + "?api-version=2018-11-30", {{"location", "West Europe"}});
  REQUIRE(created->status == 201);
  auto j = body(created);
  REQUIRE(j["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities");
  REQUIRE(j["location"] == "westeurope");
  REQUIRE(j["properties"]["tenantId"] == test::kTenant);
  const std::string principal = j["properties"]["principalId"];
  const std::string client = j["properties"]["clientId"];
  REQUIRE(principal.size() == 36);
  CHECK(j["tags"] == json::object());  // as Azure answers an untagged identity
  CHECK_FALSE(j.contains("etag"));     // identities carry neither etag nor systemData
  CHECK_FALSE(j.contains("systemData"));

  // Read-only ids survive a PUT that sends other values (az resource update sends them back).
  auto again = arm.put(
      id1 + "?api-version=2018-11-30",
      {{"location", "westeurope"}, {"tags", {{"k", "v"}}}, {"properties", {{"principalId", "x"}}}});
  REQUIRE(again->status == 200);
  REQUIRE(body(again)["properties"]["principalId"] == principal);
  REQUIRE(body(again)["tags"]["k"] == "v");

  // az identity list-resources: the identity's associated resources, 404 for a missing identity.
  auto associated = arm.cli->Post(id1 + "/listAssociatedResources?api-version=2022-01-31-preview",
                                  arm.auth, "", "application/json");
  REQUIRE(associated->status == 200);
  CHECK(body(associated) == json{{"totalCount", 0}, {"value", json::array()}});
  CHECK(arm.cli
            ->Post(rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope/"
                        "listAssociatedResources?api-version=2022-01-31-preview",
                   arm.auth, "", "application/json")
            ->status == 404);
  REQUIRE(body(arm.get(arm.sub + "/resourcegroups/RG1/providers/microsoft.managedidentity/"
                                 "userassignedidentities/ID1?api-version=2018-11-30"))["id"] ==
          std::string(j["id"]));

  // The directory knows the identity: it can obtain tokens as itself.
  auto mi = arm.emu->directory().find_managed_identity_by_client_id(client);
  REQUIRE(mi.has_value());
  REQUIRE(mi->principal_id == principal);

  // Lists page with nextLink.
  arm.put(
      rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2?api-version=2018-11-30",
      {{"location", "westeurope"}});
  auto page = body(arm.get(
      rg +
      "/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2018-11-30&$top=1"));
  REQUIRE(page["value"].size() == 1);
  const std::string next = page["nextLink"];
  auto rest = body(arm.get(next.substr(next.find("/subscriptions/"))));
  REQUIRE(rest["value"].size() == 1);
  REQUIRE_FALSE(rest.contains("nextLink"));
  auto by_sub = body(arm.get(
      arm.sub +
      "/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2018-11-30"));
  REQUIRE(by_sub["value"].size() == 2);
  auto generic =
      body(arm.get(arm.sub + "/resources?api-version=2021-04-01&$filter=" +
                   http::percent_encode("resourceGroup eq 'rg1' and resourceType eq "
                                        "'Microsoft.ManagedIdentity/userAssignedIdentities'")));
  REQUIRE(generic["value"].size() == 2);
  // What ARM's generic list shows of each: no properties.
  CHECK(generic["value"][0] == json{{"id", j["id"]},
                                    {"name", "id1"},
                                    {"type", "Microsoft.ManagedIdentity/userAssignedIdentities"},
                                    {"location", "westeurope"},
                                    {"tags", {{"k", "v"}}}});

  // Errors in ARM's words.
  REQUIRE(body(arm.put(rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                            "x?api-version=2018-11-30",
                       {{"location", "westeurope"}}))["error"]["code"] == "InvalidResourceName");
  REQUIRE(body(arm.put(id1 + "?api-version=2018-11-30",
                       {{"location", "eastus"}}))["error"]["code"] == "InvalidResourceLocation");
  auto missing = arm.get(
      rg +
      "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/none?api-version=2018-11-30");
  REQUIRE(missing->status == 404);
  REQUIRE(body(missing)["error"]["code"] == "ResourceNotFound");
  REQUIRE(arm.put(arm.sub + "/resourceGroups/nope/providers/Microsoft.ManagedIdentity/"
                            "userAssignedIdentities/id3?api-version=2018-11-30",
                  {{"location", "westeurope"}})
              ->status == 404);

  // DELETE: 200, then 204; the directory forgets the identity.
  REQUIRE(arm.cli->Delete(id1 + "?api-version=2018-11-30", arm.auth)->status == 200);
  REQUIRE(arm.cli->Delete(id1 + "?api-version=2018-11-30", arm.auth)->status == 204);
  REQUIRE_FALSE(arm.emu->directory().find_managed_identity_by_client_id(client).has_value());

  // Deleting the group takes id2 with it, directory entry included.
  auto id2 = body(arm.get(
      rg +
      "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2?api-version=2018-11-30"));
  arm.emu->lro_policies().set("Microsoft.Resources/resourceGroups", "delete",
                              arm::LroPolicy{arm::LroPolicy::Mode::Immediate});
  REQUIRE(arm.cli->Delete(rg + "?api-version=2022-09-01", arm.auth)->status == 202);
  REQUIRE(arm.get(rg + "?api-version=2022-09-01")->status == 404);
  REQUIRE_FALSE(arm.emu->directory()
                    .find_managed_identity_by_client_id(id2["properties"]["clientId"])
                    .has_value());
}

TEST_CASE("ARM: tags follow ARM's rules (50 tags, names 512 and values 256 characters, strings)",
          "[arm][arm_api]") {
  Arm arm;
  const std::string rg = arm.sub + "/resourcegroups/rg-tags?api-version=2022-09-01";
  const std::string identity = arm.sub +
                               "/resourceGroups/rg-tags/providers/"
                               "Microsoft.ManagedIdentity/userAssignedIdentities/id1"
                               "?api-version=2023-01-31";
  REQUIRE(arm.put(rg, {{"location", "westeurope"}})->status == 201);
  json fifty = json::object(), fifty_one = json::object();
  for (int i = 0; i < 51; ++i) (i < 50 ? fifty : fifty_one)["t" + std::to_string(i)] = "v";
  fifty_one.update(fifty);
  // Lengths count characters: 256 two-byte characters are a valid value.
  std::string value_256;
  for (int i = 0; i < 256; ++i) value_256 += "\xC3\xA9";
  const std::vector<std::pair<json, std::string>> cases = {
      {fifty_one, "InvalidTagCount"},
      {{{std::string(513, 'n'), "v"}}, "InvalidTagNameLength"},
      {{{"n", std::string(257, 'v')}}, "InvalidTagValueLength"},
      {{{"n", 1}}, "InvalidRequestContent"},
      {{{"n", {{"nested", "v"}}}}, "InvalidRequestContent"},
  };
  for (const std::string& path : {rg, identity}) {
    for (const auto& [tags, code] : cases) {
      INFO(path << " " << tags.dump().substr(0, 80));
      auto r = arm.put(path, {{"location", "westeurope"}, {"tags", tags}});
      REQUIRE(r);
      CHECK(r->status == 400);
      CHECK(body(r)["error"]["code"] == code);
    }
    for (const json& ok : {fifty, json{{std::string(512, 'n'), value_256}}}) {
      auto r = arm.put(path, {{"location", "westeurope"}, {"tags", ok}});
      REQUIRE(r);
      CHECK(r->status < 300);
      CHECK(body(r)["tags"] == ok);
    }
  }
}
