// The Entra ID HTTP surface (emulator/entra/login_api.h) end to end: discovery, JWKS, instance
// discovery and the token endpoints, over real TLS, directly and through the proxy front door.
#include <catch2/catch.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "entra/jwt.h"
#include "entra/signing_key.h"
#include "jwk_public_key.h"
#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {

const char* kForm = "application/x-www-form-urlencoded";
const char* kAzScope = "https://management.core.windows.net//.default";

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  return json::parse(r->body);
}

// The unverified payload of a JWT, as a client reads it.
json payload_of(const std::string& token) {
  auto jwt = entra::decode_jwt(token);
  REQUIRE(jwt.is_ok());
  return jwt->payload;
}

void require_entra_error(const httplib::Result& r, int status, const std::string& error, int code) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == status);
  json b = json::parse(r->body);
  REQUIRE(b["error"] == error);
  REQUIRE(b["error_codes"] == json::array({code}));
  const std::string description = b["error_description"];
  REQUIRE(description.rfind("AADSTS" + std::to_string(code) + ": ", 0) == 0);
  // The code appears once: the adapter does not repeat the domain's prefix.
  REQUIRE(description.find("AADSTS", 1) == std::string::npos);
  REQUIRE(description.find("\r\nTrace ID: ") != std::string::npos);
  REQUIRE(b["correlation_id"] == r->get_header_value("x-ms-correlation-request-id"));
  REQUIRE(b["trace_id"].is_string());
  REQUIRE(b["timestamp"].is_string());
  REQUIRE(b["error_uri"].is_string());
}

std::string tenant_path(const std::string& rest) {
  return "/" + std::string(test::kTenant) + rest;
}

std::string base_of(const Emulator& emu) {
  return "https://127.0.0.1:" + std::to_string(emu.https_port());
}

httplib::Result post_token(httplib::SSLClient& cli, const std::string& path,
                           const std::string& body, const httplib::Headers& headers = {}) {
  return cli.Post(path, headers, body, kForm);
}

std::string sp_secret_form(const std::string& scope_or_resource_name, const std::string& value) {
  return test::form({{"grant_type", "client_credentials"},
                     {"client_id", test::kSpAppId},
                     {"client_secret", test::kSpSecret},
                     {scope_or_resource_name, value}});
}

using cmk::PkeyPtr;
using cmk::test::key_from_jwk;

// RS256 check of a compact JWS with OpenSSL's EVP API directly.
bool verifies_rs256(const std::string& token, EVP_PKEY* key) {
  const size_t dot2 = token.rfind('.');
  REQUIRE(dot2 != std::string::npos);
  const std::string input = token.substr(0, dot2);
  auto sig = base64url_decode(token.substr(dot2 + 1));
  REQUIRE(sig.is_ok());
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  REQUIRE(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1);
  const int ok =
      EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(md);
  return ok == 1;
}

}  // namespace

// --- discovery ---

TEST_CASE("login: v2 discovery follows the host the request came in on", "[login][discovery]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  const std::string base = base_of(*emu);

  SECTION("endpoint mode (127.0.0.1:port)") {
    auto doc = body_of(cli->Get(tenant_path("/v2.0/.well-known/openid-configuration")));
    REQUIRE(doc["token_endpoint"] == base + tenant_path("/oauth2/v2.0/token"));
    REQUIRE(doc["authorization_endpoint"] == base + tenant_path("/oauth2/v2.0/authorize"));
    REQUIRE(doc["device_authorization_endpoint"] == base + tenant_path("/oauth2/v2.0/devicecode"));
    REQUIRE(doc["jwks_uri"] == base + tenant_path("/discovery/v2.0/keys"));
    REQUIRE(doc["issuer"] == entra::v2_issuer(test::kTenant));
    REQUIRE(doc["id_token_signing_alg_values_supported"] == json::array({"RS256"}));
    for (const char* k : {"end_session_endpoint", "userinfo_endpoint", "response_types_supported",
                          "response_modes_supported", "subject_types_supported",
                          "token_endpoint_auth_methods_supported", "scopes_supported",
                          "claims_supported", "tenant_region_scope", "cloud_instance_name",
                          "cloud_graph_host_name", "msgraph_host", "rbac_url"})
      REQUIRE(doc.contains(k));
  }
  SECTION("proxy mode (login.microsoftonline.com through CONNECT)") {
    auto proxied = test::proxied_client(*emu, "login.microsoftonline.com");
    auto doc = body_of(proxied->Get(tenant_path("/v2.0/.well-known/openid-configuration")));
    REQUIRE(doc["token_endpoint"] ==
            "https://login.microsoftonline.com" + tenant_path("/oauth2/v2.0/token"));
  }
  SECTION("Host header login.windows.net") {
    auto doc = body_of(cli->Get(tenant_path("/v2.0/.well-known/openid-configuration"),
                                {{"Host", "login.windows.net"}}));
    REQUIRE(doc["token_endpoint"] ==
            "https://login.windows.net" + tenant_path("/oauth2/v2.0/token"));
  }
  SECTION("a tenant's domain resolves to its id") {
    auto doc = body_of(cli->Get("/emulator.onmicrosoft.com/v2.0/.well-known/openid-configuration"));
    REQUIRE(doc["token_endpoint"] == base + tenant_path("/oauth2/v2.0/token"));
  }
  SECTION("common keeps its name and Entra's {tenantid} issuer") {
    auto doc = body_of(cli->Get("/common/v2.0/.well-known/openid-configuration"));
    REQUIRE(doc["token_endpoint"] == base + "/common/oauth2/v2.0/token");
    REQUIRE(doc["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0");
  }
  SECTION("an unknown domain is invalid_tenant AADSTS90002") {
    require_entra_error(cli->Get("/nobody.example/v2.0/.well-known/openid-configuration"), 400,
                        "invalid_tenant", 90002);
  }
}

TEST_CASE("login: v1 and ADFS discovery", "[login][discovery]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  const std::string base = base_of(*emu);

  auto v1 = body_of(cli->Get(tenant_path("/.well-known/openid-configuration")));
  REQUIRE(v1["token_endpoint"] == base + tenant_path("/oauth2/token"));
  REQUIRE(v1["authorization_endpoint"] == base + tenant_path("/oauth2/authorize"));
  REQUIRE(v1["jwks_uri"] ==
          base + "/common/discovery/keys");  // Entra's v1 document: the common set
  REQUIRE(v1["issuer"] == entra::v1_issuer(test::kTenant));

  // az in endpoint mode: an authority ending in /adfs; MSAL reads the tenant ("adfs") from the
  // token endpoint's first path segment, so that must be on the host asked.
  auto adfs = body_of(cli->Get("/adfs/.well-known/openid-configuration"));
  REQUIRE(adfs["token_endpoint"] == base + "/adfs/oauth2/token");
  REQUIRE(adfs["issuer"] == base + "/adfs");
  REQUIRE(adfs["jwks_uri"] == base + "/adfs/discovery/keys");
  REQUIRE(adfs["authorization_endpoint"].get<std::string>().rfind(base + "/adfs/", 0) == 0);
  auto on_localhost =
      body_of(cli->Get("/adfs/.well-known/openid-configuration",
                       {{"Host", "localhost:" + std::to_string(emu->https_port())}}));
  REQUIRE(on_localhost["token_endpoint"] ==
          "https://localhost:" + std::to_string(emu->https_port()) + "/adfs/oauth2/token");
  // The adfs JWKS works too.
  REQUIRE(body_of(cli->Get("/adfs/discovery/keys"))["keys"].size() == 1);
}

TEST_CASE("login: instance discovery for MSAL", "[login][discovery]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);

  SECTION("the public cloud, through the proxy, as MSAL Python asks it") {
    auto proxied = test::proxied_client(*emu, "login.microsoftonline.com");
    auto doc = body_of(
        proxied->Get("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://"
                     "login.microsoftonline.com/common/oauth2/authorize"));
    REQUIRE(doc["api-version"] == "1.1");
    REQUIRE(doc["tenant_discovery_endpoint"] ==
            "https://login.microsoftonline.com/common/.well-known/openid-configuration");
    REQUIRE(doc["metadata"].size() == 1);
    const json& group = doc["metadata"][0];
    REQUIRE(group["preferred_network"] == "login.microsoftonline.com");
    REQUIRE(group["preferred_cache"] == "login.windows.net");
    REQUIRE(group["aliases"] == json::array({"login.microsoftonline.com", "login.windows.net",
                                             "login.microsoft.com", "sts.windows.net"}));
  }
  SECTION("a v2 authorize endpoint of a tenant") {
    auto doc = body_of(
        cli->Get("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://"
                 "login.windows.net/" +
                     std::string(test::kTenant) + "/oauth2/v2.0/authorize",
                 {{"Host", "login.microsoftonline.com"}}));
    REQUIRE(doc["tenant_discovery_endpoint"] ==
            "https://login.windows.net" + tenant_path("/v2.0/.well-known/openid-configuration"));
  }
  SECTION("localhost without a port (MSAL drops it): the emulator's HTTPS port is filled in") {
    auto doc = body_of(cli->Get(
        "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://localhost" +
        tenant_path("/oauth2/v2.0/authorize")));
    REQUIRE(doc["tenant_discovery_endpoint"] ==
            "https://localhost:" + std::to_string(emu->https_port()) +
                tenant_path("/v2.0/.well-known/openid-configuration"));
    REQUIRE(doc["metadata"].size() == 2);
    REQUIRE(doc["metadata"][1]["aliases"] == json::array({"localhost"}));
    // ...and the document it points at is served.
    REQUIRE(cli->Get(tenant_path("/v2.0/.well-known/openid-configuration"))->status == 200);
  }
  SECTION("a host the emulator does not serve is invalid_instance") {
    require_entra_error(cli->Get("/common/discovery/instance?api-version=1.1&authorization_"
                                 "endpoint=https://login.example.org/common/oauth2/authorize"),
                        400, "invalid_instance", 50049);
    require_entra_error(cli->Get("/common/discovery/instance?api-version=1.1&authorization_"
                                 "endpoint=http://localhost/common/oauth2/authorize"),
                        400, "invalid_instance", 50049);
  }
}

// --- JWKS ---

TEST_CASE("login: a token verifies against the published JWKS with plain OpenSSL",
          "[login][jwks]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto r = post_token(*cli, tenant_path("/oauth2/v2.0/token"), sp_secret_form("scope", kAzScope));
  const std::string token = body_of(r)["access_token"];
  auto header = entra::decode_jwt(token)->header;
  REQUIRE(header["alg"] == "RS256");

  for (const std::string& path :
       {tenant_path("/discovery/v2.0/keys"), tenant_path("/discovery/keys"),
        std::string("/common/discovery/keys"), std::string("/common/discovery/v2.0/keys")}) {
    INFO(path);
    auto jwks = body_of(cli->Get(path));
    REQUIRE(jwks["keys"].size() == 1);
    const json& jwk = jwks["keys"][0];
    REQUIRE(jwk["kty"] == "RSA");
    REQUIRE(jwk["use"] == "sig");
    REQUIRE(jwk["kid"] == header["kid"]);
    REQUIRE(jwk["x5t"] == header["x5t"]);
    REQUIRE_FALSE(jwk.contains("d"));  // public material only
    PkeyPtr key = key_from_jwk(jwk);
    REQUIRE(key);
    REQUIRE(verifies_rs256(token, key.get()));
    // A flipped payload byte does not.
    std::string tampered = token;
    tampered[tampered.find('.') + 5] ^= 1;
    REQUIRE_FALSE(verifies_rs256(tampered, key.get()));
    // x5c holds the certificate of the same key.
    auto der = base64_decode(jwk["x5c"][0].get<std::string>());
    REQUIRE(der.is_ok());
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der->size()));
    REQUIRE(cert != nullptr);
    PkeyPtr cert_key(X509_get_pubkey(cert));
    X509_free(cert);
    REQUIRE(EVP_PKEY_eq(cert_key.get(), key.get()) == 1);
  }
  // The same key through the proxy, as a relying party on the real host name would fetch it.
  auto proxied = test::proxied_client(*emu, "login.microsoftonline.com");
  REQUIRE(body_of(proxied->Get("/common/discovery/v2.0/keys"))["keys"][0]["kid"] == header["kid"]);
}

// --- token endpoints ---

TEST_CASE("login: v2 token with a secret, az's double-slash scope", "[login][token]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto r = post_token(*cli, tenant_path("/oauth2/v2.0/token"), sp_secret_form("scope", kAzScope));
  REQUIRE(r->status == 200);
  REQUIRE(r->get_header_value("Content-Type") == "application/json; charset=utf-8");
  REQUIRE(r->get_header_value("Cache-Control").find("no-store") != std::string::npos);
  auto b = json::parse(r->body);
  REQUIRE(b["token_type"] == "Bearer");
  REQUIRE(b["expires_in"] == 3599);  // numbers on v2
  REQUIRE(b["ext_expires_in"] == 3599);
  REQUIRE_FALSE(b.contains("expires_on"));
  auto claims = payload_of(b["access_token"]);
  REQUIRE(claims["aud"] == "https://management.core.windows.net/");
  REQUIRE(claims["tid"] == test::kTenant);
  REQUIRE(claims["oid"] == test::kSpObjectId);
  REQUIRE(claims["appid"] == test::kSpAppId);
  REQUIRE(claims["iss"] == entra::v1_issuer(test::kTenant));
  REQUIRE(claims["idtyp"] == "app");
  REQUIRE(claims["exp"].get<int64_t>() > claims["iat"].get<int64_t>());
}

TEST_CASE("login: v1 token sends Entra v1's string fields", "[login][token]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto r = post_token(*cli, tenant_path("/oauth2/token"),
                      sp_secret_form("resource", "https://management.core.windows.net/"));
  auto b = body_of(r);
  REQUIRE(r->status == 200);
  REQUIRE(b["token_type"] == "Bearer");
  REQUIRE(b["expires_in"] == "3599");
  REQUIRE(b["ext_expires_in"] == "3599");
  REQUIRE(b["resource"] == "https://management.core.windows.net/");
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t expires_on = std::stoll(b["expires_on"].get<std::string>());
  const int64_t not_before = std::stoll(b["not_before"].get<std::string>());
  REQUIRE(expires_on >= now + 3590);
  REQUIRE(expires_on <= now + 3610);
  REQUIRE(not_before <= now);
  auto claims = payload_of(b["access_token"]);
  REQUIRE(claims["exp"] == expires_on);
  REQUIRE(claims["aud"] == "https://management.core.windows.net/");
}

TEST_CASE("login: the ADFS token endpoint (az endpoint mode)", "[login][token]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  const std::string localhost = "localhost:" + std::to_string(emu->https_port());
  // What az 2.45 sends, scope on the emulator's own host.
  auto r = post_token(*cli, "/adfs/oauth2/token",
                      test::form({{"client_id", test::kSpAppId},
                                  {"grant_type", "client_credentials"},
                                  {"client_info", "1"},
                                  {"client_secret", test::kSpSecret},
                                  {"claims", R"({"access_token":{"xms_cc":{"values":["CP1"]}}})"},
                                  {"scope", "https://" + localhost + "//.default"}}),
                      {{"Host", localhost}, {"x-client-sku", "MSAL.Python"}});
  auto b = body_of(r);
  REQUIRE(r->status == 200);
  REQUIRE(b["expires_in"] == 3599);
  auto claims = payload_of(b["access_token"]);
  REQUIRE(claims["aud"] == "https://" + localhost + "/");
  REQUIRE(claims["tid"] == test::kTenant);  // the principal's home tenant
  // A trailing slash on the path (the ADFS document elsewhere has one) is fine too.
  REQUIRE(post_token(*cli, "/adfs/oauth2/token/", sp_secret_form("scope", kAzScope))->status ==
          200);
}

TEST_CASE("login: client_secret_basic", "[login][token]") {
  auto emu = test::start_emulator();
  const std::string app = "33333333-3333-3333-3333-333333333333";
  const std::string secret = "p+a:s s/w%rd=";  // needs the form-urlencoding RFC 6749 asks for
  emu->directory().put_service_principal(
      {app, "33333333-0000-0000-0000-000000000001", test::kTenant, "basic", {secret}, {}});
  auto cli = test::https_client(*emu);
  const std::string basic =
      "Basic " + base64_encode(http::percent_encode(app) + ":" + http::percent_encode(secret));
  const std::string body = test::form({{"grant_type", "client_credentials"}, {"scope", kAzScope}});

  auto ok = post_token(*cli, tenant_path("/oauth2/v2.0/token"), body, {{"Authorization", basic}});
  REQUIRE(ok->status == 200);
  REQUIRE(payload_of(json::parse(ok->body)["access_token"])["appid"] == app);

  const std::string wrong = "Basic " + base64_encode(app + ":nope");
  require_entra_error(
      post_token(*cli, tenant_path("/oauth2/v2.0/token"), body, {{"Authorization", wrong}}), 401,
      "invalid_client", 7000215);

  // A body client_id naming someone else than the header is refused.
  require_entra_error(
      post_token(*cli, tenant_path("/oauth2/v2.0/token"),
                 body + "&client_id=" + std::string(test::kSpAppId), {{"Authorization", basic}}),
      400, "invalid_request", 9002313);
}

TEST_CASE("login: client_assertion signed by a registered certificate", "[login][token]") {
  auto emu = test::start_emulator();
  static const entra::SigningKey cert = *entra::SigningKey::generate();
  static const entra::SigningKey stranger = *entra::SigningKey::generate();
  const std::string app = "44444444-4444-4444-4444-444444444444";
  emu->directory().put_service_principal({app,
                                          "44444444-0000-0000-0000-000000000001",
                                          test::kTenant,
                                          "cert",
                                          {},
                                          {cert.certificate_pem()}});
  auto cli = test::https_client(*emu);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto assertion = [&](const std::string& aud, const entra::SigningKey& key) {
    json claims = {{"iss", app},  {"sub", app},      {"aud", aud},
                   {"jti", "j1"}, {"nbf", now - 10}, {"exp", now + 600}};
    auto t = entra::sign_rs256({{"x5t", key.x5t()}}, claims, key.pkey());
    REQUIRE(t.is_ok());
    return *t;
  };
  auto request = [&](const std::string& path, const std::string& jwt) {
    return post_token(*cli, path,
                      test::form({{"grant_type", "client_credentials"},
                                  {"client_id", app},
                                  {"client_assertion_type", entra::kJwtBearerAssertionType},
                                  {"client_assertion", jwt},
                                  {"scope", "https://vault.azure.net/.default"}}));
  };
  const std::string v2_path = tenant_path("/oauth2/v2.0/token");

  SECTION("aud = the URL the client reached") {
    auto r = request(v2_path, assertion(base_of(*emu) + v2_path, cert));
    REQUIRE(r->status == 200);
    auto claims = payload_of(json::parse(r->body)["access_token"]);
    REQUIRE(claims["appid"] == app);
    REQUIRE(claims["appidacr"] == "2");
    REQUIRE(claims["aud"] == "https://vault.azure.net");
  }
  SECTION("aud = the public-cloud form, and the v1 path") {
    REQUIRE(
        request(v2_path, assertion("https://login.microsoftonline.com" + v2_path, cert))->status ==
        200);
    REQUIRE(
        request(v2_path,
                assertion("https://login.microsoftonline.com" + tenant_path("/oauth2/token"), cert))
            ->status == 200);
  }
  SECTION("aud = the tenant's domain form, sent to the domain authority") {
    const std::string path = "/emulator.onmicrosoft.com/oauth2/v2.0/token";
    REQUIRE(request(path, assertion("https://login.microsoftonline.com" + v2_path, cert))->status ==
            200);
  }
  SECTION("signed by another key") {
    require_entra_error(request(v2_path, assertion(base_of(*emu) + v2_path, stranger)), 401,
                        "invalid_client", 700027);
  }
  SECTION("aud of another endpoint") {
    require_entra_error(request(v2_path, assertion("https://example.org/token", cert)), 401,
                        "invalid_client", 700023);
  }
}

TEST_CASE("login: token errors in Entra's shape", "[login][token]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  const std::string v2 = tenant_path("/oauth2/v2.0/token");

  SECTION("wrong secret of a registered principal: AADSTS7000215") {
    require_entra_error(post_token(*cli, v2,
                                   test::form({{"grant_type", "client_credentials"},
                                               {"client_id", test::kSpAppId},
                                               {"client_secret", "wrong"},
                                               {"scope", kAzScope}})),
                        401, "invalid_client", 7000215);
  }
  SECTION("a scope without /.default: AADSTS1002012") {
    require_entra_error(
        post_token(*cli, v2, sp_secret_form("scope", "https://management.azure.com/")), 400,
        "invalid_scope", 1002012);
  }
  SECTION("an unsupported grant: AADSTS70003") {
    require_entra_error(post_token(*cli, v2,
                                   test::form({{"grant_type", "password"},
                                               {"client_id", test::kSpAppId},
                                               {"username", "u"},
                                               {"password", "p"},
                                               {"scope", kAzScope}})),
                        400, "unsupported_grant_type", 70003);
  }
  SECTION("no grant_type: AADSTS900144") {
    require_entra_error(post_token(*cli, v2, ""), 400, "invalid_request", 900144);
  }
  SECTION("GET on a token endpoint: AADSTS900561") {
    auto r = cli->Get(v2);
    require_entra_error(r, 405, "invalid_request", 900561);
    REQUIRE(r->get_header_value("Allow") == "POST, OPTIONS");
    require_entra_error(cli->Get("/adfs/oauth2/token"), 405, "invalid_request", 900561);
  }
  SECTION("the correlation id the client sent comes back") {
    auto r = post_token(*cli, v2, "", {{"x-ms-correlation-request-id", "corr-42"}});
    REQUIRE(json::parse(r->body)["correlation_id"] == "corr-42");
  }
}

TEST_CASE("login: unknown clients, lenient by default, refused in strict mode", "[login][token]") {
  const std::string unknown = "55555555-5555-5555-5555-555555555555";
  const std::string body = test::form({{"grant_type", "client_credentials"},
                                       {"client_id", unknown},
                                       {"client_secret", "anything"},
                                       {"scope", kAzScope}});
  SECTION("default: admitted with a deterministic object id") {
    auto emu = test::start_emulator();
    auto r = post_token(*test::https_client(*emu), tenant_path("/oauth2/v2.0/token"), body);
    REQUIRE(r->status == 200);
    auto claims = payload_of(json::parse(r->body)["access_token"]);
    REQUIRE(claims["appid"] == unknown);
    REQUIRE(claims["oid"] == entra::deterministic_object_id(test::kTenant, unknown));
  }
  SECTION("strict: AADSTS700016, while the registered principal still signs in") {
    auto opts = test::test_options();
    opts.strict_auth = true;
    auto emu = test::start_emulator(opts);
    auto cli = test::https_client(*emu);
    require_entra_error(post_token(*cli, tenant_path("/oauth2/v2.0/token"), body), 400,
                        "unauthorized_client", 700016);
    REQUIRE(post_token(*cli, tenant_path("/oauth2/v2.0/token"), sp_secret_form("scope", kAzScope))
                ->status == 200);
  }
}

TEST_CASE("login: unknown form fields and query parameters are tolerated", "[login][token]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  // What MSAL Node sends, through the proxy on the real host name.
  auto proxied = test::proxied_client(*emu, "login.microsoftonline.com");
  auto r = proxied->Post(tenant_path("/oauth2/v2.0/token?client-request-id=abc&x-unknown=1"),
                         test::form({{"client_id", test::kSpAppId},
                                     {"scope", "https://management.azure.com/.default"},
                                     {"grant_type", "client_credentials"},
                                     {"client_secret", test::kSpSecret},
                                     {"claims", "{}"},
                                     {"client-request-id", "abc"},
                                     {"x-client-SKU", "msal.js.node"},
                                     {"x-client-VER", "5.6.0"},
                                     {"x-ms-lib-capability", "retry-after, h429"},
                                     {"x-client-current-telemetry", "5|771,2,,,|,"}}),
                         kForm);
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  REQUIRE(payload_of(json::parse(r->body)["access_token"])["aud"] ==
          "https://management.azure.com");
  // '+' in a form body is a space: "openid+profile" are OIDC scopes beside the resource one.
  auto plus = post_token(*cli, tenant_path("/oauth2/v2.0/token"),
                         "grant_type=client_credentials&client_id=" + std::string(test::kSpAppId) +
                             "&client_secret=" + test::kSpSecret +
                             "&scope=https%3A%2F%2Fvault.azure.net%2F.default+openid+profile");
  REQUIRE(plus->status == 200);
}

TEST_CASE("login: a token service that is not running answers 503", "[login]") {
  Emulator emu(test::test_options());  // never started
  http::Request req;
  req.method = "GET";
  req.path = "/common/discovery/keys";
  req.segments = {"common", "discovery", "keys"};
  req.surface = http::Surface::Login;
  http::Response res = emu.handle(req);
  REQUIRE(res.status == 503);
  REQUIRE(json::parse(res.body)["error"] == "temporarily_unavailable");
}
