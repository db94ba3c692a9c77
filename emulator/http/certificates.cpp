// The emulator's CA and TLS server certificate: load them from a folder, (re)issue what is
// missing or unusable, with the OpenSSL 3 API. See certificates.h for the contract.
#include "http/certificates.h"

#include "common/files.h"
#include "common/openssl_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

namespace cmk::http {
namespace {

namespace fs = std::filesystem;

constexpr int kRsaBits = 2048;
constexpr long kCaDays = 3650;           // 10 years
constexpr long kServerDays = 825;        // the longest validity Apple clients accept
constexpr long kRenewDays = 30;          // re-issue the server certificate this long before expiry
constexpr long kBackdateSeconds = 3600;  // tolerate clocks up to an hour behind ours
constexpr long kSecondsPerDay = 24 * 60 * 60;

constexpr const char* kCaCertFile = "ca.pem";
constexpr const char* kCaKeyFile = "ca-key.pem";
constexpr const char* kServerCertFile = "server.pem";
constexpr const char* kServerKeyFile = "server-key.pem";
constexpr const char* kLockFile = ".lock";

// A certificate or key together with its PEM text.
template <typename T>
struct Pem {
  T object;
  std::string pem;
};

Status file_error(const fs::path& file, std::string_view problem) {
  return Status::error(file.string() + ": " + std::string(problem));
}

using ClearErrorsOnExit = ClearOpenSslErrorsOnExit;

std::string time_text(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return "an unreadable date";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// --- Required names --------------------------------------------------------------------------

// One subjectAltName entry in the form it has inside a certificate.
struct AltName {
  int type;           // GEN_DNS or GEN_IPADD
  std::string value;  // the DNS name, or the 4 or 16 address bytes
};

const std::vector<AltName>& required_alt_names() {
  static const auto* names = [] {
    auto* out = new std::vector<AltName>;
    for (const std::string& name : required_server_names()) {
      unsigned char ip[16];
      if (::inet_pton(AF_INET, name.c_str(), ip) == 1) {
        out->push_back({GEN_IPADD, std::string(reinterpret_cast<char*>(ip), 4)});
      } else if (::inet_pton(AF_INET6, name.c_str(), ip) == 1) {
        out->push_back({GEN_IPADD, std::string(reinterpret_cast<char*>(ip), 16)});
      } else {
        out->push_back({GEN_DNS, name});
      }
    }
    return out;
  }();
  return *names;
}

bool has_alt_name(const GENERAL_NAMES* names, const AltName& wanted) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
    if (type != wanted.type || !value) continue;
    std::string_view got(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                         static_cast<size_t>(ASN1_STRING_length(value)));
    if (got.size() != wanted.value.size()) continue;
    if (type == GEN_IPADD ? got == wanted.value
                          : ::strncasecmp(got.data(), wanted.value.data(), got.size()) == 0) {
      return true;
    }
  }
  return false;
}

// Adds subjectAltName = required_server_names(), IP addresses as iPAddress entries (clients
// match an IP literal only against those, never against a DNS entry spelling it).
bool add_alt_names(X509* cert) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return false;
  for (const AltName& alt : required_alt_names()) {
    Asn1StringPtr value(alt.type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new());
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!value || !name ||
        ASN1_STRING_set(value.get(), alt.value.data(), static_cast<int>(alt.value.size())) != 1) {
      return false;
    }
    GENERAL_NAME_set0_value(name.get(), alt.type, value.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) return false;
    name.release();  // owned by the stack now
  }
  // Not critical: the subject is not empty.
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

// --- Checks on loaded certificates -----------------------------------------------------------

// Why `server` must be re-issued, or nullopt when it is good for at least kRenewDays more. The
// reason is not reported (re-issuing is routine), but it names each check.
std::optional<std::string> server_problem(X509* server, const std::string& key_pem, X509* ca,
                                          time_t now) {
  if (X509_check_issued(ca, server) != X509_V_OK) return "not issued by the CA";
  if (X509_verify(server, X509_get0_pubkey(ca)) != 1) return "signature does not verify";
  if (X509_check_purpose(server, X509_PURPOSE_SSL_SERVER, 0) != 1) {
    return "not a TLS server certificate";
  }
  if (X509_cmp_time(X509_get0_notBefore(server), &now) != -1) return "not valid yet";
  time_t renew_at = now + kRenewDays * kSecondsPerDay;
  if (X509_cmp_time(X509_get0_notAfter(server), &renew_at) != 1 &&
      // Re-issuing cannot help once the server certificate lasts as long as the CA does.
      ASN1_TIME_compare(X509_get0_notAfter(server), X509_get0_notAfter(ca)) < 0) {
    return "expires within " + std::to_string(kRenewDays) + " days";
  }
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(server, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return "no subjectAltName";
  for (size_t i = 0; i < required_alt_names().size(); ++i) {
    if (!has_alt_name(names.get(), required_alt_names()[i])) {
      return "subjectAltName lacks " + required_server_names()[i];
    }
  }
  PkeyPtr key = parse_private_key_pem(key_pem);
  if (!key) return "key file is not a PEM private key";
  if (X509_check_private_key(server, key.get()) != 1) return "key does not match";
  return std::nullopt;
}

// The CA is never replaced, so a CA that cannot be used is an error for the user to resolve.
Status check_ca(X509* ca, const fs::path& file, time_t now) {
  const std::string advice =
      " (remove ca.pem and ca-key.pem to create a new CA, which clients must then trust)";
  if (X509_check_ca(ca) == 0) return file_error(file, "not a CA certificate" + advice);
  // Server certificates name their issuer by this key identifier (AKI), which strict clients
  // require.
  if (!X509_get0_subject_key_id(ca)) {
    return file_error(file, "CA certificate has no Subject Key Identifier" + advice);
  }
  if (X509_cmp_time(X509_get0_notAfter(ca), &now) != 1) {
    return file_error(file, "CA expired on " + time_text(X509_get0_notAfter(ca)) + advice);
  }
  if (X509_cmp_time(X509_get0_notBefore(ca), &now) != -1) {
    return file_error(file, "CA not valid before " + time_text(X509_get0_notBefore(ca)) +
                                "; is the system clock right?");
  }
  return Status::ok();
}

// --- Issuing ---------------------------------------------------------------------------------

Result<Pem<PkeyPtr>> generate_key() {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), kRsaBits) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return Status::error("cannot generate an RSA key: " + openssl_errors());
  }
  PkeyPtr key(raw);
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the file permissions protect it.
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::error("cannot encode an RSA key: " + openssl_errors());
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(n));
  OPENSSL_cleanse(data, static_cast<size_t>(n));
  return Pem<PkeyPtr>{std::move(key), std::move(pem)};
}

bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] |= 0x01;  // never zero, which RFC 5280 forbids
  BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn) return false;
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  return serial && X509_set_serialNumber(cert, serial.get()) == 1;
}

bool add_name_entry(X509_NAME* name, const char* field, const char* value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value), -1, -1, 0) == 1;
}

// Adds an extension written in openssl.cnf syntax, e.g. "critical,CA:FALSE".
bool add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A v3 certificate for `key` with a fresh serial, valid from an hour ago for `days` days.
X509Ptr new_certificate(EVP_PKEY* key, long days) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      !set_random_serial(cert.get()) || X509_set_pubkey(cert.get(), key) != 1 ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * kSecondsPerDay)) {
    return nullptr;
  }
  return cert;
}

Result<std::string> certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Status::error("cannot encode a certificate: " + openssl_errors());
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

struct Issued {
  Pem<X509Ptr> cert;
  Pem<PkeyPtr> key;
};

Result<Issued> issue_ca() {
  Result<Pem<PkeyPtr>> key = generate_key();
  if (!key) return key.status();
  X509Ptr cert = new_certificate(key->object.get(), kCaDays);
  X509_NAME* name = cert ? X509_get_subject_name(cert.get()) : nullptr;
  X509V3_CTX ctx;
  if (cert) X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // The SKI must exist before the AKI, which copies it; "always" because OpenSSL leaves the AKI
  // out of self-signed certificates otherwise.
  if (!cert || !add_name_entry(name, "O", "cmk-emulator") ||
      !add_name_entry(name, "CN", "cmk-emulator CA") ||
      X509_set_issuer_name(cert.get(), name) != 1 ||
      !add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always") ||
      X509_sign(cert.get(), key->object.get(), EVP_sha256()) == 0) {
    return Status::error("cannot issue the CA certificate: " + openssl_errors());
  }
  Result<std::string> pem = certificate_pem(cert.get());
  if (!pem) return pem.status();
  return Issued{{std::move(cert), std::move(*pem)}, std::move(*key)};
}

Result<Issued> issue_server(X509* ca, EVP_PKEY* ca_key) {
  Result<Pem<PkeyPtr>> key = generate_key();
  if (!key) return key.status();
  X509Ptr cert = new_certificate(key->object.get(), kServerDays);
  X509_NAME* name = cert ? X509_get_subject_name(cert.get()) : nullptr;
  X509V3_CTX ctx;
  if (cert) X509V3_set_ctx(&ctx, ca, cert.get(), nullptr, nullptr, 0);
  if (!cert || !add_name_entry(name, "CN", "cmk-emulator") ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)) != 1 ||
      // A certificate outliving its CA would only fail later, and harder to diagnose.
      (ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(ca)) > 0 &&
       X509_set1_notAfter(cert.get(), X509_get0_notAfter(ca)) != 1) ||
      !add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), &ctx, NID_key_usage,
                     "critical,digitalSignature,keyEncipherment") ||
      !add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always") ||
      !add_alt_names(cert.get()) || X509_sign(cert.get(), ca_key, EVP_sha256()) == 0) {
    return Status::error("cannot issue the server certificate: " + openssl_errors());
  }
  Result<std::string> pem = certificate_pem(cert.get());
  if (!pem) return pem.status();
  return Issued{{std::move(cert), std::move(*pem)}, std::move(*key)};
}

// Writes the key before the certificate: the certificate's presence is what marks the pair as
// complete, and a crash in between leaves a certificate that no longer matches its key, which
// the next start detects and repairs.
Status write_pair(const fs::path& cert_file, const fs::path& key_file, const Issued& issued) {
  Status s = write_file_atomically(key_file, issued.key.pem, 0600);
  if (s) s = write_file_atomically(cert_file, issued.cert.pem, 0644);
  return s;
}

}  // namespace

const std::vector<std::string>& required_server_names() {
  static const auto* names = new std::vector<std::string>{
      "localhost",
      "127.0.0.1",
      "::1",
      "*.vault.localhost",
      "login.microsoftonline.com",
      "login.windows.net",
      "management.azure.com",
      "management.core.windows.net",
      "*.vault.azure.net",
  };
  return *names;
}

Result<TlsMaterial> ensure_certificates(const std::filesystem::path& dir) {
  ClearErrorsOnExit clear_errors;
  if (dir.empty()) return Status::error("certificate folder: the path is empty");
  std::error_code ec;
  const fs::path folder = fs::absolute(dir, ec).lexically_normal();
  if (ec) return file_error(dir, "cannot make the path absolute: " + ec.message());
  if (Status s = ensure_private_directory(folder); !s) return s;
  Result<UniqueFd> lock = lock_file(folder / kLockFile);
  if (!lock) return lock.status();

  const fs::path ca_file = folder / kCaCertFile;
  const fs::path ca_key_file = folder / kCaKeyFile;
  const fs::path server_file = folder / kServerCertFile;
  const fs::path server_key_file = folder / kServerKeyFile;
  const time_t now = std::time(nullptr);

  TlsMaterial out;
  out.ca_file = ca_file;
  X509Ptr ca;
  PkeyPtr ca_key;  // loaded lazily: only signing needs it

  Result<std::optional<std::string>> ca_pem = read_file(ca_file);
  if (!ca_pem) return ca_pem.status();
  if (!*ca_pem) {
    // No CA yet (a ca-key.pem without ca.pem is a leftover of an interrupted first start).
    Result<Issued> issued = issue_ca();
    if (!issued) return issued.status();
    if (Status s = write_pair(ca_file, ca_key_file, *issued); !s) return s;
    ca = std::move(issued->cert.object);
    ca_key = std::move(issued->key.object);
    out.ca_cert_pem = std::move(issued->cert.pem);
  } else {
    ca = parse_certificate_pem(**ca_pem, /*only=*/false);
    if (!ca) return file_error(ca_file, "not a PEM certificate: " + openssl_errors());
    if (Status s = check_ca(ca.get(), ca_file, now); !s) return s;
    out.ca_cert_pem = std::move(**ca_pem);
    // The key must be there even when the server certificate is still good: finding out only
    // when it is due for renewal, two years later, would be a worse surprise.
    struct stat st;
    if (::stat(ca_key_file.c_str(), &st) != 0) {
      return file_error(ca_key_file, std::string("the CA's private key is unavailable (") +
                                         std::strerror(errno) +
                                         "); restore it, or remove ca.pem to create a new CA, "
                                         "which clients must then trust");
    }
  }

  Result<std::optional<std::string>> server_pem = read_file(server_file);
  if (!server_pem) return server_pem.status();
  Result<std::optional<std::string>> server_key_pem = read_file(server_key_file);
  if (!server_key_pem) return server_key_pem.status();
  if (*server_pem && *server_key_pem) {
    X509Ptr server = parse_certificate_pem(**server_pem, /*only=*/true);
    if (server && !server_problem(server.get(), **server_key_pem, ca.get(), now)) {
      out.server_cert_pem = std::move(**server_pem);
      out.server_key_pem = std::move(**server_key_pem);
      return out;
    }
    ERR_clear_error();  // the problem is resolved below by issuing a new certificate
  }

  if (!ca_key) {
    Result<std::optional<std::string>> key_pem = read_file(ca_key_file);
    if (!key_pem) return key_pem.status();
    if (!*key_pem) return file_error(ca_key_file, "the CA's private key is missing");
    std::string& key_text = **key_pem;
    ca_key = parse_private_key_pem(key_text);
    OPENSSL_cleanse(key_text.data(), key_text.size());
    if (!ca_key) {
      return file_error(ca_key_file, "not an unencrypted PEM private key: " + openssl_errors());
    }
    if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
      return file_error(ca_key_file,
                        "does not match the certificate in ca.pem: " + openssl_errors());
    }
  }
  Result<Issued> issued = issue_server(ca.get(), ca_key.get());
  if (!issued) return issued.status();
  if (Status s = write_pair(server_file, server_key_file, *issued); !s) return s;
  out.server_cert_pem = std::move(issued->cert.pem);
  out.server_key_pem = std::move(issued->key.pem);
  return out;
}

}  // namespace cmk::http
