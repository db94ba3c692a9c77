// The request journal (journal/, issue 7): the ring and its filters, redaction on its own, and
// end to end: what real traffic leaves in GET /_emulator/requests, with bodies on, holds no
// secret, token or key material.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "journal/journal.h"
#include "journal/redaction.h"
#include "test_support.h"

using namespace cmk;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

journal::Record record(std::string method, std::string path, int status, TimePoint t,
                       std::string surface = "arm") {
  journal::Record r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.status = status;
  r.time = t;
  r.surface = std::move(surface);
  r.host = "management.azure.com";
  return r;
}

journal::Query query(const json& j, TimePoint now = from_unix_seconds(1'700'000'100)) {
  auto q = journal::Query::from_json(j, now);
  INFO(q.status().message());
  REQUIRE(q.is_ok());
  return q.value();
}

std::vector<uint64_t> seqs(const std::vector<journal::Record>& rs) {
  std::vector<uint64_t> out;
  for (const auto& r : rs) out.push_back(r.seq);
  return out;
}

}  // namespace

TEST_CASE("journal: a bounded ring with filters", "[journal]") {
  journal::Journal j(4);
  const TimePoint t0 = from_unix_seconds(1'700'000'000);
  j.record(record("GET", "/subscriptions/s/resourceGroups/a", 200, t0));
  j.record(record("PUT", "/subscriptions/s/resourceGroups/b", 201, t0 + std::chrono::seconds(10)));
  j.record(record("GET", "/keys/k", 404, t0 + std::chrono::seconds(20), "keyvault"));
  auto faulted =
      record("POST", "/keys/k/v/unwrapkey", 503, t0 + std::chrono::seconds(30), "keyvault");
  faulted.fault = "down: status 503";
  faulted.emulator_caller =
      "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kusto/clusters/c1";
  j.record(faulted);
  j.record(
      record("DELETE", "/subscriptions/s/resourceGroups/b", 202, t0 + std::chrono::seconds(40)));
  CHECK(j.size() == 4);  // the first fell out
  CHECK(j.total_recorded() == 5);

  CHECK(seqs(j.find(query(json::object()))) == std::vector<uint64_t>{2, 3, 4, 5});
  CHECK(seqs(j.find(query({{"method", "get"}}))) == std::vector<uint64_t>{3});
  CHECK(seqs(j.find(query({{"path", "/subscriptions/*/resourcegroups/b"}}))) ==
        std::vector<uint64_t>{2, 5});
  CHECK(seqs(j.find(query({{"status", "4xx"}}))) == std::vector<uint64_t>{3});
  CHECK(seqs(j.find(query({{"status", 503}}))) == std::vector<uint64_t>{4});
  CHECK(seqs(j.find(query({{"status", "201"}}))) == std::vector<uint64_t>{2});
  CHECK(seqs(j.find(query({{"surface", "keyvault"}}))) == std::vector<uint64_t>{3, 4});
  CHECK(seqs(j.find(query({{"faulted", "true"}}))) == std::vector<uint64_t>{4});
  CHECK(seqs(j.find(query({{"faulted", false}}))) == std::vector<uint64_t>{2, 3, 5});
  CHECK(seqs(j.find(query({{"caller", "*"}}))) == std::vector<uint64_t>{4});
  CHECK(seqs(j.find(query({{"since", "2023-11-14T22:13:41Z"}}))) == std::vector<uint64_t>{4, 5});
  CHECK(seqs(j.find(query({{"since", "now-70s"}}))) ==
        std::vector<uint64_t>{4, 5});  // now = t0 + 100 s
  CHECK(seqs(j.find(query({{"after", "3"}}))) == std::vector<uint64_t>{4, 5});
  CHECK(seqs(j.find(query({{"limit", 2}}))) ==
        std::vector<uint64_t>{4, 5});  // the newest, oldest first
  // Paging back: the newest page, then the page before its oldest record.
  CHECK(seqs(j.find(query({{"before", "4"}, {"limit", 2}}))) == std::vector<uint64_t>{2, 3});
  CHECK(seqs(j.find(query({{"before", 2}}))).empty());
  CHECK(j.count(query({{"surface", "arm"}})) == 2);

  for (const json& bad :
       {json{{"status", "4yy"}}, json{{"since", "yesterday"}}, json{{"limit", 0}},
        json{{"colour", "red"}}, json{{"faulted", "maybe"}}, json{{"before", "-1"}}}) {
    INFO(bad.dump());
    CHECK_FALSE(journal::Query::from_json(bad, t0).is_ok());
  }
  CHECK_THAT(journal::Query::from_json({{"colour", "red"}}, t0).status().message(),
             Contains("'colour'"));

  j.clear();
  CHECK(j.size() == 0);
  journal::Journal none(0);
  none.record(record("GET", "/", 200, t0));
  CHECK(none.size() == 0);
}

TEST_CASE("journal: redaction of bodies and query strings", "[journal]") {
  const std::string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz";
  const std::string redacted = journal::redact_body(
      json{{"access_token", jwt},
           {"token_type", "Bearer"},
           {"error", {{"code", "Forbidden"}, {"message", "ok to keep"}}},
           {"key",
            {{"kty", "RSA"}, {"n", "public-modulus"}, {"d", "PRIVATE-D"}, {"dp", "PRIVATE-DP"}}},
           {"value", "PLAINTEXT-CEK"},
           {"list", json::array({{{"value", "SECRET-IN-LIST"}}})},
           {"note", "Bearer " + jwt},
           {"pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}}
          .dump(),
      "application/json; charset=utf-8");
  for (const std::string& secret :
       {jwt, std::string("PRIVATE-D"), std::string("PRIVATE-DP"), std::string("PLAINTEXT-CEK"),
        std::string("SECRET-IN-LIST"), std::string("MIIE")}) {
    INFO(secret);
    CHECK(redacted.find(secret) == std::string::npos);
  }
  const json kept = json::parse(redacted);
  CHECK(kept["token_type"] == "Bearer");
  CHECK(kept["error"]["code"] == "Forbidden");
  CHECK(kept["key"]["n"] == "public-modulus");
  CHECK(kept["access_token"] == "<redacted>");

  const std::string form = journal::redact_body(
      "grant_type=client_credentials&client_id=app&client_secret=s3cr%2Ft&scope=https%3A%2F%2Fx%2F."
      "default",
      "application/x-www-form-urlencoded");
  CHECK(form.find("s3cr") == std::string::npos);
  CHECK_THAT(form, Contains("client_id=app"));
  CHECK_THAT(form, Contains("client_secret=<redacted>"));
  CHECK_THAT(form, Contains("grant_type=client_credentials"));

  CHECK(journal::redact_query("api-version=7.4&client_secret=abc&x=" + jwt) ==
        "api-version=7.4&client_secret=<redacted>&x=<redacted>");
  CHECK(journal::redact_body("\x01\x02"
                             "binary",
                             "application/octet-stream") ==
        "<8 bytes of application/octet-stream>");
  CHECK(journal::redact_body("", "application/json").empty());
}

TEST_CASE("journal: real traffic, bodies on: nothing secret comes back out", "[journal]") {
  auto o = test::test_options();
  o.rsa_key_pool_size = 0;
  o.journal_bodies = true;
  auto emu = test::start_emulator(o);
  auto https = test::https_client(*emu);
  auto admin = test::http_client(*emu);

  // A client-credentials sign-in over HTTP: the secret goes in, the token comes out.
  auto login = https->Post(std::string("/") + test::kTenant + "/oauth2/v2.0/token",
                           test::form({{"grant_type", "client_credentials"},
                                       {"client_id", test::kSpAppId},
                                       {"client_secret", test::kSpSecret},
                                       {"scope", "https://management.azure.com/.default"}}),
                           "application/x-www-form-urlencoded");
  REQUIRE(login->status == 200);
  const std::string arm_token = json::parse(login->body)["access_token"];
  httplib::Headers arm_auth{{"Authorization", "Bearer " + arm_token}};
  const std::string rg =
      std::string("/subscriptions/") + test::kSubscription + "/resourceGroups/rg1";
  REQUIRE(https
              ->Put(rg + "?api-version=2021-04-01", arm_auth, R"({"location":"westeurope"})",
                    "application/json")
              ->status == 201);
  const json vault = {
      {"location", "westeurope"},
      {"properties",
       {{"tenantId", test::kTenant},
        {"sku", {{"family", "A"}, {"name", "standard"}}},
        {"accessPolicies", json::array({{{"tenantId", test::kTenant},
                                         {"objectId", test::kSpObjectId},
                                         {"permissions", {{"keys", {"all"}}}}}})}}}};
  REQUIRE(https
              ->Put(rg + "/providers/Microsoft.KeyVault/vaults/kvj?api-version=2023-07-01",
                    arm_auth, vault.dump(), "application/json")
              ->status == 200);  // Azure: 200 for a new vault

  // Key Vault: create, wrap, unwrap, import a private key.
  auto kv = test::proxied_client(*emu, "kvj.vault.azure.net");
  const std::string kv_token = test::app_token(*emu, "https://vault.azure.net");
  httplib::Headers kv_auth{{"Authorization", "Bearer " + kv_token}};
  REQUIRE(kv->Post("/keys/k/create?api-version=7.4", kv_auth, R"({"kty":"RSA","key_size":2048})",
                   "application/json")
              ->status == 200);
  const std::string plaintext = base64url_encode(std::string(32, '\x5a'));
  auto wrapped =
      kv->Post("/keys/k/wrapkey?api-version=7.4", kv_auth,
               json{{"alg", "RSA-OAEP"}, {"value", plaintext}}.dump(), "application/json");
  REQUIRE(wrapped->status == 200);
  const std::string wrapped_value = json::parse(wrapped->body)["value"];
  auto unwrapped =
      kv->Post("/keys/k/unwrapkey?api-version=7.4", kv_auth,
               json{{"alg", "RSA-OAEP"}, {"value", wrapped_value}}.dump(), "application/json");
  REQUIRE(json::parse(unwrapped->body)["value"] == plaintext);
  const std::string d = base64url_encode(std::string(32, '\x07'));
  const json ec = {{"kty", "EC"},
                   {"crv", "P-256"},
                   {"x", "YBLWg0jN0wE7hFdCx7H5cBVsVhNzITbN9tQ_8Og5Ckw"},
                   {"y", "FyR9e7OSW3BR6hiaIupwBD2sBfgv-L53ZWMn0tsXDro"},
                   {"d", d}};
  kv->Put("/keys/imported?api-version=7.4", kv_auth, json{{"key", ec}}.dump(), "application/json");

  auto dump = admin->Get("/_emulator/requests?limit=1000");
  REQUIRE(dump->status == 200);
  const std::string text = dump->body;
  for (const std::string& secret :
       {std::string(test::kSpSecret), arm_token, kv_token, arm_token.substr(0, 40),
        kv_token.substr(kv_token.size() - 40), plaintext, wrapped_value, d}) {
    INFO(secret.substr(0, 60));
    CHECK(text.find(secret) == std::string::npos);
  }
  // Bodies are there, just without the secrets.
  const json all = json::parse(text)["value"];
  bool saw_create = false, saw_login = false;
  for (const auto& r : all) {
    if (r["path"] == "/keys/k/create")
      saw_create = r["requestBody"].get<std::string>().find("key_size") != std::string::npos;
    if (r["surface"] == "login")
      saw_login = r["requestBody"].get<std::string>().find("client_secret=<redacted>") !=
                      std::string::npos &&
                  r["responseBody"].get<std::string>().find("\"access_token\":\"<redacted>\"") !=
                      std::string::npos;
    CHECK(r["principal"].is_null() == (r["surface"] == "login" || r["status"] == 401));
  }
  CHECK(saw_create);
  CHECK(saw_login);

  // Admin calls are not journaled; count and clear.
  const size_t before = json::parse(admin->Get("/_emulator/requests")->body)["total"];
  admin->Get("/_emulator/health");
  CHECK(json::parse(admin->Get("/_emulator/requests")->body)["total"] == before);
  auto count = admin->Post("/_emulator/requests/count",
                           R"({"surface":"keyvault","path":"/keys/k/*"})", "application/json");
  CHECK(json::parse(count->body)["count"] == 3);  // create, wrapkey, unwrapkey
  auto bad = admin->Get("/_emulator/requests?status=teapot");
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["error"]["code"] == "InvalidFilter");
  CHECK(admin->Delete("/_emulator/requests")->status == 200);
  CHECK(json::parse(admin->Get("/_emulator/requests")->body)["total"] == 0);
}
