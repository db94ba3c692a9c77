// Tests of the CA and server certificate bootstrap (emulator/http/certificates.h).
#include "http/certificates.h"

#include "common/openssl_util.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using cmk::http::ensure_certificates;
using cmk::http::required_server_names;
using cmk::http::TlsMaterial;

namespace {

using cmk::BioPtr;
using cmk::ExtensionPtr;
using cmk::GeneralNamesPtr;
using cmk::PkeyPtr;
using cmk::X509Ptr;
template <auto Free>
using Deleter = cmk::OpenSslDeleter<Free>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS_free>>;
using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, Deleter<EXTENDED_KEY_USAGE_free>>;

// A fresh folder under the system temp folder, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ =
        fs::temp_directory_path() / ("cmk-certificates-test-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(counter++) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

unsigned permissions(const fs::path& file) {
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

X509Ptr parse_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr parse_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Verifies `server_pem` against `ca_pem` as the only trust anchor, as a TLS client would.
// Returns "ok" or OpenSSL's reason.
std::string verify_chain(const std::string& ca_pem, const std::string& server_pem) {
  X509Ptr ca = parse_cert(ca_pem);
  X509Ptr server = parse_cert(server_pem);
  if (!ca || !server) return "unparsable certificate";
  StorePtr store(X509_STORE_new());
  REQUIRE(X509_STORE_add_cert(store.get(), ca.get()) == 1);
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), server.get(), nullptr) == 1);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  // Strict mode checks RFC 5280 details (AKI present, CA keyUsage, ...) that Python 3.13 and
  // other strict clients enforce.
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), X509_V_FLAG_X509_STRICT);
  if (X509_verify_cert(ctx.get()) == 1) return "ok";
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

bool extension_is_critical(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

// The certificate's subjectAltName entries as "DNS:name" and "IP:address" strings.
std::set<std::string> alt_names(X509* cert) {
  std::set<std::string> out;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                      static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (name->type == GEN_IPADD) {
      const ASN1_STRING* s = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      int family = ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6;
      ::inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text);
      out.insert(std::string("IP:") + text);
    }
  }
  return out;
}

std::string expected_alt_name(const std::string& name) {
  unsigned char buf[16];
  bool ip =
      ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
  return (ip ? "IP:" : "DNS:") + name;
}

std::string subject_text(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Signs a server certificate for a fresh key with the folder's CA, valid for `days` days and
// with the given subjectAltName, and installs it as server.pem / server-key.pem: a stand-in for
// a certificate made by an older version or about to expire.
void install_custom_server_cert(const fs::path& dir, long days, const char* san,
                                bool wrong_issuer_name = false) {
  X509Ptr ca = parse_cert(read_text(dir / "ca.pem"));
  PkeyPtr ca_key = parse_key(read_text(dir / "ca-key.pem"));
  REQUIRE(ca);
  REQUIRE(ca_key);
  PkeyPtr key(EVP_RSA_gen(2048));
  REQUIRE(key);
  X509Ptr cert(X509_new());
  REQUIRE(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), key.get()) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600));
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400L));
  REQUIRE(X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("cmk-emulator"), -1, -1,
                                     0) == 1);
  if (wrong_issuer_name) {
    REQUIRE(X509_NAME_add_entry_by_txt(X509_get_issuer_name(cert.get()), "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("someone else"), -1,
                                       -1, 0) == 1);
  } else {
    REQUIRE(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) == 1);
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
      {NID_subject_alt_name, san},
  };
  for (const auto& [nid, value] : extensions) {
    ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    REQUIRE(ext);
    REQUIRE(X509_add_ext(cert.get(), ext.get(), -1) == 1);
  }
  REQUIRE(X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0);
  write_text(dir / "server.pem", to_pem(cert.get()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
          1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  write_text(dir / "server-key.pem", std::string(data, static_cast<size_t>(n)));
  if (!wrong_issuer_name) {
    REQUIRE(verify_chain(read_text(dir / "ca.pem"), read_text(dir / "server.pem")) == "ok");
  }
}

const char* const kAllNames =
    "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:*.vault.localhost,DNS:login.microsoftonline.com,"
    "DNS:login.windows.net,DNS:management.azure.com,DNS:management.core.windows.net,"
    "DNS:*.vault.azure.net";

// RSA key generation takes 50-500 ms, so most tests start from a copy of one folder made once
// per run instead of from scratch.
const TlsMaterial& reference_material() {
  static TempDir dir;
  static const TlsMaterial material = [] {
    auto result = ensure_certificates(dir.path());
    REQUIRE(result.is_ok());
    return *result;
  }();
  return material;
}

// Fills `dir` with a copy of the reference folder's files, permissions included.
void seed(const fs::path& dir) {
  const fs::path from = reference_material().ca_file.parent_path();
  for (const char* name : {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"}) {
    fs::copy_file(from / name, dir / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

TEST_CASE("required_server_names lists the hosts the emulator serves", "[certificates]") {
  const auto& names = required_server_names();
  for (const char* name : {"localhost", "127.0.0.1", "::1", "*.vault.localhost",
                           "login.microsoftonline.com", "login.windows.net", "management.azure.com",
                           "management.core.windows.net", "*.vault.azure.net"}) {
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  }
}

TEST_CASE("first call creates the CA and server certificate", "[certificates]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "certs";  // does not exist yet
  auto result = ensure_certificates(dir);
  REQUIRE(result.is_ok());
  const TlsMaterial& tls = *result;

  CHECK(permissions(dir) == 0700);
  CHECK(permissions(dir / "ca-key.pem") == 0600);
  CHECK(permissions(dir / "server-key.pem") == 0600);
  CHECK(tls.ca_file == dir / "ca.pem");
  CHECK(tls.ca_file.is_absolute());
  CHECK(read_text(dir / "ca.pem") == tls.ca_cert_pem);
  CHECK(read_text(dir / "server.pem") == tls.server_cert_pem);
  CHECK(read_text(dir / "server-key.pem") == tls.server_key_pem);
  CHECK(fs::exists(dir / "ca-key.pem"));
  CHECK_FALSE(fs::exists(dir / "ca.pem.tmp"));
  CHECK_FALSE(fs::exists(dir / "server-key.pem.tmp"));

  // The server certificate chains to the CA and matches its key.
  CHECK(verify_chain(tls.ca_cert_pem, tls.server_cert_pem) == "ok");
  X509Ptr server = parse_cert(tls.server_cert_pem);
  PkeyPtr key = parse_key(tls.server_key_pem);
  REQUIRE(server);
  REQUIRE(key);
  CHECK(X509_check_private_key(server.get(), key.get()) == 1);
  CHECK(EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA);
  CHECK(EVP_PKEY_get_bits(key.get()) == 2048);
  CHECK(X509_get_signature_nid(server.get()) == NID_sha256WithRSAEncryption);
}

TEST_CASE("certificate contents", "[certificates]") {
  const TlsMaterial& tls = reference_material();

  SECTION("CA extensions") {
    X509Ptr ca = parse_cert(tls.ca_cert_pem);
    REQUIRE(ca);
    CHECK(subject_text(ca.get()) == "CN=cmk-emulator CA,O=cmk-emulator");
    CHECK(X509_get_version(ca.get()) == X509_VERSION_3);
    BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
        X509_get_ext_d2i(ca.get(), NID_basic_constraints, nullptr, nullptr)));
    REQUIRE(bc);
    CHECK(bc->ca != 0);
    REQUIRE(bc->pathlen != nullptr);
    CHECK(ASN1_INTEGER_get(bc->pathlen) == 0);
    CHECK(extension_is_critical(ca.get(), NID_basic_constraints));
    CHECK(extension_is_critical(ca.get(), NID_key_usage));
    CHECK(X509_get_key_usage(ca.get()) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    REQUIRE(X509_get0_subject_key_id(ca.get()) != nullptr);
    REQUIRE(X509_get0_authority_key_id(ca.get()) != nullptr);
    CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(ca.get()),
                                X509_get0_subject_key_id(ca.get())) == 0);
    // About 10 years.
    int days = 0, seconds = 0;
    REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(ca.get()),
                           X509_get0_notAfter(ca.get())) == 1);
    CHECK(days >= 3650);
    CHECK(days <= 3651);
    // Backdated by an hour.
    time_t now = time(nullptr) - 3000;
    CHECK(X509_cmp_time(X509_get0_notBefore(ca.get()), &now) == -1);
  }

  SECTION("server extensions") {
    X509Ptr ca = parse_cert(tls.ca_cert_pem);
    X509Ptr server = parse_cert(tls.server_cert_pem);
    REQUIRE(ca);
    REQUIRE(server);
    CHECK(subject_text(server.get()) == "CN=cmk-emulator");

    std::set<std::string> names = alt_names(server.get());
    for (const std::string& name : required_server_names()) {
      INFO(name);
      CHECK(names.count(expected_alt_name(name)) == 1);
    }
    CHECK(names.count("IP:127.0.0.1") == 1);
    CHECK(names.count("IP:::1") == 1);
    CHECK(names.count("DNS:localhost") == 1);

    REQUIRE(X509_get0_authority_key_id(server.get()) != nullptr);
    REQUIRE(X509_get0_subject_key_id(ca.get()) != nullptr);
    CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(server.get()),
                                X509_get0_subject_key_id(ca.get())) == 0);
    CHECK(X509_get0_subject_key_id(server.get()) != nullptr);

    BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
        X509_get_ext_d2i(server.get(), NID_basic_constraints, nullptr, nullptr)));
    REQUIRE(bc);
    CHECK(bc->ca == 0);
    CHECK(extension_is_critical(server.get(), NID_basic_constraints));
    CHECK(extension_is_critical(server.get(), NID_key_usage));
    CHECK(X509_get_key_usage(server.get()) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));

    EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(
        X509_get_ext_d2i(server.get(), NID_ext_key_usage, nullptr, nullptr)));
    REQUIRE(eku);
    REQUIRE(sk_ASN1_OBJECT_num(eku.get()) == 1);
    CHECK(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), 0)) == NID_server_auth);

    // 128-bit random serials: different for the CA and the server, at least 15 bytes long.
    const ASN1_INTEGER* serial = X509_get0_serialNumber(server.get());
    CHECK(ASN1_STRING_length(serial) >= 15);
    CHECK(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(ca.get())) != 0);

    int days = 0, seconds = 0;
    REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(server.get()),
                           X509_get0_notAfter(server.get())) == 1);
    CHECK(days >= 825);
    CHECK(days <= 826);
  }
}

TEST_CASE("second call reuses the CA and the server certificate", "[certificates]") {
  TempDir tmp;
  seed(tmp.path());
  auto first = ensure_certificates(tmp.path());
  REQUIRE(first.is_ok());
  CHECK(first->server_cert_pem == reference_material().server_cert_pem);
  auto second = ensure_certificates(tmp.path());
  REQUIRE(second.is_ok());
  CHECK(second->ca_cert_pem == first->ca_cert_pem);
  CHECK(second->server_cert_pem == first->server_cert_pem);
  CHECK(second->server_key_pem == first->server_key_pem);
  CHECK(read_text(tmp.path() / "server.pem") == first->server_cert_pem);
}

TEST_CASE("ca_file is absolute when the folder is given relative", "[certificates]") {
  TempDir tmp;
  seed(tmp.path());
  const fs::path relative = fs::relative(tmp.path(), fs::current_path());
  REQUIRE(relative.is_relative());
  auto result = ensure_certificates(relative);
  REQUIRE(result.is_ok());
  CHECK(result->ca_file.is_absolute());
  CHECK(fs::equivalent(result->ca_file, tmp.path() / "ca.pem"));
}

TEST_CASE("a missing or unusable server certificate is re-issued by the same CA",
          "[certificates]") {
  TempDir tmp;
  const fs::path& dir = tmp.path();
  seed(dir);
  auto first = ensure_certificates(dir);
  REQUIRE(first.is_ok());
  const std::string ca_key = read_text(dir / "ca-key.pem");

  SECTION("server.pem deleted") {
    fs::remove(dir / "server.pem");
  }
  SECTION("server-key.pem deleted") {
    fs::remove(dir / "server-key.pem");
  }
  SECTION("server-key.pem does not match") {
    write_text(dir / "server-key.pem", ca_key);
  }
  SECTION("server.pem corrupt") {
    write_text(dir / "server.pem", "not a certificate\n");
  }
  SECTION("server.pem followed by something else") {
    write_text(dir / "server.pem", first->server_cert_pem + first->ca_cert_pem);
  }
  SECTION("expires within 30 days") {
    install_custom_server_cert(dir, 20, kAllNames);
  }
  SECTION("lacks a required name") {
    install_custom_server_cert(dir, 400, "DNS:localhost,IP:127.0.0.1,DNS:management.azure.com");
  }
  SECTION("::1 only as a DNS name") {
    std::string san = kAllNames;
    san.replace(san.find("IP:::1"), 6, "DNS:::1");
    install_custom_server_cert(dir, 400, san.c_str());
  }
  SECTION("signed by the CA's key but naming another issuer") {
    install_custom_server_cert(dir, 400, kAllNames, /*wrong_issuer_name=*/true);
  }
  SECTION("issued by another CA") {
    TempDir other;
    REQUIRE(ensure_certificates(other.path()).is_ok());
    fs::copy_file(other.path() / "server.pem", dir / "server.pem",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(other.path() / "server-key.pem", dir / "server-key.pem",
                  fs::copy_options::overwrite_existing);
  }
  const std::string before = read_text(dir / "server.pem");

  auto second = ensure_certificates(dir);
  REQUIRE(second.is_ok());
  CHECK(second->ca_cert_pem == first->ca_cert_pem);
  CHECK(read_text(dir / "ca.pem") == first->ca_cert_pem);
  CHECK(read_text(dir / "ca-key.pem") == ca_key);
  CHECK(second->server_cert_pem != before);
  CHECK(second->server_cert_pem != first->server_cert_pem);
  CHECK(read_text(dir / "server.pem") == second->server_cert_pem);
  CHECK(read_text(dir / "server-key.pem") == second->server_key_pem);
  CHECK(permissions(dir / "server-key.pem") == 0600);
  CHECK(verify_chain(first->ca_cert_pem, second->server_cert_pem) == "ok");

  // And the repaired state is stable.
  auto third = ensure_certificates(dir);
  REQUIRE(third.is_ok());
  CHECK(third->server_cert_pem == second->server_cert_pem);
}

TEST_CASE("a good certificate made elsewhere is kept", "[certificates]") {
  TempDir tmp;
  seed(tmp.path());
  install_custom_server_cert(tmp.path(), 400, kAllNames);
  const std::string installed = read_text(tmp.path() / "server.pem");
  auto result = ensure_certificates(tmp.path());
  REQUIRE(result.is_ok());
  CHECK(result->server_cert_pem == installed);
}

TEST_CASE("a corrupt ca.pem is an error and is left alone", "[certificates]") {
  TempDir tmp;
  const fs::path& dir = tmp.path();
  seed(dir);
  const std::string garbage = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
  write_text(dir / "ca.pem", garbage);
  const std::string ca_key = read_text(dir / "ca-key.pem");
  fs::remove(dir / "server.pem");

  auto result = ensure_certificates(dir);
  REQUIRE_FALSE(result.is_ok());
  CHECK_THAT(result.error(), Catch::Contains((dir / "ca.pem").string()));
  CHECK(read_text(dir / "ca.pem") == garbage);
  CHECK(read_text(dir / "ca-key.pem") == ca_key);
  CHECK_FALSE(fs::exists(dir / "server.pem"));
}

TEST_CASE("a ca.pem that is not a CA is an error", "[certificates]") {
  TempDir tmp;
  const fs::path& dir = tmp.path();
  seed(dir);
  const std::string server = read_text(dir / "server.pem");
  write_text(dir / "ca.pem", server);
  auto result = ensure_certificates(dir);
  REQUIRE_FALSE(result.is_ok());
  CHECK_THAT(result.error(), Catch::Contains("ca.pem") && Catch::Contains("not a CA"));
  CHECK(read_text(dir / "ca.pem") == server);
}

TEST_CASE("a CA without its key is an error", "[certificates]") {
  TempDir tmp;
  const fs::path& dir = tmp.path();
  seed(dir);
  auto first = ensure_certificates(dir);
  REQUIRE(first.is_ok());
  fs::remove(dir / "ca-key.pem");

  SECTION("server certificate still good") {}
  SECTION("server certificate missing") {
    fs::remove(dir / "server.pem");
  }

  auto result = ensure_certificates(dir);
  REQUIRE_FALSE(result.is_ok());
  CHECK_THAT(result.error(), Catch::Contains((dir / "ca-key.pem").string()));
  CHECK(read_text(dir / "ca.pem") == first->ca_cert_pem);
  CHECK_FALSE(fs::exists(dir / "ca-key.pem"));
}

TEST_CASE("a CA key that does not match ca.pem is an error when signing", "[certificates]") {
  TempDir tmp;
  const fs::path& dir = tmp.path();
  seed(dir);
  fs::copy_file(dir / "server-key.pem", dir / "ca-key.pem", fs::copy_options::overwrite_existing);
  fs::remove(dir / "server.pem");
  auto result = ensure_certificates(dir);
  REQUIRE_FALSE(result.is_ok());
  CHECK_THAT(result.error(), Catch::Contains("ca-key.pem") && Catch::Contains("does not match"));
}

TEST_CASE("a path that is a file is an error", "[certificates]") {
  TempDir tmp;
  write_text(tmp.path() / "file", "x");
  auto result = ensure_certificates(tmp.path() / "file");
  REQUIRE_FALSE(result.is_ok());
  CHECK_THAT(result.error(), Catch::Contains("file") && Catch::Contains("not a directory"));
}

TEST_CASE("concurrent first calls agree on one CA", "[certificates]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "shared";
  constexpr int kThreads = 4;
  std::vector<std::string> ca(kThreads), server(kThreads), errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto result = ensure_certificates(dir);
      if (result.is_ok()) {
        ca[i] = result->ca_cert_pem;
        server[i] = result->server_cert_pem;
      } else {
        errors[i] = result.error();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    INFO("thread " << i);
    CHECK(errors[i].empty());
    CHECK(ca[i] == read_text(dir / "ca.pem"));
    CHECK(server[i] == read_text(dir / "server.pem"));
  }
}
