// Microsoft.KeyVault/vaults through ARM: soft delete and purge protection rules, access policies,
// soft delete, recovery and purge on the virtual clock.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {
struct Kv {
  std::unique_ptr<Emulator> emu = test::start_emulator();
  std::unique_ptr<httplib::SSLClient> cli = test::https_client(*emu);
  httplib::Headers auth{{"Authorization", "Bearer " + test::app_token(*emu)}};
  std::string sub = std::string("/subscriptions/") + test::kSubscription;
  std::string rg = sub + "/resourceGroups/rg1";
  const char* v = "?api-version=2022-07-01";

  Kv() {
    REQUIRE(cli->Put(rg + v, auth, R"({"location":"westeurope"})", "application/json")->status ==
            201);
  }
  std::string vault(const std::string& name) {
    return rg + "/providers/Microsoft.KeyVault/vaults/" + name;
  }
  httplib::Result put(const std::string& path, const json& body) {
    return cli->Put(path + v, auth, body.dump(), "application/json");
  }
  httplib::Result get(const std::string& path) { return cli->Get(path + v, auth); }
};
json body(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}
json policy(const std::string& oid, std::vector<std::string> keys) {
  return {{"tenantId", test::kTenant}, {"objectId", oid}, {"permissions", {{"keys", keys}}}};
}
json vault_body(json extra = json::object()) {
  json props = {{"tenantId", test::kTenant},
                {"sku", {{"family", "A"}, {"name", "standard"}}},
                {"accessPolicies", json::array({policy("oid-1", {"get", "list"})})}};
  props.update(extra);
  return {{"location", "westeurope"}, {"properties", props}};
}
}  // namespace

TEST_CASE("vaults: create with defaults, read, list", "[keyvault_mgmt]") {
  Kv kv;
  // Azure answers a new vault's PUT with 200 while it registers its DNS name.
  auto r = kv.put(kv.vault("kv1"), vault_body({{"enablePurgeProtection", true}}));
  REQUIRE(r->status == 200);
  auto j = body(r);
  REQUIRE(j["type"] == "Microsoft.KeyVault/vaults");
  REQUIRE(j["tags"] == json::object());
  REQUIRE(j["properties"]["vaultUri"] == "https://kv1.vault.azure.net/");
  REQUIRE(j["properties"]["enableSoftDelete"] == true);
  REQUIRE(j["properties"]["softDeleteRetentionInDays"] == 90);
  REQUIRE(j["properties"]["enablePurgeProtection"] == true);
  REQUIRE(j["properties"]["enabledForDeployment"] == false);
  REQUIRE(!j["properties"].contains("enableRbacAuthorization"));  // shown once set
  REQUIRE(!j["properties"].contains("enabledForDiskEncryption"));
  REQUIRE(j["properties"]["provisioningState"] == "RegisteringDns");
  REQUIRE(body(kv.get(kv.vault("kv1")))["properties"]["provisioningState"] == "Succeeded");
  REQUIRE(body(kv.get(kv.vault("kv1")))["tags"] == json::object());
  REQUIRE(body(kv.get(kv.vault("KV1")))["name"] == "kv1");
  REQUIRE(body(kv.get(kv.rg + "/providers/Microsoft.KeyVault/vaults"))["value"].size() == 1);
  REQUIRE(body(kv.get(kv.sub + "/providers/Microsoft.KeyVault/vaults"))["value"].size() == 1);
  REQUIRE(kv.emu->vaults().find_vault_by_name("KV1").has_value());
  // az keyvault create first GETs and needs a 404 to go on.
  auto missing = kv.get(kv.vault("nope1"));
  REQUIRE(missing->status == 404);
  REQUIRE(body(missing)["error"]["code"] == "ResourceNotFound");
}

TEST_CASE("vaults: soft delete and purge protection only go one way", "[keyvault_mgmt]") {
  Kv kv;
  REQUIRE(kv.put(kv.vault("kv1"), vault_body())->status == 200);
  auto no_pp = kv.put(kv.vault("kv1"), vault_body({{"enablePurgeProtection", false}}));
  REQUIRE(no_pp->status == 400);
  REQUIRE(body(no_pp)["error"]["message"].get<std::string>().find("irreversible") !=
          std::string::npos);
  REQUIRE(kv.put(kv.vault("kv1"), vault_body({{"enableSoftDelete", false}}))->status == 400);
  REQUIRE(kv.put(kv.vault("kv2"), vault_body({{"enableSoftDelete", false}}))->status == 400);
  REQUIRE(kv.put(kv.vault("kv1"), vault_body({{"enablePurgeProtection", true}}))->status == 200);
  // Absent keeps it on; PATCH without it keeps it on.
  REQUIRE(body(kv.put(kv.vault("kv1"), vault_body()))["properties"]["enablePurgeProtection"] ==
          true);
  auto patched =
      kv.cli->Patch(kv.vault("kv1") + kv.v, kv.auth,
                    R"({"properties":{"enabledForDiskEncryption":true}})", "application/json");
  REQUIRE(body(patched)["properties"]["enablePurgeProtection"] == true);
  REQUIRE(body(patched)["properties"]["enabledForDiskEncryption"] == true);
  REQUIRE(body(patched)["properties"]["accessPolicies"].size() == 1);
  REQUIRE(kv.put(kv.vault("kv3"), vault_body({{"softDeleteRetentionInDays", 6}}))->status == 400);
  REQUIRE(kv.put(kv.vault("kv1"), vault_body({{"softDeleteRetentionInDays", 30}}))->status == 400);
}

TEST_CASE("vaults: names, required properties, global uniqueness", "[keyvault_mgmt]") {
  Kv kv;
  for (const char* bad : {"ab", "1abc", "abc-", "a--b", "abcdefghijklmnopqrstuvwxy"}) {
    auto r = kv.put(kv.vault(bad), vault_body());
    INFO(bad);
    REQUIRE(r->status == 400);
    REQUIRE(body(r)["error"]["code"] == "VaultNameNotValid");
  }
  json no_tenant = vault_body();
  no_tenant["properties"].erase("tenantId");
  REQUIRE(kv.put(kv.vault("kv1"), no_tenant)->status == 400);
  json bad_sku = vault_body({{"sku", {{"family", "A"}, {"name", "gold"}}}});
  REQUIRE(kv.put(kv.vault("kv1"), bad_sku)->status == 400);
  json no_policies = vault_body();
  no_policies["properties"].erase("accessPolicies");
  REQUIRE(kv.put(kv.vault("kv1"), no_policies)->status == 400);
  REQUIRE(kv.put(kv.vault("kv1"),
                 vault_body({{"accessPolicies", json::array()}, {"enableRbacAuthorization", true}}))
              ->status == 200);
  auto bad_perm = kv.put(kv.vault("kv2"),
                         vault_body({{"accessPolicies", json::array({policy("o", {"fly"})})}}));
  REQUIRE(bad_perm->status == 400);
  // Same name in another resource group: taken.
  REQUIRE(kv.cli
              ->Put(kv.sub + "/resourceGroups/rg2" + kv.v, kv.auth, R"({"location":"westeurope"})",
                    "application/json")
              ->status == 201);
  auto dup =
      kv.put(kv.sub + "/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kv1", vault_body());
  REQUIRE(dup->status == 409);
  REQUIRE(body(dup)["error"]["code"] == "VaultAlreadyExists");
  auto check =
      kv.cli->Post(kv.sub + "/providers/Microsoft.KeyVault/checkNameAvailability" + kv.v, kv.auth,
                   R"({"name":"kv1","type":"Microsoft.KeyVault/vaults"})", "application/json");
  REQUIRE(body(check)["nameAvailable"] == false);
  REQUIRE(body(check)["reason"] == "AlreadyExists");
  auto free =
      kv.cli->Post(kv.sub + "/providers/Microsoft.KeyVault/checkNameAvailability" + kv.v, kv.auth,
                   R"({"name":"kv9","type":"Microsoft.KeyVault/vaults"})", "application/json");
  REQUIRE(body(free)["nameAvailable"] == true);
}

TEST_CASE("vaults: access policies add, replace, remove", "[keyvault_mgmt]") {
  Kv kv;
  REQUIRE(kv.put(kv.vault("kv1"), vault_body())->status == 200);
  auto update = [&](const std::string& kind, const json& policies) {
    return kv.put(kv.vault("kv1") + "/accessPolicies/" + kind,
                  {{"properties", {{"accessPolicies", policies}}}});
  };
  auto added = body(update(
      "add", json::array({policy("oid-1", {"wrapKey", "Get"}), policy("oid-2", {"unwrapKey"})})));
  REQUIRE(added["type"] == "Microsoft.KeyVault/vaults/accessPolicies");
  auto list = added["properties"]["accessPolicies"];
  REQUIRE(list.size() == 2);
  REQUIRE(list[0]["permissions"]["keys"] == json({"get", "list", "wrapKey"}));  // "Get" merged
  auto replaced = body(
      update("replace", json::array({policy("oid-1", {"get"})})))["properties"]["accessPolicies"];
  REQUIRE(replaced[0]["permissions"]["keys"] == json::array({"get"}));
  auto removed = body(update(
      "remove", json::array({policy("oid-2", {"unwrapKey"})})))["properties"]["accessPolicies"];
  REQUIRE(removed.size() == 1);  // oid-2 had nothing left
  REQUIRE(body(kv.get(kv.vault("kv1")))["properties"]["accessPolicies"] == removed);
  REQUIRE(update("grant", json::array({policy("oid-1", {"get"})}))->status == 400);
  REQUIRE(update("add", json::array({policy("oid-1", {"teleport"})}))->status == 400);
  REQUIRE(kv.put(kv.vault("nope1") + "/accessPolicies/add",
                 {{"properties", {{"accessPolicies", json::array({policy("o", {"get"})})}}}})
              ->status == 404);
}

TEST_CASE("vaults: deletion keeps a soft-deleted vault until purge or retention",
          "[keyvault_mgmt]") {
  Kv kv;
  REQUIRE(kv.put(kv.vault("kv1"), vault_body({{"softDeleteRetentionInDays", 7}}))->status == 200);
  REQUIRE(kv.put(kv.vault("kv2"), vault_body({{"enablePurgeProtection", true}}))->status == 200);
  REQUIRE(kv.cli->Delete(kv.vault("kv1") + kv.v, kv.auth)->status == 200);
  REQUIRE(kv.cli->Delete(kv.vault("kv1") + kv.v, kv.auth)->status == 204);
  REQUIRE(kv.get(kv.vault("kv1"))->status == 404);

  const std::string deleted =
      kv.sub + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv1";
  auto d = body(kv.get(deleted));
  REQUIRE(d["type"] == "Microsoft.KeyVault/deletedVaults");
  REQUIRE(!d["properties"].contains("purgeProtectionEnabled"));  // named only when on
  REQUIRE(d["properties"]["tags"] == json::object());
  REQUIRE(d["properties"]["deletionDate"].get<std::string>().size() == 20);  // whole seconds
  REQUIRE(body(kv.get(kv.sub + "/providers/Microsoft.KeyVault/deletedVaults"))["value"].size() ==
          1);

  // The name stays taken until the vault is recovered or purged.
  auto again = kv.put(kv.vault("kv1"), vault_body());
  REQUIRE(again->status == 409);
  REQUIRE(body(again)["error"]["code"] == "ConflictError");
  auto recovered = kv.put(kv.vault("kv1"), vault_body({{"createMode", "recover"}}));
  REQUIRE(recovered->status == 200);
  REQUIRE(body(recovered)["properties"]["softDeleteRetentionInDays"] == 7);
  REQUIRE(kv.get(deleted)->status == 404);

  // Retention runs on the virtual clock.
  REQUIRE(kv.cli->Delete(kv.vault("kv1") + kv.v, kv.auth)->status == 200);
  kv.emu->clock().advance(std::chrono::hours(24 * 7 - 1));
  REQUIRE(kv.get(deleted)->status == 200);
  kv.emu->clock().advance(std::chrono::hours(1));
  REQUIRE(kv.get(deleted)->status == 404);
  REQUIRE(kv.put(kv.vault("kv1"), vault_body())->status == 200);

  // Purge: refused under purge protection, allowed otherwise.
  REQUIRE(kv.cli->Delete(kv.vault("kv2") + kv.v, kv.auth)->status == 200);
  const std::string deleted2 =
      kv.sub + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv2";
  auto refused = kv.cli->Post(deleted2 + "/purge" + kv.v, kv.auth, "", "application/json");
  REQUIRE(refused->status == 409);
  REQUIRE(body(kv.get(deleted2))["properties"]["purgeProtectionEnabled"] == true);
  REQUIRE(kv.cli->Delete(kv.vault("kv1") + kv.v, kv.auth)->status == 200);
  const std::string deleted1 =
      kv.sub + "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv1";
  // Purge is a long-running operation: 202 and a Location that answers 202 until it is done.
  auto purge = kv.cli->Post(deleted1 + "/purge" + kv.v, kv.auth, "", "application/json");
  REQUIRE(purge->status == 202);
  const std::string location = purge->get_header_value("Location");
  const std::string op_path = location.substr(location.find("/subscriptions/"));
  REQUIRE(op_path.find("/providers/Microsoft.KeyVault/locations/westeurope/operationResults/") !=
          std::string::npos);
  auto running = kv.cli->Get(op_path, kv.auth);
  REQUIRE(running->status == 202);
  REQUIRE(body(running)["status"] == "NotStarted");
  REQUIRE(kv.get(deleted1)->status == 200);  // still there while the purge runs
  kv.emu->clock().advance(std::chrono::seconds(5));
  auto done = kv.cli->Get(op_path, kv.auth);
  REQUIRE(done->status == 200);
  REQUIRE(body(done)["status"] == "Succeeded");
  REQUIRE(kv.get(deleted1)->status == 404);
  REQUIRE(kv.put(kv.vault("kv1"), vault_body({{"createMode", "recover"}}))->status == 400);
}

TEST_CASE("vaults: null and default-valued properties as a template deploys them",
          "[keyvault_mgmt]") {
  Kv kv;
  // What `az keyvault create`'s template sends for options left unset: null, an empty
  // publicNetworkAccess, and networkAcls that allow everything.
  auto r = kv.put(kv.vault("kv1"), vault_body({{"enableRbacAuthorization", nullptr},
                                               {"enablePurgeProtection", nullptr},
                                               {"softDeleteRetentionInDays", nullptr},
                                               {"publicNetworkAccess", ""},
                                               {"networkAcls",
                                                {{"bypass", "AzureServices"},
                                                 {"defaultAction", "Allow"},
                                                 {"ipRules", json::array()},
                                                 {"virtualNetworkRules", json::array()}}}}));
  REQUIRE(r->status == 200);
  auto props = body(kv.get(kv.vault("kv1")))["properties"];
  REQUIRE(!props.contains("enableRbacAuthorization"));
  REQUIRE(!props.contains("enablePurgeProtection"));
  REQUIRE(!props.contains("networkAcls"));
  REQUIRE(props["softDeleteRetentionInDays"] == 90);
  REQUIRE(props["publicNetworkAccess"] == "Enabled");
  // Rules that do restrict are kept.
  auto denied = kv.put(kv.vault("kv1"), vault_body({{"networkAcls", {{"defaultAction", "Deny"}}}}));
  REQUIRE(body(denied)["properties"]["networkAcls"]["defaultAction"] == "Deny");
}
