// Key Vault certificate material: the Self-issued X.509 against its policy and against OpenSSL
// (library and CLI), the CSR and merge of an Unknown-issuer certificate, PEM and PKCS #12 import
// and export, and the policy checks.
#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/openssl_util.h"
#include "keyvault_data/certificate_material.h"
#include "keyvault_data/certificate_policy.h"
#include "keyvault_data/key_material.h"

using namespace cmk;
using namespace cmk::keyvault_data;

namespace {

constexpr int64_t kNow = 1796630400;  // 2026-12-07T00:00:00Z

CertificatePolicy web_policy() {
  CertificatePolicy p;
  p.subject = "CN=www.contoso.com, O=Contoso, C=US";
  p.sans.dns_names = {"www.contoso.com", "contoso.com"};
  p.sans.emails = {"admin@contoso.com"};
  p.sans.upns = {"svc@contoso.com"};
  p.issuer_name = "Self";
  complete_policy(p);
  return p;
}

KeyMaterial rsa2048() {
  static const KeyMaterial key = *KeyMaterial::generate_rsa(2048);
  return key;
}

std::string sha256(const std::string& msg) {
  std::string out(32, '\0');
  unsigned int n = 0;
  EVP_Digest(msg.data(), msg.size(), reinterpret_cast<unsigned char*>(out.data()), &n, EVP_sha256(),
             nullptr);
  return out;
}

// A throwaway CA (key and self-signed certificate) that signs a CSR, as an issuer would.
struct TestCa {
  KeyMaterial key = *KeyMaterial::generate_ec(Curve::P256);
  X509Ptr cert;
  TestCa() {
    CertificatePolicy p;
    p.subject = "CN=Test CA";
    p.key_usage = std::vector<std::string>{"keyCertSign", "cRLSign"};
    p.ekus = std::vector<std::string>{};
    p.kty = "EC";
    complete_policy(p);
    auto m = CertificateMaterial::self_signed(p, key, kNow - 86400);
    REQUIRE(m);
    cert.reset(X509_dup(m->leaf()));
  }
  std::string sign(const std::string& csr_der) const {
    const unsigned char* q = reinterpret_cast<const unsigned char*>(csr_der.data());
    std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>> req(
        d2i_X509_REQ(nullptr, &q, static_cast<long>(csr_der.size())));
    REQUIRE(req);
    REQUIRE(X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())) == 1);
    X509Ptr c(X509_new());
    X509_set_version(c.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c.get()), 42);
    X509_set_subject_name(c.get(), X509_REQ_get_subject_name(req.get()));
    X509_set_issuer_name(c.get(), X509_get_subject_name(cert.get()));
    ASN1_TIME_set(X509_getm_notBefore(c.get()), kNow);
    ASN1_TIME_set(X509_getm_notAfter(c.get()), kNow + 365 * 86400);
    X509_set_pubkey(c.get(), X509_REQ_get0_pubkey(req.get()));
    STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req.get());
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i)
      X509_add_ext(c.get(), sk_X509_EXTENSION_value(exts, i), -1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    REQUIRE(X509_sign(c.get(), key.evp_key().get(), EVP_sha256()) > 0);
    unsigned char* buf = nullptr;
    int n = i2d_X509(c.get(), &buf);
    std::string der(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    OPENSSL_free(buf);
    return der;
  }
  std::string der() const {
    unsigned char* buf = nullptr;
    int n = i2d_X509(cert.get(), &buf);
    std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    OPENSSL_free(buf);
    return out;
  }
};

std::string write_temp(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / ("kvcert-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(f);
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  pclose(f);
  return out;
}

}  // namespace

TEST_CASE("kv certificate: a Self certificate verifies with itself and matches its policy",
          "[kvcert]") {
  const CertificatePolicy p = web_policy();
  REQUIRE_FALSE(check_policy(p));
  auto m = CertificateMaterial::self_signed(p, rsa2048(), kNow);
  REQUIRE(m);
  X509* leaf = m->leaf();
  CHECK(X509_verify(leaf, X509_get0_pubkey(leaf)) == 1);
  CHECK(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(leaf)) == 0);
  CHECK(m->subject() == "CN=www.contoso.com, O=Contoso, C=US");
  CHECK(m->sans().dns_names == std::vector<std::string>{"www.contoso.com", "contoso.com"});
  CHECK(m->sans().emails == std::vector<std::string>{"admin@contoso.com"});
  CHECK(m->sans().upns == std::vector<std::string>{"svc@contoso.com"});
  CHECK(m->ekus() == std::vector<std::string>{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"});
  CHECK(m->key_usage() == std::vector<std::string>{"digitalSignature", "keyEncipherment"});
  CHECK(m->not_before() == kNow - 600);         // Key Vault's 10 minutes back
  CHECK(m->not_after() == kNow + 365 * 86400);  // 2027-12-07
  CHECK(X509_get_version(leaf) == X509_VERSION_3);
  CHECK(X509_get0_subject_key_id(leaf) != nullptr);
  CHECK(X509_get0_authority_key_id(leaf) != nullptr);
  CHECK((X509_get_extension_flags(leaf) & EXFLAG_CA) == 0);
  CHECK(EVP_PKEY_eq(X509_get0_pubkey(leaf), rsa2048().evp_key().get()) == 1);
  CHECK(m->x5t().size() == 20);
  // The openssl CLI agrees: the certificate is its own trust anchor.
  const std::string cert =
      write_temp("self.pem", m->pem().substr(m->pem().find("-----BEGIN CERTIFICATE")));
  const std::string out = run("openssl verify -CAfile " + cert + " -purpose sslserver " + cert);
  INFO(out);
  CHECK(out.find(": OK") != std::string::npos);
}

TEST_CASE("kv certificate: the backing key signs what the certificate's public key verifies",
          "[kvcert]") {
  for (auto kty : {"RSA", "EC"}) {
    CertificatePolicy p = web_policy();
    p.kty = kty;
    p.key_size.reset();
    p.key_usage.reset();
    complete_policy(p);
    KeyMaterial key = p.is_ec() ? *KeyMaterial::generate_ec(*policy_curve(p)) : rsa2048();
    auto m = CertificateMaterial::self_signed(p, key, kNow);
    REQUIRE(m);
    const std::string digest = sha256("data to sign");
    auto alg = *parse_signature_algorithm(p.is_ec() ? "ES256" : "RS256");
    auto sig = m->key().sign(alg, digest);
    REQUIRE(sig);
    // Verified with the certificate's public key alone, by plain OpenSSL.
    EVP_PKEY* pub = X509_get0_pubkey(m->leaf());
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub, nullptr));
    REQUIRE(EVP_PKEY_verify_init(ctx.get()) == 1);
    if (!p.is_ec()) {
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256());
      CHECK(EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()),
                            sig->size(), reinterpret_cast<const unsigned char*>(digest.data()),
                            digest.size()) == 1);
    } else {
      // JWS r||s -> DER for OpenSSL.
      ECDSA_SIG* es = ECDSA_SIG_new();
      ECDSA_SIG_set0(
          es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()), 32, nullptr),
          BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()) + 32, 32, nullptr));
      unsigned char* der = nullptr;
      int n = i2d_ECDSA_SIG(es, &der);
      CHECK(EVP_PKEY_verify(ctx.get(), der, static_cast<size_t>(n),
                            reinterpret_cast<const unsigned char*>(digest.data()),
                            digest.size()) == 1);
      OPENSSL_free(der);
      ECDSA_SIG_free(es);
      CHECK(m->key_usage() == std::vector<std::string>{"digitalSignature"});
    }
  }
}

TEST_CASE("kv certificate: CSR of the Unknown issuer and merge of the signed chain", "[kvcert]") {
  CertificatePolicy p = web_policy();
  p.issuer_name = "Unknown";
  auto csr = CertificateMaterial::csr(p, rsa2048());
  REQUIRE(csr);
  TestCa ca;
  const std::string leaf = ca.sign(*csr);
  auto m = CertificateMaterial::merge(rsa2048(), {leaf, ca.der()});
  REQUIRE(m);
  CHECK(m->der_chain().size() == 2);
  CHECK(m->der() == leaf);
  CHECK(m->sans().dns_names.size() == 2);  // the CSR carried the policy's extensions
  // The chain in another order: the leaf is still found by its key.
  auto reordered = CertificateMaterial::merge(rsa2048(), {ca.der(), leaf});
  REQUIRE(reordered);
  CHECK(reordered->der() == leaf);
  // A chain for another key is refused.
  auto other = CertificateMaterial::merge(*KeyMaterial::generate_ec(Curve::P256), {leaf});
  REQUIRE_FALSE(other);
  CHECK(other.error().message.find("does not match") != std::string::npos);
  CHECK_FALSE(CertificateMaterial::merge(rsa2048(), {"not DER"}));
}

TEST_CASE("kv certificate: PEM and PKCS#12 export import again, with and without password",
          "[kvcert]") {
  auto m = CertificateMaterial::self_signed(web_policy(), rsa2048(), kNow);
  REQUIRE(m);
  // PEM: private key then certificate.
  const std::string pem = m->pem();
  CHECK(pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  auto from_pem = CertificateMaterial::import_certificate(pem, "");
  REQUIRE(from_pem);
  CHECK(from_pem->der() == m->der());
  // PKCS#12 without password, read by the openssl CLI with an empty password.
  const std::string pfx = m->pkcs12();
  auto from_pfx = CertificateMaterial::import_certificate(pfx, "");
  REQUIRE(from_pfx);
  CHECK(from_pfx->x5t() == m->x5t());
  const std::string path = write_temp("export.pfx", pfx);
  const std::string out = run("openssl pkcs12 -in " + path + " -passin pass: -nodes -info");
  INFO(out);
  CHECK(out.find("BEGIN PRIVATE KEY") != std::string::npos);
  CHECK(out.find("BEGIN CERTIFICATE") != std::string::npos);
  // A PKCS#12 with a password (AES-256, as OpenSSL 3 writes by default).
  std::unique_ptr<PKCS12, OpenSslDeleter<PKCS12_free>> p12(PKCS12_create(
      "s3cret", "friendly", rsa2048().evp_key().get(), m->leaf(), nullptr, 0, 0, 0, 0, 0));
  REQUIRE(p12);
  unsigned char* buf = nullptr;
  int n = i2d_PKCS12(p12.get(), &buf);
  std::string protected_pfx(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  auto good = CertificateMaterial::import_certificate(protected_pfx, "s3cret");
  REQUIRE(good);
  CHECK(good->der() == m->der());
  auto wrong = CertificateMaterial::import_certificate(protected_pfx, "nope");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("password") != std::string::npos);
  // An encrypted PEM key with its password.
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PKCS8PrivateKey(bio.get(), rsa2048().evp_key().get(), EVP_aes_256_cbc(),
                                const_cast<char*>("pw"), 2, nullptr, nullptr);
  PEM_write_bio_X509(bio.get(), m->leaf());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  const std::string encrypted_pem(data, static_cast<size_t>(len));
  CHECK(CertificateMaterial::import_certificate(encrypted_pem, "pw"));
  CHECK_FALSE(CertificateMaterial::import_certificate(encrypted_pem, ""));
  // A certificate without its key, and garbage.
  const std::string cert_only = pem.substr(pem.find("-----BEGIN CERTIFICATE"));
  CHECK_FALSE(CertificateMaterial::import_certificate(cert_only, ""));
  CHECK_FALSE(CertificateMaterial::import_certificate("garbage", ""));
}

TEST_CASE("kv certificate: an imported certificate's derived policy", "[kvcert]") {
  auto m = CertificateMaterial::self_signed(web_policy(), rsa2048(), kNow);
  REQUIRE(m);
  CertificatePolicy p = m->derived_policy(kPemContentType);
  CHECK(p.subject == "CN=www.contoso.com, O=Contoso, C=US");
  CHECK(p.kty == "RSA");
  CHECK(p.key_size == 2048);
  CHECK(p.validity_months == 12);
  CHECK(p.content_type == kPemContentType);  // given
  CHECK(p.issuer_name == "Unknown");
}

TEST_CASE("kv certificate: policy defaults and checks", "[kvcert]") {
  CertificatePolicy p;
  p.subject = "CN=a";
  p.issuer_name = "Self";
  complete_policy(p);
  CHECK(p.kty == "RSA");
  CHECK(p.key_size == 2048);
  CHECK(p.content_type == kPkcs12ContentType);
  CHECK(p.validity_months == 12);
  REQUIRE(p.lifetime_actions);
  CHECK(p.lifetime_actions->front().action_type == "AutoRenew");
  CHECK_FALSE(check_policy(p));
  auto refused = [](auto change) {
    CertificatePolicy q;
    q.subject = "CN=a";
    q.issuer_name = "Self";
    complete_policy(q);
    change(q);
    return check_policy(q).has_value();
  };
  CHECK(refused([](CertificatePolicy& q) { q.subject.clear(); }));
  CHECK(refused([](CertificatePolicy& q) { q.subject = "not a name"; }));
  CHECK_FALSE(refused([](CertificatePolicy& q) { q.subject = "cn=MyCert, o=Contoso"; }));
  CHECK(refused([](CertificatePolicy& q) { q.kty = "oct"; }));
  CHECK(refused([](CertificatePolicy& q) { q.key_size = 1024; }));
  CHECK(refused([](CertificatePolicy& q) { q.content_type = "text/plain"; }));
  CHECK(refused([](CertificatePolicy& q) { q.key_usage = std::vector<std::string>{"sign"}; }));
  CHECK(refused([](CertificatePolicy& q) { q.ekus = std::vector<std::string>{"serverAuth"}; }));
  CHECK(refused([](CertificatePolicy& q) { q.validity_months = 0; }));
  CHECK(refused([](CertificatePolicy& q) { q.sans.dns_names = {"a,b"}; }));
  CHECK(refused([](CertificatePolicy& q) {
    q.kty = "EC";
    q.crv = "P-192";
  }));
  // Only SANs: the certificate has an empty subject and a critical SAN extension.
  CertificatePolicy sans_only;
  sans_only.sans.dns_names = {"only.example"};
  sans_only.issuer_name = "Self";
  complete_policy(sans_only);
  REQUIRE_FALSE(check_policy(sans_only));
  auto m = CertificateMaterial::self_signed(sans_only, rsa2048(), kNow);
  REQUIRE(m);
  CHECK(m->subject().empty());
  CHECK(X509_get_ext_by_critical(m->leaf(), 1, -1) >= 0);
}
