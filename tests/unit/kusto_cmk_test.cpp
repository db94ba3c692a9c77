// Customer-managed keys on Kusto clusters, end to end in process (kusto/cluster_keys.h): ARM over
// HTTPS with real tokens, vaults and keys through the real Key Vault endpoints, the cluster's own
// Key Vault calls made with its managed identity. LROs are immediate; key refresh runs on the
// virtual clock, which the tests advance.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test_support.h"

using namespace cmk;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kSub = std::string("/subscriptions/") + test::kSubscription;
const std::string kRg = kSub + "/resourceGroups/rg1";
const std::string kArmV = "?api-version=2024-04-13";
const std::string kKvArmV = "?api-version=2023-07-01";
const std::string kKvV = "?api-version=7.4";

struct Cmk {
  std::unique_ptr<Emulator> emu;
  std::unique_ptr<httplib::SSLClient> arm;
  httplib::Headers arm_auth;
  httplib::Headers kv_auth;

  Cmk() {
    auto o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.lro_policies = {"immediate"};
    o.key_refresh = std::chrono::seconds(60);
    emu = test::start_emulator(o);
    arm = test::https_client(*emu);
    arm_auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
    kv_auth = {{"Authorization", "Bearer " + test::app_token(*emu, "https://vault.azure.net")}};
    REQUIRE(arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}}).first == 201);
  }

  std::pair<int, json> arm_call(const std::string& method, const std::string& path,
                                const json& body = nullptr) {
    httplib::Result r =
        method == "GET"     ? arm->Get(path, arm_auth)
        : method == "PUT"   ? arm->Put(path, arm_auth, body.dump(), "application/json")
        : method == "PATCH" ? arm->Patch(path, arm_auth, body.dump(), "application/json")
        : method == "POST"
            ? arm->Post(path, arm_auth, body.is_null() ? "{}" : body.dump(), "application/json")
            : arm->Delete(path, arm_auth);
    REQUIRE(r);
    return {r->status, r->body.empty() ? json() : json::parse(r->body)};
  }
  std::pair<int, json> kv_call(const std::string& vault, const std::string& method,
                               const std::string& path, const json& body = nullptr) {
    auto cli = test::proxied_client(*emu, vault + ".vault.azure.net");
    httplib::Result r = method == "GET" ? cli->Get(path + kKvV, kv_auth)
                        : method == "PATCH"
                            ? cli->Patch(path + kKvV, kv_auth, body.dump(), "application/json")
                            : cli->Post(path + kKvV, kv_auth, body.is_null() ? "{}" : body.dump(),
                                        "application/json");
    REQUIRE(r);
    INFO(r->body);
    return {r->status, r->body.empty() ? json() : json::parse(r->body)};
  }

  static json policy(const std::string& object_id, std::vector<std::string> keys) {
    return {
        {"tenantId", test::kTenant}, {"objectId", object_id}, {"permissions", {{"keys", keys}}}};
  }
  void vault(const std::string& name, const std::string& location = "westeurope",
             bool purge_protection = true, json policies = json::array(),
             const std::string& sku = "standard") {
    policies.push_back(policy(test::kSpObjectId, {"all", "purge"}));
    json props = {{"tenantId", test::kTenant},
                  {"sku", {{"family", "A"}, {"name", sku}}},
                  {"accessPolicies", policies}};
    if (purge_protection) props["enablePurgeProtection"] = true;
    auto [status, body] =
        arm_call("PUT", kRg + "/providers/Microsoft.KeyVault/vaults/" + name + kKvArmV,
                 {{"location", location}, {"properties", props}});
    INFO(body.dump());
    REQUIRE((status == 200 || status == 201));
  }
  void grant(const std::string& vault_name, const std::string& object_id, const char* kind = "add",
             std::vector<std::string> keys = {"get", "wrapKey", "unwrapKey"}) {
    auto [status, body] =
        arm_call("PUT",
                 kRg + "/providers/Microsoft.KeyVault/vaults/" + vault_name + "/accessPolicies/" +
                     kind + kKvArmV,
                 {{"properties", {{"accessPolicies", json::array({policy(object_id, keys)})}}}});
    INFO(body.dump());
    REQUIRE(status == 200);
  }
  std::string key(const std::string& vault_name, const std::string& name,
                  json spec = {{"kty", "RSA"}, {"key_size", 2048}}) {
    auto [status, body] = kv_call(vault_name, "POST", "/keys/" + name + "/create", spec);
    REQUIRE(status == 200);
    const std::string kid = body["key"]["kid"];
    return kid.substr(kid.rfind('/') + 1);
  }
  // A user-assigned identity; returns {resource id, principal id}.
  std::pair<std::string, std::string> identity(const std::string& name) {
    const std::string id =
        kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name;
    auto [status, body] =
        arm_call("PUT", id + "?api-version=2023-01-31", {{"location", "westeurope"}});
    REQUIRE(status == 201);
    return {id, body["properties"]["principalId"]};
  }
  static std::string cluster_path(const std::string& name) {
    return kRg + "/providers/Microsoft.Kusto/clusters/" + name;
  }
  // A cluster with the user-assigned identity (and a system one).
  json cluster(const std::string& name, const std::string& uami) {
    json ids = json::object();
    ids[uami] = json::object();
    auto [status, body] =
        arm_call("PUT", cluster_path(name) + kArmV,
                 {{"location", "westeurope"},
                  {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}},
                  {"identity",
                   {{"type", "SystemAssigned, UserAssigned"}, {"userAssignedIdentities", ids}}}});
    INFO(body.dump());
    REQUIRE(status == 201);
    return body;
  }
  static json kv_props(const std::string& vault_name, const std::string& key_name,
                       const std::string& version, const std::string& uami) {
    return {{"properties",
             {{"keyVaultProperties",
               {{"keyVaultUri", "https://" + vault_name + ".vault.azure.net/"},
                {"keyName", key_name},
                {"keyVersion", version},
                {"userIdentity", uami}}}}}};
  }
  // PATCHes the cluster; returns {HTTP status, the operation's status document}.
  std::pair<int, json> patch(const std::string& name, const json& body) {
    auto r = arm->Patch(cluster_path(name) + kArmV, arm_auth, body.dump(), "application/json");
    REQUIRE(r);
    if (r->status >= 300) return {r->status, json::parse(r->body)};
    const std::string async = r->get_header_value("Azure-AsyncOperation");
    auto op = arm->Get(async.substr(async.find("/subscriptions/")), arm_auth);
    return {r->status, json::parse(op->body)};
  }
  json show(const std::string& name) { return arm_call("GET", cluster_path(name) + kArmV).second; }
  std::string kid_in_use(const std::string& name) {
    auto key = emu->cluster_keys().key_in_use(arm::ResourceId::parse(cluster_path(name))->key());
    return key ? key->kid : "";
  }
  void advance(int seconds) { emu->clock().advance(std::chrono::seconds(seconds)); }
};

}  // namespace

TEST_CASE("cmk: enabling with a user-assigned identity uses the key through Key Vault",
          "[kusto][cmk]") {
  Cmk c;
  c.vault("kvcmk1");
  const std::string version = c.key("kvcmk1", "cmk1");
  auto [uami, principal] = c.identity("id1");
  c.cluster("kccmk1", uami);
  c.grant("kvcmk1", principal);

  auto [status, op] = c.patch("kccmk1", Cmk::kv_props("kvcmk1", "cmk1", version, uami));
  REQUIRE(status == 200);
  INFO(op.dump());
  REQUIRE(op["status"] == "Succeeded");
  auto shown = c.show("kccmk1");
  CHECK(shown["properties"]["provisioningState"] == "Succeeded");
  CHECK(shown["properties"]["state"] == "Running");
  CHECK(shown["properties"]["keyVaultProperties"]["keyName"] == "cmk1");
  CHECK_THAT(c.kid_in_use("kccmk1"), Contains("/keys/cmk1/" + version));

  // Switching back to Microsoft-managed keys: {} removes the properties and the key in use.
  auto [off_status, off] =
      c.patch("kccmk1", {{"properties", {{"keyVaultProperties", json::object()}}}});
  CHECK(off["status"] == "Succeeded");
  CHECK_FALSE(c.show("kccmk1")["properties"].contains("keyVaultProperties"));
  CHECK(c.kid_in_use("kccmk1").empty());
}

TEST_CASE("cmk: the system identity, and a cluster created with its key", "[kusto][cmk]") {
  Cmk c;
  c.vault("kvcmk2");
  c.key("kvcmk2", "cmk2");
  auto [uami, principal] = c.identity("id2");
  c.grant("kvcmk2", principal);
  auto created = c.cluster("kccmk2", uami);
  c.grant("kvcmk2", created["identity"]["principalId"]);
  auto [status, op] = c.patch("kccmk2", Cmk::kv_props("kvcmk2", "cmk2", "", ""));
  INFO(op.dump());
  CHECK(op["status"] == "Succeeded");
  CHECK_THAT(c.kid_in_use("kccmk2"), Contains("/keys/cmk2/"));

  // PUT at creation with keyVaultProperties (the seed's template, api-version 2019-09-07).
  json ids = json::object();
  ids[uami] = json::object();
  json body = Cmk::kv_props("kvcmk2", "cmk2", "", uami);
  body["location"] = "westeurope";
  body["sku"] = {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}};
  body["identity"] = {{"type", "UserAssigned"}, {"userAssignedIdentities", ids}};
  auto put = c.arm->Put(Cmk::cluster_path("kccmk3") + "?api-version=2019-09-07", c.arm_auth,
                        body.dump(), "application/json");
  REQUIRE(put->status == 201);
  CHECK(c.show("kccmk3")["properties"]["provisioningState"] == "Succeeded");
  CHECK_THAT(c.kid_in_use("kccmk3"), Contains("/keys/cmk2/"));
}

TEST_CASE("cmk: shape errors fail the request at once", "[kusto][cmk]") {
  Cmk c;
  auto [uami, principal] = c.identity("id3");
  c.cluster("kccmk4", uami);
  auto expect = [&](const json& kv, const std::string& code, const std::string& words) {
    auto [status, body] = c.patch("kccmk4", {{"properties", {{"keyVaultProperties", kv}}}});
    INFO(body.dump());
    CHECK(status == 400);
    CHECK(body["error"]["code"] == code);
    CHECK_THAT(body["error"]["message"].get<std::string>(), Contains(words));
  };
  json good = Cmk::kv_props("kvx", "cmk", "", uami)["properties"]["keyVaultProperties"];
  auto with = [&](const char* field, const std::string& value) {
    json kv = good;
    kv[field] = value;
    return kv;
  };
  expect(with("keyVaultUri", "https://example.com/"), "InvalidKeyVaultProperties",
         "is not a key vault URI");
  expect(with("keyVaultUri", "kvx.vault.azure.net"), "InvalidKeyVaultProperties", "vaultUri");
  expect(with("keyName", "bad name"), "InvalidKeyVaultProperties", "keyName");
  expect(with("keyVersion", "123"), "InvalidKeyVaultProperties", "32 hexadecimal digits");
  expect(with("userIdentity",
              kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other"),
         "KeyVaultIdentityNotAssigned", "identity.userAssignedIdentities");
  // Without a system identity, an empty userIdentity has no identity to use.
  json ids = json::object();
  ids[uami] = json::object();
  auto [s, b] =
      c.arm_call("PATCH", Cmk::cluster_path("kccmk4") + kArmV,
                 {{"identity", {{"type", "UserAssigned"}, {"userAssignedIdentities", ids}}}});
  REQUIRE(s == 200);
  expect(with("userIdentity", ""), "SystemIdentityRequired", "SystemAssigned");
  CHECK_FALSE(c.show("kccmk4")["properties"].contains("keyVaultProperties"));
}

TEST_CASE("cmk: vault-side problems fail the operation with their own codes", "[kusto][cmk]") {
  Cmk c;
  auto [uami, principal] = c.identity("id5");
  c.cluster("kccmk5", uami);
  c.vault("kvgood5");
  c.grant("kvgood5", principal);
  const std::string good = c.key("kvgood5", "good");
  REQUIRE(c.patch("kccmk5", Cmk::kv_props("kvgood5", "good", good, uami)).second["status"] ==
          "Succeeded");

  c.vault("kvnopp5", "westeurope", /*purge_protection=*/false);
  c.grant("kvnopp5", principal);
  c.key("kvnopp5", "k");
  c.vault("kvfar5", "eastus");
  c.grant("kvfar5", principal);
  c.key("kvfar5", "k");
  c.vault("kvdeny5");  // no policy for the identity
  c.key("kvdeny5", "k");
  c.key("kvgood5", "rsa3072", {{"kty", "RSA"}, {"key_size", 3072}});
  c.key("kvgood5", "ec", {{"kty", "EC"}, {"crv", "P-256"}});
  c.key("kvgood5", "off");
  REQUIRE(
      c.kv_call("kvgood5", "PATCH", "/keys/off", {{"attributes", {{"enabled", false}}}}).first ==
      200);

  auto fails = [&](const std::string& vault_name, const std::string& key_name,
                   const std::string& code, const std::string& words) {
    auto [status, op] = c.patch("kccmk5", Cmk::kv_props(vault_name, key_name, "", uami));
    INFO(vault_name << "/" << key_name << ": " << op.dump());
    CHECK(status == 200);
    CHECK(op["status"] == "Failed");
    CHECK(op["error"]["code"] == code);
    CHECK_THAT(op["error"]["message"].get<std::string>(), Contains(words));
    auto shown = c.show("kccmk5");
    CHECK(shown["properties"]["provisioningState"] == "Failed");
    CHECK(shown["properties"]["state"] == "Running");
    // The previous key stays configured and in use.
    CHECK(shown["properties"]["keyVaultProperties"]["keyName"] == "good");
    CHECK_THAT(c.kid_in_use("kccmk5"), Contains("/keys/good/" + good));
  };
  fails("kvnone5", "k", "KeyVaultNotFound", "does not exist");
  fails("kvnopp5", "k", "KeyVaultPurgeProtectionRequired", "purge protection");
  fails("kvfar5", "k", "KeyVaultLocationMismatch", "eastus");
  fails("kvdeny5", "k", "KeyVaultAccessDenied", "get, wrapKey and unwrapKey");
  fails("kvgood5", "missing", "KeyNotFound", "not found");
  fails("kvgood5", "rsa3072", "UnsupportedKeyType", "3072 bits");
  fails("kvgood5", "ec", "UnsupportedKeyType", "EC");
  fails("kvgood5", "off", "KeyDisabled", "disabled");
}

TEST_CASE("cmk: an oct key and a vault without soft delete fail the operation", "[kusto][cmk]") {
  Cmk c;
  auto [uami, principal] = c.identity("id8");
  c.cluster("kccmk8", uami);
  // Symmetric (oct) keys need a premium vault; the cluster still needs RSA.
  c.vault("kvprem8", "westeurope", true, json::array(), "premium");
  c.grant("kvprem8", principal);
  c.key("kvprem8", "sym", {{"kty", "oct-HSM"}, {"key_size", 256}});
  auto [status, op] = c.patch("kccmk8", Cmk::kv_props("kvprem8", "sym", "", uami));
  INFO(op.dump());
  CHECK(status == 200);
  CHECK(op["status"] == "Failed");
  CHECK(op["error"]["code"] == "UnsupportedKeyType");
  CHECK_THAT(op["error"]["message"].get<std::string>(), Contains("oct-HSM"));
  CHECK_THAT(op["error"]["message"].get<std::string>(), Contains("RSA 2048-bit"));

  // ARM refuses to create a vault without soft delete, as Azure has since 2020...
  const std::string vault_id = kRg + "/providers/Microsoft.KeyVault/vaults/kvold8";
  auto refused = c.arm_call("PUT", vault_id + kKvArmV,
                            {{"location", "westeurope"},
                             {"properties",
                              {{"tenantId", test::kTenant},
                               {"sku", {{"family", "A"}, {"name", "standard"}}},
                               {"enableSoftDelete", false},
                               {"accessPolicies", json::array()}}}});
  CHECK(refused.first == 400);
  // ...but older vaults without it still exist (fixtures can describe one); stand one in.
  c.vault("kvold8");
  c.grant("kvold8", principal);
  c.key("kvold8", "k");
  REQUIRE(
      c.emu->resources().update(*arm::ResourceId::parse(vault_id), "", [](arm::TrackedResource& r) {
        r.body["properties"]["enableSoftDelete"] = false;
        return true;
      }));
  auto [status2, op2] = c.patch("kccmk8", Cmk::kv_props("kvold8", "k", "", uami));
  INFO(op2.dump());
  CHECK(op2["status"] == "Failed");
  CHECK(op2["error"]["code"] == "KeyVaultSoftDeleteRequired");
  CHECK_THAT(op2["error"]["message"].get<std::string>(), Contains("enable soft delete"));
  CHECK(c.show("kccmk8")["properties"]["provisioningState"] == "Failed");
  CHECK(c.kid_in_use("kccmk8").empty());
}

TEST_CASE("cmk: an empty keyVersion follows rotation on the virtual clock - a pinned one stays",
          "[kusto][cmk]") {
  Cmk c;
  c.vault("kvrot6");
  const std::string v1 = c.key("kvrot6", "cmk");
  auto [uami, principal] = c.identity("id6");
  c.grant("kvrot6", principal);
  c.cluster("kcfollow6", uami);
  c.cluster("kcpinned6", uami);
  REQUIRE(c.patch("kcfollow6", Cmk::kv_props("kvrot6", "cmk", "", uami)).second["status"] ==
          "Succeeded");
  REQUIRE(c.patch("kcpinned6", Cmk::kv_props("kvrot6", "cmk", v1, uami)).second["status"] ==
          "Succeeded");
  CHECK_THAT(c.kid_in_use("kcfollow6"), Contains(v1));

  auto [rot_status, rotated] = c.kv_call("kvrot6", "POST", "/keys/cmk/rotate");
  REQUIRE(rot_status == 200);
  const std::string kid2 = rotated["key"]["kid"];
  c.advance(30);  // not yet a refresh interval
  c.show("kcfollow6");
  CHECK_THAT(c.kid_in_use("kcfollow6"), Contains(v1));
  c.advance(31);
  c.show("kcfollow6");
  c.show("kcpinned6");
  CHECK(c.kid_in_use("kcfollow6") == kid2);
  CHECK_THAT(c.kid_in_use("kcpinned6"), Contains(v1));
  CHECK(c.show("kcfollow6")["properties"]["keyVaultProperties"]["keyVersion"] == "");
}

TEST_CASE("cmk: the cluster suspends when its key cannot be used and resumes by itself",
          "[kusto][cmk]") {
  Cmk c;
  c.vault("kvsus7");
  c.key("kvsus7", "cmk");
  auto [uami, principal] = c.identity("id7");
  c.grant("kvsus7", principal);
  c.cluster("kcsus7", uami);
  REQUIRE(c.patch("kcsus7", Cmk::kv_props("kvsus7", "cmk", "", uami)).second["status"] ==
          "Succeeded");

  auto state_after_refresh = [&] {
    c.advance(61);
    auto p = c.show("kcsus7")["properties"];
    return std::make_pair(p["state"].get<std::string>(), p.value("stateReason", std::string()));
  };
  // Permission removed, then given back.
  c.grant("kvsus7", principal, "remove", {"get", "wrapKey", "unwrapKey"});
  auto [state, reason] = state_after_refresh();
  CHECK(state == "Unavailable");
  CHECK_THAT(reason, Contains("KeyVaultAccessDenied"));
  c.grant("kvsus7", principal);
  CHECK(state_after_refresh().first == "Running");
  CHECK_FALSE(c.show("kcsus7")["properties"].contains("stateReason"));

  // Key disabled, then enabled.
  REQUIRE(c.kv_call("kvsus7", "PATCH", "/keys/cmk", {{"attributes", {{"enabled", false}}}}).first ==
          200);
  auto disabled = state_after_refresh();
  CHECK(disabled.first == "Unavailable");
  CHECK_THAT(disabled.second, Contains("KeyDisabled"));
  REQUIRE(c.kv_call("kvsus7", "PATCH", "/keys/cmk", {{"attributes", {{"enabled", true}}}}).first ==
          200);
  CHECK(state_after_refresh().first == "Running");

  // Key expired (wrap refused), then extended.
  const int64_t past = to_unix_seconds(c.emu->clock().now()) + 30;  // passed at the next refresh
  REQUIRE(c.kv_call("kvsus7", "PATCH", "/keys/cmk", {{"attributes", {{"exp", past}}}}).first ==
          200);
  auto expired = state_after_refresh();
  CHECK(expired.first == "Unavailable");
  CHECK_THAT(expired.second, Contains("KeyExpired"));
  REQUIRE(c.kv_call("kvsus7", "PATCH", "/keys/cmk", {{"attributes", {{"exp", past + 365 * 86400}}}})
              .first == 200);
  CHECK(state_after_refresh().first == "Running");

  // Key deleted (soft delete), then recovered.
  auto del =
      test::proxied_client(*c.emu, "kvsus7.vault.azure.net")->Delete("/keys/cmk" + kKvV, c.kv_auth);
  REQUIRE(del->status == 200);
  auto deleted = state_after_refresh();
  CHECK(deleted.first == "Unavailable");
  CHECK_THAT(deleted.second, Contains("KeyNotFound"));
  REQUIRE(c.kv_call("kvsus7", "POST", "/deletedkeys/cmk/recover").first == 200);
  CHECK(state_after_refresh().first == "Running");

  // The vault deleted.
  REQUIRE(
      c.arm_call("DELETE", kRg + "/providers/Microsoft.KeyVault/vaults/kvsus7" + kKvArmV).first ==
      200);
  auto gone = state_after_refresh();
  CHECK(gone.first == "Unavailable");
  CHECK_THAT(gone.second, Contains("KeyVaultNotFound"));
}

TEST_CASE("cmk: the admin API shows the key in use and sets refresh intervals", "[kusto][cmk]") {
  Cmk c;
  c.vault("kvadm8");
  const std::string v1 = c.key("kvadm8", "cmk");
  auto [uami, principal] = c.identity("id8");
  c.grant("kvadm8", principal);
  c.cluster("kcadm8", uami);
  REQUIRE(c.patch("kcadm8", Cmk::kv_props("kvadm8", "cmk", "", uami)).second["status"] ==
          "Succeeded");

  auto keys = json::parse(c.arm->Get("/_emulator/kusto/keys")->body)["value"];
  REQUIRE(keys.size() == 1);
  CHECK(http::iequals(keys[0]["cluster"].get<std::string>(), Cmk::cluster_path("kcadm8")));
  CHECK_THAT(keys[0]["kid"].get<std::string>(), Contains("/keys/cmk/" + v1));
  CHECK(keys[0]["usable"] == true);
  CHECK(keys[0]["refreshSeconds"] == 60);

  auto bad = c.arm->Put("/_emulator/kusto/keys/refresh", R"({"seconds": 0})", "application/json");
  CHECK(bad->status == 400);
  auto one = c.arm->Put("/_emulator/kusto/keys/refresh",
                        json{{"cluster", Cmk::cluster_path("kcadm8")}, {"seconds", 10}}.dump(),
                        "application/json");
  REQUIRE(one->status == 200);
  // The interval applies from the next check on: after the current one (60 s), every 10 s.
  c.advance(61);
  c.show("kcadm8");
  auto [status, rotated] = c.kv_call("kvadm8", "POST", "/keys/cmk/rotate");
  REQUIRE(status == 200);
  c.advance(11);
  c.show("kcadm8");
  CHECK(c.kid_in_use("kcadm8") == rotated["key"]["kid"]);
  CHECK(json::parse(c.arm->Get("/_emulator/kusto/keys")->body)["value"][0]["refreshSeconds"] == 10);
}

TEST_CASE("cmk: a deleted cluster leaves no key in use behind, nor its refresh interval",
          "[kusto][cmk]") {
  Cmk c;
  c.vault("kvdel10");
  c.key("kvdel10", "cmk");
  auto [uami, principal] = c.identity("id10");
  c.grant("kvdel10", principal);
  auto keys_listed = [&] {
    return json::parse(c.arm->Get("/_emulator/kusto/keys")->body)["value"].size();
  };
  for (const char* name : {"kcdel10a", "kcdel10b"}) {
    c.cluster(name, uami);
    REQUIRE(c.patch(name, Cmk::kv_props("kvdel10", "cmk", "", uami)).second["status"] ==
            "Succeeded");
  }
  auto one = c.arm->Put("/_emulator/kusto/keys/refresh",
                        json{{"cluster", Cmk::cluster_path("kcdel10a")}, {"seconds", 10}}.dump(),
                        "application/json");
  REQUIRE(one->status == 200);
  REQUIRE(keys_listed() == 2);

  // DELETE of the cluster (its operation is immediate here).
  REQUIRE(c.arm_call("DELETE", Cmk::cluster_path("kcdel10a") + kArmV).first == 202);
  CHECK(c.arm_call("GET", Cmk::cluster_path("kcdel10a") + kArmV).first == 404);
  CHECK(c.kid_in_use("kcdel10a").empty());
  CHECK(keys_listed() == 1);
  auto key = arm::ResourceId::parse(Cmk::cluster_path("kcdel10a"))->key();
  CHECK(c.emu->cluster_keys().refresh_interval(key) == std::chrono::seconds(60));
  CHECK_FALSE(c.emu->cluster_keys().snapshot()["refreshSeconds"].contains(key));

  // The resource group's deletion takes the other one with it.
  REQUIRE(c.arm_call("DELETE", kRg + kArmV).first == 202);
  CHECK(c.kid_in_use("kcdel10b").empty());
  CHECK(keys_listed() == 0);
  CHECK(c.emu->cluster_keys().snapshot()["clusters"].empty());
}

TEST_CASE("cmk: an RBAC-mode vault decides by role assignments - RSA-4096 is refused",
          "[kusto][cmk]") {
  Cmk c;
  const std::string vault_id = kRg + "/providers/Microsoft.KeyVault/vaults/kvrbac9";
  auto [vs, vb] = c.arm_call("PUT", vault_id + kKvArmV,
                             {{"location", "westeurope"},
                              {"properties",
                               {{"tenantId", test::kTenant},
                                {"sku", {{"family", "A"}, {"name", "standard"}}},
                                {"enableRbacAuthorization", true},
                                {"enablePurgeProtection", true}}}});
  INFO(vb.dump());
  REQUIRE((vs == 200 || vs == 201));  // Azure answers a vault creation 200
  auto assign = [&](const std::string& name, const char* role, const std::string& principal) {
    auto [status, body] =
        c.arm_call("PUT",
                   vault_id + "/providers/Microsoft.Authorization/roleAssignments/" + name +
                       "?api-version=2022-04-01",
                   {{"properties",
                     {{"roleDefinitionId",
                       kSub + "/providers/Microsoft.Authorization/roleDefinitions/" + role},
                      {"principalId", principal},
                      {"principalType", "ServicePrincipal"}}}});
    INFO(body.dump());
    REQUIRE(status == 201);
  };
  assign("a0000000-0000-0000-0000-000000000091", "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
         test::kSpObjectId);  // Crypto Officer
  c.key("kvrbac9", "cmk");
  c.key("kvrbac9", "big", {{"kty", "RSA"}, {"key_size", 4096}});
  auto [uami, principal] = c.identity("id9");
  c.cluster("kcrbac9", uami);

  auto denied = c.patch("kcrbac9", Cmk::kv_props("kvrbac9", "cmk", "", uami)).second;
  CHECK(denied["status"] == "Failed");
  CHECK(denied["error"]["code"] == "KeyVaultAccessDenied");
  CHECK_THAT(denied["error"]["message"].get<std::string>(),
             Contains("Crypto Service Encryption User"));
  assign("a0000000-0000-0000-0000-000000000092", "e147488a-f6f5-4113-8e2d-b22465e65bf6", principal);
  CHECK(c.patch("kcrbac9", Cmk::kv_props("kvrbac9", "cmk", "", uami)).second["status"] ==
        "Succeeded");

  auto big = c.patch("kcrbac9", Cmk::kv_props("kvrbac9", "big", "", uami)).second;
  CHECK(big["error"]["code"] == "UnsupportedKeyType");
  CHECK_THAT(big["error"]["message"].get<std::string>(), Contains("4096 bits"));
}

TEST_CASE(
    "cmk: the cluster's own Key Vault calls are journaled as its own; a fault rule can cut "
    "them off without touching the key",
    "[kusto][cmk][journal][faults]") {
  Cmk c;
  c.vault("kvj9");
  const std::string version = c.key("kvj9", "cmk");
  auto [uami, principal] = c.identity("id9");
  c.cluster("kccmk9", uami);
  c.grant("kvj9", principal);
  REQUIRE(c.patch("kccmk9", Cmk::kv_props("kvj9", "cmk", "", uami)).second["status"] ==
          "Succeeded");
  const std::string cluster_id = c.show("kccmk9")["id"];  // as the cluster spells it

  auto admin = test::http_client(*c.emu);
  auto journal = [&](const std::string& query) {
    auto r = admin->Get("/_emulator/requests" + query);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body)["value"];
  };
  // Read, wrap, unwrap: marked with the cluster's id and made as its managed identity.
  auto own = journal("?caller=" + http::percent_encode(cluster_id));
  REQUIRE(own.size() == 3);
  CHECK(own[0]["path"] == "/keys/cmk");
  CHECK(own[1]["path"] == "/keys/cmk/" + version + "/wrapkey");
  CHECK(own[2]["path"] == "/keys/cmk/" + version + "/unwrapkey");
  for (const auto& r : own) {
    CHECK(r["emulatorCaller"] == cluster_id);
    CHECK(r["surface"] == "keyvault");
    CHECK(r["status"] == 200);
    CHECK(r["principal"]["oid"] == principal);
  }
  // The client's own key creation is not marked.
  auto created = journal("?path=/keys/cmk/create");
  REQUIRE(created.size() == 1);
  CHECK(created[0]["emulatorCaller"].is_null());
  CHECK(created[0]["principal"]["oid"] == test::kSpObjectId);

  // An outage only the cluster sees: it suspends; clients still use the key; the key is intact.
  auto put = admin->Put(
      "/_emulator/faults",
      json::array({{{"preset", "cluster-key-outage"}, {"match", {{"caller", "*/kccmk9"}}}}}).dump(),
      "application/json");
  REQUIRE(put->status == 200);
  c.advance(61);
  auto shown = c.show("kccmk9");
  CHECK(shown["properties"]["state"] == "Unavailable");
  CHECK_THAT(shown["properties"]["stateReason"].get<std::string>(), Contains("KeyVaultError"));
  auto [status, key] = c.kv_call("kvj9", "GET", "/keys/cmk");
  CHECK(status == 200);
  CHECK(key["attributes"]["enabled"] == true);
  CHECK(journal("?faulted=true&caller=*")[0]["fault"] == "cluster-key-outage: status 503");

  REQUIRE(admin->Delete("/_emulator/faults")->status == 200);
  c.advance(61);
  shown = c.show("kccmk9");
  CHECK(shown["properties"]["state"] == "Running");
  CHECK_FALSE(shown["properties"].contains("stateReason"));
}
