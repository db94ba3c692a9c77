// The certificates data plane over HTTPS through the in-process emulator: create with the Self
// issuer as a pending operation on the virtual clock, its backing key and secret, the Unknown
// issuer's CSR and merge, PEM import, lists, policy, soft delete, backup/restore, contacts,
// issuers and access policies.
#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "keyvault_data/certificate_material.h"
#include "test_support.h"

using namespace cmk;
using namespace cmk::keyvault_data;
using nlohmann::json;

namespace {

json access(const std::string& oid, json permissions) {
  return {{"tenantId", test::kTenant}, {"objectId", oid}, {"permissions", permissions}};
}

struct Kv {
  std::unique_ptr<Emulator> emu;
  std::unique_ptr<httplib::SSLClient> arm;
  httplib::Headers arm_auth;
  std::string token;
  const char* v = "?api-version=7.5";

  explicit Kv(json permissions = {{"certificates", {"all", "purge"}},
                                  {"keys", {"all"}},
                                  {"secrets", {"all"}}},
              bool journal_bodies = false) {
    EmulatorOptions o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.journal_bodies = journal_bodies;
    emu = test::start_emulator(o);
    // Frozen: a pending operation completes when the test moves the clock, however slow the
    // machine is.
    emu->clock().set_frozen(true);
    arm = test::https_client(*emu);
    arm_auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
    token = test::app_token(*emu, "https://vault.azure.net");
    const std::string rg =
        std::string("/subscriptions/") + test::kSubscription + "/resourceGroups/rg1";
    REQUIRE(arm->Put(rg + "?api-version=2022-09-01", arm_auth, R"({"location":"westeurope"})",
                     "application/json")
                ->status == 201);
    json props = {{"tenantId", test::kTenant},
                  {"sku", {{"family", "A"}, {"name", "standard"}}},
                  {"accessPolicies", {access(test::kSpObjectId, permissions)}}};
    auto r = arm->Put(rg + "/providers/Microsoft.KeyVault/vaults/kv1?api-version=2022-07-01",
                      arm_auth, json{{"location", "westeurope"}, {"properties", props}}.dump(),
                      "application/json");
    REQUIRE(r);
    REQUIRE((r->status == 201 || r->status == 200));
  }
  httplib::Headers auth() { return {{"Authorization", "Bearer " + token}}; }
  std::unique_ptr<httplib::SSLClient> vault() {
    return test::proxied_client(*emu, "kv1.vault.azure.net");
  }
  httplib::Result send(const std::string& method, const std::string& path,
                       const json& b = json::object()) {
    auto c = vault();
    const std::string p =
        path + (path.find('?') == std::string::npos ? v : "&api-version=7.5" + std::string());
    if (method == "POST") return c->Post(p, auth(), b.dump(), "application/json");
    if (method == "PUT") return c->Put(p, auth(), b.dump(), "application/json");
    if (method == "PATCH") return c->Patch(p, auth(), b.dump(), "application/json");
    if (method == "DELETE") return c->Delete(p, auth());
    return c->Get(p, auth());
  }
  void advance(int seconds) { emu->clock().advance(std::chrono::seconds(seconds)); }
};

json body_of(const httplib::Result& r, int status) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == status);
  return r->body.empty() ? json() : json::parse(r->body);
}

json self_policy(const std::string& subject = "CN=app.contoso.com") {
  return {{"key_props", {{"kty", "RSA"}, {"key_size", 2048}, {"exportable", true}}},
          {"secret_props", {{"contentType", "application/x-pkcs12"}}},
          {"x509_props",
           {{"subject", subject},
            {"sans", {{"dns_names", {"app.contoso.com", "www.contoso.com"}}}},
            {"validity_months", 24}}},
          {"issuer", {{"name", "Self"}}}};
}

X509Ptr x509_of(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

std::string version_of(const std::string& id) {
  return id.substr(id.rfind('/') + 1);
}

// Creates a Self certificate and completes it by moving the virtual clock.
json create_self(Kv& kv, const std::string& name, json policy = self_policy()) {
  auto created =
      body_of(kv.send("POST", "/certificates/" + name + "/create", {{"policy", policy}}), 202);
  CHECK(created["status"] == "inProgress");
  kv.advance(5);
  auto done = body_of(kv.send("GET", "/certificates/" + name + "/pending"), 200);
  REQUIRE(done["status"] == "completed");
  return body_of(kv.send("GET", "/certificates/" + name), 200);
}

}  // namespace

TEST_CASE("kv certificates api: Self create is pending until the virtual clock moves",
          "[kvcertapi]") {
  Kv kv;
  auto r = kv.send("POST", "/certificates/web/create", {{"policy", self_policy()}});
  auto op = body_of(r, 202);
  CHECK(op["status"] == "inProgress");
  CHECK(op["cancellation_requested"] == false);
  CHECK(op["id"] == "https://kv1.vault.azure.net/certificates/web/pending");
  CHECK(r->get_header_value("Location").find("/certificates/web/pending?api-version=7.5") !=
        std::string::npos);
  // The CSR is base64 DER of a request for the subject.
  auto csr = base64_decode(op["csr"].get<std::string>());
  REQUIRE(csr);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(csr->data());
  std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>> req(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(csr->size())));
  REQUIRE(req);
  // While pending: a disabled version without X.509, and the pending operation in progress.
  auto pending_cert = body_of(kv.send("GET", "/certificates/web"), 200);
  CHECK(pending_cert["attributes"]["enabled"] == false);
  CHECK_FALSE(pending_cert.contains("cer"));
  CHECK(pending_cert["pending"]["id"] == "https://kv1.vault.azure.net/certificates/web/pending");
  CHECK(body_of(kv.send("GET", "/certificates/web/pending"), 200)["status"] == "inProgress");
  // A second create while one is in progress is refused.
  CHECK(kv.send("POST", "/certificates/web/create", {{"policy", self_policy()}})->status == 409);
  kv.advance(5);
  auto done = body_of(kv.send("GET", "/certificates/web/pending"), 200);
  CHECK(done["status"] == "completed");
  CHECK(done["target"] == "https://kv1.vault.azure.net/certificates/web");

  auto cert = body_of(kv.send("GET", "/certificates/web"), 200);
  CHECK(cert["attributes"]["enabled"] == true);
  const std::string version = version_of(cert["id"]);
  CHECK(cert["kid"] == "https://kv1.vault.azure.net/keys/web/" + version);
  CHECK(cert["sid"] == "https://kv1.vault.azure.net/secrets/web/" + version);
  CHECK(cert["policy"]["x509_props"]["validity_months"] == 24);
  CHECK(cert["policy"]["key_props"]["kty"] == "RSA");
  auto der = base64_decode(cert["cer"].get<std::string>());
  REQUIRE(der);
  X509Ptr x = x509_of(*der);
  REQUIRE(x);
  CHECK(X509_verify(x.get(), X509_get0_pubkey(x.get())) == 1);
  unsigned char sha1[20];
  unsigned int n = 0;
  X509_digest(x.get(), EVP_sha1(), sha1, &n);
  CHECK(cert["x5t"] == base64url_encode(std::string(reinterpret_cast<char*>(sha1), n)));
  CHECK(cert["attributes"]["exp"].get<int64_t>() - cert["attributes"]["nbf"].get<int64_t>() >
        700 * 86400);

  // The backing key signs through the keys data plane; the certificate verifies it.
  std::string digest(32, '\x5a');
  auto signed_ = body_of(kv.send("POST", "/keys/web/" + version + "/sign",
                                 {{"alg", "RS256"}, {"value", base64url_encode(digest)}}),
                         200);
  auto sig = base64url_decode(signed_["value"].get<std::string>());
  REQUIRE(sig);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, X509_get0_pubkey(x.get()), nullptr));
  REQUIRE(EVP_PKEY_verify_init(ctx.get()) == 1);
  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
  EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256());
  CHECK(EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                        reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1);

  // The backing secret: a managed PKCS#12 without password holding the same certificate.
  auto secret = body_of(kv.send("GET", "/secrets/web/" + version), 200);
  CHECK(secret["contentType"] == "application/x-pkcs12");
  CHECK(secret["managed"] == true);
  CHECK(secret["kid"] == cert["kid"]);
  auto pfx = base64_decode(secret["value"].get<std::string>());
  REQUIRE(pfx);
  auto m = CertificateMaterial::import_certificate(*pfx, "");
  REQUIRE(m);
  CHECK(m->der() == *der);
}

TEST_CASE("kv certificates api: Unknown issuer, CSR and merge", "[kvcertapi]") {
  Kv kv;
  json policy = self_policy("CN=merged.contoso.com");
  policy["issuer"]["name"] = "Unknown";
  policy["secret_props"]["contentType"] = "application/x-pem-file";
  auto op = body_of(kv.send("POST", "/certificates/merged/create", {{"policy", policy}}), 202);
  kv.advance(3600);  // Unknown waits for the merge however long it takes
  CHECK(body_of(kv.send("GET", "/certificates/merged/pending"), 200)["status"] == "inProgress");
  // Sign the CSR with a CA of our own.
  auto csr = *base64_decode(op["csr"].get<std::string>());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(csr.data());
  std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>> req(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(csr.size())));
  REQUIRE(req);
  auto ca_key = *KeyMaterial::generate_ec(Curve::P256);
  X509Ptr leaf(X509_new());
  X509_set_version(leaf.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(leaf.get()), 7);
  X509_set_subject_name(leaf.get(), X509_REQ_get_subject_name(req.get()));
  X509_NAME* issuer = X509_NAME_new();
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Test CA"), -1, -1, 0);
  X509_set_issuer_name(leaf.get(), issuer);
  X509_NAME_free(issuer);
  X509_gmtime_adj(X509_getm_notBefore(leaf.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(leaf.get()), 86400 * 30);
  X509_set_pubkey(leaf.get(), X509_REQ_get0_pubkey(req.get()));
  REQUIRE(X509_sign(leaf.get(), ca_key.evp_key().get(), EVP_sha256()) > 0);
  unsigned char* buf = nullptr;
  int n = i2d_X509(leaf.get(), &buf);
  std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  // A chain for another key is refused; the right one merges.
  CHECK(kv.send("POST", "/certificates/merged/pending/merge", {{"x5c", {"bm90IGEgY2VydA=="}}})
            ->status == 400);
  auto merged = body_of(
      kv.send("POST", "/certificates/merged/pending/merge", {{"x5c", {base64_encode(der)}}}), 201);
  CHECK(merged["cer"] == base64_encode(der));
  CHECK(kv.send("GET", "/certificates/merged/pending")->status == 404);
  auto secret = body_of(kv.send("GET", "/secrets/merged"), 200);
  CHECK(secret["contentType"] == "application/x-pem-file");
  CHECK(secret["value"].get<std::string>().rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
}

TEST_CASE("kv certificates api: import PEM, list, update, policy, delete, recover, purge",
          "[kvcertapi]") {
  Kv kv;
  CertificatePolicy p;
  p.subject = "CN=imported";
  p.issuer_name = "Self";
  complete_policy(p);
  auto m = CertificateMaterial::self_signed(p, *KeyMaterial::generate_ec(Curve::P256), 1796630400);
  REQUIRE(m);
  auto imported =
      body_of(kv.send("POST", "/certificates/imported/import",
                      {{"value", m->pem()},
                       {"policy", {{"secret_props", {{"contentType", "application/x-pem-file"}}}}},
                       {"tags", {{"env", "test"}}}}),
              200);
  CHECK(imported["x5t"] == base64url_encode(m->x5t()));
  CHECK(imported["policy"]["key_props"]["kty"] == "EC");
  CHECK(imported["policy"]["x509_props"]["subject"] == "CN=imported");
  CHECK(imported["tags"]["env"] == "test");
  // A PKCS#12 that needs a password, without it, is refused.
  CHECK(kv.send("POST", "/certificates/bad/import", {{"value", "bm90IGEgcGZ4"}})->status == 400);

  create_self(kv, "second");
  auto list = body_of(kv.send("GET", "/certificates"), 200);
  REQUIRE(list["value"].size() == 2);
  CHECK(list["value"][0]["id"] == "https://kv1.vault.azure.net/certificates/imported");
  auto page = body_of(kv.send("GET", "/certificates?maxresults=1"), 200);
  CHECK(page["value"].size() == 1);
  CHECK(page["nextLink"].is_string());
  CHECK(body_of(kv.send("GET", "/certificates/second/versions"), 200)["value"].size() == 1);

  auto updated = body_of(kv.send("PATCH", "/certificates/second",
                                 {{"attributes", {{"enabled", false}}}, {"tags", {{"a", "b"}}}}),
                         200);
  CHECK(updated["attributes"]["enabled"] == false);
  CHECK(updated["tags"]["a"] == "b");
  auto policy = body_of(
      kv.send("PATCH", "/certificates/second/policy", {{"x509_props", {{"validity_months", 6}}}}),
      200);
  CHECK(policy["x509_props"]["validity_months"] == 6);
  CHECK(policy["x509_props"]["subject"] == "CN=app.contoso.com");
  CHECK(body_of(kv.send("GET", "/certificates/second/policy"),
                200)["x509_props"]["validity_months"] == 6);
  CHECK(
      kv.send("PATCH", "/certificates/second/policy", {{"key_props", {{"kty", "oct"}}}})->status ==
      400);

  // Delete takes the key and the secret along; recover brings all three back.
  auto deleted = body_of(kv.send("DELETE", "/certificates/second"), 200);
  CHECK(deleted["recoveryId"] == "https://kv1.vault.azure.net/deletedcertificates/second");
  CHECK(kv.send("GET", "/certificates/second")->status == 404);
  CHECK(kv.send("GET", "/keys/second")->status == 404);
  CHECK(kv.send("GET", "/secrets/second")->status == 404);
  CHECK(body_of(kv.send("GET", "/deletedcertificates"), 200)["value"].size() == 1);
  CHECK(kv.send("POST", "/certificates/second/create", {{"policy", self_policy()}})->status == 409);
  body_of(kv.send("POST", "/deletedcertificates/second/recover"), 200);
  CHECK(kv.send("GET", "/keys/second")->status == 200);
  CHECK(kv.send("GET", "/secrets/second")->status == 200);
  body_of(kv.send("DELETE", "/certificates/second"), 200);
  CHECK(kv.send("DELETE", "/deletedcertificates/second")->status == 204);
  auto gone = kv.send("GET", "/deletedcertificates/second");
  CHECK(gone->status == 404);
  CHECK(body_of(gone, 404)["error"]["code"] == "CertificateNotFound");
  CHECK(kv.send("GET", "/deletedkeys/second")->status == 404);
}

TEST_CASE("kv certificates api: backup and restore bring back the key and the secret",
          "[kvcertapi]") {
  Kv kv;
  auto cert = create_self(kv, "saved");
  auto blob = body_of(kv.send("POST", "/certificates/saved/backup"), 200)["value"];
  body_of(kv.send("DELETE", "/certificates/saved"), 200);
  CHECK(kv.send("POST", "/certificates/restore", {{"value", blob}})->status == 409);
  CHECK(kv.send("DELETE", "/deletedcertificates/saved")->status == 204);
  auto restored = body_of(kv.send("POST", "/certificates/restore", {{"value", blob}}), 200);
  CHECK(restored["cer"] == cert["cer"]);
  CHECK(restored["id"] == cert["id"]);
  CHECK(kv.send("GET", "/keys/saved/" + version_of(cert["id"]))->status == 200);
  CHECK(kv.send("GET", "/secrets/saved/" + version_of(cert["id"]))->status == 200);
  CHECK(kv.send("POST", "/certificates/restore", {{"value", "AAAA"}})->status == 400);
}

TEST_CASE("kv certificates api: pending cancel and delete, contacts, issuers", "[kvcertapi]") {
  Kv kv;
  body_of(kv.send("POST", "/certificates/c1/create", {{"policy", self_policy()}}), 202);
  auto cancel = body_of(
      kv.send("PATCH", "/certificates/c1/pending", {{"cancellation_requested", true}}), 200);
  CHECK(cancel["cancellation_requested"] == true);
  CHECK(body_of(kv.send("GET", "/certificates/c1/pending"), 200)["status"] == "cancelled");
  body_of(kv.send("DELETE", "/certificates/c1/pending"), 200);
  auto missing = kv.send("GET", "/certificates/c1/pending");
  CHECK(body_of(missing, 404)["error"]["code"] == "PendingCertificateNotFound");

  CHECK(kv.send("GET", "/certificates/contacts")->status == 404);
  auto contacts =
      body_of(kv.send("PUT", "/certificates/contacts",
                      {{"contacts", {{{"email", "ops@contoso.com"}, {"name", "Ops"}}}}}),
              200);
  CHECK(contacts["id"] == "https://kv1.vault.azure.net/certificates/contacts");
  CHECK(body_of(kv.send("GET", "/certificates/contacts"), 200)["contacts"][0]["email"] ==
        "ops@contoso.com");
  body_of(kv.send("DELETE", "/certificates/contacts"), 200);
  CHECK(kv.send("GET", "/certificates/contacts")->status == 404);

  auto issuer = body_of(kv.send("PUT", "/certificates/issuers/digi",
                                {{"provider", "DigiCert"},
                                 {"credentials", {{"account_id", "acct"}, {"pwd", "hidden"}}}}),
                        200);
  CHECK(issuer["credentials"]["account_id"] == "acct");
  CHECK_FALSE(issuer["credentials"].contains("pwd"));
  CHECK(body_of(kv.send("PATCH", "/certificates/issuers/digi", {{"provider", "GlobalSign"}}),
                200)["provider"] == "GlobalSign");
  CHECK(body_of(kv.send("GET", "/certificates/issuers"), 200)["value"].size() == 1);
  // A certificate of that issuer fails: the emulator reaches no certificate authority.
  json policy = self_policy();
  policy["issuer"]["name"] = "digi";
  body_of(kv.send("POST", "/certificates/c2/create", {{"policy", policy}}), 202);
  kv.advance(5);
  auto failed = body_of(kv.send("GET", "/certificates/c2/pending"), 200);
  CHECK(failed["status"] == "failed");
  CHECK(failed["error"]["code"] == "CertificateIssuanceFailed");
  body_of(kv.send("DELETE", "/certificates/issuers/digi"), 200);
  CHECK(kv.send("GET", "/certificates/issuers/digi")->status == 404);
  policy["issuer"]["name"] = "nobody";
  CHECK(kv.send("POST", "/certificates/c3/create", {{"policy", policy}})->status == 400);
}

TEST_CASE("kv certificates api: access policies decide certificate permissions", "[kvcertapi]") {
  Kv kv(json{{"certificates", {"get", "list"}}});
  auto r = kv.send("POST", "/certificates/x/create", {{"policy", self_policy()}});
  auto err = body_of(r, 403);
  CHECK(err["error"]["innererror"]["code"] == "ForbiddenByPolicy");
  CHECK(err["error"]["message"].get<std::string>().find("does not have certificates create") !=
        std::string::npos);
  CHECK(kv.send("GET", "/certificates")->status == 200);
  CHECK(kv.send("GET", "/certificates/issuers")->status == 403);
}

TEST_CASE("kv certificates api: private keys and passwords never reach the journal",
          "[kvcertapi][journal]") {
  Kv kv(json{{"certificates", {"all"}}, {"secrets", {"all"}}}, true);
  CertificatePolicy p;
  p.subject = "CN=journal";
  p.issuer_name = "Self";
  complete_policy(p);
  auto m = CertificateMaterial::self_signed(p, *KeyMaterial::generate_ec(Curve::P256), 1796630400);
  REQUIRE(m);
  const std::string password = "journal-password-4c1d";
  std::unique_ptr<PKCS12, OpenSslDeleter<PKCS12_free>> p12(PKCS12_create(
      password.c_str(), nullptr, m->key().evp_key().get(), m->leaf(), nullptr, 0, 0, 0, 0, 0));
  unsigned char* buf = nullptr;
  const int n = i2d_PKCS12(p12.get(), &buf);
  const std::string pfx_b64 =
      base64_encode(std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n)));
  OPENSSL_free(buf);
  body_of(kv.send("POST", "/certificates/j1/import", {{"value", pfx_b64}, {"pwd", password}}), 200);
  const std::string pem = m->pem();
  body_of(kv.send("POST", "/certificates/j2/import", {{"value", pem}}), 200);
  auto secret = body_of(kv.send("GET", "/secrets/j1"), 200);
  body_of(
      kv.send("PUT", "/certificates/issuers/i1",
              {{"provider", "Test"}, {"credentials", {{"account_id", "a"}, {"pwd", password}}}}),
      200);
  auto journal = test::http_client(*kv.emu)->Get("/_emulator/requests?limit=1000");
  REQUIRE(journal);
  REQUIRE(journal->status == 200);
  CHECK(journal->body.find("/certificates/j1/import") != std::string::npos);
  const std::string key_line = pem.substr(pem.find('\n') + 1, 40);  // inside the private key
  for (const std::string& s : {password, pfx_b64.substr(100, 40), key_line,
                               secret["value"].get<std::string>().substr(100, 40)}) {
    INFO(s);
    CHECK(journal->body.find(s) == std::string::npos);
  }
}

TEST_CASE("kv certificates api: RBAC vaults and the Key Vault Certificates Officer role",
          "[kvcertapi]") {
  Kv kv;
  const std::string vault = std::string("/subscriptions/") + test::kSubscription +
                            "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kvr";
  json props = {{"tenantId", test::kTenant},
                {"sku", {{"family", "A"}, {"name", "standard"}}},
                {"enableRbacAuthorization", true}};
  auto made = kv.arm->Put(vault + "?api-version=2022-07-01", kv.arm_auth,
                          json{{"location", "westeurope"}, {"properties", props}}.dump(),
                          "application/json");
  REQUIRE(made);
  REQUIRE((made->status == 200 || made->status == 201));
  auto rbac = [&](const std::string& method, const std::string& path, const json& b) {
    auto c = test::proxied_client(*kv.emu, "kvr.vault.azure.net");
    const std::string p = path + "?api-version=7.5";
    return method == "POST" ? c->Post(p, kv.auth(), b.dump(), "application/json")
                            : c->Get(p, kv.auth());
  };
  auto denied = body_of(rbac("POST", "/certificates/c/create", {{"policy", self_policy()}}), 403);
  CHECK(denied["error"]["innererror"]["code"] == "ForbiddenByRbac");
  CHECK_THAT(denied["error"]["message"].get<std::string>(),
             Catch::Contains("Microsoft.KeyVault/vaults/certificates/create/action"));
  auto r = kv.arm->Put(
      vault +
          "/providers/Microsoft.Authorization/roleAssignments/0c000000-0000-0000-0000-000000000001"
          "?api-version=2022-04-01",
      kv.arm_auth,
      json{{"properties",
            {{"roleDefinitionId", "/subscriptions/" + std::string(test::kSubscription) +
                                      "/providers/Microsoft.Authorization/roleDefinitions/"
                                      "a4417e6f-fecd-4de8-b567-7b0420556985"},
             {"principalId", test::kSpObjectId}}}}
          .dump(),
      "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  body_of(rbac("POST", "/certificates/c/create", {{"policy", self_policy()}}), 202);
  CHECK(rbac("GET", "/certificates", {})->status == 200);
  CHECK(rbac("GET", "/certificates/issuers", {})->status == 200);
  // The officer reads no secret: the private key stays out of reach.
  CHECK(rbac("GET", "/secrets", {})->status == 403);
}

TEST_CASE("kv certificates api: a reset takes the certificates along with their keys and secrets",
          "[kvcertapi]") {
  Kv kv;
  create_self(kv, "stale");
  const VaultSettings kv1{"kv1"};
  CHECK(kv.emu->certificates().list(kv1, "", 25, true).items.size() == 1);
  auto reset = test::http_client(*kv.emu)->Post("/_emulator/reset", "", "application/json");
  REQUIRE(reset);
  REQUIRE(reset->status == 200);
  // A vault of the same name made later holds none of the certificates of the one before.
  CHECK(kv.emu->certificates().list(kv1, "", 25, true).items.empty());
}
