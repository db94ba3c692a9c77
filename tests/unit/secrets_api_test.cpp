// The secrets data plane over HTTPS through the in-process emulator: every route, the wire
// shapes (values only in set and get), the error shapes, access policies and the RBAC roles,
// paging, and secret values kept out of the journal.
#include <catch2/catch.hpp>

#include <fstream>

#include "keyvault_data/key_store.h"
#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {

json body(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  return json::parse(r->body);
}

json policy(const std::string& oid, std::vector<std::string> secrets) {
  return {{"tenantId", test::kTenant},
          {"objectId", oid},
          {"permissions", {{"keys", json::array()}, {"secrets", secrets}}}};
}

struct Kv {
  std::unique_ptr<Emulator> emu;
  std::unique_ptr<httplib::SSLClient> arm;
  httplib::Headers arm_auth;
  std::string token;
  std::string v = "?api-version=7.5";

  explicit Kv(bool journal_bodies = false, const std::filesystem::path& state_dir = {}) {
    EmulatorOptions o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.journal_bodies = journal_bodies;
    o.state_dir = state_dir;
    emu = test::start_emulator(o);
    arm = test::https_client(*emu);
    arm_auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
    token = test::app_token(*emu, "https://vault.azure.net");
    auto group = arm->Put(rg() + "?api-version=2022-09-01", arm_auth,
                          R"({"location":"westeurope"})", "application/json");
    REQUIRE(group);
    REQUIRE((group->status == 201 || group->status == 200));  // 200: restored by --state-dir
    make_vault("kv1", json::object(), {policy(test::kSpObjectId, {"all", "purge"})});
  }
  std::string rg() const {
    return std::string("/subscriptions/") + test::kSubscription + "/resourceGroups/rg1";
  }
  std::string vault_id(const std::string& name) const {
    return rg() + "/providers/Microsoft.KeyVault/vaults/" + name;
  }
  void make_vault(const std::string& name, json extra, std::vector<json> policies) {
    json props = {{"tenantId", test::kTenant},
                  {"sku", {{"family", "A"}, {"name", "standard"}}},
                  {"accessPolicies", policies}};
    props.update(extra);
    auto r = arm->Put(vault_id(name) + "?api-version=2022-07-01", arm_auth,
                      json{{"location", "westeurope"}, {"properties", props}}.dump(),
                      "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE((r->status == 201 || r->status == 200));
  }
  std::unique_ptr<httplib::SSLClient> vault(const std::string& name = "kv1") {
    return test::proxied_client(*emu, name + ".vault.azure.net");
  }
  httplib::Headers auth() { return {{"Authorization", "Bearer " + token}}; }
  httplib::Result put(const std::string& path, const json& b, const std::string& vn = "kv1") {
    return vault(vn)->Put(path + v, auth(), b.dump(), "application/json");
  }
  httplib::Result patch(const std::string& path, const json& b) {
    return vault()->Patch(path + v, auth(), b.dump(), "application/json");
  }
  httplib::Result post(const std::string& path, const json& b, const std::string& vn = "kv1") {
    return vault(vn)->Post(path + v, auth(), b.dump(), "application/json");
  }
  httplib::Result get(const std::string& path, const std::string& vn = "kv1") {
    return vault(vn)->Get(path + v, auth());
  }
  httplib::Result del(const std::string& path) { return vault()->Delete(path + v, auth()); }
  void advance_days(int days) {
    auto admin = test::http_client(*emu);
    auto r = admin->Post("/_emulator/clock/advance", json{{"seconds", days * 86400}}.dump(),
                         "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
  }
};

}  // namespace

TEST_CASE("secrets api: set, get, versions, update, and the wire shapes", "[secrets]") {
  Kv kv;
  auto r = kv.put("/secrets/Conn", {{"value", "Server=db;Password=p@ss"},
                                    {"contentType", "text/plain"},
                                    {"tags", {{"env", "ci"}}},
                                    {"attributes", {{"enabled", true}}}});
  REQUIRE(r->status == 200);
  json s1 = body(r);
  CHECK(s1["value"] == "Server=db;Password=p@ss");
  CHECK(s1["contentType"] == "text/plain");
  CHECK(s1["tags"] == json{{"env", "ci"}});
  const std::string id1 = s1["id"];
  CHECK(id1.rfind("https://kv1.vault.azure.net/secrets/Conn/", 0) == 0);
  CHECK(s1["attributes"]["recoveryLevel"] == "Recoverable+Purgeable");
  CHECK(s1["attributes"]["recoverableDays"] == 90);
  CHECK_FALSE(s1["attributes"].contains("exportable"));
  CHECK_FALSE(s1.contains("managed"));
  CHECK_FALSE(s1.contains("kid"));
  const std::string v1 = id1.substr(id1.rfind('/') + 1);

  json s2 = body(kv.put("/secrets/conn", {{"value", "second"}}));
  CHECK_FALSE(s2.contains("tags"));
  const std::string v2 =
      s2["id"].get<std::string>().substr(s2["id"].get<std::string>().rfind('/') + 1);

  CHECK(body(kv.get("/secrets/conn"))["value"] == "second");
  CHECK(body(kv.get("/secrets/CONN/"))["value"] == "second");  // empty version: the latest
  CHECK(body(kv.get("/secrets/conn/" + v1))["value"] == "Server=db;Password=p@ss");

  // Update: properties only, no value in the answer.
  auto u = kv.patch("/secrets/conn/" + v1,
                    {{"contentType", "application/json"}, {"attributes", {{"exp", 4102444800}}}});
  REQUIRE(u->status == 200);
  json updated = body(u);
  CHECK_FALSE(updated.contains("value"));
  CHECK(updated["contentType"] == "application/json");
  CHECK(updated["attributes"]["exp"] == 4102444800);

  // Versions: no values, ids with versions.
  json versions = body(kv.get("/secrets/conn/versions"));
  REQUIRE(versions["value"].size() == 2);
  CHECK(versions["value"][0]["id"].get<std::string>().find(v1) != std::string::npos);
  CHECK(versions["value"][1]["id"].get<std::string>().find(v2) != std::string::npos);
  for (const auto& item : versions["value"]) CHECK_FALSE(item.contains("value"));
  CHECK(body(kv.get("/secrets/none/versions"))["value"].empty());

  // Older api-versions: no recoverableDays before 7.1.
  kv.v = "?api-version=7.0";
  CHECK_FALSE(body(kv.get("/secrets/conn"))["attributes"].contains("recoverableDays"));
}

TEST_CASE("secrets api: errors in Key Vault's shapes", "[secrets]") {
  Kv kv;
  auto missing = kv.get("/secrets/nope");
  REQUIRE(missing->status == 404);
  CHECK(body(missing)["error"]["code"] == "SecretNotFound");
  CHECK_THAT(body(missing)["error"]["message"].get<std::string>(),
             Catch::StartsWith("A secret with (name/id) nope was not found in this key vault."));

  auto big = kv.put("/secrets/big", {{"value", std::string(25601, 'x')}});
  REQUIRE(big->status == 400);
  CHECK(body(big)["error"]["code"] == "BadParameter");
  CHECK(body(big)["error"]["message"] ==
        "Secret is beyond the maximum permitted length of 25600 characters.");
  CHECK(kv.put("/secrets/big", {{"value", std::string(25600, 'x')}})->status == 200);
  CHECK(kv.put("/secrets/novalue", json::object())->status == 400);
  CHECK(kv.put("/secrets/bad_name", {{"value", "x"}})->status == 400);
  CHECK(kv.put("/secrets/t", {{"value", "x"}, {"attributes", {{"exp", "soon"}}}})->status == 400);

  REQUIRE(kv.put("/secrets/off", {{"value", "x"}, {"attributes", {{"enabled", false}}}})->status ==
          200);
  auto off = kv.get("/secrets/off");
  REQUIRE(off->status == 403);
  json e = body(off)["error"];
  CHECK(e["code"] == "Forbidden");
  CHECK(e["message"] == "Operation get is not allowed on a disabled secret.");
  CHECK(e["innererror"]["code"] == "SecretDisabled");
  // Listed all the same, and enabled again by a PATCH.
  CHECK(body(kv.get("/secrets"))["value"].size() == 2);
  REQUIRE(kv.patch("/secrets/off", {{"attributes", {{"enabled", true}}}})->status == 200);
  CHECK(kv.get("/secrets/off")->status == 200);

  auto wrong = kv.vault()->Post("/secrets/off" + kv.v, kv.auth(), "{}", "application/json");
  REQUIRE(wrong->status == 405);
  CHECK(wrong->get_header_value("Allow") == "GET, PUT, PATCH, DELETE");
  CHECK(kv.get("/secrets/a/b/c")->status == 404);
}

TEST_CASE("secrets api: lists page with maxresults and nextLink, without values", "[secrets]") {
  Kv kv;
  for (int i = 0; i < 5; ++i)
    REQUIRE(
        kv.put("/secrets/s" + std::to_string(i), {{"value", "v" + std::to_string(i)}})->status ==
        200);
  kv.v = "?api-version=7.5&maxresults=2";
  json page = body(kv.get("/secrets"));
  REQUIRE(page["value"].size() == 2);
  CHECK(page["value"][0]["id"] == "https://kv1.vault.azure.net/secrets/s0");
  CHECK_FALSE(page["value"][0].contains("value"));
  std::vector<std::string> seen;
  while (true) {
    for (const auto& item : page["value"]) seen.push_back(item["id"]);
    if (page["nextLink"].is_null()) break;
    std::string next = page["nextLink"];
    const std::string prefix = "https://kv1.vault.azure.net";
    REQUIRE(next.rfind(prefix, 0) == 0);
    auto r = kv.vault()->Get(next.substr(prefix.size()), kv.auth());
    page = body(r);
  }
  CHECK(seen.size() == 5);
  kv.v = "?api-version=7.5&maxresults=26";
  CHECK(kv.get("/secrets")->status == 400);
}

TEST_CASE("secrets api: delete, deleted secrets, recover, purge and backup/restore", "[secrets]") {
  Kv kv;
  REQUIRE(kv.put("/secrets/gone", {{"value", "hush"}, {"contentType", "x"}})->status == 200);
  auto d = kv.del("/secrets/gone");
  REQUIRE(d->status == 200);
  json deleted = body(d);
  CHECK_FALSE(deleted.contains("value"));
  CHECK(deleted["recoveryId"] == "https://kv1.vault.azure.net/deletedsecrets/gone");
  CHECK(deleted["scheduledPurgeDate"].get<int64_t>() - deleted["deletedDate"].get<int64_t>() ==
        90 * 86400);
  CHECK(kv.get("/secrets/gone")->status == 404);
  auto conflict = kv.put("/secrets/gone", {{"value", "again"}});
  REQUIRE(conflict->status == 409);
  CHECK(body(conflict)["error"]["innererror"]["code"] == "ObjectIsDeletedButRecoverable");

  json list = body(kv.get("/deletedsecrets"));
  REQUIRE(list["value"].size() == 1);
  CHECK(list["value"][0]["id"] == "https://kv1.vault.azure.net/secrets/gone");
  CHECK(body(kv.get("/deletedsecrets/gone"))["contentType"] == "x");
  REQUIRE(kv.post("/deletedsecrets/gone/recover", json::object())->status == 200);
  CHECK(body(kv.get("/secrets/gone"))["value"] == "hush");

  json blob = body(kv.post("/secrets/gone/backup", json::object()));
  REQUIRE(blob["value"].is_string());
  CHECK(blob["value"].get<std::string>().find("hush") == std::string::npos);
  REQUIRE(kv.del("/secrets/gone")->status == 200);
  REQUIRE(kv.vault()->Delete("/deletedsecrets/gone" + kv.v, kv.auth())->status == 204);
  CHECK(kv.get("/deletedsecrets/gone")->status == 404);
  auto restored = kv.post("/secrets/restore", blob);
  REQUIRE(restored->status == 200);
  CHECK_FALSE(body(restored).contains("value"));
  CHECK(body(kv.get("/secrets/gone"))["value"] == "hush");
  auto malformed = kv.post("/secrets/restore", {{"value", "bm9uLWV4aXN0aW5n"}});
  REQUIRE(malformed->status == 400);
  CHECK(body(malformed)["error"]["code"] == "Malformed backup blob");
  CHECK(body(malformed)["error"]["message"] == "Backup blob is corrupt.");

  // The retention runs on the virtual clock.
  REQUIRE(kv.del("/secrets/gone")->status == 200);
  kv.advance_days(91);
  CHECK(kv.get("/deletedsecrets/gone")->status == 404);
  CHECK(kv.put("/secrets/gone", {{"value", "new"}})->status == 200);
}

TEST_CASE("secrets api: access policies and the secrets roles", "[secrets]") {
  Kv kv;
  // Only get and list on kv2: set is refused in Key Vault's words.
  kv.make_vault("kv2", json::object(), {policy(test::kSpObjectId, {"get", "list"})});
  auto refused = kv.put("/secrets/s", {{"value", "x"}}, "kv2");
  REQUIRE(refused->status == 403);
  json e = body(refused)["error"];
  CHECK(e["innererror"]["code"] == "ForbiddenByPolicy");
  CHECK_THAT(e["message"].get<std::string>(),
             Catch::Contains("does not have secrets set permission on key vault 'kv2;"));
  CHECK(kv.get("/secrets", "kv2")->status == 200);

  // An RBAC vault: nobody before a role assignment, then what the role grants.
  kv.make_vault("kv3", {{"enableRbacAuthorization", true}}, {});
  auto none = kv.get("/secrets", "kv3");
  REQUIRE(none->status == 403);
  CHECK(body(none)["error"]["innererror"]["code"] == "ForbiddenByRbac");
  CHECK_THAT(body(none)["error"]["message"].get<std::string>(),
             Catch::Contains("Microsoft.KeyVault/vaults/secrets/readMetadata/action"));
  auto assign = [&](const std::string& name, const std::string& role) {
    auto r =
        kv.arm->Put(kv.vault_id("kv3") + "/providers/Microsoft.Authorization/roleAssignments/" +
                        name + "?api-version=2022-04-01",
                    kv.arm_auth,
                    json{{"properties",
                          {{"roleDefinitionId",
                            "/subscriptions/" + std::string(test::kSubscription) +
                                "/providers/Microsoft.Authorization/roleDefinitions/" + role},
                           {"principalId", test::kSpObjectId}}}}
                        .dump(),
                    "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 201);
  };
  assign("0b000000-0000-0000-0000-000000000001", "4633458b-17de-408a-b874-0445c86b69e6");  // User
  CHECK(kv.get("/secrets", "kv3")->status == 200);
  auto set = kv.put("/secrets/s", {{"value", "x"}}, "kv3");
  REQUIRE(set->status == 403);
  CHECK_THAT(body(set)["error"]["message"].get<std::string>(),
             Catch::Contains("Microsoft.KeyVault/vaults/secrets/setSecret/action"));
  assign("0b000000-0000-0000-0000-000000000002",
         "b86a8fe4-44ce-4948-aee5-eccb2c155cd7");  // Officer
  CHECK(kv.put("/secrets/s", {{"value", "x"}}, "kv3")->status == 200);
  CHECK(body(kv.get("/secrets/s", "kv3"))["value"] == "x");
  // Neither grants the keys.
  CHECK(kv.get("/keys", "kv3")->status == 403);
}

TEST_CASE("secrets api: values never reach the journal", "[secrets][journal]") {
  Kv kv(true);
  const std::string value = "journal-must-not-see-this-7f3a";
  REQUIRE(kv.put("/secrets/j", {{"value", value}})->status == 200);
  REQUIRE(kv.get("/secrets/j")->status == 200);
  auto admin = test::http_client(*kv.emu);
  auto journal = admin->Get("/_emulator/requests?limit=1000");
  REQUIRE(journal);
  REQUIRE(journal->status == 200);
  CHECK(journal->body.find("/secrets/j") != std::string::npos);
  CHECK(journal->body.find(value) == std::string::npos);
  CHECK(journal->body.find("<redacted>") != std::string::npos);  // bodies kept, value hidden
}

TEST_CASE("secrets api: fault rules name the secrets operations", "[secrets][faults]") {
  Kv kv;
  REQUIRE(kv.put("/secrets/f", {{"value", "x"}})->status == 200);
  auto admin = test::http_client(*kv.emu);
  const json rule = {{"name", "secret-reads"},
                     {"match", {{"operation", "secrets/get"}}},
                     {"action",
                      {{"type", "status"},
                       {"status", 503},
                       {"code", "ServiceUnavailable"},
                       {"message", "injected"}}}};
  auto r = admin->Put("/_emulator/faults", json::array({rule}).dump(), "application/json");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  auto faulted = kv.get("/secrets/f");
  REQUIRE(faulted->status == 503);
  CHECK(body(faulted)["error"]["code"] == "ServiceUnavailable");
  // Other operations pass: set, list, versions.
  CHECK(kv.put("/secrets/f", {{"value", "y"}})->status == 200);
  CHECK(kv.get("/secrets")->status == 200);
  CHECK(kv.get("/secrets/f/versions")->status == 200);

  json set_rule = rule;
  set_rule["match"]["operation"] = "secrets/set";
  REQUIRE(
      admin->Put("/_emulator/faults", json::array({set_rule}).dump(), "application/json")->status ==
      200);
  CHECK(kv.put("/secrets/f", {{"value", "z"}})->status == 503);
  CHECK(kv.get("/secrets/f")->status == 200);
  json purge_rule = rule;
  purge_rule["match"]["operation"] = "deletedsecrets/purge";
  REQUIRE(admin->Put("/_emulator/faults", json::array({purge_rule}).dump(), "application/json")
              ->status == 200);
  REQUIRE(kv.del("/secrets/f")->status == 200);
  CHECK(kv.vault()->Delete("/deletedsecrets/f" + kv.v, kv.auth())->status == 503);
}

TEST_CASE("secrets api: state export/import and --state-dir keep secrets", "[secrets][state]") {
  test::TempDir dir;
  const std::string value = "state-secret-value-31b9";
  std::string blob;
  json with;
  {
    Kv kv(false, dir.path() / "state");
    REQUIRE(kv.put("/secrets/live", {{"value", value}, {"tags", {{"t", "1"}}}})->status == 200);
    REQUIRE(kv.put("/secrets/dead", {{"value", "old"}})->status == 200);
    REQUIRE(kv.del("/secrets/dead")->status == 200);
    blob = body(kv.post("/secrets/live/backup", json::object()))["value"];

    // Without secrets: the secrets are there, their values are not.
    const json without = kv.emu->export_state(false);
    const json& vault = without["state"]["vaultSecrets"]["kv1"];
    REQUIRE(vault["secrets"].size() == 1);
    REQUIRE(vault["deletedSecrets"].size() == 1);
    CHECK(vault["secrets"][0]["name"] == "live");
    CHECK_FALSE(vault["secrets"][0]["versions"][0].contains("value"));
    CHECK(without.dump().find(value) == std::string::npos);
    with = kv.emu->export_state(true);
    CHECK(with["state"]["vaultSecrets"]["kv1"]["secrets"][0]["versions"][0]["value"] == value);

    // Import into a fresh emulator: with values it works, without it is refused by path.
    Kv other;
    auto admin = test::http_client(*other.emu);
    auto refused = admin->Put("/_emulator/state", without.dump(), "application/json");
    REQUIRE(refused);
    CHECK(refused->status == 400);
    CHECK_THAT(refused->body, Catch::Contains("$.state.vaultSecrets.kv1.secrets[0].versions[0]"));
    auto imported = admin->Put("/_emulator/state", with.dump(), "application/json");
    REQUIRE(imported);
    INFO(imported->body);
    REQUIRE(imported->status == 200);
    other.token = test::app_token(*other.emu, "https://vault.azure.net");
    CHECK(body(other.get("/secrets/live"))["value"] == value);
    CHECK(other.get("/deletedsecrets/dead")->status == 200);
    // The backup key came along: a blob from the first emulator restores here.
    REQUIRE(other.del("/secrets/live")->status == 200);
    REQUIRE(other.vault()->Delete("/deletedsecrets/live" + other.v, other.auth())->status == 204);
    CHECK(other.post("/secrets/restore", {{"value", blob}})->status == 200);
  }
  // A restart on the same --state-dir resumes with the secrets.
  Kv again(false, dir.path() / "state");
  CHECK(body(again.get("/secrets/live"))["value"] == value);
  CHECK(body(again.get("/secrets/live"))["tags"] == json{{"t", "1"}});
  CHECK(again.get("/deletedsecrets/dead")->status == 200);
}

TEST_CASE("secrets api: fixtures seed secrets, and a bad one stops the start with its path",
          "[secrets][fixture]") {
  auto o = test::test_options();
  o.rsa_key_pool_size = 0;
  o.fixtures = {std::filesystem::path(CMK_SOURCE_DIR) / "fixtures" / "seed-vault-secrets.json"};
  auto emu = test::start_emulator(o);
  auto v = emu->vaults().find_vault_by_name("app-kv");
  REQUIRE(v.has_value());
  const auto settings = keyvault_data::vault_settings("app-kv", v->body["properties"]);
  auto s = emu->secrets().get(settings, "db-connection", "5e0c1a2b3c4d5e6f708192a3b4c5d6e7");
  REQUIRE(s.is_ok());
  CHECK(s->value->find("Password=fixture-only") != std::string::npos);
  CHECK(*s->content_type == "text/plain");
  CHECK(s->tags == json{{"app", "ingest"}});
  REQUIRE(s->attributes.exp);
  CHECK(*s->attributes.exp - to_unix_seconds(emu->clock().now()) == 365 * 86400);
  CHECK(s->recovery_level == "CustomizedRecoverable+Purgeable");
  // Over the wire as a client sees it.
  auto kv = test::proxied_client(*emu, "app-kv.vault.azure.net");
  auto r =
      kv->Get("/secrets/db-connection?api-version=7.5",
              {{"Authorization", "Bearer " + test::app_token(*emu, "https://vault.azure.net")}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body)["contentType"] == "text/plain");

  test::TempDir dir;
  json bad = json::parse(std::ifstream(o.fixtures[0]));
  bad["vaults"][0]["secrets"][0]["versions"][0]["value"] = 5;
  const auto file = dir.path() / "bad.json";
  std::ofstream(file) << bad.dump();
  auto o2 = test::test_options();
  o2.fixtures = {file};
  Emulator e(o2);
  auto started = e.start();
  REQUIRE_FALSE(started.is_ok());
  CHECK_THAT(started.message(),
             Catch::Contains("$.vaults[0].secrets[0].versions[0].value: is required and must be a "
                             "string"));
}

TEST_CASE("secrets api: hostile bodies and names get Key Vault's 400, never a 500",
          "[secrets][robustness]") {
  Kv kv;
  auto put_raw = [&](const std::string& path, const std::string& text) {
    return kv.vault()->Put(path + kv.v, kv.auth(), text, "application/json");
  };
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  for (const std::string& text :
       {std::string("not json"), std::string("[]"), std::string("\"value\""), deep,
        std::string(R"({"value": 5})"), std::string(R"({"value": null})"),
        std::string(R"({"value": "x", "tags": []})"),
        std::string(R"({"value": "x", "tags": {"a": {"b": 1}}})"),
        std::string(R"({"value": "x", "attributes": []})"),
        std::string(R"({"value": "x", "attributes": {"enabled": "yes"}})"),
        std::string(R"({"value": "x", "attributes": {"nbf": 1e400}})"),
        std::string(R"({"value": "x", "contentType": 7})"),
        std::string("{\"value\": \"\xff\xfe\"}")}) {
    INFO(text.substr(0, 60));
    auto r = put_raw("/secrets/h", text);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(body(r)["error"]["code"] == "BadParameter");
  }
  CHECK(put_raw("/secrets/%00bad", R"({"value": "x"})")->status == 400);
  CHECK(put_raw("/secrets/" + std::string(200, 'a'), R"({"value": "x"})")->status == 400);
  auto patch = kv.vault()->Patch("/secrets/none/" + std::string(32, 'a') + kv.v, kv.auth(),
                                 R"({"tags": "x"})", "application/json");
  REQUIRE(patch);
  CHECK(patch->status == 400);
  CHECK(kv.post("/secrets/restore", {{"value", "%%%"}})->status == 400);
  CHECK(kv.post("/secrets/restore", json::object())->status == 400);
  CHECK(kv.vault()->Get("/secrets?api-version=7.5&maxresults=0", kv.auth())->status == 400);
  // A $skiptoken that is not one of ours starts from the first page.
  REQUIRE(kv.put("/secrets/ok", {{"value", "v"}})->status == 200);
  CHECK(body(kv.vault()->Get("/secrets?api-version=7.5&$skiptoken=garbage", kv.auth()))["value"]
            .size() == 1);
}
