// The keys data plane over HTTPS through the in-process emulator: the challenge, token checks,
// access policies, every route and the error shapes.
#include <catch2/catch.hpp>

#include <openssl/rsa.h>

#include "common/base64.h"
#include "jwk_public_key.h"
#include "keyvault_data/vault_http.h"
#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {

constexpr const char* kOther =
    "22222222-2222-2222-2222-222222222222";  // a principal without access

json policy(const std::string& oid, std::vector<std::string> keys) {
  return {{"tenantId", test::kTenant}, {"objectId", oid}, {"permissions", {{"keys", keys}}}};
}

struct Kv {
  std::unique_ptr<Emulator> emu;
  std::unique_ptr<httplib::SSLClient> arm;
  httplib::Headers arm_auth;
  std::string token;
  const char* v = "?api-version=7.4";

  explicit Kv(bool strict_versions = false, const std::string& localhost_vault = {}) {
    EmulatorOptions o = test::test_options();
    o.rsa_key_pool_size = 0;  // keys are made on request: no background work in tests
    o.strict_api_versions = strict_versions;
    o.localhost_vault = localhost_vault;
    emu = test::start_emulator(o);
    arm = test::https_client(*emu);
    arm_auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
    token = test::app_token(*emu, "https://vault.azure.net");
    REQUIRE(arm->Put(rg() + "?api-version=2022-09-01", arm_auth, R"({"location":"westeurope"})",
                     "application/json")
                ->status == 201);
    make_vault("kv1");
  }
  std::string rg() const {
    return std::string("/subscriptions/") + test::kSubscription + "/resourceGroups/rg1";
  }
  std::string vault_id(const std::string& name) const {
    return rg() + "/providers/Microsoft.KeyVault/vaults/" + name;
  }
  void make_vault(const std::string& name, json extra = json::object(),
                  std::vector<json> policies = {}) {
    if (policies.empty()) policies.push_back(policy(test::kSpObjectId, {"all", "purge"}));
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
  // Proxy mode: the real host name through the front door.
  std::unique_ptr<httplib::SSLClient> vault(const std::string& name = "kv1") {
    return test::proxied_client(*emu, name + ".vault.azure.net");
  }
  // Endpoint mode without a vault host name: https://localhost:<port>.
  std::string localhost() const { return "localhost:" + std::to_string(emu->https_port()); }
  httplib::Result on_localhost(const std::string& method, const std::string& path,
                               const std::string& body_text = {}, const std::string& t = {}) {
    httplib::Headers h{{"Host", localhost()}};
    if (t != "-") h.emplace("Authorization", "Bearer " + (t.empty() ? token : t));
    auto cli = test::https_client(*emu);
    if (method == "POST") return cli->Post(path + v, h, body_text, "application/json");
    return cli->Get(path + v, h);
  }
  httplib::Headers auth(const std::string& t = {}) {
    return {{"Authorization", "Bearer " + (t.empty() ? token : t)}};
  }
  httplib::Result post(const std::string& path, const json& body,
                       const std::string& vault_name = "kv1") {
    return vault(vault_name)->Post(path + v, auth(), body.dump(), "application/json");
  }
  httplib::Result get(const std::string& path, const std::string& vault_name = "kv1") {
    return vault(vault_name)->Get(path + v, auth());
  }
  json create(const std::string& name, json body = {{"kty", "RSA"}, {"key_size", 2048}}) {
    auto r = post("/keys/" + name + "/create", body);
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  }
  // A token for a principal the default fixture does not know (registered on the fly).
  std::string token_for(const std::string& client_id, const std::string& resource,
                        const std::string& tenant = test::kTenant, std::string* oid = nullptr) {
    entra::TokenRequest r;
    r.endpoint = entra::TokenEndpoint::V1;
    r.tenant = tenant;
    r.grant_type = "client_credentials";
    r.client.client_id = client_id;
    r.client.client_secret = "anything";
    r.resource = resource;
    auto t = emu->token_service().token(r);
    REQUIRE(t.is_ok());
    if (oid) *oid = t->object_id;
    return t->access_token;
  }
};

json body(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  return json::parse(r->body);
}

std::string version_of(const json& bundle) {
  const std::string kid = bundle["key"]["kid"];
  return kid.substr(kid.rfind('/') + 1);
}

std::string oaep256_wrap(const json& jwk, const std::string& dek) {
  PkeyPtr pub = test::key_from_jwk(jwk);
  REQUIRE(pub);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub.get(), nullptr));
  EVP_PKEY_encrypt_init(ctx.get());
  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
  EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256());
  EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256());
  size_t len = 512;
  std::string out(len, '\0');
  REQUIRE(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                           reinterpret_cast<const unsigned char*>(dek.data()), dek.size()) == 1);
  out.resize(len);
  return out;
}

}  // namespace

TEST_CASE("keys api: the first body-less request gets the challenge", "[keys]") {
  Kv kv;
  // Proxy mode: the real host, resource https://vault.azure.net.
  auto r = kv.vault()->Post("/keys/cmk1/create?api-version=7.4", httplib::Headers{}, "",
                            "application/json");
  REQUIRE(r->status == 401);
  REQUIRE(r->get_header_value("WWW-Authenticate") ==
          std::string("Bearer authorization=\"https://login.microsoftonline.com/") + test::kTenant +
              "\", resource=\"https://vault.azure.net\"");
  REQUIRE(body(r)["error"]["code"] == "Unauthorized");
  REQUIRE(body(r)["error"]["message"] == "AKV10000: Request is missing a Bearer or PoP token.");

  // Endpoint mode: the vault.localhost host with the port, resource with the port.
  auto local = test::https_client(*kv.emu);
  const std::string host = "kv1.vault.localhost:" + std::to_string(kv.emu->https_port());
  auto l = local->Get("/keys/cmk1/?api-version=7.4", httplib::Headers{{"Host", host}});
  REQUIRE(l->status == 401);
  REQUIRE(l->get_header_value("WWW-Authenticate") ==
          std::string("Bearer authorization=\"https://login.microsoftonline.com/") + test::kTenant +
              "\", resource=\"https://vault.localhost:" + std::to_string(kv.emu->https_port()) +
              "\"");
  // A token for that resource (what the SDKs ask for after the challenge) is accepted.
  const std::string local_token =
      test::app_token(*kv.emu, "https://vault.localhost:" + std::to_string(kv.emu->https_port()));
  auto created =
      local->Post("/keys/cmk1/create?api-version=7.4",
                  httplib::Headers{{"Host", host}, {"Authorization", "Bearer " + local_token}},
                  R"({"kty":"EC"})", "application/json");
  REQUIRE(created->status == 200);
  REQUIRE_THAT(body(created)["key"]["kid"].get<std::string>(),
               Catch::StartsWith("https://" + host + "/keys/cmk1/"));
}

TEST_CASE("keys api: tokens are checked for audience, tenant and signature", "[keys]") {
  Kv kv;
  auto with = [&](const std::string& token) {
    return kv.vault()->Get("/keys?api-version=7.4",
                           httplib::Headers{{"Authorization", "Bearer " + token}});
  };
  auto arm_token = with(test::app_token(*kv.emu));
  REQUIRE(arm_token->status == 401);
  REQUIRE_THAT(body(arm_token)["error"]["message"].get<std::string>(),
               Catch::StartsWith("AKV10022: Invalid audience. Expected https://vault.azure.net, "
                                 "found: https://management.azure.com/"));
  REQUIRE(arm_token->has_header("WWW-Authenticate"));

  const std::string other_tenant = "33333333-3333-3333-3333-333333333333";
  auto foreign = with(kv.token_for(kOther, "https://vault.azure.net", other_tenant));
  REQUIRE(foreign->status == 401);
  REQUIRE_THAT(body(foreign)["error"]["message"].get<std::string>(),
               Catch::StartsWith("AKV10032: Invalid issuer."));

  std::string forged = kv.token;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  auto bad_sig = with(forged);
  REQUIRE(bad_sig->status == 401);
  REQUIRE(with("not-a-jwt")->status == 401);
  REQUIRE(kv.vault()
              ->Get("/keys?api-version=7.4", httplib::Headers{{"Authorization", "Basic abc"}})
              ->status == 401);
  REQUIRE(with(test::app_token(*kv.emu, "https://vault.azure.net/"))->status == 200);

  auto unknown = kv.vault("nosuchvault")->Get("/keys?api-version=7.4", kv.auth());
  REQUIRE(unknown->status == 404);
  REQUIRE(body(unknown)["error"]["code"] == "VaultNotFound");
}

TEST_CASE("keys api: access policies decide, with the service's 403", "[keys]") {
  Kv kv;
  std::string oid;
  const std::string other = kv.token_for(kOther, "https://vault.azure.net", test::kTenant, &oid);
  auto denied = kv.vault()->Get("/keys?api-version=7.4", kv.auth(other));
  REQUIRE(denied->status == 403);
  json err = body(denied)["error"];
  REQUIRE(err["code"] == "Forbidden");
  REQUIRE(err["innererror"]["code"] == "ForbiddenByPolicy");
  REQUIRE(err["message"] ==
          std::string("The user, group or application 'appid=") + kOther + ";oid=" + oid +
              ";numgroups=0;iss=https://sts.windows.net/" + test::kTenant +
              "/' does not have keys list permission on key vault 'kv1;location=westeurope'. "
              "For help resolving this issue, please see "
              "https://go.microsoft.com/fwlink/?linkid=2125287");

  // get + unwrapKey only: the CMK shape minus wrapKey.
  kv.make_vault("kv2", json::object(),
                {policy(test::kSpObjectId, {"all", "purge"}), policy(oid, {"get", "unwrapKey"})});
  auto k = body(kv.post("/keys/cmk/create", {{"kty", "RSA"}}, "kv2"));
  auto get = kv.vault("kv2")->Get("/keys/cmk?api-version=7.4", kv.auth(other));
  REQUIRE(get->status == 200);
  auto wrap = kv.vault("kv2")->Post(
      "/keys/cmk/wrapkey?api-version=7.4", kv.auth(other),
      json{{"alg", "RSA-OAEP"}, {"value", base64url_encode("dek")}}.dump(), "application/json");
  REQUIRE(wrap->status == 403);
  REQUIRE_THAT(body(wrap)["error"]["message"].get<std::string>(),
               Catch::Contains("does not have keys wrapKey permission"));
  const std::string wrapped = oaep256_wrap(k["key"], "dek");
  auto unwrap = kv.vault("kv2")->Post(
      "/keys/cmk/unwrapkey?api-version=7.4", kv.auth(other),
      json{{"alg", "RSA-OAEP-256"}, {"value", base64url_encode(wrapped)}}.dump(),
      "application/json");
  REQUIRE(unwrap->status == 200);
  REQUIRE(*base64url_decode(body(unwrap)["value"].get<std::string>()) == "dek");

  // "all" does not include purge.
  kv.make_vault("kv3", json::object(), {policy(test::kSpObjectId, {"all"})});
  kv.post("/keys/p/create", {{"kty", "EC"}}, "kv3");
  REQUIRE(kv.vault("kv3")->Delete("/keys/p?api-version=7.4", kv.auth())->status == 200);
  auto purge = kv.vault("kv3")->Delete("/deletedkeys/p?api-version=7.4", kv.auth());
  REQUIRE(purge->status == 403);
  REQUIRE_THAT(body(purge)["error"]["message"].get<std::string>(),
               Catch::Contains("keys purge permission"));

  // An RBAC vault ignores access policies; without role assignments nobody gets in.
  kv.make_vault("kv4", {{"enableRbacAuthorization", true}});
  auto rbac = kv.vault("kv4")->Get("/keys?api-version=7.4", kv.auth());
  REQUIRE(rbac->status == 403);
  REQUIRE(body(rbac)["error"]["innererror"]["code"] == "ForbiddenByRbac");
  REQUIRE_THAT(body(rbac)["error"]["message"].get<std::string>(),
               Catch::Contains("Action: 'Microsoft.KeyVault/vaults/keys/read'"));
}

TEST_CASE("keys api: create, get, list, update over HTTP", "[keys]") {
  Kv kv;
  json k1 = kv.create("cmk1");
  REQUIRE_THAT(k1["key"]["kid"].get<std::string>(),
               Catch::StartsWith("https://kv1.vault.azure.net/keys/cmk1/"));
  REQUIRE(version_of(k1).size() == 32);
  REQUIRE(k1["key"]["kty"] == "RSA");
  REQUIRE(k1["key"]["e"] == "AQAB");
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "k"})
    REQUIRE_FALSE(k1["key"].contains(secret));
  REQUIRE(k1["attributes"]["enabled"] == true);
  REQUIRE(k1["attributes"]["recoveryLevel"] == "Recoverable+Purgeable");
  REQUIRE(k1["attributes"]["recoverableDays"] == 90);
  REQUIRE(k1["attributes"]["exportable"] == false);
  REQUIRE(k1["attributes"]["created"].is_number_integer());
  REQUIRE_FALSE(k1.contains("tags"));

  json k2 = kv.create(
      "cmk1",
      {{"kty", "RSA"}, {"key_size", 2048}, {"attributes", json::object()}, {"tags", {{"a", "b"}}}});
  // Latest: trailing slash (Python, Node) or no segment; by version.
  REQUIRE(body(kv.get("/keys/cmk1/"))["key"]["kid"] == k2["key"]["kid"]);
  REQUIRE(body(kv.get("/keys/cmk1"))["key"]["kid"] == k2["key"]["kid"]);
  REQUIRE(body(kv.get("/keys/cmk1/" + version_of(k1)))["key"]["n"] == k1["key"]["n"]);
  REQUIRE(body(kv.get("/keys/cmk1/"))["tags"]["a"] == "b");

  auto versions = body(kv.get("/keys/cmk1/versions"));
  REQUIRE(versions["value"].size() == 2);
  REQUIRE(versions["nextLink"].is_null());
  REQUIRE(versions["value"][0]["kid"] == k1["key"]["kid"]);

  kv.create("cmk2", {{"kty", "EC"}, {"crv", "P-256"}});
  kv.create("cmk3", {{"kty", "EC"}});
  auto page1 = kv.vault()->Get("/keys?api-version=7.4&maxresults=2", kv.auth());
  json p1 = body(page1);
  REQUIRE(p1["value"].size() == 2);
  REQUIRE(p1["value"][0]["kid"] == "https://kv1.vault.azure.net/keys/cmk1");
  const std::string next = p1["nextLink"];
  REQUIRE_THAT(next,
               Catch::StartsWith("https://kv1.vault.azure.net/keys?api-version=7.4&$skiptoken="));
  json p2 = body(
      kv.vault()->Get(next.substr(std::string("https://kv1.vault.azure.net").size()), kv.auth()));
  REQUIRE(p2["value"].size() == 1);
  REQUIRE(p2["value"][0]["kid"] == "https://kv1.vault.azure.net/keys/cmk3");
  REQUIRE(p2["nextLink"].is_null());
  REQUIRE(kv.vault()->Get("/keys?api-version=7.4&maxresults=26", kv.auth())->status == 400);

  auto patched = kv.vault()->Patch(
      "/keys/cmk1/" + version_of(k1) + "?api-version=7.4", kv.auth(),
      R"({"attributes":{"enabled":false},"tags":{"x":"y"},"key_ops":["wrapKey","unwrapKey"]})",
      "application/json");
  json pj = body(patched);
  REQUIRE(pj["attributes"]["enabled"] == false);
  REQUIRE(pj["tags"]["x"] == "y");
  REQUIRE(pj["key"]["key_ops"] == json({"wrapKey", "unwrapKey"}));
  // Key Vault answers GET on a disabled version with the bundle, "enabled": false.
  auto disabled = kv.get("/keys/cmk1/" + version_of(k1));
  REQUIRE(disabled->status == 200);
  REQUIRE(body(disabled)["attributes"]["enabled"] == false);
  auto refused =
      kv.vault()->Post("/keys/cmk1/" + version_of(k1) + "/wrapkey?api-version=7.4", kv.auth(),
                       R"({"alg":"RSA-OAEP","value":"AAAA"})", "application/json");
  REQUIRE(refused->status == 403);
  REQUIRE(body(refused)["error"]["code"] == "Forbidden");
  REQUIRE(body(refused)["error"]["innererror"]["code"] == "KeyDisabled");
  REQUIRE(body(refused)["error"]["message"] ==
          "Operation wrapKey is not allowed on a disabled key.");

  // The versions of a key that does not exist: an empty page, as Key Vault answers.
  json no_versions = body(kv.get("/keys/nope/versions"));
  REQUIRE(no_versions["value"] == json::array());
  REQUIRE(no_versions["nextLink"].is_null());

  auto missing = kv.get("/keys/nope");
  REQUIRE(missing->status == 404);
  REQUIRE(body(missing)["error"]["code"] == "KeyNotFound");
  REQUIRE_FALSE(body(missing)["error"].contains("innererror"));
}

TEST_CASE("keys api: crypto operations with and without version, either case", "[keys]") {
  Kv kv;
  json k = kv.create("cmk1");
  const std::string version = version_of(k);
  const std::string dek(32, '\x42');
  for (const std::string& path :
       std::vector<std::string>{"/keys/cmk1/" + version + "/unwrapkey", "/keys/cmk1/unwrapKey",
                                "/keys/cmk1//UNWRAPKEY"}) {
    INFO(path);
    auto r = kv.post(
        path, {{"alg", "RSA-OAEP-256"}, {"value", base64url_encode(oaep256_wrap(k["key"], dek))}});
    json j = body(r);
    REQUIRE(r->status == 200);
    REQUIRE(*base64url_decode(j["value"].get<std::string>()) == dek);
    REQUIRE(j["kid"] == k["key"]["kid"]);  // the versioned kid that did the work
  }
  json wrapped = body(kv.post("/keys/cmk1/" + version + "/wrapKey",
                              {{"alg", "RSA-OAEP"}, {"value", base64url_encode(dek)}}));
  REQUIRE(base64url_decode(wrapped["value"].get<std::string>())->size() == 256);
  json unwrapped =
      body(kv.post("/keys/cmk1/unwrapkey", {{"alg", "RSA-OAEP"}, {"value", wrapped["value"]}}));
  REQUIRE(*base64url_decode(unwrapped["value"].get<std::string>()) == dek);

  json enc = body(
      kv.post("/keys/cmk1/encrypt", {{"alg", "RSA1_5"}, {"value", base64url_encode("hello")}}));
  json dec = body(kv.post("/keys/cmk1/decrypt", {{"alg", "RSA1_5"}, {"value", enc["value"]}}));
  REQUIRE(*base64url_decode(dec["value"].get<std::string>()) == "hello");

  const std::string digest(32, '\x01');
  json sig =
      body(kv.post("/keys/cmk1/sign", {{"alg", "PS256"}, {"value", base64url_encode(digest)}}));
  REQUIRE(sig["kid"] == k["key"]["kid"]);
  json ok = body(
      kv.post("/keys/cmk1/verify",
              {{"alg", "PS256"}, {"digest", base64url_encode(digest)}, {"value", sig["value"]}}));
  REQUIRE(ok["value"] == true);
  json bad =
      body(kv.post("/keys/cmk1/verify", {{"alg", "PS256"},
                                         {"digest", base64url_encode(std::string(32, '\x02'))},
                                         {"value", sig["value"]}}));
  REQUIRE(bad["value"] == false);

  // Errors in Key Vault's shape.
  auto too_long =
      kv.post("/keys/cmk1/encrypt",
              {{"alg", "RSA-OAEP"}, {"value", base64url_encode(std::string(215, 'x'))}});
  REQUIRE(too_long->status == 400);
  REQUIRE(body(too_long)["error"]["code"] == "BadParameter");
  REQUIRE(kv.post("/keys/cmk1/wrapkey", {{"alg", "A256KW"}, {"value", base64url_encode(dek)}})
              ->status == 400);
  REQUIRE(kv.post("/keys/cmk1/wrapkey", {{"alg", "RSA-OAEP"}, {"value", "not*base64"}})->status ==
          400);
  REQUIRE(kv.post("/keys/cmk1/wrapkey", {{"value", base64url_encode(dek)}})->status == 400);
  auto bad_json = kv.vault()->Post("/keys/cmk1/wrapkey?api-version=7.4", kv.auth(), "{not json",
                                   "application/json");
  REQUIRE(bad_json->status == 400);
  REQUIRE(body(bad_json)["error"]["code"] == "BadParameter");
  REQUIRE(kv.post("/keys/cmk1/" + std::string(32, 'f') + "/unwrapkey",
                  {{"alg", "RSA-OAEP"}, {"value", wrapped["value"]}})
              ->status == 404);

  // Outside exp: wrap refused, unwrap still works.
  kv.vault()->Patch(
      "/keys/cmk1/?api-version=7.4", kv.auth(),
      json{{"attributes", {{"exp", to_unix_seconds(kv.emu->clock().now()) + 60}}}}.dump(),
      "application/json");
  kv.emu->clock().advance(std::chrono::minutes(2));
  auto expired =
      kv.post("/keys/cmk1/wrapkey", {{"alg", "RSA-OAEP"}, {"value", base64url_encode(dek)}});
  REQUIRE(expired->status == 403);
  REQUIRE(body(expired)["error"]["innererror"]["code"] == "KeyExpired");
  REQUIRE(body(expired)["error"]["message"] ==
          "Operation wrapKey is not allowed on an expired key.");
  REQUIRE(
      kv.post("/keys/cmk1/unwrapkey", {{"alg", "RSA-OAEP"}, {"value", wrapped["value"]}})->status ==
      200);

  // key_ops.
  kv.create("onlywrap", {{"kty", "RSA"}, {"key_ops", {"wrapKey", "unwrapKey"}}});
  auto forbidden =
      kv.post("/keys/onlywrap/sign", {{"alg", "RS256"}, {"value", base64url_encode(digest)}});
  REQUIRE(forbidden->status == 403);
  REQUIRE(body(forbidden)["error"]["innererror"]["code"] == "KeyOperationForbidden");
}

TEST_CASE("keys api: delete, deleted keys, recover, purge", "[keys]") {
  Kv kv;
  json k = kv.create("gone", {{"kty", "EC"}});
  auto del = kv.vault()->Delete("/keys/gone?api-version=7.4", kv.auth());
  json d = body(del);
  REQUIRE(del->status == 200);
  REQUIRE(d["recoveryId"] == "https://kv1.vault.azure.net/deletedkeys/gone");
  REQUIRE(d["scheduledPurgeDate"].get<int64_t>() - d["deletedDate"].get<int64_t>() == 90 * 86400);
  REQUIRE(d["key"]["kid"] == k["key"]["kid"]);

  auto reuse = kv.post("/keys/gone/create", {{"kty", "EC"}});
  REQUIRE(reuse->status == 409);
  REQUIRE(body(reuse)["error"]["code"] == "Conflict");
  REQUIRE(body(reuse)["error"]["innererror"]["code"] == "ObjectIsDeletedButRecoverable");

  REQUIRE(body(kv.get("/deletedkeys/gone"))["recoveryId"] == d["recoveryId"]);
  json listed = body(kv.get("/deletedkeys"));
  REQUIRE(listed["value"].size() == 1);
  REQUIRE(listed["value"][0]["kid"] == "https://kv1.vault.azure.net/keys/gone");
  REQUIRE(listed["value"][0]["recoveryId"] == d["recoveryId"]);

  auto recovered = kv.post("/deletedkeys/gone/recover", json::object());
  REQUIRE(recovered->status == 200);
  REQUIRE(body(recovered)["key"]["kid"] == k["key"]["kid"]);
  REQUIRE(kv.get("/keys/gone")->status == 200);

  kv.vault()->Delete("/keys/gone?api-version=7.4", kv.auth());
  auto purged = kv.vault()->Delete("/deletedkeys/gone?api-version=7.4", kv.auth());
  REQUIRE(purged->status == 204);
  REQUIRE(purged->body.empty());
  REQUIRE(kv.get("/deletedkeys/gone")->status == 404);

  // Purge protection refuses the purge.
  kv.make_vault("kvpp", {{"enablePurgeProtection", true}});
  kv.post("/keys/p/create", {{"kty", "EC"}}, "kvpp");
  REQUIRE(body(kv.get("/keys/p", "kvpp"))["attributes"]["recoveryLevel"] == "Recoverable");
  kv.vault("kvpp")->Delete("/keys/p?api-version=7.4", kv.auth());
  auto refused = kv.vault("kvpp")->Delete("/deletedkeys/p?api-version=7.4", kv.auth());
  REQUIRE(refused->status == 403);
  REQUIRE(body(refused)["error"]["code"] == "Forbidden");
  REQUIRE_THAT(
      body(refused)["error"]["message"].get<std::string>(),
      Catch::StartsWith("Operation \"purge\" is not allowed because purge protection is enabled"));
  // Retention on the virtual clock.
  kv.emu->clock().advance(std::chrono::hours(24 * 90));
  REQUIRE(kv.get("/deletedkeys/p", "kvpp")->status == 404);
}

TEST_CASE("keys api: backup, restore, rotate, rotation policy, import, rng, release", "[keys]") {
  Kv kv;
  json k = kv.create("b", {{"kty", "RSA"}});
  json blob = body(kv.post("/keys/b/backup", json::object()));
  REQUIRE(blob["value"].is_string());
  auto conflict = kv.post("/keys/restore", blob);
  REQUIRE(conflict->status == 409);
  kv.make_vault("kv2");
  auto restored = kv.post("/keys/restore", blob, "kv2");
  REQUIRE(restored->status == 200);
  REQUIRE(body(restored)["key"]["kid"] == "https://kv2.vault.azure.net/keys/b/" + version_of(k));
  REQUIRE(kv.post("/keys/restore", {{"value", base64url_encode("garbage")}})->status == 400);

  json rotated = body(kv.post("/keys/b/rotate", json::object()));
  REQUIRE(version_of(rotated) != version_of(k));
  REQUIRE(body(kv.get("/keys/b/versions"))["value"].size() == 2);

  json def = body(kv.get("/keys/b/rotationpolicy"));
  // The default policy of a key that never had one: no id, "attributes": null (Key Vault's answer).
  REQUIRE_FALSE(def.contains("id"));
  REQUIRE(def["attributes"].is_null());
  REQUIRE(def["lifetimeActions"][0]["action"]["type"] == "Notify");
  REQUIRE(def["lifetimeActions"][0]["trigger"]["timeBeforeExpiry"] == "P30D");
  json policy = {{"lifetimeActions",
                  {{{"trigger", {{"timeAfterCreate", "P90D"}}}, {"action", {{"type", "Rotate"}}}}}},
                 {"attributes", {{"expiryTime", "P2Y"}}}};
  auto set = kv.vault()->Put("/keys/b/rotationpolicy?api-version=7.4", kv.auth(), policy.dump(),
                             "application/json");
  json sj = body(set);
  REQUIRE(set->status == 200);
  REQUIRE(sj["lifetimeActions"][0]["trigger"]["timeAfterCreate"] == "P90D");
  REQUIRE(sj["attributes"]["expiryTime"] == "P2Y");
  REQUIRE(sj["attributes"]["created"].is_number_integer());
  auto bad_policy = kv.vault()->Put(
      "/keys/b/rotationpolicy?api-version=7.4", kv.auth(),
      R"({"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1D"},"action":{"type":"Rotate"}}]})",
      "application/json");
  REQUIRE(bad_policy->status == 400);
  kv.emu->clock().advance(std::chrono::hours(24 * 91));
  REQUIRE(body(kv.get("/keys/b/versions"))["value"].size() == 3);

  // Import a JWK with private parts (an EC key exported by OpenSSL).
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "prime256v1"));
  auto coord = [&](const char* param) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(mine.get(), param, &bn);
    std::string out(32, '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
    BN_clear_free(bn);
    return base64url_encode(out);
  };
  json jwk = {{"kty", "EC"},
              {"crv", "P-256"},
              {"x", coord("qx")},
              {"y", coord("qy")},
              {"d", coord("priv")}};
  auto imported = kv.vault()->Put("/keys/imp?api-version=7.4", kv.auth(), json{{"key", jwk}}.dump(),
                                  "application/json");
  json ij = body(imported);
  REQUIRE(imported->status == 200);
  REQUIRE(ij["key"]["x"] == jwk["x"]);
  REQUIRE_FALSE(ij["key"].contains("d"));
  REQUIRE(kv.vault()
              ->Put("/keys/imp2?api-version=7.4", kv.auth(),
                    R"({"key":{"kty":"EC","crv":"P-256"}})", "application/json")
              ->status == 400);

  json rng = body(kv.post("/rng", {{"count", 16}}));
  REQUIRE(base64url_decode(rng["value"].get<std::string>())->size() == 16);
  REQUIRE(kv.post("/rng", {{"count", 0}})->status == 400);
  REQUIRE(kv.post("/rng", {{"count", 129}})->status == 400);

  auto release = kv.post("/keys/b/release", {{"target", "eyJ"}});
  REQUIRE(release->status == 400);
  REQUIRE_THAT(body(release)["error"]["message"].get<std::string>(),
               Catch::Contains("attestation"));
}

TEST_CASE("keys api: api-version, unknown routes and methods", "[keys]") {
  Kv kv;
  auto none = kv.vault()->Get("/keys", kv.auth());
  REQUIRE(none->status == 400);
  REQUIRE(body(none)["error"]["code"] == "BadParameter");
  REQUIRE(kv.vault()->Get("/keys?api-version=1999-01-01", kv.auth())->status == 200);  // lenient
  auto wrong_method = kv.vault()->Delete("/keys/cmk1/create?api-version=7.4", kv.auth());
  REQUIRE(wrong_method->status == 405);
  REQUIRE(wrong_method->get_header_value("Allow") == "POST");
  auto unknown = kv.vault()->Get("/storage/x?api-version=7.4", kv.auth());
  REQUIRE(unknown->status == 404);
  REQUIRE(body(unknown)["error"]["code"] == "NotFound");
  // Node sends api%2Dversion.
  REQUIRE(kv.vault()->Get("/keys?api%2Dversion=2025-07-01", kv.auth())->status == 200);

  Kv strict(true);
  auto refused = strict.vault()->Get("/keys?api-version=1999-01-01", strict.auth());
  REQUIRE(refused->status == 400);
  REQUIRE(body(refused)["error"]["message"] ==
          "The specified version (1999-01-01) is not recognized. Consider using the latest "
          "supported version (2026-04-01).");
  REQUIRE(strict.vault()->Get("/keys?api-version=7.4-preview.1", strict.auth())->status == 200);
}

TEST_CASE("keys api: a purged vault takes its keys with it", "[keys]") {
  Kv kv;
  kv.make_vault("kvtmp");
  kv.post("/keys/k/create", {{"kty", "EC"}}, "kvtmp");
  REQUIRE(kv.arm->Delete(kv.vault_id("kvtmp") + "?api-version=2022-07-01", kv.arm_auth)->status ==
          200);
  REQUIRE(kv.get("/keys/k", "kvtmp")->status == 404);  // the vault is gone (soft-deleted)
  auto purge = kv.arm->Post(std::string("/subscriptions/") + test::kSubscription +
                                "/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/"
                                "kvtmp/purge?api-version=2022-07-01",
                            kv.arm_auth, "", "application/json");
  REQUIRE((purge->status == 200 || purge->status == 202));  // 202: purging is long-running
  kv.emu->clock().advance(std::chrono::seconds(5));         // the purge falls due
  kv.make_vault("kvtmp");
  auto after = kv.get("/keys/k", "kvtmp");
  REQUIRE(after->status == 404);
  REQUIRE(body(after)["error"]["code"] == "KeyNotFound");
}

TEST_CASE("keys api: https://localhost serves the only vault, challenge for vault.azure.net",
          "[keys]") {
  Kv kv;
  // The challenge: no parent domain to name, so Key Vault's own resource (clients disable the
  // resource check there).
  auto challenge = kv.on_localhost("POST", "/keys/cmk1/create", "", "-");
  REQUIRE(challenge->status == 401);
  REQUIRE(challenge->get_header_value("WWW-Authenticate") ==
          std::string("Bearer authorization=\"https://login.microsoftonline.com/") + test::kTenant +
              "\", resource=\"https://vault.azure.net\"");
  // kids carry the host the request came in on, so clients built on them stay on localhost.
  auto created = kv.on_localhost("POST", "/keys/cmk1/create", R"({"kty":"RSA","key_size":2048})");
  REQUIRE(created->status == 200);
  const json bundle = body(created);
  REQUIRE_THAT(bundle["key"]["kid"].get<std::string>(),
               Catch::StartsWith("https://" + kv.localhost() + "/keys/cmk1/"));
  // The same key as kv1's host name shows.
  REQUIRE(body(kv.get("/keys/cmk1"))["key"]["n"] == bundle["key"]["n"]);
  auto wrapped = kv.on_localhost("POST", "/keys/cmk1/" + version_of(bundle) + "/wrapKey",
                                 json{{"alg", "RSA-OAEP"}, {"value", "AAEC"}}.dump());
  REQUIRE(wrapped->status == 200);
  REQUIRE_THAT(body(wrapped)["kid"].get<std::string>(),
               Catch::StartsWith("https://" + kv.localhost() + "/keys/"));
  // 127.0.0.1 as the client's host works the same way.
  auto by_ip = test::https_client(*kv.emu)->Get("/keys?api-version=7.4", kv.auth());
  REQUIRE(by_ip->status == 200);
  REQUIRE_THAT(body(by_ip)["value"][0]["kid"].get<std::string>(),
               Catch::StartsWith("https://127.0.0.1:" + std::to_string(kv.emu->https_port()) +
                                 "/keys/cmk1"));

  // An ARM token stays an ARM token there, even one for https://localhost:<port> itself.
  auto arm_token =
      kv.on_localhost("GET", "/keys", "", test::app_token(*kv.emu, "https://" + kv.localhost()));
  REQUIRE(arm_token->status == 401);
  REQUIRE_THAT(body(arm_token)["error"]["message"].get<std::string>(),
               Catch::StartsWith("AKV10022"));
  // ARM is still ARM on localhost, and other Key Vault collections answer in Key Vault's shape.
  auto arm =
      kv.arm->Get(std::string("/subscriptions/") + test::kSubscription + "?api-version=2022-12-01",
                  kv.arm_auth);
  REQUIRE(arm->status == 200);
  auto storage = kv.on_localhost("GET", "/storage/s1");
  REQUIRE(storage->status == 404);
  REQUIRE(body(storage)["error"]["code"] == "NotFound");
}

TEST_CASE("keys api: https://localhost with no vault, several vaults, --localhost-vault",
          "[keys]") {
  SECTION("several vaults and no --localhost-vault: 400 naming them and how to choose") {
    Kv kv;
    kv.make_vault("kv2");
    auto r = kv.on_localhost("GET", "/keys", "", "-");  // before the challenge: no vault, no tenant
    REQUIRE(r->status == 400);
    REQUIRE(body(r)["error"]["code"] == "BadParameter");
    const std::string message = body(r)["error"]["message"];
    INFO(message);
    REQUIRE_THAT(message, Catch::StartsWith("2 vaults exist (kv1, kv2)"));
    REQUIRE_THAT(message, Catch::Contains("https://<vault>.vault.localhost:" +
                                          std::to_string(kv.emu->https_port())));
    REQUIRE_THAT(message, Catch::Contains("--localhost-vault <vault>"));
  }
  SECTION("no live vault: 404 VaultNotFound") {
    Kv kv;
    REQUIRE(kv.arm->Delete(kv.vault_id("kv1") + "?api-version=2022-07-01", kv.arm_auth)->status ==
            200);
    auto r = kv.on_localhost("GET", "/keys");
    REQUIRE(r->status == 404);
    REQUIRE(body(r)["error"]["code"] == "VaultNotFound");
    REQUIRE_THAT(body(r)["error"]["message"].get<std::string>(),
                 Catch::Contains("--localhost-vault"));
  }
  SECTION("--localhost-vault picks one of several") {
    Kv kv(false, "kv2");
    kv.make_vault("kv2");
    kv.make_vault("kv3");
    REQUIRE(kv.on_localhost("POST", "/keys/only-in-kv2/create", R"({"kty":"EC"})")->status == 200);
    REQUIRE(kv.get("/keys/only-in-kv2", "kv2")->status == 200);
    REQUIRE(kv.get("/keys/only-in-kv2", "kv1")->status == 404);
  }
  SECTION("--localhost-vault naming no vault: 404 VaultNotFound") {
    Kv kv(false, "nosuch");
    auto r = kv.on_localhost("GET", "/keys");
    REQUIRE(r->status == 404);
    REQUIRE(body(r)["error"]["code"] == "VaultNotFound");
    REQUIRE_THAT(body(r)["error"]["message"].get<std::string>(), Catch::Contains("'nosuch'"));
  }
}

TEST_CASE("keys api: each api-version answers its own attributes and Key Vault's headers",
          "[keys]") {
  Kv kv;
  auto create = [&](const std::string& api) {
    auto r = kv.vault()->Post("/keys/k/create?api-version=" + api, kv.auth(), R"({"kty":"RSA"})",
                              "application/json");
    REQUIRE(r->status == 200);
    return body(r)["attributes"];
  };
  json v70 = create("7.0");
  REQUIRE_FALSE(v70.contains("recoverableDays"));
  REQUIRE_FALSE(v70.contains("exportable"));
  json v73 = create("7.3");
  REQUIRE(v73["recoverableDays"] == 90);
  REQUIRE_FALSE(v73.contains("exportable"));
  json v74 = create("7.4-preview.1");
  REQUIRE(v74["exportable"] == false);
  REQUIRE_FALSE(v74.contains("hsmPlatform"));
  REQUIRE(create("7.5-preview.1")["hsmPlatform"] == "0");
  REQUIRE(create("2025-07-01")["hsmPlatform"] == "0");
  json listed = body(kv.vault()->Get("/keys/k/versions?api-version=2016-10-01", kv.auth()));
  REQUIRE_FALSE(listed["value"][0]["attributes"].contains("recoverableDays"));

  auto challenge = kv.vault()->Get("/keys?api-version=7.6");
  REQUIRE(challenge->status == 401);
  for (const char* h :
       {"x-ms-keyvault-region", "x-ms-keyvault-service-version", "x-ms-keyvault-network-info",
        "Expires", "Pragma", "Strict-Transport-Security"})
    REQUIRE(challenge->has_header(h));
  REQUIRE(challenge->get_header_value("Strict-Transport-Security") ==
          "max-age=31536000;includeSubDomains");
}

TEST_CASE("keys api: a Key Vault JSON answer replaces invalid UTF-8 instead of failing",
          "[keys][api]") {
  // Text a client cannot send as JSON can still reach an answer (an imported certificate's
  // names are bytes); serialising it must not throw.
  nlohmann::json body = {{"subject", std::string("CN=a\xff\xfe")}};
  http::Response res;
  REQUIRE_NOTHROW(res = cmk::keyvault_data::kv_json_response(200, body));
  CHECK(res.status == 200);
  CHECK(res.body == "{\"subject\":\"CN=a\xEF\xBF\xBD\xEF\xBF\xBD\"}");
}
