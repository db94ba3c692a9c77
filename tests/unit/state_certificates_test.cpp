// Key Vault certificates in the emulator's state (state/snapshot.h, "vaultCertificates"):
// issued versions, pending operations (Self on the virtual clock, Unknown awaiting its merge),
// deleted certificates, contacts and issuers survive an export and import byte for byte and
// work afterwards (kid and sid resolve, the pending ones complete, the deleted one recovers);
// the public export carries no private material and is refused; a broken section names its
// path and changes nothing; --state-dir saves certificate changes row by row and a restart
// resumes them.
#include <catch2/catch.hpp>

#include <openssl/x509.h>

#include <fstream>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "keyvault_data/key_material.h"
#include "state/persistence.h"
#include "test_support.h"

using namespace cmk;
using namespace cmk::keyvault_data;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kRg =
    std::string("/subscriptions/") + test::kSubscription + "/resourceGroups/rg1";

struct Kv {
  std::unique_ptr<Emulator> emu;
  const char* v = "?api-version=7.5";

  explicit Kv(const std::filesystem::path& state_dir = {}, bool journal_bodies = false,
              bool make_vault = true) {
    EmulatorOptions o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.state_dir = state_dir;
    o.journal_bodies = journal_bodies;
    emu = test::start_emulator(o);
    if (!make_vault) return;
    // Frozen: a pending operation completes when the test moves the clock.
    emu->clock().set_frozen(true);
    auto arm = test::https_client(*emu);
    httplib::Headers auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
    REQUIRE(arm->Put(kRg + "?api-version=2022-09-01", auth, R"({"location":"westeurope"})",
                     "application/json")
                ->status == 201);
    json permissions = {
        {"certificates", {"all", "purge"}}, {"keys", {"all"}}, {"secrets", {"all"}}};
    json props = {{"tenantId", test::kTenant},
                  {"sku", {{"family", "A"}, {"name", "standard"}}},
                  {"accessPolicies",
                   {{{"tenantId", test::kTenant},
                     {"objectId", test::kSpObjectId},
                     {"permissions", permissions}}}}};
    auto r = arm->Put(kRg + "/providers/Microsoft.KeyVault/vaults/kv1?api-version=2022-07-01", auth,
                      json{{"location", "westeurope"}, {"properties", props}}.dump(),
                      "application/json");
    REQUIRE(r);
    REQUIRE((r->status == 201 || r->status == 200));
  }
  httplib::Result send(const std::string& method, const std::string& path,
                       const json& b = json::object()) {
    auto c = test::proxied_client(*emu, "kv1.vault.azure.net");
    httplib::Headers auth = {
        {"Authorization", "Bearer " + test::app_token(*emu, "https://vault.azure.net")}};
    const std::string p = path + v;
    if (method == "POST") return c->Post(p, auth, b.dump(), "application/json");
    if (method == "PUT") return c->Put(p, auth, b.dump(), "application/json");
    if (method == "PATCH") return c->Patch(p, auth, b.dump(), "application/json");
    if (method == "DELETE") return c->Delete(p, auth);
    return c->Get(p, auth);
  }
  std::pair<int, json> put_state(const json& doc) {
    auto r = test::http_client(*emu)->Put("/_emulator/state", doc.dump(), "application/json");
    REQUIRE(r);
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  void advance(int seconds) { emu->clock().advance(std::chrono::seconds(seconds)); }
};

json body_of(const httplib::Result& r, int status) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == status);
  return r->body.empty() ? json() : json::parse(r->body);
}

json policy(const std::string& subject, const std::string& issuer = "Self",
            const std::string& content_type = "application/x-pkcs12") {
  return {{"key_props", {{"kty", "RSA"}, {"key_size", 2048}, {"exportable", true}}},
          {"secret_props", {{"contentType", content_type}}},
          {"x509_props", {{"subject", subject}, {"validity_months", 12}}},
          {"issuer", {{"name", issuer}}}};
}

std::string version_of(const std::string& id) {
  return id.substr(id.rfind('/') + 1);
}

std::string path_of(const std::string& id) {
  return id.substr(id.find(".net") + 4);
}

// Signs the CSR of a pending Unknown operation with a CA of the test's own; the leaf's DER.
std::string sign_csr(const std::string& csr_b64) {
  auto csr = *base64_decode(csr_b64);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(csr.data());
  std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>> req(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(csr.size())));
  REQUIRE(req);
  auto ca_key = *KeyMaterial::generate_ec(Curve::P256);
  X509Ptr leaf(X509_new());
  X509_set_version(leaf.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(leaf.get()), 7);
  X509_set_subject_name(leaf.get(), X509_REQ_get_subject_name(req.get()));
  X509_set_issuer_name(leaf.get(), X509_REQ_get_subject_name(req.get()));
  X509_gmtime_adj(X509_getm_notBefore(leaf.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(leaf.get()), 86400 * 30);
  X509_set_pubkey(leaf.get(), X509_REQ_get0_pubkey(req.get()));
  REQUIRE(X509_sign(leaf.get(), ca_key.evp_key().get(), EVP_sha256()) > 0);
  unsigned char* buf = nullptr;
  int n = i2d_X509(leaf.get(), &buf);
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return der;
}

struct Certs {
  json issued;      // "web" after its second version
  std::string csr;  // of the pending Unknown "csr"
  std::string gone_x5t;
};

// web: two issued versions, the first disabled and tagged; selfpending: Self, pending on the
// virtual clock; csr: Unknown, waiting for its merge; gone: deleted; contacts and an issuer.
Certs build(Kv& kv) {
  Certs c;
  for (int i = 0; i < 2; ++i) {
    body_of(kv.send("POST", "/certificates/web/create", {{"policy", policy("CN=web")}}), 202);
    kv.advance(5);
    REQUIRE(body_of(kv.send("GET", "/certificates/web/pending"), 200)["status"] == "completed");
  }
  auto versions = body_of(kv.send("GET", "/certificates/web/versions"), 200)["value"];
  REQUIRE(versions.size() == 2);
  body_of(kv.send("PATCH", "/certificates/web/" + version_of(versions[0]["id"]),
                  {{"attributes", {{"enabled", false}}}, {"tags", {{"era", "first"}}}}),
          200);
  c.issued = body_of(kv.send("GET", "/certificates/web"), 200);
  body_of(kv.send("POST", "/certificates/gone/create", {{"policy", policy("CN=gone")}}), 202);
  kv.advance(5);
  c.gone_x5t = body_of(kv.send("GET", "/certificates/gone"), 200)["x5t"];
  body_of(kv.send("DELETE", "/certificates/gone"), 200);
  body_of(kv.send("POST", "/certificates/selfpending/create",
                  {{"policy", policy("CN=later")}, {"tags", {{"t", "1"}}}}),
          202);
  auto op = body_of(kv.send("POST", "/certificates/csr/create",
                            {{"policy", policy("CN=csr", "Unknown", "application/x-pem-file")}}),
                    202);
  c.csr = op["csr"];
  body_of(kv.send("PUT", "/certificates/contacts",
                  {{"contacts", {{{"email", "ops@contoso.com"}, {"name", "Ops"}}}}}),
          200);
  body_of(kv.send("PUT", "/certificates/issuers/digi",
                  {{"provider", "DigiCert"},
                   {"credentials", {{"account_id", "acct"}, {"pwd", "issuer-password-77"}}}}),
          200);
  return c;
}

}  // namespace

TEST_CASE("state: certificates export and import again to the same bytes, and work",
          "[state][kvcert]") {
  Kv a;
  Certs c = build(a);
  const json first = a.emu->export_state(true);
  const json& vault = first["state"]["vaultCertificates"]["kv1"];
  REQUIRE(vault["certificates"].size() == 3);
  CHECK(vault["certificates"][0]["name"] == "csr");
  CHECK(vault["certificates"][0]["pending"]["status"] == "inProgress");
  CHECK(vault["certificates"][1]["pending"]["status"] == "inProgress");
  CHECK(vault["certificates"][2]["versions"].size() == 2);
  CHECK(vault["certificates"][2]["versions"][0]["tags"]["era"] == "first");
  REQUIRE(vault["deletedCertificates"].size() == 1);
  CHECK(vault["deletedCertificates"][0].contains("scheduledPurgeDate"));
  CHECK(vault["contacts"][0]["email"] == "ops@contoso.com");
  CHECK(vault["issuers"][0]["password"] == "issuer-password-77");

  auto check_works = [&](Kv& b) {
    // The issued certificate, its versions, and its key and secret by kid and sid.
    auto web = body_of(b.send("GET", "/certificates/web"), 200);
    CHECK(web["cer"] == c.issued["cer"]);
    CHECK(web["kid"] == c.issued["kid"]);
    CHECK(web["policy"] == c.issued["policy"]);
    auto key = body_of(b.send("GET", path_of(web["kid"])), 200);
    CHECK(key["key"]["kid"] == web["kid"]);
    auto secret = body_of(b.send("GET", path_of(web["sid"])), 200);
    CHECK(secret["kid"] == web["kid"]);
    CHECK(body_of(b.send("GET", "/certificates/web/versions"), 200)["value"].size() == 2);
    // A backup made now restores (its key came through the state).
    CHECK(b.send("POST", "/certificates/web/backup")->status == 200);
    // The Self operation completes on the virtual clock, with its key and secret.
    CHECK(body_of(b.send("GET", "/certificates/selfpending/pending"), 200)["status"] ==
          "inProgress");
    b.advance(5);
    CHECK(body_of(b.send("GET", "/certificates/selfpending/pending"), 200)["status"] ==
          "completed");
    auto later = body_of(b.send("GET", "/certificates/selfpending"), 200);
    CHECK(later["tags"]["t"] == "1");
    CHECK(b.send("GET", path_of(later["sid"]))->status == 200);
    // The Unknown operation kept its key: the CSR it gave before merges now.
    auto pending = body_of(b.send("GET", "/certificates/csr/pending"), 200);
    CHECK(pending["csr"] == c.csr);
    const std::string der = sign_csr(c.csr);
    auto merged = body_of(
        b.send("POST", "/certificates/csr/pending/merge", {{"x5c", {base64_encode(der)}}}), 201);
    CHECK(merged["cer"] == base64_encode(der));
    // The deleted certificate recovers with its key and secret.
    body_of(b.send("POST", "/deletedcertificates/gone/recover"), 200);
    CHECK(body_of(b.send("GET", "/certificates/gone"), 200)["x5t"] == c.gone_x5t);
    CHECK(b.send("GET", "/keys/gone")->status == 200);
    CHECK(b.send("GET", "/secrets/gone")->status == 200);
    // Contacts and issuers (the password never shows).
    CHECK(body_of(b.send("GET", "/certificates/contacts"), 200)["contacts"][0]["name"] == "Ops");
    auto issuer = body_of(b.send("GET", "/certificates/issuers/digi"), 200);
    CHECK(issuer["provider"] == "DigiCert");
    CHECK(issuer.dump().find("issuer-password-77") == std::string::npos);
  };

  SECTION("into another emulator, through the admin API") {
    Kv b({}, false, false);
    auto [status, body] = b.put_state(first);
    INFO(body.dump());
    REQUIRE(status == 200);
    CHECK(b.emu->export_state(true).dump() == first.dump());
    check_works(b);
  }
  SECTION("into the same emulator, after a reset") {
    REQUIRE(a.emu->reset_state().is_ok());
    CHECK(a.emu->export_state(true)["state"]["vaultCertificates"].empty());
    REQUIRE(a.emu->import_state(first).is_ok());
    CHECK(a.emu->export_state(true).dump() == first.dump());
    check_works(a);
  }
  SECTION("as a --fixture file") {
    test::TempDir dir;
    std::ofstream(dir.path() / "state.json") << first.dump(2);
    auto o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.fixtures = {dir.path() / "state.json"};
    auto b = test::start_emulator(o);
    CHECK(b->export_state(true).dump() == first.dump());
  }
}

TEST_CASE("state: the public export has no certificate private material and is refused",
          "[state][kvcert]") {
  Kv a({}, true);
  build(a);
  // And a PEM import, whose body holds a private key.
  auto pem_export = body_of(a.send("GET", "/secrets/web"), 200);  // PKCS #12 (base64)
  body_of(a.send("POST", "/certificates/imported/import", {{"value", pem_export["value"]}}), 200);
  const json secret = a.emu->export_state(true);
  const json pub = a.emu->export_state(false);
  const std::string text = pub.dump();
  CHECK(text.find("\"material\"") == std::string::npos);
  CHECK(text.find("issuer-password-77") == std::string::npos);
  CHECK(text.find("PRIVATE KEY") == std::string::npos);
  CHECK(pub["state"]["vaultCertificates"]["kv1"]["certificates"].size() == 4);
  CHECK(secret.dump().find("issuer-password-77") != std::string::npos);

  auto [status, body] = a.put_state(pub);
  CHECK(status == 400);
  CHECK_THAT(body["error"]["message"].get<std::string>(), Contains("include=secrets"));
  // Only the certificates section of the public export: its own refusal names the path.
  json only = secret;
  only["state"]["vaultCertificates"] = pub["state"]["vaultCertificates"];
  auto [s2, b2] = a.put_state(only);
  CHECK(s2 == 400);
  CHECK_THAT(b2["error"]["message"].get<std::string>(),
             Contains("$.state.vaultCertificates.kv1.certificates[0].pending: carries no private "
                      "key material: export with ?include=secrets to import"));
  CHECK(a.emu->export_state(true).dump() == secret.dump());

  // The journal (with bodies) never shows a private key either.
  auto journal = test::http_client(*a.emu)->Get("/_emulator/requests?limit=1000");
  REQUIRE(journal);
  REQUIRE(journal->status == 200);
  CHECK(journal->body.find("/certificates/imported/import") != std::string::npos);
  CHECK(journal->body.find("PRIVATE KEY") == std::string::npos);
  CHECK(journal->body.find("issuer-password-77") == std::string::npos);
  CHECK(journal->body.find(pem_export["value"].get<std::string>().substr(0, 64)) ==
        std::string::npos);
}

TEST_CASE("state: a broken certificates section names its path and changes nothing",
          "[state][kvcert]") {
  Kv a;
  build(a);
  const json before = a.emu->export_state(true);
  struct Case {
    const char* what;
    std::function<void(json&)> spoil;
    const char* message;
  };
  const std::string base = "$.state.vaultCertificates.kv1.certificates";
  const std::vector<Case> cases = {
      {"x5c that is not base64",
       [](json& v) { v["certificates"][2]["versions"][0]["x5c"][0] = "%%"; },
       "certificates[2].versions[0].x5c[0]: is not base64"},
      {"a key that is not the certificate's",
       [](json& v) {
         v["certificates"][2]["versions"][0]["material"] =
             v["certificates"][2]["versions"][1]["material"];
       },
       "certificates[2].versions[0].x5c: Public key from x5c parameter does not match"},
      {"a bad version id", [](json& v) { v["certificates"][2]["versions"][1]["version"] = "XYZ"; },
       "certificates[2].versions[1].version: must be 32 lower-case hex characters"},
      {"a policy with a bad key size",
       [](json& v) { v["certificates"][2]["policy"]["keySize"] = 1000; },
       "certificates[2].policy: "},
      {"a pending operation of no version",
       [](json& v) { v["certificates"][0]["pending"]["version"] = std::string(32, 'a'); },
       "certificates[0].pending.version: names no version of the certificate"},
      {"an unknown member", [](json& v) { v["certificates"][1]["colour"] = "blue"; },
       "certificates[1].colour: unknown member"},
      {"a name twice", [](json& v) { v["deletedCertificates"][0]["name"] = "WEB"; },
       "deletedCertificates[0].name: names the certificate 'WEB' twice"},
      {"a contact with nothing", [](json& v) { v["contacts"][0] = json::object(); },
       "contacts[0]: must give at least one of email, name and phone"},
      {"an issuer named Self", [](json& v) { v["issuers"][0]["name"] = "Self"; },
       "issuers[0].name: must be an issuer name"},
  };
  for (const auto& k : cases) {
    INFO(k.what);
    json doc = before;
    k.spoil(doc["state"]["vaultCertificates"]["kv1"]);
    auto [status, body] = a.put_state(doc);
    CHECK(status == 400);
    CHECK_THAT(body["error"]["message"].get<std::string>(),
               Contains("$.state.vaultCertificates.kv1." + std::string(k.message)));
    CHECK(a.emu->export_state(true).dump() == before.dump());
  }
}

TEST_CASE("state dir: certificates are saved row by row and a restart resumes them",
          "[state][persistence][kvcert]") {
  test::TempDir dir;
  json saved;
  Certs c;
  {
    Kv a(dir.path());
    c = build(a);
    saved = a.emu->export_state(true);
    // One certificate's change writes that certificate's row, not the vault's others.
    const uint64_t before = a.emu->state_directory()->rows_written();
    body_of(a.send("PATCH", "/certificates/web", {{"tags", {{"x", "y"}}}}), 200);
    CHECK(a.emu->state_directory()->rows_written() - before == 1);
    saved = a.emu->export_state(true);
  }
  Kv b(dir.path(), false, false);
  CHECK(b.emu->export_state(true).dump() == saved.dump());
  CHECK(body_of(b.send("GET", "/certificates/web"), 200)["tags"]["x"] == "y");
  // The Self operation pending at the restart completes on the clock; the deleted certificate
  // is still deleted.
  b.advance(5);
  CHECK(body_of(b.send("GET", "/certificates/selfpending/pending"), 200)["status"] == "completed");
  CHECK(body_of(b.send("GET", "/deletedcertificates/gone"), 200)["x5t"] == c.gone_x5t);
}

TEST_CASE("fixtures seed certificates, and a bad one stops the start with its path",
          "[state][kvcert][fixture]") {
  const auto fixture =
      std::filesystem::path(CMK_SOURCE_DIR) / "fixtures" / "seed-vault-certificate-tls.json";
  auto o = test::test_options();
  o.rsa_key_pool_size = 0;
  o.fixtures = {fixture};
  auto emu = test::start_emulator(o);
  auto kv = test::proxied_client(*emu, "tls-kv.vault.azure.net");
  httplib::Headers auth = {
      {"Authorization", "Bearer " + test::app_token(*emu, "https://vault.azure.net")}};
  const std::string version = "c0a1b2c3d4e5f60718293a4b5c6d7e8f";
  auto cert = body_of(kv->Get("/certificates/contoso-tls?api-version=7.5", auth), 200);
  CHECK(version_of(cert["id"]) == version);
  CHECK(cert["tags"]["env"] == "test");
  CHECK(cert["policy"]["x509_props"]["subject"] == "CN=tls.contoso.com, O=Contoso");
  CHECK(cert["policy"]["secret_props"]["contentType"] == "application/x-pem-file");
  // Its key and its secret, with the same version; the secret is the fixture's PEM key.
  CHECK(version_of(cert["kid"]) == version);
  auto secret = body_of(kv->Get(path_of(cert["sid"]) + "?api-version=7.5", auth), 200);
  json doc = json::parse(std::ifstream(fixture));
  const std::string pem = doc["vaults"][0]["certificates"][0]["versions"][0]["value"];
  const std::string key_pem = pem.substr(0, pem.find("-----END PRIVATE KEY-----"));
  CHECK(secret["value"].get<std::string>().rfind(key_pem, 0) == 0);
  CHECK(kv->Get(path_of(cert["kid"]) + "?api-version=7.5", auth)->status == 200);
  // The state export carries it like any certificate.
  CHECK(
      emu->export_state(true)["state"]["vaultCertificates"]["tls-kv"]["certificates"][0]["name"] ==
      "contoso-tls");

  struct Case {
    const char* what;
    std::function<void(json&)> spoil;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no value", [](json& v) { v.erase("value"); }, ".value: is required"},
      {"a bad version", [](json& v) { v["version"] = "v1"; },
       ".version: must be 32 lower-case hex characters"},
      {"a certificate without its key",
       [&](json& v) { v["value"] = pem.substr(pem.find("-----BEGIN CERTIFICATE-----")); },
       ": The PEM text holds no private key that could be read."},
      {"an unknown key", [](json& v) { v["colour"] = "blue"; }, ".colour: unknown key"},
      {"a wrong content type",
       [](json& v) { v["policy"]["secret_props"]["contentType"] = "application/x-pkcs12"; },
       ": The content type of the certificate (application/x-pem-file) does not match"},
  };
  test::TempDir dir;
  for (const auto& k : cases) {
    INFO(k.what);
    json bad = doc;
    k.spoil(bad["vaults"][0]["certificates"][0]["versions"][0]);
    const auto file = dir.path() / "bad.json";
    std::ofstream(file) << bad.dump();
    auto o2 = test::test_options();
    o2.rsa_key_pool_size = 0;
    o2.fixtures = {file};
    Emulator e(o2);
    auto started = e.start();
    REQUIRE_FALSE(started.is_ok());
    CHECK_THAT(started.message(),
               Contains("$.vaults[0].certificates[0].versions[0]" + std::string(k.message)));
  }
}
