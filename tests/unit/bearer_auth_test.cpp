// Bearer-token validation on ARM (emulator/entra/bearer_auth.h): ARM's 401 shapes with their
// WWW-Authenticate challenge, the exempt paths, the principal handed to handlers, expiry on the
// real clock (not the virtual one) and revocation.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "entra/bearer_auth.h"
#include "entra/jwt.h"
#include "entra/signing_key.h"
#include "http/error_bodies.h"
#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {

const char* kArmPath = "/subscriptions?api-version=2022-12-01";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

httplib::Result arm_get(Emulator& emu, const std::string& token) {
  httplib::Headers h = {{"Host", "management.azure.com"}};
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return test::https_client(emu)->Get(kArmPath, h);
}

// A 401 in ARM's shape: code, and the challenge ARM sends with it.
void require_arm_401(const httplib::Result& r, const std::string& code) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 401);
  json b = json::parse(r->body);
  REQUIRE(b["error"]["code"] == code);
  REQUIRE(b["error"]["message"].is_string());
  const std::string challenge = r->get_header_value("WWW-Authenticate");
  REQUIRE(challenge.rfind("Bearer authorization_uri=\"https://login.windows.net/\", "
                          "error=\"invalid_token\", error_description=\"",
                          0) == 0);
  REQUIRE(challenge.back() == '"');
  REQUIRE(!r->get_header_value("x-ms-request-id").empty());
}

// Passes the ARM checks: the request reached the ARM handlers (GET /subscriptions answers 200).
void require_admitted(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  REQUIRE(json::parse(r->body)["value"].is_array());
}

// Claims like the emulator's, for tokens the tests sign themselves.
json claims(int64_t iat, int64_t exp, const std::string& aud = "https://management.azure.com/") {
  return {{"aud", aud},
          {"iss", entra::v1_issuer(test::kTenant)},
          {"iat", iat},
          {"nbf", iat},
          {"exp", exp},
          {"tid", test::kTenant},
          {"oid", test::kSpObjectId},
          {"appid", test::kSpAppId},
          {"idtyp", "app"},
          {"ver", "1.0"}};
}

std::string sign(const json& payload, const entra::SigningKey& key) {
  auto t = entra::sign_rs256({{"kid", key.kid()}, {"x5t", key.x5t()}}, payload, key.pkey());
  REQUIRE(t.is_ok());
  return *t;
}

}  // namespace

TEST_CASE("auth: ARM refuses requests without a valid bearer token", "[auth]") {
  auto emu = test::start_emulator();

  SECTION("no Authorization header") {
    auto r = arm_get(*emu, "");
    require_arm_401(r, "AuthenticationFailed");
    REQUIRE(json::parse(r->body)["error"]["message"] ==
            "Authentication failed. The 'Authorization' header is missing.");
    REQUIRE(r->get_header_value("WWW-Authenticate").find("missing 'Authorization' header") !=
            std::string::npos);
  }
  SECTION("another scheme, or an empty bearer") {
    auto basic = test::https_client(*emu)->Get(kArmPath, {{"Authorization", "Basic dTpw"}});
    require_arm_401(basic, "AuthenticationFailed");
    auto empty = test::https_client(*emu)->Get(kArmPath, {{"Authorization", "Bearer "}});
    require_arm_401(empty, "AuthenticationFailed");
  }
  SECTION("garbage") {
    require_arm_401(arm_get(*emu, "garbage"), "InvalidAuthenticationToken");
    require_arm_401(arm_get(*emu, "a.b.c"), "InvalidAuthenticationToken");
  }
  SECTION("signed by another key") {
    static const entra::SigningKey stranger = *entra::SigningKey::generate();
    const int64_t now = unix_now();
    require_arm_401(arm_get(*emu, sign(claims(now, now + 3600), stranger)),
                    "InvalidAuthenticationToken");
    // Even when it claims the emulator's key id.
    auto forged = entra::sign_rs256({{"kid", emu->token_service().signing_key().kid()}},
                                    claims(now, now + 3600), stranger.pkey());
    require_arm_401(arm_get(*emu, *forged), "InvalidAuthenticationToken");
  }
  SECTION("expired (a token the test signs with the emulator's key)") {
    const int64_t now = unix_now();
    auto r = arm_get(*emu, sign(claims(now - 7200, now - 3600), emu->token_service().signing_key()));
    require_arm_401(r, "ExpiredAuthenticationToken");
  }
  SECTION("wrong audience: a Key Vault token") {
    auto r = arm_get(*emu, test::app_token(*emu, "https://vault.azure.net"));
    require_arm_401(r, "InvalidAuthenticationTokenAudience");
    REQUIRE(json::parse(r->body)["error"]["message"] ==
            "The access token has been obtained for wrong audience or resource "
            "'https://vault.azure.net'. It should exactly match with one of the allowed audiences "
            "'https://management.core.windows.net/','https://management.core.windows.net',"
            "'https://management.azure.com/','https://management.azure.com'.");
  }
  SECTION("a tenant the emulator does not know") {
    // Non-strict mode hands out tokens for unknown tenant ids; ARM does not take them.
    entra::TokenRequest req;
    req.endpoint = entra::TokenEndpoint::V2;
    req.tenant = "0f0f0f0f-0000-4000-8000-000000000009";
    req.grant_type = "client_credentials";
    req.client.client_id = "99999999-0000-0000-0000-000000000009";
    req.client.client_secret = "x";
    req.scope = "https://management.azure.com/.default";
    auto t = emu->token_service().token(req);
    REQUIRE(t.is_ok());
    require_arm_401(arm_get(*emu, t->access_token), "InvalidAuthenticationTokenTenant");
  }
}

TEST_CASE("auth: valid tokens from every endpoint are admitted", "[auth]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  const std::string t = "/" + std::string(test::kTenant);
  auto token_from = [&](const std::string& path, const std::string& field, const std::string& value) {
    auto r = cli->Post(path,
                       test::form({{"grant_type", "client_credentials"},
                                   {"client_id", test::kSpAppId},
                                   {"client_secret", test::kSpSecret},
                                   {field, value}}),
                       "application/x-www-form-urlencoded");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body)["access_token"].get<std::string>();
  };
  // The four management audiences.
  require_admitted(arm_get(*emu, token_from(t + "/oauth2/v2.0/token", "scope",
                                            "https://management.core.windows.net//.default")));
  require_admitted(arm_get(*emu, token_from(t + "/oauth2/v2.0/token", "scope",
                                            "https://management.azure.com/.default")));
  require_admitted(arm_get(*emu, token_from(t + "/oauth2/token", "resource",
                                            "https://management.core.windows.net")));
  require_admitted(arm_get(*emu, token_from("/adfs/oauth2/token", "scope",
                                            "https://management.azure.com//.default")));
  // "bearer" in any case.
  auto lower = cli->Get(kArmPath, {{"Authorization", "bearer " + test::app_token(*emu)}});
  require_admitted(lower);
}

TEST_CASE("auth: /metadata/endpoints and the other surfaces need no token", "[auth]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto meta = cli->Get("/metadata/endpoints?api-version=2022-09-01",
                       {{"Host", "management.azure.com"}});
  REQUIRE(meta);
  REQUIRE(meta->status != 401);
  auto doubled = cli->Get("//metadata/endpoints?api-version=2015-01-01");  // az's form
  REQUIRE(doubled->status != 401);
  REQUIRE(cli->Get("/common/discovery/keys")->status == 200);
  REQUIRE(cli->Get("/_emulator/health", {{"Host", "management.azure.com"}})->status == 200);
  // Not exempt: a POST there, or a longer path.
  REQUIRE(cli->Post("/metadata/endpoints", "", "application/json")->status == 401);
  REQUIRE(cli->Get("/metadata/endpoints/x")->status == 401);
}

TEST_CASE("auth: the filter hands the token's principal to the handlers", "[auth]") {
  auto emu = test::start_emulator();
  entra::BearerAuthFilter filter([&]() -> const entra::TokenService* { return &emu->token_service(); });
  http::Request req;
  req.method = "GET";
  req.path = "/subscriptions";
  req.segments = {"subscriptions"};
  req.surface = http::Surface::Arm;

  SECTION("a service principal") {
    req.headers.emplace("Authorization", "Bearer " + test::app_token(*emu));
    REQUIRE_FALSE(filter.before(req).has_value());
    REQUIRE(req.principal.has_value());
    REQUIRE(req.principal->tenant_id == test::kTenant);
    REQUIRE(req.principal->object_id == test::kSpObjectId);
    REQUIRE(req.principal->app_id == test::kSpAppId);
    REQUIRE(req.principal->idtyp == "app");
    REQUIRE(req.principal->audience == "https://management.azure.com/");
    REQUIRE(req.principal->issuer == entra::v1_issuer(test::kTenant));
    REQUIRE(req.principal->xms_mirid.empty());
  }
  SECTION("a managed identity carries its resource id") {
    auto mi = *emu->directory().find_managed_identity_by_resource_id(
        emu->msi_settings().default_host_identity());
    auto t = emu->token_service().issue_managed_identity_token(mi, "https://management.azure.com");
    REQUIRE(t.is_ok());
    req.headers.emplace("Authorization", "Bearer " + t->access_token);
    REQUIRE_FALSE(filter.before(req).has_value());
    REQUIRE(req.principal->xms_mirid == mi.resource_id);
    REQUIRE(req.principal->object_id == mi.principal_id);
  }
  SECTION("a refused request has no principal, whatever was there before") {
    req.principal = http::Principal{test::kTenant, "forged", "", "", "", "", "", {}};
    auto res = filter.before(req);
    REQUIRE(res.has_value());
    REQUIRE(res->status == 401);
    REQUIRE_FALSE(req.principal.has_value());
  }
  SECTION("other surfaces pass untouched") {
    req.surface = http::Surface::KeyVault;
    REQUIRE_FALSE(filter.before(req).has_value());
    REQUIRE_FALSE(req.principal.has_value());
  }
}

TEST_CASE("auth: tokens live on the real clock, not the virtual one", "[auth][clock]") {
  auto emu = test::start_emulator();
  const std::string token = test::app_token(*emu);
  require_admitted(arm_get(*emu, token));
  auto r = test::https_client(*emu)->Post("/_emulator/clock/advance", R"({"days": 30})",
                                          "application/json");
  REQUIRE(r->status == 200);
  REQUIRE(emu->clock().offset() >= std::chrono::hours(24 * 30));
  require_admitted(arm_get(*emu, token));
  // And tokens issued now are stamped with real time, so they work as well.
  require_admitted(arm_get(*emu, test::app_token(*emu)));
}

TEST_CASE("auth: a short token lifetime expires tokens", "[auth][slow]") {
  auto opts = test::test_options();
  opts.token_lifetime = std::chrono::seconds(1);
  opts.token_clock_skew = std::chrono::seconds(0);
  auto emu = test::start_emulator(opts);
  auto r = test::http_client(*emu)->Get(
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/",
      {{"Metadata", "true"}});
  REQUIRE(r->status == 200);
  REQUIRE(json::parse(r->body)["expires_in"] == "1");
  const std::string token = json::parse(r->body)["access_token"];
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto expired = arm_get(*emu, token);
  require_arm_401(expired, "ExpiredAuthenticationToken");
  REQUIRE(json::parse(expired->body)["error"]["message"].get<std::string>().find("expired") !=
          std::string::npos);
}

TEST_CASE("auth: revoking tokens through the admin API", "[auth][admin]") {
  auto emu = test::start_emulator();
  const std::string before = test::app_token(*emu);
  require_admitted(arm_get(*emu, before));

  auto r = test::http_client(*emu)->Post("/_emulator/tokens/revoke", "", "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto b = json::parse(r->body);
  REQUIRE(b["revoked"] == true);
  REQUIRE(b["iat_cutoff"].get<int64_t>() > 0);

  auto refused = arm_get(*emu, before);
  require_arm_401(refused, "InvalidAuthenticationToken");
  REQUIRE(json::parse(refused->body)["error"]["message"].get<std::string>().find("revoked") !=
          std::string::npos);
  // Tokens issued afterwards work.
  require_admitted(arm_get(*emu, test::app_token(*emu)));
}

TEST_CASE("auth: Key Vault's challenge names the vault's parent domain", "[auth][keyvault]") {
  // Built now for the Key Vault data plane.
  http::Request req;
  req.host = "kv1.vault.localhost";
  req.port = 8443;
  http::Response local = http::keyvault_challenge(req, test::kTenant);
  REQUIRE(local.status == 401);
  REQUIRE(*local.header("WWW-Authenticate") ==
          "Bearer authorization=\"https://login.microsoftonline.com/" + std::string(test::kTenant) +
              "\", resource=\"https://vault.localhost:8443\"");
  json b = json::parse(local.body);
  REQUIRE(b["error"]["code"] == "Unauthorized");
  REQUIRE(b["error"]["message"] == "AKV10000: Request is missing a Bearer or PoP token.");
  req.host = "kv1.vault.azure.net";
  req.port = 443;
  REQUIRE(http::keyvault_challenge(req, test::kTenant).header("WWW-Authenticate")->find(
              "resource=\"https://vault.azure.net\"") != std::string::npos);
}
