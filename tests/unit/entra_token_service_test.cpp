// The Entra token service (emulator/entra/token_service.h): scopes, client authentication,
// token claims and validation for relying parties.
#include <catch2/catch.hpp>

#include <chrono>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "entra/jwt.h"
#include "entra/token_service.h"
#include "state/clock.h"

using namespace cmk::entra;
using cmk::Clock;
using cmk::TimePoint;
using nlohmann::json;
using std::chrono::seconds;

namespace {

const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const char* kOtherTenant = "0f0f0f0f-0000-4000-8000-000000000002";
const char* kApp = "11111111-2222-3333-4444-555555555555";
const char* kObject = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const char* kSecret = "emulator-secret-value";
const char* kCertApp = "99999999-2222-3333-4444-555555555555";
const char* kNoCertApp = "88888888-2222-3333-4444-555555555555";
const char* kUnknownApp = "77777777-2222-3333-4444-555555555555";
const char* kTokenUrl =
    "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token";
const char* kArm = "https://management.core.windows.net/";
const char* kUami =
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg1/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id1";

const int64_t kStart = 1'700'000'000;

class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return t_; }
  void set(int64_t unix_seconds) { t_ = cmk::from_unix_seconds(unix_seconds); }
  void advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  TimePoint t_ = cmk::from_unix_seconds(kStart);
};

const SigningKey& emulator_key() {
  static const SigningKey k = *SigningKey::generate();
  return k;
}
const SigningKey& client_cert() {  // the key + certificate a client signs assertions with
  static const SigningKey k = *SigningKey::generate();
  return k;
}
const SigningKey& stranger_key() {
  static const SigningKey k = *SigningKey::generate();
  return k;
}

struct Fixture {
  Directory directory;
  FakeClock clock;
  TokenService service;

  explicit Fixture(TokenServiceOptions options = {})
      : service(directory, emulator_key(), clock, options) {
    directory.put_tenant({kTenant, "Contoso", "contoso.onmicrosoft.com"});
    directory.put_tenant({kOtherTenant, "Fabrikam", "fabrikam.onmicrosoft.com"});
    directory.put_service_principal({kApp, kObject, kTenant, "app", {"old-secret", kSecret}, {}});
    directory.put_service_principal(
        {kCertApp, "", kTenant, "cert app", {}, {client_cert().certificate_pem()}});
    directory.put_service_principal({kNoCertApp, "", kTenant, "no cert", {kSecret}, {}});
  }

  TokenRequest secret_request(
      const std::string& client_id, const std::string& secret,
      const std::string& scope = "https://management.core.windows.net//.default") {
    TokenRequest r;
    r.endpoint = TokenEndpoint::V2;
    r.tenant = kTenant;
    r.grant_type = "client_credentials";
    r.client.client_id = client_id;
    r.client.client_secret = secret;
    r.scope = scope;
    r.assertion_audiences = {kTokenUrl};
    return r;
  }

  TokenRequest assertion_request(const std::string& client_id, const std::string& assertion) {
    TokenRequest r = secret_request(client_id, "");
    r.client.client_secret.reset();
    r.client.client_assertion_type = kJwtBearerAssertionType;
    r.client.client_assertion = assertion;
    return r;
  }

  std::string assertion(const std::string& client_id, const SigningKey& signer,
                        json overrides = json::object()) {
    int64_t now = cmk::to_unix_seconds(clock.now());
    json claims = {{"aud", kTokenUrl}, {"iss", client_id}, {"sub", client_id},
                   {"jti", "j1"},      {"nbf", now},       {"exp", now + 600}};
    for (auto& [k, v] : overrides.items()) {
      if (v.is_null())
        claims.erase(k);
      else
        claims[k] = v;
    }
    auto t = sign_rs256({{"x5t", signer.x5t()}}, claims, signer.pkey());
    REQUIRE(t);
    return *t;
  }

  IssuedToken must_issue(const TokenRequest& r) {
    auto t = service.token(r);
    INFO((t ? std::string() : t.error().description));
    REQUIRE(t);
    return *t;
  }

  json payload(const std::string& token) {
    auto jwt = decode_jwt(token);
    REQUIRE(jwt);
    return jwt->payload;
  }
};

void check_error(const EntraResult<IssuedToken>& r, int status, const std::string& error,
                 int code) {
  REQUIRE_FALSE(r);
  INFO(r.error().description);
  CHECK(r.error().http_status == status);
  CHECK(r.error().error == error);
  CHECK(r.error().code == code);
  CHECK(r.error().description.rfind("AADSTS" + std::to_string(code) + ": ", 0) == 0);
}

}  // namespace

// --- scope / resource ---

TEST_CASE("scope: az's double-slash scope keeps the trailing slash", "[entra][scope]") {
  auto r = resource_from_request(TokenEndpoint::V2, "https://management.core.windows.net//.default",
                                 std::nullopt);
  REQUIRE(r);
  CHECK(*r == "https://management.core.windows.net/");
}

TEST_CASE("scope: only the trailing /.default is stripped", "[entra][scope]") {
  auto r = [](const char* scope) {
    auto x = resource_from_request(TokenEndpoint::V2, std::string(scope), std::nullopt);
    REQUIRE(x);
    return *x;
  };
  CHECK(r("https://vault.azure.net/.default") == "https://vault.azure.net");
  CHECK(r("https://management.azure.com/.default") == "https://management.azure.com");
  CHECK(r("https://vault.localhost:8443/.default") == "https://vault.localhost:8443");
  CHECK(r("api://my-api/.default") == "api://my-api");
  CHECK(r("00000002-0000-0000-c000-000000000000/.default") ==
        "00000002-0000-0000-c000-000000000000");
  CHECK(r("https://vault.azure.net/.DEFAULT") == "https://vault.azure.net");
  // OIDC scopes are ignored; duplicates collapse; surrounding spaces are trimmed.
  CHECK(r("openid profile offline_access https://vault.azure.net/.default") ==
        "https://vault.azure.net");
  CHECK(r("  https://vault.azure.net/.default  https://vault.azure.net/.default ") ==
        "https://vault.azure.net");
}

TEST_CASE("scope: v1 reads resource, adfs reads scope then resource", "[entra][scope]") {
  auto v1 = resource_from_request(TokenEndpoint::V1, std::nullopt, std::string(kArm));
  REQUIRE(v1);
  CHECK(*v1 == kArm);
  auto v1_both = resource_from_request(TokenEndpoint::V1, std::string("https://x/.default"),
                                       std::string("https://vault.azure.net"));
  REQUIRE(v1_both);
  CHECK(*v1_both == "https://vault.azure.net");
  auto v1_scope =
      resource_from_request(TokenEndpoint::V1, std::string("https://x//.default"), std::nullopt);
  REQUIRE(v1_scope);
  CHECK(*v1_scope == "https://x/");
  auto adfs = resource_from_request(
      TokenEndpoint::Adfs, std::string("https://localhost:8443//.default"), std::string("ignored"));
  REQUIRE(adfs);
  CHECK(*adfs == "https://localhost:8443/");
  auto adfs_res = resource_from_request(TokenEndpoint::Adfs, std::nullopt, std::string(kArm));
  REQUIRE(adfs_res);
  CHECK(*adfs_res == kArm);
}

TEST_CASE("scope: errors in Entra's codes", "[entra][scope]") {
  auto check = [](EntraResult<std::string> r, const char* error, int code) {
    REQUIRE_FALSE(r);
    INFO(r.error().description);
    CHECK(r.error().http_status == 400);
    CHECK(r.error().error == error);
    CHECK(r.error().code == code);
  };
  check(resource_from_request(TokenEndpoint::V2, std::nullopt, std::nullopt), "invalid_request",
        900144);
  check(resource_from_request(TokenEndpoint::V2, std::nullopt, std::string(kArm)),
        "invalid_request",
        900144);  // v2 has no `resource`
  check(resource_from_request(TokenEndpoint::V1, std::nullopt, std::string("  ")),
        "invalid_request", 900144);
  check(resource_from_request(TokenEndpoint::V2,
                              std::string("https://graph.microsoft.com/User.Read"), std::nullopt),
        "invalid_scope", 1002012);  // Entra's answer for a scope without /.default
  check(resource_from_request(TokenEndpoint::V2, std::string("openid profile"), std::nullopt),
        "invalid_scope", 70011);
  check(resource_from_request(TokenEndpoint::V2, std::string("/.default"), std::nullopt),
        "invalid_scope", 1002012);
  check(resource_from_request(TokenEndpoint::V2,
                              std::string("https://vault.azure.net/.default https://x/.default"),
                              std::nullopt),
        "invalid_scope", 28000);
  auto r = resource_from_request(
      TokenEndpoint::V2, std::string("https://graph.microsoft.com/User.Read"), std::nullopt);
  CHECK(r.error().description.find("/.default suffixed") != std::string::npos);
}

// --- client authentication ---

TEST_CASE("token: client secret gives a v1 token with Entra's claims", "[entra][token]") {
  Fixture f;
  IssuedToken t = f.must_issue(f.secret_request(kApp, kSecret));
  CHECK(t.token_type == "Bearer");
  CHECK(t.resource == kArm);
  CHECK(t.expires_in == 3599);
  CHECK(t.expires_on == kStart + 3599);
  CHECK(t.not_before == kStart - 300);

  json p = f.payload(t.access_token);
  CHECK(p["aud"] == kArm);
  CHECK(p["iss"] == std::string("https://sts.windows.net/") + kTenant + "/");
  CHECK(p["idp"] == p["iss"]);
  CHECK(p["tid"] == kTenant);
  CHECK(p["oid"] == kObject);
  CHECK(p["sub"] == kObject);
  CHECK(p["appid"] == kApp);
  CHECK(p["appidacr"] == "1");
  CHECK(p["idtyp"] == "app");
  CHECK(p["ver"] == "1.0");
  CHECK(p["iat"] == kStart - 300);
  CHECK(p["nbf"] == kStart - 300);
  CHECK(p["exp"] == kStart + 3599);
  CHECK(p["uti"].get<std::string>().size() == 22);
  CHECK(p["rh"].get<std::string>().rfind("0.A", 0) == 0);
  CHECK_FALSE(p.contains("xms_mirid"));
  CHECK_FALSE(p.contains("azp"));

  auto jwt = decode_jwt(t.access_token);
  CHECK(jwt->header["kid"] == emulator_key().kid());
  CHECK(jwt->header["x5t"] == emulator_key().kid());

  // A second token has a fresh uti.
  IssuedToken t2 = f.must_issue(f.secret_request(kApp, kSecret));
  CHECK(f.payload(t2.access_token)["uti"] != p["uti"]);

  auto v = f.service.validate(t.access_token, arm_audiences(), std::string(kTenant));
  REQUIRE(v);
  CHECK(v->tid == kTenant);
  CHECK(v->oid == kObject);
  CHECK(v->appid == kApp);
  CHECK(v->idtyp == "app");
  CHECK(v->aud == kArm);
  CHECK(v->ver == "1.0");
  CHECK(v->raw->at("uti") == p["uti"]);
}

TEST_CASE("token: v2 tokens carry azp/azpacr and the v2 issuer", "[entra][token]") {
  TokenServiceOptions o;
  o.token_version = TokenVersion::V2;
  Fixture f(o);
  IssuedToken t = f.must_issue(f.secret_request(kApp, kSecret, "https://vault.azure.net/.default"));
  json p = f.payload(t.access_token);
  CHECK(p["iss"] == std::string("https://login.microsoftonline.com/") + kTenant + "/v2.0");
  CHECK(p["azp"] == kApp);
  CHECK(p["azpacr"] == "1");
  CHECK(p["ver"] == "2.0");
  CHECK(p["aud"] == "https://vault.azure.net");
  CHECK_FALSE(p.contains("appid"));
  auto v = f.service.validate(t.access_token, {"https://vault.azure.net"}, std::string(kTenant));
  REQUIRE(v);
  CHECK(v->appid == kApp);
}

TEST_CASE("token: lifetime is configurable", "[entra][token]") {
  TokenServiceOptions o;
  o.lifetime = seconds(60);
  Fixture f(o);
  IssuedToken t = f.must_issue(f.secret_request(kApp, kSecret));
  CHECK(t.expires_in == 60);
  CHECK(t.expires_on == kStart + 60);
}

TEST_CASE("token: a wrong secret for a registered principal always fails", "[entra][token][auth]") {
  bool strict = GENERATE(false, true);
  Fixture f;
  f.service.set_strict_auth(strict);
  auto r = f.service.token(f.secret_request(kApp, "wrong"));
  check_error(r, 401, "invalid_client", 7000215);
  CHECK(r.error().description ==
        std::string("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
                    "in the request is the client secret value, not the client secret ID, for a "
                    "secret added to app '") +
            kApp + "'.");
  CHECK(r.error().description.find("wrong") == std::string::npos);  // secrets never echoed
  // Any registered secret works; the app id is matched case-insensitively.
  CHECK(f.service.token(f.secret_request("11111111-2222-3333-4444-555555555555", "old-secret")));
  CHECK(f.service.token(f.secret_request("11111111-2222-3333-4444-555555555555", kSecret)));
  // A prefix of the secret is not the secret.
  check_error(f.service.token(f.secret_request(kApp, "emulator-secret")), 401, "invalid_client",
              7000215);
}

TEST_CASE("token: non-strict mode admits an unknown client with a deterministic object id",
          "[entra][token][auth]") {
  Fixture f;
  IssuedToken t = f.must_issue(f.secret_request(kUnknownApp, "anything"));
  json p = f.payload(t.access_token);
  CHECK(p["appid"] == kUnknownApp);
  CHECK(p["oid"] == deterministic_object_id(kTenant, kUnknownApp));
  auto sp = f.directory.find_service_principal(kUnknownApp);
  REQUIRE(sp);
  CHECK(sp->registered_on_the_fly);
  CHECK(sp->object_id == deterministic_object_id(kTenant, kUnknownApp));
  CHECK(sp->secrets.empty());  // nothing was stored to check later secrets against

  // Again, with another secret: still admitted, same oid.
  IssuedToken t2 = f.must_issue(f.secret_request(kUnknownApp, "something else"));
  CHECK(f.payload(t2.access_token)["oid"] == p["oid"]);
  CHECK(f.directory.service_principals().size() == 4);

  // Another service instance (a restart) computes the same oid.
  Fixture g;
  CHECK(g.payload(g.must_issue(g.secret_request(kUnknownApp, "x")).access_token)["oid"] ==
        p["oid"]);

  // Non-GUID names are admitted too, but not ones with spaces or control bytes.
  CHECK(f.service.token(f.secret_request("my-test-app", "x")));
  check_error(f.service.token(f.secret_request("my test app", "x")), 400, "unauthorized_client",
              700016);
  check_error(f.service.token(f.secret_request(std::string("a\x01b"), "x")), 400,
              "unauthorized_client", 700016);

  // An empty secret is no credential.
  check_error(f.service.token(f.secret_request("66666666-2222-3333-4444-555555555555", "")), 401,
              "invalid_client", 7000216);
}

TEST_CASE("token: strict mode refuses unknown and on-the-fly clients", "[entra][token][auth]") {
  Fixture f;
  REQUIRE(f.service.token(f.secret_request(kUnknownApp, "anything")));  // admitted on the fly
  f.service.set_strict_auth(true);
  CHECK(f.service.strict_auth());
  for (const char* app : {kUnknownApp, "66666666-2222-3333-4444-555555555555"}) {
    auto r = f.service.token(f.secret_request(app, "anything"));
    check_error(r, 400, "unauthorized_client", 700016);
    CHECK(r.error().description.find(std::string("Application with identifier '") + app +
                                     "' was not found in the directory 'Contoso'") !=
          std::string::npos);
  }
  CHECK(f.service.token(f.secret_request(kApp, kSecret)));  // registered ones still work

  TokenServiceOptions o;
  o.strict_auth = true;
  Fixture g(o);
  check_error(g.service.token(g.secret_request(kUnknownApp, "anything")), 400,
              "unauthorized_client", 700016);
  CHECK_FALSE(g.directory.find_service_principal(kUnknownApp));
}

TEST_CASE("token: on-the-fly registration under concurrency registers once",
          "[entra][token][auth]") {
  Fixture f;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      if (f.service.token(f.secret_request(kUnknownApp, "s"))) ++ok;
    });
  for (auto& t : threads) t.join();
  CHECK(ok == 8);
  CHECK(f.directory.service_principals().size() == 4);
}

TEST_CASE("token: request shape errors", "[entra][token]") {
  Fixture f;
  SECTION("unsupported grant") {
    auto r = f.secret_request(kApp, kSecret);
    r.grant_type = "password";
    auto e = f.service.token(r);
    check_error(e, 400, "unsupported_grant_type", 70003);
    CHECK(e.error().description ==
          "AADSTS70003: The app requested an unsupported grant type 'password'.");
  }
  SECTION("missing grant") {
    auto r = f.secret_request(kApp, kSecret);
    r.grant_type.reset();
    check_error(f.service.token(r), 400, "invalid_request", 900144);
  }
  SECTION("missing client_id") {
    auto e = f.service.token(f.secret_request("", kSecret));
    check_error(e, 400, "invalid_request", 900144);
    CHECK(e.error().description.find("'client_id'") != std::string::npos);
  }
  SECTION("no credential") {
    auto r = f.secret_request(kApp, kSecret);
    r.client.client_secret.reset();
    check_error(f.service.token(r), 401, "invalid_client", 7000216);
  }
  SECTION("secret and assertion together") {
    auto r = f.assertion_request(kCertApp, f.assertion(kCertApp, client_cert()));
    r.client.client_secret = "x";
    check_error(f.service.token(r), 400, "invalid_request", 90023);
  }
  SECTION("bad scope") {
    check_error(
        f.service.token(f.secret_request(kApp, kSecret, "https://vault.azure.net/keys.read")), 400,
        "invalid_scope", 1002012);
  }
  SECTION("hostile bytes are not echoed raw") {
    auto r = f.secret_request(kApp, kSecret);
    r.grant_type = std::string("pass\xff\n\"word", 11);
    auto e = f.service.token(r);
    REQUIRE_FALSE(e);
    for (char c : e.error().description) CHECK((c >= 0x20 && c < 0x7f));
  }
}

TEST_CASE("token: tenant resolution", "[entra][token][tenant]") {
  Fixture f;
  auto tid = [&](const std::string& segment, const std::string& app = kApp,
                 const std::string& secret = kSecret) {
    auto r = f.secret_request(app, secret);
    r.tenant = segment;
    return f.service.token(r);
  };
  CHECK(tid("contoso.onmicrosoft.com")->tenant_id == kTenant);
  CHECK(tid("72F988BF-86F1-41AF-91AB-2D7CD011DB47")->tenant_id == kTenant);
  CHECK(tid("adfs")->tenant_id == kTenant);  // home tenant of the principal
  CHECK(tid("organizations")->tenant_id == kTenant);
  CHECK(tid("adfs", kUnknownApp, "x")->tenant_id == kTenant);  // first tenant of the directory
  // A registered principal in another tenant is unknown there.
  check_error(tid(kOtherTenant), 400, "unauthorized_client", 700016);
  // An unknown domain is never found.
  check_error(tid("nowhere.example"), 400, "invalid_request", 90002);
  // An unknown GUID tenant: admitted for unknown clients in non-strict mode only.
  const std::string fresh = "12345678-1234-4234-8234-123456789012";
  auto loose = tid(fresh, kUnknownApp, "x");
  REQUIRE(loose);
  CHECK(loose->tenant_id == fresh);
  CHECK(loose->object_id == deterministic_object_id(fresh, kUnknownApp));
  f.service.set_strict_auth(true);
  check_error(tid(fresh, kApp, kSecret), 400, "invalid_request", 90002);
}

TEST_CASE("token: default tenant option for adfs", "[entra][token][tenant]") {
  TokenServiceOptions o;
  o.default_tenant_id = kOtherTenant;
  Fixture f(o);
  auto r = f.secret_request(kUnknownApp, "x");
  r.tenant = "adfs";
  r.endpoint = TokenEndpoint::Adfs;
  r.scope = "https://localhost:8443//.default";
  IssuedToken t = f.must_issue(r);
  CHECK(t.tenant_id == kOtherTenant);
  CHECK(t.resource == "https://localhost:8443/");
}

// --- client assertions ---

TEST_CASE("token: client assertion signed by the registered certificate",
          "[entra][token][assertion]") {
  Fixture f;
  IssuedToken t = f.must_issue(f.assertion_request(kCertApp, f.assertion(kCertApp, client_cert())));
  json p = f.payload(t.access_token);
  CHECK(p["appid"] == kCertApp);
  CHECK(p["appidacr"] == "2");
  CHECK(p["oid"] == deterministic_object_id(kTenant, kCertApp));  // fixture left object_id empty

  // client_id may be omitted: the assertion names the client.
  IssuedToken t2 = f.must_issue(f.assertion_request("", f.assertion(kCertApp, client_cert())));
  CHECK(t2.client_id == kCertApp);

  // The aud may be written with another case or a trailing slash.
  std::string aud = kTokenUrl;
  for (auto& c : aud) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(f.service.token(
      f.assertion_request(kCertApp, f.assertion(kCertApp, client_cert(), {{"aud", aud + "/"}}))));
  // An aud array works too.
  CHECK(f.service.token(f.assertion_request(
      kCertApp, f.assertion(kCertApp, client_cert(), {{"aud", json::array({"x", kTokenUrl})}}))));
}

TEST_CASE("token: client assertion refusals", "[entra][token][assertion]") {
  Fixture f;
  auto try_ = [&](const std::string& client, const std::string& assertion) {
    return f.service.token(f.assertion_request(client, assertion));
  };
  int64_t now = kStart;
  SECTION("signed by another key") {
    check_error(try_(kCertApp, f.assertion(kCertApp, stranger_key())), 401, "invalid_client",
                700027);
  }
  SECTION("no certificate registered") {
    check_error(try_(kNoCertApp, f.assertion(kNoCertApp, client_cert())), 401, "invalid_client",
                700027);
  }
  SECTION("expired, beyond the skew") {
    check_error(try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"exp", now - 301}})), 401,
                "invalid_client", 700024);
  }
  SECTION("expired within the skew is accepted") {
    CHECK(try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"exp", now - 200}})));
  }
  SECTION("exp at the edges of int64 does not overflow") {
    CHECK(try_(kCertApp, f.assertion(kCertApp, client_cert(),
                                     {{"exp", std::numeric_limits<int64_t>::max()}})));
    check_error(try_(kCertApp, f.assertion(kCertApp, client_cert(),
                                           {{"exp", std::numeric_limits<int64_t>::min()},
                                            {"nbf", std::numeric_limits<int64_t>::min()}})),
                401, "invalid_client", 700024);
    check_error(try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"exp", 1e300}})), 401,
                "invalid_client", 700024);
    check_error(try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"exp", "tomorrow"}})), 401,
                "invalid_client", 700024);
  }
  SECTION("no exp") {
    check_error(try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"exp", nullptr}})), 401,
                "invalid_client", 700024);
  }
  SECTION("not yet valid") {
    check_error(try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"nbf", now + 1000}})), 401,
                "invalid_client", 700024);
  }
  SECTION("wrong audience") {
    check_error(
        try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"aud", "https://elsewhere/token"}})),
        401, "invalid_client", 700023);
  }
  SECTION("iss is another client") {
    check_error(try_(kCertApp, f.assertion(kCertApp, client_cert(), {{"iss", kApp}})), 401,
                "invalid_client", 700021);
  }
  SECTION("client_id differs from the assertion") {
    check_error(try_(kApp, f.assertion(kCertApp, client_cert())), 401, "invalid_client", 700021);
  }
  SECTION("garbage") {
    check_error(try_(kCertApp, "not.a.jwt"), 401, "invalid_client", 50027);
    check_error(try_(kCertApp, "garbage"), 401, "invalid_client", 50027);
  }
  SECTION("alg none") {
    std::string body = cmk::base64url_encode(
        json{{"aud", kTokenUrl}, {"iss", kCertApp}, {"sub", kCertApp}, {"exp", now + 600}}.dump());
    std::string none = cmk::base64url_encode(R"({"alg":"none"})") + "." + body + ".AAAA";
    check_error(try_(kCertApp, none), 401, "invalid_client", 700027);
  }
  SECTION("wrong assertion type") {
    auto r = f.assertion_request(kCertApp, f.assertion(kCertApp, client_cert()));
    r.client.client_assertion_type = "urn:something:else";
    check_error(f.service.token(r), 400, "invalid_request", 7000219);
    r.client.client_assertion_type.reset();
    check_error(f.service.token(r), 400, "invalid_request", 7000219);
  }
  SECTION("a secret for a certificate-only principal") {
    check_error(f.service.token(f.secret_request(kCertApp, "x")), 401, "invalid_client", 7000215);
  }
}

TEST_CASE("token: unknown client with an assertion", "[entra][token][assertion]") {
  Fixture f;
  const char* app = "55555555-2222-3333-4444-555555555555";
  SECTION("non-strict: admitted after the structural checks") {
    IssuedToken t = f.must_issue(f.assertion_request(app, f.assertion(app, stranger_key())));
    CHECK(f.payload(t.access_token)["appidacr"] == "2");
    check_error(f.service.token(f.assertion_request(
                    app, f.assertion(app, stranger_key(), {{"exp", kStart - 1000}}))),
                401, "invalid_client", 700024);
  }
  SECTION("strict: refused") {
    f.service.set_strict_auth(true);
    check_error(f.service.token(f.assertion_request(app, f.assertion(app, stranger_key()))), 400,
                "unauthorized_client", 700016);
  }
}

// --- managed identities ---

TEST_CASE("token: managed identity tokens carry xms_mirid", "[entra][token][msi]") {
  Fixture f;
  ManagedIdentity mi{kUami, "31313131-0000-0000-0000-000000000001",
                     "32323232-0000-0000-0000-000000000002", kTenant, IdentityKind::UserAssigned};
  auto t = f.service.issue_managed_identity_token(mi, "https://vault.azure.net");
  REQUIRE(t);
  CHECK(t->client_id == mi.client_id);
  CHECK(t->resource == "https://vault.azure.net");
  json p = f.payload(t->access_token);
  CHECK(p["xms_mirid"] == kUami);
  CHECK(p["oid"] == mi.principal_id);
  CHECK(p["sub"] == mi.principal_id);
  CHECK(p["appid"] == mi.client_id);
  CHECK(p["appidacr"] == "2");
  CHECK(p["idtyp"] == "app");
  CHECK(p["tid"] == kTenant);
  auto v = f.service.validate(t->access_token, {"https://vault.azure.net"}, std::string(kTenant));
  REQUIRE(v);
  CHECK(v->xms_mirid == kUami);
  CHECK(v->oid == mi.principal_id);

  auto empty = f.service.issue_managed_identity_token(mi, " ");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().http_status == 400);
  CHECK(empty.error().error == "invalid_request");
  CHECK(empty.error().code == 0);

  ManagedIdentity no_tenant = mi;
  no_tenant.tenant_id.clear();
  CHECK(f.payload(f.service.issue_managed_identity_token(no_tenant, kArm)->access_token)["tid"] ==
        kTenant);
}

// --- validation ---

TEST_CASE("validate: expiry and not-before on the injected clock, with 5 minutes skew",
          "[entra][validate]") {
  TokenServiceOptions o;
  o.lifetime = seconds(60);
  Fixture f(o);
  std::string token = f.must_issue(f.secret_request(kApp, kSecret)).access_token;
  auto check = [&](int64_t at) {
    f.clock.set(at);
    return f.service.validate(token, arm_audiences(), std::string(kTenant));
  };
  CHECK(check(kStart + 60 + 299));
  auto expired = check(kStart + 60 + 300);
  REQUIRE_FALSE(expired);
  CHECK(expired.error().kind == TokenErrorKind::Expired);
  CHECK(expired.error().message.find("expired at") != std::string::npos);
  CHECK(std::string(token_error_name(expired.error().kind)) == "Expired");

  // nbf = issue - 300 (back-dated); a verifier whose clock is 600 s behind is still inside skew.
  CHECK(check(kStart - 600));
  auto early = check(kStart - 601);
  REQUIRE_FALSE(early);
  CHECK(early.error().kind == TokenErrorKind::NotYetValid);
}

TEST_CASE("validate: tokens survive a virtual clock advanced by 30 days", "[entra][validate]") {
  // The service reads real time; the emulated services' virtual clock is irrelevant to it.
  Directory directory;
  directory.put_tenant({kTenant, "Contoso", ""});
  cmk::RealClock real;
  cmk::VirtualClock virtual_clock(&real);
  TokenService service(directory, emulator_key(), real);
  TokenRequest r;
  r.tenant = kTenant;
  r.grant_type = "client_credentials";
  r.client.client_id = kUnknownApp;
  r.client.client_secret = "x";
  r.scope = "https://vault.azure.net/.default";
  auto t = service.token(r);
  REQUIRE(t);
  REQUIRE(virtual_clock.advance(std::chrono::hours(24 * 30)));
  CHECK(service.validate(t->access_token, {"https://vault.azure.net"}, std::string(kTenant)));
}

TEST_CASE("validate: audience, tenant, signature, shape", "[entra][validate]") {
  Fixture f;
  std::string token = f.must_issue(f.secret_request(kApp, kSecret)).access_token;

  SECTION("all four ARM audiences are accepted") {
    for (const char* scope :
         {"https://management.core.windows.net//.default",
          "https://management.core.windows.net/.default", "https://management.azure.com//.default",
          "https://management.azure.com/.default"}) {
      auto t = f.must_issue(f.secret_request(kApp, kSecret, scope));
      CHECK(f.service.validate(t.access_token, arm_audiences(), std::string(kTenant)));
    }
  }
  SECTION("wrong audience") {
    auto v = f.service.validate(token, {"https://vault.azure.net"}, std::string(kTenant));
    REQUIRE_FALSE(v);
    CHECK(v.error().kind == TokenErrorKind::WrongAudience);
    CHECK(v.error().message ==
          "The access token has been obtained for wrong audience or resource "
          "'https://management.core.windows.net/'. It should exactly match with one of the "
          "allowed audiences 'https://vault.azure.net'.");
    // Exact match: no slash or case folding.
    auto vault = f.must_issue(f.secret_request(kApp, kSecret, "https://vault.azure.net//.default"));
    CHECK_FALSE(f.service.validate(vault.access_token, {"https://vault.azure.net"}, std::nullopt));
  }
  SECTION("empty audience list accepts any") {
    CHECK(f.service.validate(token, {}, std::nullopt));
  }
  SECTION("wrong tenant") {
    auto v = f.service.validate(token, arm_audiences(), std::string(kOtherTenant));
    REQUIRE_FALSE(v);
    CHECK(v.error().kind == TokenErrorKind::WrongTenant);
    CHECK(f.service.validate(token, arm_audiences(), std::nullopt));
    CHECK(f.service.validate(token, arm_audiences(),
                             std::string("72F988BF-86F1-41AF-91AB-2D7CD011DB47")));
  }
  SECTION("missing") {
    auto v = f.service.validate("", arm_audiences(), std::nullopt);
    REQUIRE_FALSE(v);
    CHECK(v.error().kind == TokenErrorKind::Missing);
  }
  SECTION("malformed") {
    for (const char* bad : {"x", "a.b.c", "eyJ.eyJ.AAAA", "...."}) {
      auto v = f.service.validate(bad, arm_audiences(), std::nullopt);
      REQUIRE_FALSE(v);
      CHECK(v.error().kind == TokenErrorKind::Malformed);
    }
  }
  SECTION("tampered payload") {
    size_t d1 = token.find('.'), d2 = token.rfind('.');
    json p = f.payload(token);
    p["oid"] = "00000000-0000-0000-0000-000000000000";
    std::string forged =
        token.substr(0, d1 + 1) + cmk::base64url_encode(p.dump()) + token.substr(d2);
    auto v = f.service.validate(forged, arm_audiences(), std::nullopt);
    REQUIRE_FALSE(v);
    CHECK(v.error().kind == TokenErrorKind::BadSignature);
  }
  SECTION("signed by another key, with or without our kid") {
    json p = f.payload(token);
    auto foreign = sign_rs256(nullptr, p, stranger_key().pkey());
    auto spoofed = sign_rs256({{"kid", emulator_key().kid()}, {"x5t", emulator_key().kid()}}, p,
                              stranger_key().pkey());
    auto foreign_kid = sign_rs256({{"kid", stranger_key().kid()}}, p, stranger_key().pkey());
    for (const auto& t : {*foreign, *spoofed, *foreign_kid}) {
      auto v = f.service.validate(t, arm_audiences(), std::nullopt);
      REQUIRE_FALSE(v);
      CHECK(v.error().kind == TokenErrorKind::BadSignature);
    }
  }
  SECTION("required claims") {
    json p = f.payload(token);
    for (const char* claim : {"exp", "tid", "aud"}) {
      json q = p;
      q.erase(claim);
      auto t = sign_rs256({{"kid", emulator_key().kid()}}, q, emulator_key().pkey());
      auto v = f.service.validate(*t, arm_audiences(), std::nullopt);
      REQUIRE_FALSE(v);
      CHECK(v.error().kind == TokenErrorKind::Malformed);
    }
    json q = p;
    q["iss"] = "https://sts.windows.net/" + std::string(kOtherTenant) + "/";
    auto t = sign_rs256(nullptr, q, emulator_key().pkey());
    CHECK(f.service.validate(*t, arm_audiences(), std::nullopt).error().kind ==
          TokenErrorKind::Malformed);
  }
}

TEST_CASE("validate: revocation cuts off tokens issued before it, not after",
          "[entra][validate][revoke]") {
  Fixture f;
  std::string before = f.must_issue(f.secret_request(kApp, kSecret)).access_token;
  f.clock.advance(std::chrono::milliseconds(400));  // revoke within the same second as issuing
  f.service.revoke_tokens_issued_before_now();
  CHECK(f.service.revocation_cutoff() != 0);
  auto v = f.service.validate(before, arm_audiences(), std::nullopt);
  REQUIRE_FALSE(v);
  CHECK(v.error().kind == TokenErrorKind::Revoked);

  f.clock.advance(std::chrono::milliseconds(100));  // still the same second
  std::string after = f.must_issue(f.secret_request(kApp, kSecret)).access_token;
  CHECK(f.service.validate(after, arm_audiences(), std::nullopt));

  // A second revocation in the same second catches the token issued in between.
  f.clock.advance(std::chrono::milliseconds(100));
  f.service.revoke_tokens_issued_before_now();
  CHECK(f.service.validate(after, arm_audiences(), std::nullopt).error().kind ==
        TokenErrorKind::Revoked);
  std::string latest = f.must_issue(f.secret_request(kApp, kSecret)).access_token;
  CHECK(f.service.validate(latest, arm_audiences(), std::nullopt));

  // The cutoff can be exported and restored.
  Fixture g;
  g.service.set_revocation_cutoff(f.service.revocation_cutoff());
  CHECK(g.service.validate(before, arm_audiences(), std::nullopt).error().kind ==
        TokenErrorKind::Revoked);
  CHECK(g.service.validate(latest, arm_audiences(), std::nullopt));
}

TEST_CASE("token: concurrent issuing and validation", "[entra][token]") {
  Fixture f;
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 10; ++j) {
        auto t = f.service.token(f.secret_request(kApp, kSecret));
        if (t && f.service.validate(t->access_token, arm_audiences(), std::string(kTenant))) ++good;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(good == 60);
}

TEST_CASE("validate: a JWKS-only verifier accepts emulator tokens", "[entra][validate][jwks]") {
  // The JWKS published for this key names the same kid the token header carries.
  Fixture f;
  std::string token = f.must_issue(f.secret_request(kApp, kSecret)).access_token;
  json jwks = f.service.signing_key().jwks();
  auto jwt = decode_jwt(token);
  REQUIRE(jwt);
  bool found = false;
  for (const auto& k : jwks["keys"]) found = found || k["kid"] == jwt->header["kid"];
  CHECK(found);
}

TEST_CASE("token: options and imported state are clamped", "[entra][token]") {
  TokenServiceOptions o;
  o.lifetime = seconds(-5);
  o.backdate = seconds(std::numeric_limits<int32_t>::max());
  Fixture f(o);
  CHECK(f.service.lifetime() == seconds(1));
  f.service.set_revocation_cutoff(std::numeric_limits<int64_t>::max());
  CHECK(f.service.revocation_cutoff() == 9'000'000'000);
  f.service.set_revocation_cutoff(-1);
  CHECK(f.service.revocation_cutoff() == 0);
  IssuedToken t = f.must_issue(f.secret_request(kApp, kSecret));
  CHECK(t.expires_in == 1);
  CHECK(t.not_before == kStart - 86400);
}

TEST_CASE("validate: a token seen before is still checked for audience, tenant and tampering",
          "[entra][validate]") {
  Fixture f;
  std::string token = f.must_issue(f.secret_request(kApp, kSecret)).access_token;
  REQUIRE(f.service.validate(token, arm_audiences(), std::string(kTenant)));  // now cached
  REQUIRE(f.service.validate(token, arm_audiences(), std::string(kTenant)));
  CHECK(f.service.validate(token, {"https://vault.azure.net"}, std::nullopt).error().kind ==
        TokenErrorKind::WrongAudience);
  CHECK(f.service
            .validate(token, arm_audiences(), std::string("aaaaaaaa-0000-0000-0000-000000000009"))
            .error()
            .kind == TokenErrorKind::WrongTenant);
  std::string tampered = token;
  char& c = tampered[tampered.size() - 10];  // inside the signature, clear of padding bits
  c = c == 'A' ? 'B' : 'A';
  CHECK(f.service.validate(tampered, arm_audiences(), std::nullopt).error().kind ==
        TokenErrorKind::BadSignature);
}

TEST_CASE("token: the verified-token cache forgets its oldest entry when full", "[entra][token]") {
  TokenServiceOptions o;
  o.verified_cache_limit = 3;
  Fixture f(o);
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    f.clock.advance(std::chrono::seconds(1));  // a new iat: a token of its own
    tokens.push_back(f.must_issue(f.secret_request(kApp, kSecret)).access_token);
  }
  REQUIRE(std::set<std::string>(tokens.begin(), tokens.end()).size() == 5);
  for (const auto& t : tokens)
    REQUIRE(f.service.validate(t, arm_audiences(), std::string(kTenant)));
  // Emptied when full, it would hold 2 now; first in, first out keeps the newest 3.
  CHECK(f.service.verified_cache_size() == 3);
  // The newest is remembered; the oldest, forgotten, is checked again and still valid.
  REQUIRE(f.service.validate(tokens[4], arm_audiences(), std::string(kTenant)));
  CHECK(f.service.verified_cache_size() == 3);
  REQUIRE(f.service.validate(tokens[0], arm_audiences(), std::string(kTenant)));
  CHECK(f.service.verified_cache_size() == 3);
}
