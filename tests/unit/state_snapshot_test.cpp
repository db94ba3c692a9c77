// State export, import, reset (state/snapshot.h) and durable persistence (state/persistence.h):
// an export imported again exports the same bytes; a refused import changes nothing; reset goes
// back to the start fixtures; --state-dir resumes exactly, owner-only, one emulator per
// directory, and refuses corrupt or newer state without touching it.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "state/persistence.h"
#include "state/snapshot.h"
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
const std::string kVaultsPath = kRg + "/providers/Microsoft.KeyVault/vaults/";
const std::string kClusterPath = kRg + "/providers/Microsoft.Kusto/clusters/";

EmulatorOptions options(const std::filesystem::path& state_dir = {}) {
  auto o = test::test_options();
  o.rsa_key_pool_size = 0;
  o.lro_policies = {"immediate"};
  o.state_dir = state_dir;
  return o;
}

// A client of one emulator: ARM, Key Vault (through the proxy) and the admin API.
struct Client {
  Emulator& emu;
  std::unique_ptr<httplib::SSLClient> arm = test::https_client(emu);
  httplib::Headers arm_auth{{"Authorization", "Bearer " + test::app_token(emu)}};
  httplib::Headers kv_auth{
      {"Authorization", "Bearer " + test::app_token(emu, "https://vault.azure.net")}};

  explicit Client(Emulator& e) : emu(e) {}

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
    return {r->status, r->body.empty() ? json() : json::parse(r->body, nullptr, false)};
  }
  std::pair<int, json> kv_call(const std::string& vault, const std::string& method,
                               const std::string& path, const json& body = nullptr) {
    auto cli = test::proxied_client(emu, vault + ".vault.azure.net");
    httplib::Result r =
        method == "GET"      ? cli->Get(path + kKvV, kv_auth)
        : method == "PATCH"  ? cli->Patch(path + kKvV, kv_auth, body.dump(), "application/json")
        : method == "PUT"    ? cli->Put(path + kKvV, kv_auth, body.dump(), "application/json")
        : method == "DELETE" ? cli->Delete(path + kKvV, kv_auth)
                             : cli->Post(path + kKvV, kv_auth, body.is_null() ? "{}" : body.dump(),
                                         "application/json");
    REQUIRE(r);
    INFO(r->body);
    return {r->status, r->body.empty() ? json() : json::parse(r->body, nullptr, false)};
  }
  std::pair<int, json> admin(const std::string& method, const std::string& path,
                             const json& body = nullptr) {
    auto cli = test::http_client(emu);
    httplib::Result r = method == "GET"   ? cli->Get(path)
                        : method == "PUT" ? cli->Put(path, body.dump(), "application/json")
                                          : cli->Post(path, body.is_null() ? "{}" : body.dump(),
                                                      "application/json");
    REQUIRE(r);
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  std::pair<int, std::string> admin_raw(const std::string& method, const std::string& path,
                                        const std::string& body) {
    auto cli = test::http_client(emu);
    httplib::Result r = method == "PUT" ? cli->Put(path, body, "application/json")
                                        : cli->Post(path, body, "application/json");
    REQUIRE(r);
    return {r->status, r->body};
  }

  void vault(const std::string& name, json policies = json::array()) {
    policies.push_back({{"tenantId", test::kTenant},
                        {"objectId", test::kSpObjectId},
                        {"permissions", {{"keys", {"all", "purge"}}}}});
    auto [status, body] = arm_call("PUT", kVaultsPath + name + kKvArmV,
                                   {{"location", "westeurope"},
                                    {"properties",
                                     {{"tenantId", test::kTenant},
                                      {"sku", {{"family", "A"}, {"name", "standard"}}},
                                      {"enablePurgeProtection", true},
                                      {"accessPolicies", policies}}}});
    INFO(body.dump());
    REQUIRE((status == 200 || status == 201));
  }
  std::string key(const std::string& vault, const std::string& name, const json& spec) {
    auto [status, body] = kv_call(vault, "POST", "/keys/" + name + "/create", spec);
    REQUIRE(status == 200);
    const std::string kid = body["key"]["kid"];
    return kid.substr(kid.rfind('/') + 1);
  }
};

// A world with something of every kind: groups, identities, vaults (one deleted), keys of several
// types (rotated, with a rotation policy, tagged, one deleted), a role assignment, a CMK cluster
// and a plain one, finished operations, an LRO policy, a fault rule and a moved clock.
struct World {
  std::string uami, principal, wrapped_b64, cmk_version;
};

World build_world(Client& c) {
  World w;
  REQUIRE(c.arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}, {"tags", {{"env", "t"}}}})
              .first == 201);
  const std::string uami = kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";
  auto [id_status, id_body] =
      c.arm_call("PUT", uami + "?api-version=2023-01-31", {{"location", "westeurope"}});
  REQUIRE(id_status == 201);
  w.uami = uami;
  w.principal = id_body["properties"]["principalId"];
  c.vault("kv1", json::array({{{"tenantId", test::kTenant},
                               {"objectId", w.principal},
                               {"permissions", {{"keys", {"get", "wrapKey", "unwrapKey"}}}}}}));
  w.cmk_version = c.key("kv1", "cmk", {{"kty", "RSA"}, {"key_size", 2048}});
  c.key("kv1", "ec", {{"kty", "EC"}, {"crv", "P-256"}, {"tags", {{"purpose", "sign"}}}});
  c.key("kv1", "gone", {{"kty", "RSA"}, {"key_size", 2048}});
  REQUIRE(c.kv_call("kv1", "DELETE", "/keys/gone").first == 200);
  REQUIRE(
      c.kv_call("kv1", "PUT", "/keys/cmk/rotationpolicy",
                {{"lifetimeActions",
                  {{{"trigger", {{"timeAfterCreate", "P30D"}}}, {"action", {{"type", "Rotate"}}}}}},
                 {"attributes", {{"expiryTime", "P90D"}}}})
          .first == 200);
  auto [wrap_status, wrapped] = c.kv_call("kv1", "POST", "/keys/cmk/" + w.cmk_version + "/wrapkey",
                                          {{"alg", "RSA-OAEP"}, {"value", "AAECAwQFBgcICQ"}});
  REQUIRE(wrap_status == 200);
  w.wrapped_b64 = wrapped["value"];
  REQUIRE(c.kv_call("kv1", "POST", "/keys/ec/rotate").first == 200);

  c.vault("kv2");
  REQUIRE(c.arm_call("DELETE", kVaultsPath + "kv2" + kKvArmV).first == 200);

  REQUIRE(c.arm_call(
               "PUT",
               kVaultsPath + "kv1/providers/Microsoft.Authorization/roleAssignments/"
                             "7b7d2a3c-0000-4000-8000-000000000001?api-version=2022-04-01",
               {{"properties",
                 {{"roleDefinitionId", kSub + "/providers/Microsoft.Authorization/roleDefinitions/"
                                              "e147488a-f6f5-4113-8e2d-b22465e65bf6"},
                  {"principalId", w.principal},
                  {"principalType", "ServicePrincipal"}}}})
              .first == 201);

  json ids = json::object();
  ids[uami] = json::object();
  json cmk = {{"location", "westeurope"},
              {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}},
              {"identity", {{"type", "UserAssigned"}, {"userAssignedIdentities", ids}}},
              {"properties",
               {{"keyVaultProperties",
                 {{"keyVaultUri", "https://kv1.vault.azure.net/"},
                  {"keyName", "cmk"},
                  {"keyVersion", w.cmk_version},
                  {"userIdentity", uami}}}}}};
  auto [cmk_status, cmk_body] = c.arm_call("PUT", kClusterPath + "adxcmk" + kArmV, cmk);
  INFO(cmk_body.dump());
  REQUIRE(cmk_status == 201);
  REQUIRE(c.arm_call("PUT", kClusterPath + "adxplain" + kArmV,
                     {{"location", "westeurope"},
                      {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}},
                      {"identity", {{"type", "SystemAssigned"}}}})
              .first == 201);
  REQUIRE(c.arm_call("GET", kClusterPath + "adxcmk" + kArmV).second["properties"]["state"] ==
          "Running");

  REQUIRE(c.admin("POST", "/_emulator/faults",
                  {{"name", "never"},
                   {"match", {{"path", "/nothing/*"}}},
                   {"action", {{"type", "status"}, {"status", 500}}}})
              .first == 200);
  REQUIRE(c.admin("POST", "/_emulator/clock/advance", {{"hours", 5}}).first == 200);
  return w;
}

// Runs statements on a database the emulator does not hold; returns the rows (columns joined
// by '|').
std::vector<std::string> sql(const std::filesystem::path& db, const std::string& statements) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  std::vector<std::string> rows;
  char* error = nullptr;
  const int rc = sqlite3_exec(
      raw, statements.c_str(),
      [](void* out, int n, char** values, char**) {
        std::string row;
        for (int i = 0; i < n; ++i) row += (i ? "|" : "") + std::string(values[i] ? values[i] : "");
        static_cast<std::vector<std::string>*>(out)->push_back(row);
        return 0;
      },
      &rows, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(raw);
  REQUIRE(rc == SQLITE_OK);
  return rows;
}

// Creates resource group rg1 and starts creating cluster `name`; returns the operation's status
// path (still Running: the tests set slow LRO policies).
std::string create_cluster(Client& c, const std::string& name) {
  REQUIRE(c.arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}}).first == 201);
  auto r = c.arm->Put(kClusterPath + name + kArmV, c.arm_auth,
                      json{{"location", "westeurope"},
                           {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}}}
                          .dump(),
                      "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const std::string async = r->get_header_value("Azure-AsyncOperation");
  const std::string op_url = async.substr(async.find("/subscriptions/"));
  CHECK(c.arm_call("GET", op_url).second["status"] == "Running");
  return op_url;
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("state: an export imported again exports the same bytes", "[state]") {
  auto a = test::start_emulator(options());
  Client ca(*a);
  World w = build_world(ca);
  const json first = a->export_state(true);
  // Everything is there.
  CHECK(first["state"]["resources"].size() == 4);  // the identity, kv1 and the two clusters
  CHECK(first["state"]["deletedVaults"].size() == 1);
  CHECK(first["state"]["keys"]["kv1"]["deletedKeys"].size() == 1);
  CHECK(first["state"]["keys"]["kv1"]["keys"].size() == 2);
  CHECK(first["state"]["roleAssignments"].size() == 1);
  CHECK_FALSE(first["state"]["operations"].empty());
  CHECK(first["state"]["clusterKeys"]["clusters"].size() == 1);
  CHECK(first["faults"].size() == 1);
  CHECK(first["lroPolicies"]["default"]["mode"] == "immediate");
  CHECK(first["state"]["clock"]["offsetNanoseconds"] == int64_t{5} * 3600 * 1000000000);

  SECTION("into another emulator, through the admin API") {
    auto b = test::start_emulator(options());
    Client cb(*b);
    auto [status, body] = cb.admin("PUT", "/_emulator/state", first);
    INFO(body.dump());
    REQUIRE(status == 200);
    CHECK(b->export_state(true).dump() == first.dump());
    // The state works, not just looks the same: the key unwraps what it wrapped before, the
    // cluster's key is in use, tokens of the old emulator's identities are not needed.
    Client cb2(*b);
    auto [unwrap_status, unwrapped] =
        cb2.kv_call("kv1", "POST", "/keys/cmk/" + w.cmk_version + "/unwrapkey",
                    {{"alg", "RSA-OAEP"}, {"value", w.wrapped_b64}});
    REQUIRE(unwrap_status == 200);
    CHECK(unwrapped["value"] == "AAECAwQFBgcICQ");
    CHECK(cb2.arm_call("GET", kClusterPath + "adxcmk" + kArmV).second["properties"]["state"] ==
          "Running");
    CHECK(cb2.arm_call("GET", kVaultsPath + "kv1" + kKvArmV).first == 200);
    // The deleted vault's name is still taken until it is purged or recovered.
    CHECK(cb2.arm_call("PUT", kVaultsPath + "kv2" + kKvArmV,
                       {{"location", "westeurope"},
                        {"properties",
                         {{"tenantId", test::kTenant},
                          {"sku", {{"family", "A"}, {"name", "standard"}}}}}})
              .first == 409);
  }
  SECTION("into the same emulator") {
    REQUIRE(a->import_state(first).is_ok());
    CHECK(a->export_state(true).dump() == first.dump());
  }
  SECTION("as a --fixture file") {
    test::TempDir dir;
    std::ofstream(dir.path() / "state.json") << first.dump(2);
    auto o = options();
    o.fixtures = {dir.path() / "state.json"};
    auto b = test::start_emulator(o);
    CHECK(b->export_state(true).dump() == first.dump());
  }
}

TEST_CASE("state: the public export has no secrets and cannot be imported", "[state]") {
  auto a = test::start_emulator(options());
  Client c(*a);
  build_world(c);
  const json pub = a->export_state(false);
  const std::string text = pub.dump();
  CHECK(pub["state"]["secrets"] == false);
  CHECK_FALSE(pub["state"].contains("keyBackupKey"));
  CHECK(text.find("\"material\"") == std::string::npos);
  CHECK(text.find(test::kSpSecret) == std::string::npos);
  CHECK(text.find("\"d\":") == std::string::npos);
  const json secret = a->export_state(true);
  CHECK(secret.dump().find("\"material\"") != std::string::npos);
  CHECK(secret.dump().find(test::kSpSecret) != std::string::npos);

  auto [status, body] = c.admin("PUT", "/_emulator/state", pub);
  CHECK(status == 400);
  CHECK(body["error"]["code"] == "InvalidState");
  CHECK_THAT(body["error"]["message"].get<std::string>(), Contains("include=secrets"));
  CHECK(a->export_state(true).dump() == secret.dump());
}

TEST_CASE("state: a refused import names the path and changes nothing", "[state]") {
  auto a = test::start_emulator(options());
  Client c(*a);
  build_world(c);
  const json before = a->export_state(true);
  struct Case {
    const char* what;
    std::function<void(json&)> spoil;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"a resource without its etag", [](json& d) { d["state"]["resources"][1].erase("etag"); },
       "$.state.resources[1]: etag: must be a non-empty string"},
      {"an unknown section", [](json& d) { d["state"]["gadgets"] = json::array(); },
       "$.state.gadgets: unknown key"},
      {"a bad clock",
       [](json& d) {
         d["state"]["clock"] = {{"frozen", "yes"}};
       },
       "$.state.clock.frozen: must be a boolean"},
      {"an operation with an unknown status",
       [](json& d) { d["state"]["operations"][0]["status"] = "Sleeping"; },
       "$.state.operations[0].status: must be Running, Succeeded, Failed or Canceled"},
      {"a role assignment with an unknown role",
       [](json& d) { d["state"]["roleAssignments"][0]["roleDefinitionId"] = "nope"; },
       "$.state.roleAssignments[0].roleDefinitionId: names no built-in role"},
      {"a key version with broken material",
       [](json& d) { d["state"]["keys"]["kv1"]["keys"][0]["versions"][0]["material"] = "AAAA"; },
       "$.state.keys.kv1.keys[0].versions[0]"},
      {"a subscription of an unknown tenant",
       [](json& d) { d["subscriptions"][0]["tenantId"] = "99999999-0000-0000-0000-000000000000"; },
       "$.subscriptions[0].tenantId: no tenant"},
      {"a cluster-key record without its kid",
       [](json& d) { d["state"]["clusterKeys"]["clusters"][0].erase("kid"); },
       "$.state.clusterKeys.clusters[0].kid"},
  };
  for (const auto& k : cases) {
    INFO(k.what);
    json doc = before;
    k.spoil(doc);
    auto [status, body] = c.admin("PUT", "/_emulator/state", doc);
    CHECK(status == 400);
    CHECK_THAT(body["error"]["message"].get<std::string>(), Contains(k.message));
    CHECK(a->export_state(true).dump() == before.dump());
  }
  auto [status, body] = c.admin("PUT", "/_emulator/state", json::array());
  CHECK(status == 400);
  // {} and an empty body would leave no tenant and no principal: refused, nothing changed.
  for (const std::string empty : {"{}", ""}) {
    INFO("body: '" << empty << "'");
    auto [s, b] = c.admin_raw("PUT", "/_emulator/state", empty);
    CHECK(s == 400);
    CHECK_THAT(b, Contains("no tenants or no servicePrincipals"));
    CHECK(a->export_state(true).dump() == before.dump());
  }
  // JSON nested past the limit is refused with the limit named, not parsed.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto [ds, db] = c.admin_raw("PUT", "/_emulator/state", deep);
  CHECK(ds == 400);
  CHECK_THAT(db, Contains("nested deeper than 64 levels"));
}

TEST_CASE("state: reset goes back to the start fixtures", "[state]") {
  auto a = test::start_emulator(options());
  const json start = a->export_state(true);
  Client c(*a);
  build_world(c);
  auto [status, body] = c.admin("POST", "/_emulator/reset");
  REQUIRE(status == 200);
  const json after = a->export_state(true);
  CHECK(after["state"]["resources"].empty());
  CHECK(after["state"]["keys"].empty());
  CHECK(after["state"]["deletedVaults"].empty());
  CHECK(after["state"]["operations"].empty());
  CHECK(after["faults"].empty());
  CHECK(after["state"]["clock"]["offsetNanoseconds"] == 0);
  CHECK(after["lroPolicies"] == start["lroPolicies"]);  // --lro-policy immediate again
  CHECK(after.dump() == start.dump());
  // And it serves: the default principal signs in and creates again what existed before.
  Client again(*a);
  CHECK(again.arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}}).first == 201);
}

TEST_CASE("state dir: a restart resumes exactly, owner-only", "[state][persistence]") {
  test::TempDir dir;
  const auto state_dir = dir.path() / "state";
  json saved;
  World w;
  {
    auto a = test::start_emulator(options(state_dir));
    Client c(*a);
    w = build_world(c);
    saved = a->export_state(true);
    CHECK(a->state_directory()->transactions() > 10);
  }
  CHECK((std::filesystem::status(state_dir).permissions() & std::filesystem::perms::all) ==
        std::filesystem::perms::owner_all);
  for (const auto& entry : std::filesystem::directory_iterator(state_dir)) {
    INFO(entry.path());
    CHECK((entry.status().permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  }
  auto b = test::start_emulator(options(state_dir));
  CHECK(b->export_state(true).dump() == saved.dump());
  Client c(*b);
  auto [status, unwrapped] = c.kv_call("kv1", "POST", "/keys/cmk/" + w.cmk_version + "/unwrapkey",
                                       {{"alg", "RSA-OAEP"}, {"value", w.wrapped_b64}});
  REQUIRE(status == 200);
  CHECK(unwrapped["value"] == "AAECAwQFBgcICQ");

  SECTION("one emulator per directory") {
    Emulator second(options(state_dir));
    auto s = second.start();
    REQUIRE_FALSE(s.is_ok());
    CHECK_THAT(s.message(), Contains("is in use by another cmk-emulator"));
  }
  SECTION("reset and import are saved too") {
    REQUIRE(b->reset_state().is_ok());
    const json after_reset = b->export_state(true);
    b.reset();
    auto c2 = test::start_emulator(options(state_dir));
    CHECK(c2->export_state(true).dump() == after_reset.dump());
  }
}

TEST_CASE("state dir: an operation running at the crash ends Failed, never vanishes",
          "[state][persistence]") {
  test::TempDir dir;
  std::string op_url;
  {
    auto o = options(dir.path());
    o.lro_policies = {"polls:100"};
    auto a = test::start_emulator(o);
    Client c(*a);
    op_url = create_cluster(c, "adxrun");
  }
  auto b = test::start_emulator(options(dir.path()));
  Client c(*b);
  auto [status, op] = c.arm_call("GET", op_url);
  REQUIRE(status == 200);
  CHECK(op["status"] == "Failed");
  CHECK(op["error"]["code"] == "OperationInterrupted");
  auto cluster = c.arm_call("GET", kClusterPath + "adxrun" + kArmV).second;
  CHECK(cluster["properties"]["provisioningState"] == "Failed");
  // And it can be retried.
  CHECK(c.arm_call("PUT", kClusterPath + "adxrun" + kArmV,
                   {{"location", "westeurope"},
                    {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}}})
            .first == 200);
}

TEST_CASE("state dir: an operation that falls due finishes unread, and a restart finds it done",
          "[state][persistence]") {
  test::TempDir dir;
  std::string op_url;
  {
    auto o = options(dir.path());
    o.lro_policies = {"duration:60"};
    auto a = test::start_emulator(o);
    Client c(*a);
    op_url = create_cluster(c, "adxdue");
    // Virtual time passes and nobody reads the operation again before the emulator goes.
    REQUIRE(c.admin("POST", "/_emulator/clock/advance", {{"seconds", 120}}).first == 200);
    a->settle_operations();  // what the background thread does every 50 ms (it may be first)
    CHECK(c.admin("GET", "/_emulator/operations").second["value"].empty());  // none running
  }
  auto b = test::start_emulator(options(dir.path()));
  Client c(*b);
  auto [status, op] = c.arm_call("GET", op_url);
  REQUIRE(status == 200);
  CHECK(op["status"] == "Succeeded");
  CHECK(c.arm_call("GET", kClusterPath + "adxdue" + kArmV)
            .second["properties"]["provisioningState"] == "Succeeded");
}

TEST_CASE("state dir: corrupt or newer state refuses to start and is left untouched",
          "[state][persistence]") {
  test::TempDir dir;
  const auto db = dir.path() / "state.db";
  SECTION("not a database") {
    std::ofstream(db, std::ios::binary) << "this is not SQLite, it is a shopping list";
    Emulator emu(options(dir.path()));
    auto s = emu.start();
    REQUIRE_FALSE(s.is_ok());
    CHECK_THAT(s.message(), Contains("is corrupt: it is not a SQLite database"));
    CHECK_THAT(s.message(), Contains("Nothing in the directory was changed"));
    CHECK(read_bytes(db) == "this is not SQLite, it is a shopping list");
    CHECK(emu.https_port() == 0);
  }
  SECTION("a damaged database") {
    {
      auto a = test::start_emulator(options(dir.path()));
      Client c(*a);
      build_world(c);
    }
    std::string bytes = read_bytes(db);
    REQUIRE(bytes.size() > 8192);
    // Page 2 onwards overwritten: the header survives, the b-trees do not.
    for (size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
    std::ofstream(db, std::ios::binary | std::ios::trunc) << bytes;
    std::filesystem::remove(dir.path() / "state.db-wal");
    std::filesystem::remove(dir.path() / "state.db-shm");
    Emulator emu(options(dir.path()));
    auto s = emu.start();
    REQUIRE_FALSE(s.is_ok());
    CHECK_THAT(s.message(), Contains("corrupt"));
    CHECK(read_bytes(db) == bytes);
  }
  SECTION("a newer format") {
    { auto a = test::start_emulator(options(dir.path())); }
    // What a future version would leave: the same tables, the next format.
    const std::string next = std::to_string(state::kStateFormat + 1);
    sql(db, "UPDATE meta SET value = '" + next + "' WHERE key = 'format'");
    const std::string bytes = read_bytes(db);
    Emulator emu(options(dir.path()));
    auto s = emu.start();
    REQUIRE_FALSE(s.is_ok());
    CHECK_THAT(s.message(), Contains("was written by a newer cmk-emulator (state format " + next));
    CHECK(read_bytes(db) == bytes);
  }
}

TEST_CASE("state dir: a commit writes only what changed", "[state][persistence]") {
  test::TempDir dir;
  auto a = test::start_emulator(options(dir.path()));
  Client c(*a);
  REQUIRE(c.arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}}).first == 201);
  auto* sd = a->state_directory();
  const uint64_t before = sd->transactions();
  // Reads change nothing: no transaction.
  for (int i = 0; i < 5; ++i) CHECK(c.arm_call("GET", kRg + kArmV).first == 200);
  CHECK(sd->transactions() == before);
  // A write is one transaction.
  REQUIRE(
      c.arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}, {"tags", {{"a", "b"}}}}).first ==
      200);
  CHECK(sd->transactions() == before + 1);
}

TEST_CASE("state dir: emulators side by side keep to their own directories",
          "[state][persistence]") {
  test::TempDir dir;
  auto a = test::start_emulator(options(dir.path() / "a"));
  auto b = test::start_emulator(options(dir.path() / "b"));
  Client ca(*a), cb(*b);
  REQUIRE(ca.arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}}).first == 201);
  REQUIRE(
      cb.arm_call("PUT", kSub + "/resourceGroups/other" + kArmV, {{"location", "eastus"}}).first ==
      201);
  a.reset();
  b.reset();
  auto a2 = test::start_emulator(options(dir.path() / "a"));
  auto b2 = test::start_emulator(options(dir.path() / "b"));
  Client ca2(*a2), cb2(*b2);
  CHECK(ca2.arm_call("GET", kRg + kArmV).first == 200);
  CHECK(ca2.arm_call("GET", kSub + "/resourceGroups/other" + kArmV).first == 404);
  CHECK(cb2.arm_call("GET", kSub + "/resourceGroups/other" + kArmV).first == 200);
  CHECK(cb2.arm_call("GET", kRg + kArmV).first == 404);
}

TEST_CASE("state dir: a commit reads and writes what the write touched", "[state][persistence]") {
  test::TempDir dir;
  auto a = test::start_emulator(options(dir.path()));
  Client c(*a);
  REQUIRE(c.arm_call("PUT", kRg + kArmV, {{"location", "westeurope"}}).first == 201);
  c.vault("kv1");
  for (int i = 0; i < 20; ++i) c.key("kv1", "k" + std::to_string(i), {{"kty", "RSA"}});
  REQUIRE(c.arm_call("PUT", kClusterPath + "adxone" + kArmV,
                     {{"location", "westeurope"},
                      {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}}})
              .first == 201);
  auto* sd = a->state_directory();
  auto written = [&, rows = sd->rows_written(), txns = sd->transactions()]() mutable {
    const uint64_t n = sd->rows_written() - rows;
    CHECK(sd->transactions() == txns + 1);  // one transaction per write
    rows = sd->rows_written();
    txns = sd->transactions();
    return n;
  };
  // A key of a vault of 20 RSA keys: its row only, not its vault.
  REQUIRE(c.kv_call("kv1", "PATCH", "/keys/k7", {{"tags", {{"a", "b"}}}}).first == 200);
  CHECK(written() == 1);
  c.key("kv1", "k20", {{"kty", "EC"}});
  CHECK(written() == 1);
  REQUIRE(c.kv_call("kv1", "DELETE", "/keys/k3").first == 200);
  CHECK(written() == 1);
  // A cluster PATCH: the cluster and its (immediately finished) operation.
  REQUIRE(c.arm_call("PATCH", kClusterPath + "adxone" + kArmV, {{"tags", {{"n", "1"}}}}).first ==
          200);
  CHECK(written() == 2);
  // A vault: its resource.
  c.vault("kv1");
  CHECK(written() == 1);
}

TEST_CASE("state dir: commits that follow changes leave the rows a full rewrite would",
          "[state][persistence]") {
  test::TempDir dir;
  std::vector<std::string> expected;
  {
    auto a = test::start_emulator(options(dir.path()));
    Client c(*a);
    build_world(c);
    // Removals of every kind followed row by row: a cluster (and its resource), a vault purged
    // with its keys, a key deleted then purged, operations added on the way.
    REQUIRE(c.arm_call("DELETE", kClusterPath + "adxplain" + kArmV).first / 100 == 2);
    auto [status, body] = c.arm_call("PUT", kVaultsPath + "kv3" + kKvArmV,
                                     {{"location", "westeurope"},
                                      {"properties",
                                       {{"tenantId", test::kTenant},
                                        {"sku", {{"family", "A"}, {"name", "standard"}}},
                                        {"accessPolicies",
                                         {{{"tenantId", test::kTenant},
                                           {"objectId", test::kSpObjectId},
                                           {"permissions", {{"keys", {"all", "purge"}}}}}}}}}});
    INFO(body.dump());
    REQUIRE(status == 200);  // Azure: 200 for a new vault
    c.key("kv3", "a", {{"kty", "EC"}});
    c.key("kv3", "b", {{"kty", "EC"}});
    REQUIRE(c.kv_call("kv3", "DELETE", "/keys/b").first == 200);
    REQUIRE(c.kv_call("kv3", "DELETE", "/deletedkeys/b").first == 204);
    c.key("kv3", "c", {{"kty", "EC"}});
    REQUIRE(c.arm_call("DELETE", kVaultsPath + "kv3" + kKvArmV).first == 200);
    REQUIRE(
        c.arm_call("POST", kSub +
                               "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/"
                               "kv3/purge" +
                               kKvArmV)
                .first /
            100 ==
        2);
    // What a full pass would write now.
    for (const auto& section : state::collect_sections(a->state_stores(), true))
      for (const auto& row : section.rows)
        expected.push_back(section.section + "|" + row.key + "|" + *row.text);
    CHECK(a->state_directory()->transactions() > 20);
  }
  std::sort(expected.begin(), expected.end());
  const auto on_disk =
      sql(dir.path() / "state.db", "SELECT section, key, doc FROM rows ORDER BY section, key");
  std::vector<std::string> sorted = on_disk;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == expected);
  // The keys are one row each; none of kv3's are left.
  CHECK(sql(dir.path() / "state.db", "SELECT key FROM rows WHERE section = 'keys' ORDER BY key") ==
        std::vector<std::string>{"kv1/cmk", "kv1/ec", "kv1/gone"});
}

TEST_CASE("state dir: a format 1 directory is upgraded and resumes exactly",
          "[state][persistence]") {
  test::TempDir dir;
  json saved;
  World w;
  {
    auto a = test::start_emulator(options());
    Client c(*a);
    w = build_world(c);
    saved = a->export_state(true);
  }
  // What the first format wrote: a "stamp" column, and each vault's keys in one row.
  const auto db = dir.path() / "state.db";
  std::string script =
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE rows (section TEXT NOT NULL, key TEXT NOT NULL, stamp TEXT NOT NULL,"
      "  doc TEXT NOT NULL, PRIMARY KEY (section, key)) WITHOUT ROWID;"
      "INSERT INTO meta VALUES ('format', '1'), ('application', 'cmk-emulator');";
  auto quote = [](const std::string& text) {
    std::string out = "'";
    for (char ch : text) out += ch == '\'' ? std::string("''") : std::string(1, ch);
    return out + "'";
  };
  auto row = [&](const std::string& section, const std::string& key, const json& doc) {
    script += "INSERT INTO rows VALUES (" + quote(section) + ", " + quote(key) + ", 'x', " +
              quote(doc.dump()) + ");";
  };
  auto rows_of = [&](const std::string& section, const json& list) {
    char key[32];
    for (size_t i = 0; i < list.size(); ++i) {
      std::snprintf(key, sizeof key, "%06zu", i);  // keeps the order
      row(section, key, list[i]);
    }
  };
  for (const char* section : {"tenants", "subscriptions", "servicePrincipals"})
    rows_of(section, saved[section]);
  for (const char* section : {"lroPolicies", "faults"}) row(section, "", saved[section]);
  const json& st = saved["state"];
  for (const char* section : {"clock", "keyBackupKey", "clusterKeys"})
    row(section, "", st[section]);
  for (const char* section : {"managedIdentities", "resourceGroups", "resources", "deletedVaults",
                              "roleAssignments", "operations"})
    rows_of(section, st[section]);
  for (const auto& [vault, keys] : st["keys"].items()) row("keys", vault, keys);
  std::filesystem::create_directories(dir.path());
  sql(db, script);

  auto a = test::start_emulator(options(dir.path()));
  CHECK(a->state_directory()->upgraded_from() == 1);
  CHECK(a->export_state(true).dump() == saved.dump());
  Client c(*a);
  auto [status, unwrapped] = c.kv_call("kv1", "POST", "/keys/cmk/" + w.cmk_version + "/unwrapkey",
                                       {{"alg", "RSA-OAEP"}, {"value", w.wrapped_b64}});
  REQUIRE(status == 200);
  CHECK(unwrapped["value"] == "AAECAwQFBgcICQ");
  a.reset();
  // Now format 2: no stamp column, one row per key.
  CHECK(sql(db, "SELECT value FROM meta WHERE key = 'format'") ==
        std::vector<std::string>{std::to_string(state::kStateFormat)});
  CHECK(sql(db, "SELECT name FROM pragma_table_info('rows') ORDER BY cid") ==
        std::vector<std::string>{"section", "key", "doc"});
  CHECK(sql(db, "SELECT key FROM rows WHERE section = 'keys' ORDER BY key") ==
        std::vector<std::string>{"kv1/cmk", "kv1/ec", "kv1/gone"});
  auto b = test::start_emulator(options(dir.path()));
  CHECK(b->state_directory()->upgraded_from() == 0);
  CHECK(b->export_state(true).dump() == saved.dump());
}
