// Microsoft.Authorization role assignments and the Key Vault built-in roles, and RBAC-mode vaults
// deciding the keys data plane with them.
#include <catch2/catch.hpp>

#include "authorization/role_assignments.h"
#include "common/base64.h"
#include "test_support.h"

using namespace cmk;
using namespace cmk::authorization;
using nlohmann::json;

namespace {

constexpr const char* kServiceEncryptionUser = "e147488a-f6f5-4113-8e2d-b22465e65bf6";
constexpr const char* kCryptoOfficer = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603";
constexpr const char* kReader = "21090545-7ca7-4776-b22c-e363652d74d2";

std::string role_id(const char* guid) {
  return std::string("/subscriptions/") + test::kSubscription +
         "/providers/Microsoft.Authorization/roleDefinitions/" + guid;
}

json body(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  return json::parse(r->body);
}

}  // namespace

TEST_CASE("authorization: wildcards, scopes and built-in roles", "[authorization][keys]") {
  REQUIRE(
      action_matches("Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaults/keys/wrap/action"));
  REQUIRE(
      action_matches("Microsoft.KeyVault/vaults/*/read", "microsoft.keyvault/vaults/keys/read"));
  REQUIRE_FALSE(action_matches("Microsoft.KeyVault/vaults/*/read",
                               "Microsoft.KeyVault/vaults/keys/wrap/action"));
  REQUIRE(action_matches("Microsoft.KeyVault/vaults/keys/*",
                         "Microsoft.KeyVault/vaults/keys/purge/action"));
  REQUIRE(
      scope_within("/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v/keys/k",
                   "/subscriptions/S/resourcegroups/G"));
  REQUIRE_FALSE(
      scope_within("/subscriptions/s/resourceGroups/g2", "/subscriptions/s/resourceGroups/g"));
  REQUIRE(scope_within("/subscriptions/s", "/"));
  REQUIRE(builtin_role_definitions().size() >= 7);
  REQUIRE(find_role_definition(role_id(kReader))->role_name == "Key Vault Reader");
  REQUIRE(find_role_definition("E147488A-F6F5-4113-8E2D-B22465E65BF6"));
  REQUIRE_FALSE(find_role_definition("00000000-0000-0000-0000-000000000000"));

  test::ManualClock clock;
  RoleAssignmentStore store(clock);
  const std::string vault =
      "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v";
  RoleAssignment a{"11111111-0000-0000-0000-00000000000a",
                   vault,
                   role_id(kServiceEncryptionUser),
                   "p1",
                   "ServicePrincipal",
                   "me",
                   {}};
  REQUIRE(store.put(a) == RoleAssignmentStore::PutOutcome::Created);
  REQUIRE(store.put(a) == RoleAssignmentStore::PutOutcome::Unchanged);
  RoleAssignment again = a;
  again.name = "11111111-0000-0000-0000-00000000000b";
  REQUIRE(store.put(again) == RoleAssignmentStore::PutOutcome::Exists);
  RoleAssignment other = a;
  other.role_definition_id = role_id(kReader);
  REQUIRE(store.put(other) == RoleAssignmentStore::PutOutcome::Conflict);

  REQUIRE(store.allows("p1", vault + "/keys/k", "Microsoft.KeyVault/vaults/keys/unwrap/action"));
  REQUIRE(store.allows("P1", vault, "Microsoft.KeyVault/vaults/keys/read"));
  REQUIRE_FALSE(store.allows("p1", vault, "Microsoft.KeyVault/vaults/keys/sign/action"));
  REQUIRE_FALSE(store.allows("p2", vault, "Microsoft.KeyVault/vaults/keys/read"));
  REQUIRE_FALSE(store.allows("p1", "/subscriptions/s/resourceGroups/g",
                             "Microsoft.KeyVault/vaults/keys/read"));
  REQUIRE(store.list("/subscriptions/s", false, std::nullopt).size() == 1);
  REQUIRE(store.list("/subscriptions/s", true, std::nullopt).empty());
  REQUIRE(store.list(vault + "/keys/k", true, std::string("p1")).size() == 1);
  REQUIRE(store.remove(vault, a.name));
  REQUIRE_FALSE(store.allows("p1", vault, "Microsoft.KeyVault/vaults/keys/read"));
}

TEST_CASE("authorization: role assignments through ARM decide an RBAC vault",
          "[authorization][keys]") {
  EmulatorOptions o = test::test_options();
  o.rsa_key_pool_size = 0;
  auto emu = test::start_emulator(o);
  auto arm = test::https_client(*emu);
  httplib::Headers auth{{"Authorization", "Bearer " + test::app_token(*emu)}};
  const std::string sub = std::string("/subscriptions/") + test::kSubscription;
  const std::string rg = sub + "/resourceGroups/rg1";
  const std::string v = "?api-version=2022-04-01";
  REQUIRE(arm->Put(rg + v, auth, R"({"location":"westeurope"})", "application/json")->status ==
          201);
  const std::string vault = rg + "/providers/Microsoft.KeyVault/vaults/kvrbac";
  json props = {{"tenantId", test::kTenant},
                {"sku", {{"family", "A"}, {"name", "standard"}}},
                {"enableRbacAuthorization", true}};
  REQUIRE(arm->Put(vault + v, auth, json{{"location", "westeurope"}, {"properties", props}}.dump(),
                   "application/json")
              ->status == 200);  // Azure: 200 for a new vault

  // Role definitions, by id and by name.
  json defs = body(
      arm->Get(sub + "/providers/Microsoft.Authorization/roleDefinitions" + v +
                   "&$filter=roleName%20eq%20'Key%20Vault%20Crypto%20Service%20Encryption%20User'",
               auth));
  REQUIRE(defs["value"].size() == 1);
  REQUIRE(defs["value"][0]["id"] == role_id(kServiceEncryptionUser));
  REQUIRE(defs["value"][0]["properties"]["permissions"][0]["dataActions"].size() == 3);
  CHECK(defs["value"][0]["properties"]["createdOn"].is_string());
  CHECK(defs["value"][0]["properties"]["createdBy"].is_null());
  // Asked at a group's scope, built-in roles keep the subscription's id (az's recordings).
  arm->Put(sub + "/resourcegroups/defs-rg?api-version=2022-09-01", auth,
           R"({"location":"westeurope"})", "application/json");
  json at_group = body(arm->Get(
      sub + "/resourceGroups/defs-rg/providers/Microsoft.Authorization/roleDefinitions" + v +
          "&$filter=roleName%20eq%20'Key%20Vault%20Crypto%20Service%20Encryption%20User'",
      auth));
  REQUIRE(at_group["value"].size() == 1);
  CHECK(at_group["value"][0]["id"] == role_id(kServiceEncryptionUser));
  REQUIRE(body(arm->Get("/providers/Microsoft.Authorization/roleDefinitions/" +
                            std::string(kCryptoOfficer) + v,
                        auth))["properties"]["roleName"] == "Key Vault Crypto Officer");
  REQUIRE(arm->Get(sub +
                       "/providers/Microsoft.Authorization/roleDefinitions/"
                       "00000000-0000-0000-0000-000000000000" +
                       v,
                   auth)
              ->status == 404);

  auto assign = [&](const std::string& scope, const std::string& name, const char* role,
                    const std::string& principal) {
    return arm->Put(scope + "/providers/Microsoft.Authorization/roleAssignments/" + name + v, auth,
                    json{{"properties",
                          {{"roleDefinitionId", role_id(role)},
                           {"principalId", principal},
                           {"principalType", "ServicePrincipal"}}}}
                        .dump(),
                    "application/json");
  };
  // The test principal administers keys from the resource group down.
  auto officer =
      assign(rg, "a0000000-0000-0000-0000-000000000001", kCryptoOfficer, test::kSpObjectId);
  REQUIRE(officer->status == 201);
  json oj = body(officer);
  REQUIRE(oj["type"] == "Microsoft.Authorization/roleAssignments");
  REQUIRE(oj["properties"]["scope"] == rg);
  REQUIRE(assign(rg, "a0000000-0000-0000-0000-000000000001", kCryptoOfficer, test::kSpObjectId)
              ->status == 200);
  REQUIRE(assign(rg, "a0000000-0000-0000-0000-000000000002", kCryptoOfficer, test::kSpObjectId)
              ->status == 409);
  REQUIRE(assign(rg, "not-a-guid", kCryptoOfficer, test::kSpObjectId)->status == 400);
  auto bad_role = arm->Put(
      rg +
          "/providers/Microsoft.Authorization/roleAssignments/"
          "a0000000-0000-0000-0000-000000000003" +
          v,
      auth,
      R"({"properties":{"roleDefinitionId":"/x/y","principalId":"11111111-0000-0000-0000-000000000001"}})",
      "application/json");
  REQUIRE(body(bad_role)["error"]["code"] == "RoleDefinitionDoesNotExist");

  const std::string vault_token = test::app_token(*emu, "https://vault.azure.net");
  auto kv = test::proxied_client(*emu, "kvrbac.vault.azure.net");
  httplib::Headers kv_auth{{"Authorization", "Bearer " + vault_token}};
  auto created =
      kv->Post("/keys/cmk/create?api-version=7.4", kv_auth, R"({"kty":"RSA"})", "application/json");
  REQUIRE(created->status == 200);

  // Another principal: nothing, then the CMK role on the vault (get, wrap, unwrap; not sign).
  entra::TokenRequest r;
  r.endpoint = entra::TokenEndpoint::V1;
  r.tenant = test::kTenant;
  r.grant_type = "client_credentials";
  r.client.client_id = "22222222-2222-2222-2222-222222222222";
  r.client.client_secret = "x";
  r.resource = "https://vault.azure.net";
  auto t = emu->token_service().token(r);
  REQUIRE(t.is_ok());
  httplib::Headers other{{"Authorization", "Bearer " + t->access_token}};
  auto denied = kv->Get("/keys/cmk?api-version=7.4", other);
  REQUIRE(denied->status == 403);
  REQUIRE(body(denied)["error"]["innererror"]["code"] == "ForbiddenByRbac");
  REQUIRE_THAT(body(denied)["error"]["message"].get<std::string>(),
               Catch::Contains("Resource: '" + http::to_lower(vault) + "/keys/cmk'"));

  REQUIRE(
      assign(vault, "b0000000-0000-0000-0000-000000000001", kServiceEncryptionUser, t->object_id)
          ->status == 201);
  REQUIRE(kv->Get("/keys/cmk?api-version=7.4", other)->status == 200);
  auto wrapped = kv->Post("/keys/cmk/wrapkey?api-version=7.4", other,
                          json{{"alg", "RSA-OAEP"}, {"value", base64url_encode("dek")}}.dump(),
                          "application/json");
  REQUIRE(wrapped->status == 200);
  auto unwrapped = kv->Post("/keys/cmk/unwrapkey?api-version=7.4", other,
                            json{{"alg", "RSA-OAEP"}, {"value", body(wrapped)["value"]}}.dump(),
                            "application/json");
  REQUIRE(*base64url_decode(body(unwrapped)["value"].get<std::string>()) == "dek");
  auto sign =
      kv->Post("/keys/cmk/sign?api-version=7.4", other,
               json{{"alg", "RS256"}, {"value", base64url_encode(std::string(32, 'x'))}}.dump(),
               "application/json");
  REQUIRE(sign->status == 403);
  REQUIRE_THAT(body(sign)["error"]["message"].get<std::string>(),
               Catch::Contains("Action: 'Microsoft.KeyVault/vaults/keys/sign/action'"));
  REQUIRE(
      kv->Post("/keys/new/create?api-version=7.4", other, R"({"kty":"RSA"})", "application/json")
          ->status == 403);

  // Lists and deletion.
  json listed = body(arm->Get(vault + "/providers/Microsoft.Authorization/roleAssignments" + v +
                                  "&$filter=assignedTo('" + t->object_id + "')",
                              auth));
  REQUIRE(listed["value"].size() == 1);
  json at_rg = body(arm->Get(
      rg + "/providers/Microsoft.Authorization/roleAssignments" + v + "&$filter=atScope()", auth));
  REQUIRE(at_rg["value"].size() == 1);
  auto removed = arm->Delete(vault +
                                 "/providers/Microsoft.Authorization/roleAssignments/"
                                 "b0000000-0000-0000-0000-000000000001" +
                                 v,
                             auth);
  REQUIRE(removed->status == 200);
  REQUIRE(arm->Delete(vault +
                          "/providers/Microsoft.Authorization/roleAssignments/"
                          "b0000000-0000-0000-0000-000000000001" +
                          v,
                      auth)
              ->status == 204);
  auto gone = arm->Get(vault +
                           "/providers/Microsoft.Authorization/roleAssignments/"
                           "b0000000-0000-0000-0000-000000000001" +
                           v,
                       auth);
  REQUIRE(body(gone)["error"]["code"] == "RoleAssignmentNotFound");
  REQUIRE(kv->Get("/keys/cmk?api-version=7.4", other)->status == 403);

  // A key-scoped assignment covers that key only.
  REQUIRE(assign(vault + "/keys/cmk", "c0000000-0000-0000-0000-000000000001",
                 kServiceEncryptionUser, t->object_id)
              ->status == 201);
  REQUIRE(kv->Get("/keys/cmk?api-version=7.4", other)->status == 200);
  kv->Post("/keys/other/create?api-version=7.4", kv_auth, R"({"kty":"EC"})", "application/json");
  REQUIRE(kv->Get("/keys/other?api-version=7.4", other)->status == 403);
  REQUIRE(kv->Get("/keys?api-version=7.4", other)->status == 403);  // listing needs the vault scope
}

TEST_CASE("authorization: the secrets roles grant the secrets data actions", "[authorization]") {
  test::ManualClock clock;
  RoleAssignmentStore store(clock);
  const std::string vault =
      "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v";
  const auto* officer = find_role_definition("b86a8fe4-44ce-4948-aee5-eccb2c155cd7");
  const auto* user = find_role_definition("4633458b-17de-408a-b874-0445c86b69e6");
  REQUIRE(officer);
  REQUIRE(user);
  CHECK(officer->role_name == "Key Vault Secrets Officer");
  CHECK(user->role_name == "Key Vault Secrets User");
  REQUIRE(store.put({"11111111-0000-0000-0000-0000000000c1", vault, role_id(officer->guid.c_str()), "po",
                     "ServicePrincipal", "me", {}}) == RoleAssignmentStore::PutOutcome::Created);
  REQUIRE(store.put({"11111111-0000-0000-0000-0000000000c2", vault, role_id(user->guid.c_str()), "pu",
                     "ServicePrincipal", "me", {}}) == RoleAssignmentStore::PutOutcome::Created);
  for (const char* action : {"setSecret/action", "delete", "purge/action", "backup/action",
                             "restore/action", "recover/action", "update/action"}) {
    const std::string a = std::string("Microsoft.KeyVault/vaults/secrets/") + action;
    CHECK(store.allows("po", vault + "/secrets/s1", a));
    CHECK_FALSE(store.allows("pu", vault + "/secrets/s1", a));
  }
  for (const char* action : {"getSecret/action", "readMetadata/action"}) {
    const std::string a = std::string("Microsoft.KeyVault/vaults/secrets/") + action;
    CHECK(store.allows("po", vault + "/secrets/s1", a));
    CHECK(store.allows("pu", vault + "/secrets/s1", a));
  }
  // Neither reaches the keys.
  CHECK_FALSE(store.allows("po", vault, "Microsoft.KeyVault/vaults/keys/read"));
  CHECK_FALSE(store.allows("pu", vault, "Microsoft.KeyVault/vaults/keys/read"));
}
