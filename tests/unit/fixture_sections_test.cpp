// Fixture resource sections (state/fixture.h): resource groups, user-assigned identities, vaults
// with keys, role assignments and clusters, applied by a real start; every error names the file,
// the JSON path and the problem; the example fixtures under fixtures/ load; --seed repeats ids.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "state/fixture.h"
#include "test_support.h"

using namespace cmk;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kSub = std::string("/subscriptions/") + test::kSubscription;
const std::string kRg = kSub + "/resourceGroups/rg1";
const std::string kUami = kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";
const std::string kVault = kRg + "/providers/Microsoft.KeyVault/vaults/kv1";
const std::string kCluster = kRg + "/providers/Microsoft.Kusto/clusters/adx1";
constexpr const char* kPrincipal = "22222222-0000-0000-0000-000000000001";
constexpr const char* kClient = "22222222-0000-0000-0000-000000000002";
constexpr const char* kVersion = "0123456789abcdef0123456789abcdef";

json group() {
  return {{"id", kRg}, {"location", "westeurope"}};
}
json identity() {
  return {{"id", kUami},
          {"location", "westeurope"},
          {"properties", {{"principalId", kPrincipal}, {"clientId", kClient}}}};
}
json vault_with_key(json policies = nullptr) {
  if (policies.is_null())
    policies = json::array({{{"tenantId", test::kTenant},
                             {"objectId", kPrincipal},
                             {"permissions", {{"keys", {"get", "wrapKey", "unwrapKey"}}}}}});
  return {{"id", kVault},
          {"location", "westeurope"},
          {"properties",
           {{"sku", {{"family", "A"}, {"name", "standard"}}},
            {"enablePurgeProtection", true},
            {"accessPolicies", policies}}},
          {"keys", {{{"name", "k1"}, {"versions", {{{"version", kVersion}, {"kty", "RSA"}}}}}}}};
}
json cmk_cluster() {
  return {{"id", kCluster},
          {"location", "westeurope"},
          {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}},
          {"identity",
           {{"type", "UserAssigned"}, {"userAssignedIdentities", {{kUami, json::object()}}}}},
          {"properties",
           {{"keyVaultProperties",
             {{"keyVaultUri", "https://kv1.vault.azure.net/"},
              {"keyName", "k1"},
              {"keyVersion", ""},
              {"userIdentity", kUami}}}}}};
}

// Options that load the default identities and then `doc` from a file named x.json.
struct Files {
  test::TempDir dir;
  EmulatorOptions options(const json& doc) {
    std::ofstream(dir.path() / "default.json") << state::builtin_default_fixture_text();
    std::ofstream(dir.path() / "x.json") << doc.dump(2);
    auto o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.fixtures = {dir.path() / "default.json", dir.path() / "x.json"};
    return o;
  }
};

std::unique_ptr<Emulator> start(Files& files, const json& doc) {
  return test::start_emulator(files.options(doc));
}

// The message a start with `doc` fails with.
std::string start_error(const json& doc) {
  Files files;
  Emulator emu(files.options(doc));
  auto s = emu.start();
  REQUIRE_FALSE(s.is_ok());
  REQUIRE(emu.https_port() == 0);
  return s.message();
}

keyvault_data::VaultSettings settings(Emulator& emu, const std::string& name) {
  auto v = emu.vaults().find_vault_by_name(name);
  REQUIRE(v.has_value());
  return keyvault_data::vault_settings(name, v->body["properties"]);
}

std::string rsa_pem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  REQUIRE(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

}  // namespace

TEST_CASE("fixture resources: every section lands in its store", "[fixture]") {
  const std::string pem = rsa_pem();
  // An EC P-256 private JWK (made with `openssl ecparam -name prime256v1 -genkey` for this test).
  const json ec_jwk = {{"kty", "EC"},
                       {"crv", "P-256"},
                       {"x", "f8VtP0HevK0cqDoy08cjB9GI10eGfs1ZF_hJbwC9m6g"},
                       {"y", "fQg7KF--Jg_mfJ9aSMMBhl-7iOdtwNIPpGvBD76kNKI"},
                       {"d", "afW6Y9tmmuMFMlVbCVscDujRIQJUyFD4qiiqiBevqvM"}};
  json doc = {
      {"resourceGroups",
       {group(),
        {{"subscriptionId", test::kSubscription},
         {"name", "rg2"},
         {"location", "North Europe"},
         {"tags", {{"env", "test"}}},
         {"managedBy", "someone"}}}},
      {"userAssignedIdentities",
       {identity(),
        {{"id", kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/minted"},
         {"location", "westeurope"},
         {"tags", {{"a", "b"}}}}}},
      {"vaults",
       {vault_with_key(),
        {{"id", kRg + "/providers/Microsoft.KeyVault/vaults/kv2"},
         {"location", "westeurope"},
         {"properties",
          {{"sku", {{"family", "A"}, {"name", "premium"}}},
           {"enableRbacAuthorization", true},
           {"softDeleteRetentionInDays", 7}}},
         {"keys",
          {{{"name", "generated"},
            {"versions",
             {{{"kty", "EC"}, {"crv", "P-384"}, {"attributes", {{"created", "now-2d"}}}},
              {{"kty", "RSA-HSM"},
               {"key_size", 3072},
               {"key_ops", {"wrapKey", "unwrapKey"}},
               {"tags", {{"t", "1"}}},
               {"attributes",
                {{"enabled", false}, {"nbf", "2030-01-01T00:00:00Z"}, {"exp", 1999999999}}}}}}},
           {{"name", "given"},
            {"versions",
             {{{"version", "ffffffffffffffffffffffffffffffff"}, {"jwk", ec_jwk}},
              {{"pem", pem},
               {"key_ops", {"encrypt", "decrypt"}},
               {"attributes", {{"exp", "now+30d"}}}}}}}}}}}},
      {"roleAssignments",
       {{{"name", "44444444-0000-0000-0000-000000000001"},
         {"properties",
          {{"scope", kRg + "/providers/Microsoft.KeyVault/vaults/kv2/keys/given"},
           {"roleDefinitionId", "Key Vault Crypto Service Encryption User"},
           {"principalId", kPrincipal}}}},
        {{"properties",
          {{"scope", kSub},
           {"roleDefinitionId", "12338af0-0e69-4776-bea7-57ae8d297424"},
           {"principalId", test::kSpObjectId},
           {"principalType", "ServicePrincipal"}}}}}},
      {"clusters",
       {cmk_cluster(),
        {{"id", kRg + "/providers/Microsoft.Kusto/clusters/adx2"},
         {"location", "westeurope"},
         {"tags", {{"team", "data"}}},
         {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}},
         {"identity",
          {{"type", "SystemAssigned"}, {"principalId", "55555555-0000-0000-0000-000000000001"}}},
         {"properties", {{"state", "Stopped"}, {"enableStreamingIngest", true}}}}}}};
  Files files;
  auto emu = start(files, doc);
  const auto now = to_unix_seconds(emu->clock().now());

  // Resource groups, by id and by subscriptionId + name.
  auto rg2 = emu->resource_groups().get(test::kSubscription, "rg2");
  REQUIRE(rg2.has_value());
  CHECK(rg2->location == "northeurope");
  CHECK(rg2->tags == json{{"env", "test"}});
  CHECK(rg2->managed_by == "someone");
  REQUIRE(emu->resource_groups().get(test::kSubscription, "rg1").has_value());

  // Identities: fixed ids kept, absent ones minted; the directory knows both.
  auto mi = emu->directory().find_managed_identity_by_principal_id(kPrincipal);
  REQUIRE(mi.has_value());
  CHECK(mi->client_id == kClient);
  CHECK(mi->tenant_id == test::kTenant);
  auto r = emu->resources().get(*arm::ResourceId::parse(kUami));
  REQUIRE(r.has_value());
  CHECK(r->body["properties"]["principalId"] == kPrincipal);
  auto minted = emu->directory().find_managed_identity_by_resource_id(
      kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/minted");
  REQUIRE(minted.has_value());
  CHECK(entra::is_guid(minted->principal_id));

  // Vaults: settings through the provider's rules, tenant defaulted.
  auto kv1 = emu->vaults().find_vault_by_name("kv1");
  REQUIRE(kv1.has_value());
  CHECK(kv1->body["properties"]["enablePurgeProtection"] == true);
  CHECK(kv1->body["properties"]["enableSoftDelete"] == true);
  CHECK(kv1->body["properties"]["tenantId"] == test::kTenant);
  CHECK(kv1->body["properties"]["vaultUri"] == "https://kv1.vault.azure.net/");
  auto kv2 = emu->vaults().find_vault_by_name("kv2");
  REQUIRE(kv2.has_value());
  CHECK(kv2->body["properties"]["enableRbacAuthorization"] == true);
  CHECK(kv2->body["properties"]["sku"]["name"] == "premium");

  // Keys: versions in order, generated and given, attributes with relative times.
  auto& keys = emu->keys();
  auto k1 = keys.get(settings(*emu, "kv1"), "k1", kVersion);
  REQUIRE(k1.is_ok());
  CHECK(k1->kty == "RSA");
  CHECK(k1->public_jwk["n"].get<std::string>().size() == 342);  // 2048 bits, base64url
  auto versions = keys.list_versions(settings(*emu, "kv2"), "generated", "", 25);
  REQUIRE(versions.is_ok());
  REQUIRE(versions->items.size() == 2);
  auto newest = keys.get(settings(*emu, "kv2"), "generated", "");
  // The newest version is disabled: Key Vault still reads it (only its use is refused).
  REQUIRE(newest.is_ok());
  CHECK(newest->attributes.enabled == false);
  const auto& hsm = versions->items[1].kty == "RSA-HSM" ? versions->items[1] : versions->items[0];
  const auto& ec = versions->items[1].kty == "RSA-HSM" ? versions->items[0] : versions->items[1];
  CHECK(hsm.attributes.enabled == false);
  CHECK(hsm.attributes.nbf == to_unix_seconds(*parse_iso8601("2030-01-01T00:00:00Z")));
  CHECK(hsm.attributes.exp == 1999999999);
  CHECK(hsm.tags == json{{"t", "1"}});
  CHECK(ec.kty == "EC");
  CHECK(std::abs(ec.attributes.created - (now - 2 * 86400)) < 5);
  auto given = keys.get(settings(*emu, "kv2"), "given", "ffffffffffffffffffffffffffffffff");
  REQUIRE(given.is_ok());
  CHECK(given->public_jwk["x"] == ec_jwk["x"]);  // the JWK's own key
  auto from_pem = keys.get(settings(*emu, "kv2"), "given", "");
  REQUIRE(from_pem.is_ok());
  CHECK(from_pem->kty == "RSA");
  CHECK(from_pem->key_ops == std::vector<std::string>{"encrypt", "decrypt"});
  REQUIRE(from_pem->attributes.exp.has_value());
  CHECK(std::abs(*from_pem->attributes.exp - (now + 30 * 86400)) < 5);

  // Role assignments: by role name at a key's scope, named or minted; RBAC answers from them.
  auto ra = emu->role_assignments().get(kRg + "/providers/Microsoft.KeyVault/vaults/kv2/keys/given",
                                        "44444444-0000-0000-0000-000000000001");
  REQUIRE(ra.has_value());
  CHECK_THAT(ra->role_definition_id,
             Contains("/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6"));
  CHECK(emu->role_assignments().allows(kPrincipal,
                                       kRg + "/providers/Microsoft.KeyVault/vaults/kv2/keys/given",
                                       "Microsoft.KeyVault/vaults/keys/wrap/action"));
  CHECK(emu->role_assignments().list(kSub, true, std::string(test::kSpObjectId)).size() == 1);

  // Clusters: the CMK one Running with its key in use; the other Stopped, system identity fixed.
  auto c1 = emu->resources().get(*arm::ResourceId::parse(kCluster));
  REQUIRE(c1.has_value());
  CHECK(c1->body["properties"]["state"] == "Running");
  CHECK(c1->body["properties"]["provisioningState"] == "Succeeded");
  CHECK(c1->body["identity"]["userAssignedIdentities"][kUami]["principalId"] == kPrincipal);
  auto in_use = emu->cluster_keys().key_in_use(c1->id.key());
  REQUIRE(in_use.has_value());
  CHECK(in_use->kid == std::string("https://kv1.vault.azure.net/keys/k1/") + kVersion);
  auto c2 = emu->resources().get(
      *arm::ResourceId::parse(kRg + "/providers/Microsoft.Kusto/clusters/adx2"));
  REQUIRE(c2.has_value());
  CHECK(c2->body["properties"]["state"] == "Stopped");
  CHECK(c2->body["properties"]["enableStreamingIngest"] == true);
  CHECK(c2->body["sku"]["capacity"] == 1);
  CHECK(c2->body["identity"]["principalId"] == "55555555-0000-0000-0000-000000000001");
  CHECK(emu->directory()
            .find_managed_identity_by_principal_id("55555555-0000-0000-0000-000000000001")
            .has_value());

  // And the world answers over HTTPS as if clients had built it.
  auto cli = test::https_client(*emu);
  httplib::Headers auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
  auto got = cli->Get(kCluster + "?api-version=2024-04-13", auth);
  REQUIRE(got);
  CHECK(got->status == 200);
  CHECK(json::parse(got->body)["properties"]["keyVaultProperties"]["keyName"] == "k1");
}

TEST_CASE("fixture resource errors name the file, the JSON path and the problem", "[fixture]") {
  auto with = [](std::initializer_list<std::pair<const std::string, json>> sections) {
    json doc = json::object();
    for (const auto& [k, v] : sections) doc[k] = v;
    return start_error(doc);
  };
  const json g = json::array({group()});
  const json i = json::array({identity()});

  // Shape, when parsed.
  CHECK_THAT(with({{"vaults", json::object()}}), Contains("x.json: $.vaults: must be an array"));
  CHECK_THAT(with({{"clusters", {{{"id", kCluster}, {"colour", "red"}}}}}),
             Contains("x.json: $.clusters[0].colour: unknown key"));

  // Resource groups.
  CHECK_THAT(
      with({{"resourceGroups",
             {{{"id", "/subscriptions/99999999-0000-0000-0000-000000000001/resourceGroups/r"},
               {"location", "westeurope"}}}}}),
      Contains("x.json: $.resourceGroups[0].id: no subscription "
               "'99999999-0000-0000-0000-000000000001' is defined"));
  CHECK_THAT(
      with({{"resourceGroups", {{{"name", "bad."}, {"location", "westeurope"}}}}}),
      Contains("x.json: $.resourceGroups[0].name: 'bad.' is not a valid resource group name"));
  CHECK_THAT(with({{"resourceGroups", {{{"name", "rg"}, {"location", "atlantis"}}}}}),
             Contains("x.json: $.resourceGroups[0].location: 'atlantis' is not a region"));
  CHECK_THAT(with({{"resourceGroups", {{{"name", "rg"}}}}}),
             Contains("x.json: $.resourceGroups[0].location: is required"));

  // Identities.
  CHECK_THAT(with({{"userAssignedIdentities", i}}),
             Contains("x.json: $.userAssignedIdentities[0].id: no resource group 'rg1'"));
  CHECK_THAT(with({{"resourceGroups", g}, {"userAssignedIdentities", {{{"id", kVault}}}}}),
             Contains("x.json: $.userAssignedIdentities[0].id: must be the ARM id of a "
                      "Microsoft.ManagedIdentity/userAssignedIdentities resource"));
  json bad_pid = identity();
  bad_pid["properties"]["principalId"] = "nope";
  CHECK_THAT(
      with({{"resourceGroups", g}, {"userAssignedIdentities", json::array({bad_pid})}}),
      Contains("x.json: $.userAssignedIdentities[0].properties.principalId: must be a GUID"));
  json twin = identity();
  twin["id"] = kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2";
  CHECK_THAT(with({{"resourceGroups", g}, {"userAssignedIdentities", {identity(), twin}}}),
             Contains("x.json: $.userAssignedIdentities[1].properties.principalId: '" +
                      std::string(kPrincipal) + "' is already the principal id of"));
  json no_location = identity();
  no_location.erase("location");
  CHECK_THAT(with({{"resourceGroups", g}, {"userAssignedIdentities", json::array({no_location})}}),
             Contains("x.json: $.userAssignedIdentities[0]: LocationRequired"));

  // Vaults.
  CHECK_THAT(with({{"resourceGroups", g}, {"vaults", json::array({vault_with_key()})}}),
             Contains("x.json: $.vaults[0].properties.accessPolicies[0].objectId: no principal "
                      "with object id '" +
                      std::string(kPrincipal) + "' is defined"));
  json no_props = vault_with_key();
  no_props.erase("properties");
  CHECK_THAT(with({{"resourceGroups", g}, {"vaults", json::array({no_props})}}),
             Contains("x.json: $.vaults[0].properties: is required"));
  json unprotected = vault_with_key();
  unprotected["properties"]["enablePurgeProtection"] = false;
  CHECK_THAT(with({{"resourceGroups", g},
                   {"userAssignedIdentities", i},
                   {"vaults", json::array({unprotected})}}),
             Contains("x.json: $.vaults[0].properties: BadRequest: The property "
                      "\"enablePurgeProtection\" cannot be set to false"));
  json same_name = vault_with_key();
  same_name["id"] = kSub + "/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kv1";
  json g2 = g;
  g2.push_back({{"id", kSub + "/resourceGroups/rg2"}, {"location", "westeurope"}});
  CHECK_THAT(with({{"resourceGroups", g2},
                   {"userAssignedIdentities", i},
                   {"vaults", {vault_with_key(), same_name}}}),
             Contains("x.json: $.vaults[1].id: the vault name 'kv1' is already used by"));
  auto key_error = [&](const json& version) {
    json v = vault_with_key();
    v["keys"] = {{{"name", "k1"}, {"versions", json::array({version})}}};
    return with(
        {{"resourceGroups", g}, {"userAssignedIdentities", i}, {"vaults", json::array({v})}});
  };
  CHECK_THAT(key_error({{"version", "xyz"}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0]: The key version 'xyz' is not 32 "
                      "hexadecimal digits"));
  CHECK_THAT(
      key_error({{"kty", "DSA"}}),
      Contains("x.json: $.vaults[0].keys[0].versions[0]: The key type 'DSA' is not supported"));
  CHECK_THAT(key_error({{"jwk", json::object()}, {"pem", "x"}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0]: give key material as \"jwk\" or "
                      "\"pem\", not both"));
  CHECK_THAT(key_error({{"pem", "not a key"}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0]: The PEM text holds no"));
  CHECK_THAT(key_error({{"attributes", {{"exp", "tomorrow"}}}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].attributes.exp: must be an ISO-8601 "
                      "time"));
  CHECK_THAT(key_error({{"size", 2048}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].size: unknown key"));
  CHECK_THAT(key_error({{"jwk", {{"kty", "RSA"}}}, {"key_size", 2048}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].key_size: applies to generated keys "
                      "only"));
  {
    json v = vault_with_key();
    v["keys"][0]["versions"] = {{{"version", kVersion}}, {{"version", kVersion}}};
    CHECK_THAT(
        with({{"resourceGroups", g}, {"userAssignedIdentities", i}, {"vaults", json::array({v})}}),
        Contains("x.json: $.vaults[0].keys[0].versions[1]: Key 'k1' already has a version"));
    v["keys"] = {{{"name", "k_1"}, {"versions", json::array({json::object()})}}};
    CHECK_THAT(
        with({{"resourceGroups", g}, {"userAssignedIdentities", i}, {"vaults", json::array({v})}}),
        Contains("x.json: $.vaults[0].keys[0].name: 'k_1' is not a valid key name"));
    v["keys"] = {{{"name", "k1"}, {"versions", json::array()}}};
    CHECK_THAT(
        with({{"resourceGroups", g}, {"userAssignedIdentities", i}, {"vaults", json::array({v})}}),
        Contains("x.json: $.vaults[0].keys[0].versions: must be a non-empty array"));
  }

  // Role assignments.
  auto ra = [&](const json& props) {
    return with({{"resourceGroups", g},
                 {"userAssignedIdentities", i},
                 {"roleAssignments", json::array({{{"properties", props}}})}});
  };
  CHECK_THAT(ra({{"scope", kRg},
                 {"roleDefinitionId", "Owner of Everything"},
                 {"principalId", kPrincipal}}),
             Contains("x.json: $.roleAssignments[0].properties.roleDefinitionId: no built-in role "
                      "'Owner of Everything'"));
  CHECK_THAT(ra({{"scope", kRg},
                 {"roleDefinitionId", "Key Vault Reader"},
                 {"principalId", "66666666-0000-0000-0000-000000000001"}}),
             Contains("x.json: $.roleAssignments[0].properties.principalId: no principal with "
                      "object id '66666666-0000-0000-0000-000000000001' is defined"));
  CHECK_THAT(ra({{"scope", kVault},
                 {"roleDefinitionId", "Key Vault Reader"},
                 {"principalId", kPrincipal}}),
             Contains("x.json: $.roleAssignments[0].properties.scope: no resource '" + kVault +
                      "' is defined"));
  CHECK_THAT(ra({{"roleDefinitionId", "Key Vault Reader"}, {"principalId", kPrincipal}}),
             Contains("x.json: $.roleAssignments[0].properties.scope: is required"));

  // Clusters: references, shape, and the CMK preconditions the activation checks.
  auto cl = [&](const json& cluster, json vaults = nullptr) {
    if (vaults.is_null()) vaults = json::array({vault_with_key()});
    return with({{"resourceGroups", g},
                 {"userAssignedIdentities", i},
                 {"vaults", vaults},
                 {"clusters", json::array({cluster})}});
  };
  CHECK_THAT(with({{"resourceGroups", g}, {"clusters", json::array({cmk_cluster()})}}),
             Contains("x.json: $.clusters[0].identity.userAssignedIdentities['" + kUami +
                      "']: no user-assigned identity '" + kUami + "' is defined"));
  CHECK_THAT(cl(cmk_cluster(), json::array()),
             Contains("x.json: $.clusters[0].properties.keyVaultProperties.keyVaultUri: no vault "
                      "'kv1' is defined (add it under $.vaults)"));
  json other_key = cmk_cluster();
  other_key["properties"]["keyVaultProperties"]["keyName"] = "k2";
  CHECK_THAT(cl(other_key), Contains("x.json: $.clusters[0].properties.keyVaultProperties.keyName: "
                                     "vault 'kv1' has no key 'k2'"));
  json other_version = cmk_cluster();
  other_version["properties"]["keyVaultProperties"]["keyVersion"] =
      "fedcba9876543210fedcba9876543210";
  CHECK_THAT(
      cl(other_version),
      Contains("x.json: $.clusters[0].properties.keyVaultProperties.keyVersion: key 'k1' has "
               "no version 'fedcba9876543210fedcba9876543210'"));
  json bad_state = cmk_cluster();
  bad_state["properties"]["state"] = "Sleeping";
  CHECK_THAT(cl(bad_state), Contains("x.json: $.clusters[0].properties.state: must be Running or "
                                     "Stopped"));
  json no_sku = cmk_cluster();
  no_sku.erase("sku");
  CHECK_THAT(cl(no_sku),
             Contains("x.json: $.clusters[0]: InvalidRequestContent: 'sku' is required"));
  json bad_uri = cmk_cluster();
  bad_uri["properties"]["keyVaultProperties"]["keyVaultUri"] = "ftp://kv1";
  CHECK_THAT(cl(bad_uri), Contains("x.json: $.clusters[0].properties.keyVaultProperties: "
                                   "InvalidKeyVaultProperties"));
  // The vault lets the default principal in, not the cluster's identity: the key cannot be used.
  const json sp_only = json::array({{{"tenantId", test::kTenant},
                                     {"objectId", test::kSpObjectId},
                                     {"permissions", {{"keys", {"all"}}}}}});
  CHECK_THAT(cl(cmk_cluster(), json::array({vault_with_key(sp_only)})),
             Contains("x.json: $.clusters[0].properties.keyVaultProperties: the cluster cannot use "
                      "its customer-managed key: KeyVaultAccessDenied"));
  json no_protection = vault_with_key();
  no_protection["properties"].erase("enablePurgeProtection");
  CHECK_THAT(cl(cmk_cluster(), json::array({no_protection})),
             Contains("x.json: $.clusters[0].properties.keyVaultProperties: the cluster cannot use "
                      "its customer-managed key: KeyVaultPurgeProtectionRequired"));
}

TEST_CASE("fixture resource errors: the rest of the messages", "[fixture]") {
  auto with = [](const json& doc) { return start_error(doc); };
  const json g = json::array({group()});
  const json i = json::array({identity()});
  auto doc = [&](const char* section, const json& item, bool identities = false) {
    json d = {{"resourceGroups", g}};
    if (identities) d["userAssignedIdentities"] = i;
    d[section] = json::array({item});
    return d;
  };

  CHECK_THAT(with({{"vaults", json::array({7})}}),
             Contains("x.json: $.vaults[0]: must be an object"));
  CHECK_THAT(with({{"resourceGroups", json::array({{{"id", kSub}, {"location", "westeurope"}}})}}),
             Contains("x.json: $.resourceGroups[0].id: must be a resource group id"));
  CHECK_THAT(with({{"subscriptions", json::array()},
                   {"resourceGroups",
                    json::array({{{"name", "rg"}, {"location", "westeurope"}, {"tags", 3}}})}}),
             Contains("x.json: $.resourceGroups[0].tags: must be an object"));

  json bad_name = identity();
  bad_name["id"] = kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/-x";
  CHECK_THAT(with(doc("userAssignedIdentities", bad_name)),
             Contains("x.json: $.userAssignedIdentities[0].id: '-x' is not a valid identity name"));
  json extra = identity();
  extra["properties"]["objectId"] = kPrincipal;
  CHECK_THAT(with(doc("userAssignedIdentities", extra)),
             Contains("x.json: $.userAssignedIdentities[0].properties.objectId: unknown key"));
  json other_tenant = identity();
  other_tenant["properties"]["tenantId"] = "99999999-0000-0000-0000-000000000001";
  CHECK_THAT(with(doc("userAssignedIdentities", other_tenant)),
             Contains("x.json: $.userAssignedIdentities[0].properties.tenantId: must be the "
                      "subscription's tenant"));
  json same_client = identity();
  same_client["id"] = kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2";
  same_client["properties"]["principalId"] = "22222222-0000-0000-0000-000000000003";
  CHECK_THAT(with({{"resourceGroups", g}, {"userAssignedIdentities", {identity(), same_client}}}),
             Contains("x.json: $.userAssignedIdentities[1].properties.clientId: '" +
                      std::string(kClient) + "' is already the client id of"));

  json bad_vault = vault_with_key();
  bad_vault["id"] = kRg + "/providers/Microsoft.KeyVault/vaults/k--v";
  CHECK_THAT(with(doc("vaults", bad_vault, true)),
             Contains("x.json: $.vaults[0].id: 'k--v' is not a valid vault name"));
  auto version_error = [&](const json& version) {
    json v = vault_with_key();
    v["keys"] = json::array({{{"name", "k1"}, {"versions", json::array({version})}}});
    return with(doc("vaults", v, true));
  };
  CHECK_THAT(
      version_error({{"jwk", "text"}}),
      Contains("x.json: $.vaults[0].keys[0].versions[0].jwk: must be a JSON Web Key object"));
  CHECK_THAT(version_error({{"pem", 5}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].pem: must be a PEM string"));
  CHECK_THAT(version_error({{"hsm", true}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].hsm: applies to given key material "
                      "only"));
  CHECK_THAT(
      version_error({{"key_ops", "wrapKey"}}),
      Contains("x.json: $.vaults[0].keys[0].versions[0].key_ops: must be an array of strings"));
  CHECK_THAT(version_error({{"key_ops", {"sign", 1}}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].key_ops[1]: must be a string"));
  CHECK_THAT(version_error({{"attributes", {{"enabled", "yes"}}}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].attributes.enabled: must be true or "
                      "false"));
  CHECK_THAT(version_error({{"attributes", {{"expires", "now+1d"}}}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0].attributes.expires: unknown key"));
  CHECK_THAT(version_error({{"kty", "RSA"}, {"key_ops", {"sign", "bogus"}}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0]: Unsupported key operation(s): "
                      "\"bogus\""));
  CHECK_THAT(version_error({{"kty", "RSA-HSM"}}),
             Contains("x.json: $.vaults[0].keys[0].versions[0]: The key type 'RSA-HSM' needs a "
                      "premium vault; vault 'kv1' is standard."));
  {
    json v = vault_with_key();
    v["keys"] = json::array({{{"name", "k1"}, {"version", "x"}}});
    CHECK_THAT(with(doc("vaults", v, true)),
               Contains("x.json: $.vaults[0].keys[0].version: unknown key (expected one of: name, "
                        "versions)"));
    v["keys"] = "k1";
    CHECK_THAT(with(doc("vaults", v, true)),
               Contains("x.json: $.vaults[0].keys: must be an array"));
  }

  CHECK_THAT(with(doc("roleAssignments", json{{"name", "ra"}}, true)),
             Contains("x.json: $.roleAssignments[0].name: must be a GUID"));
  CHECK_THAT(
      with(doc("roleAssignments", json{{"name", "44444444-0000-0000-0000-000000000001"}}, true)),
      Contains("x.json: $.roleAssignments[0].properties: is required"));
  CHECK_THAT(
      with(doc("roleAssignments",
               json{{"properties",
                     {{"scope", "somewhere"},
                      {"roleDefinitionId", "Key Vault Reader"},
                      {"principalId", kPrincipal}}}},
               true)),
      Contains("x.json: $.roleAssignments[0].properties.scope: 'somewhere' is not an ARM scope"));
  {
    const json props = {
        {"scope", kRg}, {"roleDefinitionId", "Key Vault Reader"}, {"principalId", kPrincipal}};
    json d = doc("roleAssignments", json::object(), true);
    d["roleAssignments"] =
        json::array({{{"name", "44444444-0000-0000-0000-000000000001"}, {"properties", props}},
                     {{"name", "44444444-0000-0000-0000-000000000002"}, {"properties", props}}});
    CHECK_THAT(with(d),
               Contains("x.json: $.roleAssignments[1]: the principal already has this role at "
                        "this scope under another name"));
    json changed = props;
    changed["roleDefinitionId"] = "Key Vault Administrator";
    d["roleAssignments"][1] = {{"name", "44444444-0000-0000-0000-000000000001"},
                               {"properties", changed}};
    CHECK_THAT(with(d),
               Contains("x.json: $.roleAssignments[1].name: another role assignment is named"));
  }

  json bad_cluster_name = cmk_cluster();
  bad_cluster_name["id"] = kRg + "/providers/Microsoft.Kusto/clusters/ADX";
  bad_cluster_name["properties"].erase("keyVaultProperties");
  CHECK_THAT(with(doc("clusters", bad_cluster_name, true)),
             Contains("x.json: $.clusters[0]: InvalidResourceName: Cluster name 'ADX' is invalid"));
  {
    json plain = cmk_cluster();
    plain["properties"].erase("keyVaultProperties");
    json d = doc("clusters", plain, true);
    d["clusters"].push_back(plain);
    d["clusters"][1]["id"] = kSub + "/resourceGroups/rg2/providers/Microsoft.Kusto/clusters/adx1";
    d["resourceGroups"].push_back(
        {{"id", kSub + "/resourceGroups/rg2"}, {"location", "westeurope"}});
    CHECK_THAT(with(d), Contains("x.json: $.clusters[1]: InvalidClusterName: Name 'adx1' with type "
                                 "Engine is already taken"));
    plain["location"] = "mars";
    CHECK_THAT(with(doc("clusters", plain, true)),
               Contains("x.json: $.clusters[0]: LocationNotAvailableForResourceType"));
  }
  // CMK preconditions the activation checks also stop the start: another region, a disabled key.
  json far = vault_with_key();
  far["location"] = "northeurope";
  CHECK_THAT(with({{"resourceGroups", g},
                   {"userAssignedIdentities", i},
                   {"vaults", json::array({far})},
                   {"clusters", json::array({cmk_cluster()})}}),
             Contains("x.json: $.clusters[0].properties.keyVaultProperties: the cluster cannot use "
                      "its customer-managed key: KeyVaultLocationMismatch"));
  json disabled = vault_with_key();
  disabled["keys"][0]["versions"][0]["attributes"] = {{"enabled", false}};
  CHECK_THAT(with({{"resourceGroups", g},
                   {"userAssignedIdentities", i},
                   {"vaults", json::array({disabled})},
                   {"clusters", json::array({cmk_cluster()})}}),
             Contains("x.json: $.clusters[0].properties.keyVaultProperties: the cluster cannot use "
                      "its customer-managed key: KeyDisabled"));
}

TEST_CASE("a later fixture adds to and replaces, by id, what an earlier one defined", "[fixture]") {
  Files files;
  json first = {{"resourceGroups", json::array({group()})},
                {"userAssignedIdentities", json::array({identity()})},
                {"vaults", json::array({vault_with_key()})},
                {"clusters", json::array({cmk_cluster()})}};
  auto o = files.options(first);
  json second = {{"vaults", json::array({vault_with_key()})},
                 {"clusters", json::array({cmk_cluster()})}};
  second["vaults"][0]["tags"] = {{"round", "2"}};
  second["vaults"][0]["keys"][0]["versions"] = json::array({{{"kty", "RSA"}}});  // k1's 2nd version
  second["clusters"][0]["properties"] = {{"state", "Stopped"}};                  // CMK off, stopped
  std::ofstream(files.dir.path() / "second.json") << second.dump();
  o.fixtures.push_back(files.dir.path() / "second.json");
  auto emu = test::start_emulator(o);
  auto v = emu->vaults().find_vault_by_name("kv1");
  REQUIRE(v.has_value());
  CHECK(v->tags == json{{"round", "2"}});
  auto versions = emu->keys().list_versions(settings(*emu, "kv1"), "k1", "", 25);
  REQUIRE(versions.is_ok());
  CHECK(versions->items.size() == 2);
  auto c = emu->resources().get(*arm::ResourceId::parse(kCluster));
  REQUIRE(c.has_value());
  CHECK(c->body["properties"]["state"] == "Stopped");
  CHECK_FALSE(c->body["properties"].contains("keyVaultProperties"));
  CHECK_FALSE(emu->cluster_keys().key_in_use(c->id.key()).has_value());
}

TEST_CASE("fixture resource sections need the full emulator", "[fixture]") {
  auto f = state::parse_fixture(json{{"resourceGroups", {group()}}}.dump(), "r.json");
  REQUIRE(f.is_ok());
  entra::Directory dir;
  arm::SubscriptionRegistry subs;
  auto s = state::apply_fixtures({*f}, dir, subs);
  REQUIRE_FALSE(s.is_ok());
  CHECK_THAT(s.message(),
             Contains("r.json: $.resourceGroups: resource sections need a full emulator"));
}

TEST_CASE("the example fixtures under fixtures/ load", "[fixture]") {
  const std::filesystem::path dir = std::filesystem::path(CMK_SOURCE_DIR) / "fixtures";
  auto load = [&](const char* name) {
    auto o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.fixtures = {dir / name};
    return test::start_emulator(o);
  };
  const std::string rg = kSub + "/resourceGroups/cmk-rg";
  const auto cluster = arm::ResourceId::parse(rg + "/providers/Microsoft.Kusto/clusters/cmkadx");

  SECTION("default.json") {
    auto emu = load("default.json");
    CHECK(emu->directory().find_service_principal(test::kSpAppId).has_value());
  }
  SECTION("seed-fresh.json: the resource group only") {
    auto emu = load("seed-fresh.json");
    CHECK(emu->resource_groups().get(test::kSubscription, "cmk-rg").has_value());
    CHECK(emu->vaults().all_vaults().empty());
  }
  SECTION("seed-vault-ready.json: vault, key and identity, no cluster") {
    auto emu = load("seed-vault-ready.json");
    auto v = emu->vaults().find_vault_by_name("cmk-kv");
    REQUIRE(v.has_value());
    CHECK(v->body["properties"]["enablePurgeProtection"] == true);
    auto key = emu->keys().get(keyvault_data::vault_settings("cmk-kv", v->body["properties"]),
                               "cmk-key", "a1b2c3d4e5f60718293a4b5c6d7e8f90");
    REQUIRE(key.is_ok());
    CHECK(key->public_jwk["n"].get<std::string>().size() == 342);
    CHECK(emu->directory()
              .find_managed_identity_by_principal_id("22222222-0000-0000-0000-000000000001")
              .has_value());
    CHECK_FALSE(emu->resources().get(*cluster).has_value());
  }
  SECTION("seed-cmk-enabled.json: the cluster Running with its key in use") {
    auto emu = load("seed-cmk-enabled.json");
    auto c = emu->resources().get(*cluster);
    REQUIRE(c.has_value());
    CHECK(c->body["properties"]["state"] == "Running");
    auto in_use = emu->cluster_keys().key_in_use(cluster->key());
    REQUIRE(in_use.has_value());
    CHECK(in_use->kid ==
          "https://cmk-kv.vault.azure.net/keys/cmk-key/a1b2c3d4e5f60718293a4b5c6d7e8f90");
  }
  SECTION("leader-follower.json: two Running clusters") {
    auto emu = load("leader-follower.json");
    for (const char* name : {"leaderadx", "followeradx"}) {
      auto c = emu->resources().get(
          *arm::ResourceId::parse(rg + "/providers/Microsoft.Kusto/clusters/" + name));
      REQUIRE(c.has_value());
      CHECK(c->body["properties"]["state"] == "Running");
    }
  }
}

namespace {

// What a seeded run mints: ids from a fixture without fixed ids, then from requests.
std::vector<std::string> minted_ids(std::optional<uint64_t> seed) {
  json doc = {{"resourceGroups", {group()}},
              {"userAssignedIdentities", {{{"id", kUami}, {"location", "westeurope"}}}},
              {"vaults",
               {{{"id", kVault},
                 {"location", "westeurope"},
                 {"properties",
                  {{"sku", {{"family", "A"}, {"name", "standard"}}},
                   {"accessPolicies",
                    {{{"tenantId", test::kTenant},
                      {"objectId", test::kSpObjectId},
                      {"permissions", {{"keys", {"all"}}}}}}}}},
                 {"keys", {{{"name", "k1"}, {"versions", {{{"kty", "EC"}}}}}}}}}},
              {"roleAssignments",
               {{{"properties",
                  {{"scope", kRg},
                   {"roleDefinitionId", "Key Vault Reader"},
                   {"principalId", test::kSpObjectId}}}}}}};
  Files files;
  auto o = files.options(doc);
  o.seed = seed;
  auto emu = test::start_emulator(o);
  std::vector<std::string> ids;
  auto mi = emu->directory().find_managed_identity_by_resource_id(kUami);
  REQUIRE(mi.has_value());
  ids.push_back(mi->principal_id);
  ids.push_back(mi->client_id);
  auto settings = keyvault_data::vault_settings(
      "kv1", emu->vaults().find_vault_by_name("kv1")->body["properties"]);
  ids.push_back(emu->keys().get(settings, "k1", "")->version);
  ids.push_back(emu->role_assignments().list(kRg, true, std::nullopt).at(0).name);

  // Requests: an identity, a key, a cluster (its operation id), in order.
  auto cli = test::https_client(*emu);
  httplib::Headers auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
  auto put = cli->Put(kRg +
                          "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2"
                          "?api-version=2023-01-31",
                      auth, R"({"location": "westeurope"})", "application/json");
  REQUIRE(put);
  REQUIRE(put->status == 201);
  ids.push_back(json::parse(put->body)["properties"]["principalId"]);
  ids.push_back(json::parse(put->body)["properties"]["clientId"]);
  auto kv = test::proxied_client(*emu, "kv1.vault.azure.net");
  httplib::Headers kv_auth = {
      {"Authorization", "Bearer " + test::app_token(*emu, "https://vault.azure.net")}};
  auto created =
      kv->Post("/keys/k2/create?api-version=7.4", kv_auth, R"({"kty": "EC"})", "application/json");
  REQUIRE(created);
  REQUIRE(created->status == 200);
  const std::string kid = json::parse(created->body)["key"]["kid"];
  ids.push_back(kid.substr(kid.rfind('/') + 1));
  auto cluster = cli->Put(kCluster + "?api-version=2024-04-13", auth,
                          R"({"location": "westeurope", "identity": {"type": "SystemAssigned"},
                              "sku": {"name": "Standard_E8ads_v5", "tier": "Standard"}})",
                          "application/json");
  REQUIRE(cluster);
  REQUIRE(cluster->status == 201);
  ids.push_back(json::parse(cluster->body)["identity"]["principalId"]);
  const std::string op = cluster->get_header_value("Azure-AsyncOperation");
  ids.push_back(op.substr(0, op.find('?')).substr(op.rfind('/', op.find('?')) + 1));
  ids.push_back(cluster->get_header_value("ETag"));
  return ids;
}

}  // namespace

TEST_CASE("seeded runs: the same seed and requests give the same ids, another seed other ids",
          "[fixture][seed]") {
  const auto a = minted_ids(42);
  const auto b = minted_ids(42);
  const auto c = minted_ids(43);
  REQUIRE(a.size() == 10);
  CHECK(a == b);
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(i << ": " << a[i]);
    CHECK(a[i] != c[i]);
    CHECK_FALSE(a[i].empty());
  }
  // Unseeded runs draw from the OS.
  CHECK(minted_ids(std::nullopt) != minted_ids(std::nullopt));
}

// Found by fuzz/fixture_fuzzer.cpp: a cluster's fixed system-identity ids were taken as any
// string, so the state exported after such a fixture did not import again (its managed identities
// must have GUIDs), and a number there threw.
TEST_CASE("fixture clusters: the system identity's fixed ids must be GUIDs", "[fixture]") {
  for (const json& fixed : {json("33?33333-0000-0000-0000-000000000001"), json(42)}) {
    json cluster = {{"id", kCluster},
                    {"location", "westeurope"},
                    {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}},
                    {"identity", {{"type", "SystemAssigned"}, {"principalId", fixed}}}};
    const std::string message =
        start_error({{"resourceGroups", {group()}}, {"clusters", {cluster}}});
    REQUIRE_THAT(message, Contains("$.clusters[0].identity.principalId"));
  }
}
