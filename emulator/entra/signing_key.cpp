#include "entra/signing_key.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/base64.h"
#include "common/files.h"
#include "common/openssl_util.h"

namespace cmk::entra {

namespace fs = std::filesystem;

namespace {

using BnPtr = BignumPtr;

constexpr int kMinBits = 2048;
constexpr long kCertValidityDays = 3650;
constexpr long kReissueMarginDays = 30;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* k) {
  return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}


Result<std::shared_ptr<EVP_PKEY>> new_rsa_key() {
  EVP_PKEY* k = EVP_RSA_gen(kMinBits);
  if (k == nullptr) {
    ERR_clear_error();
    return Status::error("could not generate an RSA key");
  }
  return share(k);
}

Status check_key(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA") != 1) return Status::error("the token signing key is not RSA");
  if (EVP_PKEY_get_bits(key) < kMinBits)
    return Status::error("the token signing key is shorter than 2048 bits");
  return Status::ok();
}

Result<std::shared_ptr<EVP_PKEY>> parse_private_key(const std::string& pem) {
  EVP_PKEY* k = parse_private_key_pem(pem).release();
  if (k == nullptr) {
    ERR_clear_error();
    return Status::error("not a PEM private key (or an encrypted one)");
  }
  auto key = share(k);
  Status st = check_key(key.get());
  if (!st) return st;
  return key;
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return Status::error("could not encode the token signing key");
  }
  std::string text = bio_text(bio.get());
  // The memory BIO's buffer held the key too.
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len > 0) OPENSSL_cleanse(data, static_cast<size_t>(len));
  return text;
}

Result<X509Ptr> parse_certificate(const std::string& pem) {
  X509Ptr cert = parse_certificate_pem(pem);
  if (!cert) {
    ERR_clear_error();
    return Status::error("not a PEM certificate");
  }
  return cert;
}

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<X509Ptr> self_signed_certificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  unsigned char serial[16];
  bool ok = cert && RAND_bytes(serial, sizeof serial) == 1;
  if (ok) {
    serial[0] &= 0x7f;  // positive, as RFC 5280 requires
    BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
    ok = bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr;
  }
  ok = ok && X509_set_version(cert.get(), 2) == 1;
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr;
  ok = ok &&
       X509_time_adj_ex(X509_getm_notAfter(cert.get()), kCertValidityDays, 0, nullptr) != nullptr;
  X509_NAME* name = ok ? X509_get_subject_name(cert.get()) : nullptr;
  ok = ok && name != nullptr &&
       X509_NAME_add_entry_by_txt(
           name, "CN", MBSTRING_ASC,
           reinterpret_cast<const unsigned char*>("cmk-emulator token signing"), -1, -1, 0) == 1;
  ok = ok && X509_set_issuer_name(cert.get(), name) == 1;
  ok = ok && X509_set_pubkey(cert.get(), key) == 1;
  ok = ok && add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  ok = ok && add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
  ok = ok && add_extension(cert.get(), NID_subject_key_identifier, "hash");
  ok = ok && X509_sign(cert.get(), key, EVP_sha256()) > 0;
  if (!ok) {
    ERR_clear_error();
    return Status::error("could not create the token signing certificate");
  }
  return cert;
}

Result<std::string> der_of(X509* cert) {
  int len = i2d_X509(cert, nullptr);
  if (len <= 0) {
    ERR_clear_error();
    return Status::error("could not encode the token signing certificate");
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert, &p);
  return der;
}

Result<std::string> certificate_pem_text(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    ERR_clear_error();
    return Status::error("could not encode the token signing certificate");
  }
  return bio_text(bio.get());
}

// The certificate is usable for this key: same public key, and not about to expire.
bool certificate_fits(X509* cert, EVP_PKEY* key) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  bool ok = pub != nullptr && EVP_PKEY_eq(pub, key) == 1;
  if (ok) {
    time_t horizon = time(nullptr) + kReissueMarginDays * 86400;
    ok = X509_cmp_time(X509_get0_notAfter(cert), &horizon) > 0;
  }
  ERR_clear_error();
  return ok;
}

std::string bn_param_b64url(EVP_PKEY* key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1 || raw == nullptr) {
    ERR_clear_error();
    return {};
  }
  BnPtr bn(raw);
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return base64url_encode(bytes);  // BN_bn2bin writes no leading zero bytes
}

}  // namespace

Result<SigningKey> SigningKey::assemble(std::shared_ptr<EVP_PKEY> key, std::string cert_der,
                                        std::string cert_pem) {
  unsigned char sha1[EVP_MAX_MD_SIZE];
  unsigned int sha1_len = 0;
  if (EVP_Digest(cert_der.data(), cert_der.size(), sha1, &sha1_len, EVP_sha1(), nullptr) != 1) {
    ERR_clear_error();
    return Status::error("could not hash the token signing certificate");
  }
  SigningKey k;
  k.key_ = std::move(key);
  k.kid_ = base64url_encode(std::string_view(reinterpret_cast<char*>(sha1), sha1_len));
  k.cert_der_ = std::move(cert_der);
  k.cert_pem_ = std::move(cert_pem);
  k.n_ = bn_param_b64url(k.key_.get(), OSSL_PKEY_PARAM_RSA_N);
  k.e_ = bn_param_b64url(k.key_.get(), OSSL_PKEY_PARAM_RSA_E);
  if (k.n_.empty() || k.e_.empty()) return Status::error("could not read the RSA public key");
  return k;
}

Result<SigningKey> SigningKey::generate() {
  auto key = new_rsa_key();
  if (!key) return key.status();
  auto cert = self_signed_certificate(key->get());
  if (!cert) return cert.status();
  auto der = der_of(cert->get());
  if (!der) return der.status();
  auto pem = certificate_pem_text(cert->get());
  if (!pem) return pem.status();
  return assemble(std::move(*key), std::move(*der), std::move(*pem));
}

Result<SigningKey> SigningKey::from_pem(const std::string& private_key_pem,
                                        const std::string& certificate_pem) {
  auto key = parse_private_key(private_key_pem);
  if (!key) return Status::error("token signing key: " + key.error());
  auto cert = parse_certificate(certificate_pem);
  if (!cert) return Status::error("token signing certificate: " + cert.error());
  EVP_PKEY* pub = X509_get0_pubkey(cert->get());
  if (pub == nullptr || EVP_PKEY_eq(pub, key->get()) != 1) {
    ERR_clear_error();
    return Status::error("the token signing certificate does not hold the signing key");
  }
  auto der = der_of(cert->get());
  if (!der) return der.status();
  return assemble(std::move(*key), std::move(*der), certificate_pem);
}

Result<SigningKey> SigningKey::load_or_create(const fs::path& dir) {
  if (Status st = ensure_private_directory(dir); !st) return st;
  auto lock = lock_file(dir / kSigningLockFile);
  if (!lock) return lock.status();

  const fs::path key_path = dir / kSigningKeyFile;
  const fs::path cert_path = dir / kSigningCertFile;

  auto key_text = read_file(key_path);
  if (!key_text) return key_text.status();
  std::shared_ptr<EVP_PKEY> key;
  if (key_text->has_value()) {
    auto parsed = parse_private_key(**key_text);
    wipe(**key_text);
    if (!parsed) return Status::error(key_path.string() + ": " + parsed.error());
    key = std::move(*parsed);
    struct stat st {};
    if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
      ::chmod(key_path.c_str(), 0600);
  } else {
    auto fresh = new_rsa_key();
    if (!fresh) return fresh.status();
    auto pem = private_key_pem(fresh->get());
    if (!pem) return pem.status();
    Status st = write_file_atomically(key_path, *pem, 0600);
    wipe(*pem);
    if (!st) return st;
    key = std::move(*fresh);
  }

  auto cert_text = read_file(cert_path);
  if (!cert_text) return cert_text.status();
  X509Ptr cert;
  if (cert_text->has_value()) {
    auto parsed = parse_certificate(**cert_text);
    if (parsed && certificate_fits(parsed->get(), key.get())) cert = std::move(*parsed);
  }
  std::string cert_pem;
  if (cert) {
    cert_pem = std::move(**cert_text);
  } else {
    auto fresh = self_signed_certificate(key.get());
    if (!fresh) return fresh.status();
    auto pem = certificate_pem_text(fresh->get());
    if (!pem) return pem.status();
    Status st = write_file_atomically(cert_path, *pem, 0644);
    if (!st) return st;
    cert = std::move(*fresh);
    cert_pem = std::move(*pem);
  }
  auto der = der_of(cert.get());
  if (!der) return der.status();
  return assemble(std::move(key), std::move(*der), std::move(cert_pem));
}

nlohmann::json SigningKey::jwk(const std::optional<std::string>& issuer) const {
  nlohmann::json k = {{"kty", "RSA"},
                      {"use", "sig"},
                      {"kid", kid_},
                      {"x5t", kid_},
                      {"n", n_},
                      {"e", e_},
                      {"x5c", nlohmann::json::array({base64_encode(cert_der_)})}};
  if (issuer) k["issuer"] = *issuer;
  return k;
}

nlohmann::json SigningKey::jwks(const std::optional<std::string>& issuer) const {
  return nlohmann::json{{"keys", nlohmann::json::array({jwk(issuer)})}};
}

}  // namespace cmk::entra
