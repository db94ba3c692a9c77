#include "keyvault_data/certificate_material.h"

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

namespace cmk::keyvault_data {

namespace {

using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, OpenSslDeleter<PKCS12_free>>;
using ExtStackPtr =
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype([](STACK_OF(X509_EXTENSION) * s) {
                      sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
                    })>;
using X509StackPtr =
    std::unique_ptr<STACK_OF(X509),
                    decltype([](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); })>;

constexpr const char* kUpnOid = "1.3.6.1.4.1.311.20.2.3";
// Key Vault dates a certificate 10 minutes back (its recorded nbf is created - 600), so clocks
// slightly behind still accept it.
constexpr int64_t kBackdate = 600;

KeyError internal_error(const std::string& what) {
  return KeyError{KeyErrorKind::Internal, what + " failed: " + openssl_errors()};
}

// notBefore + `months` calendar months; the day is clamped to the last of the target month.
int64_t add_months(int64_t t, int months) {
  time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  int year = tm.tm_year + 1900 + (tm.tm_mon + months) / 12;
  int mon = (tm.tm_mon + months) % 12;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int last = days[mon];
  if (mon == 1 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) last = 29;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = std::min(tm.tm_mday, last);
  return static_cast<int64_t>(timegm(&tm));
}

int64_t unix_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

const EVP_MD* digest_for(const KeyMaterial& key) {
  if (key.family() == KeyFamily::Ec && key.curve()) {
    if (*key.curve() == Curve::P384) return EVP_sha384();
    if (*key.curve() == Curve::P521) return EVP_sha512();
  }
  return EVP_sha256();
}

bool add_general_name(GENERAL_NAMES* names, int type, const std::string& value) {
  GeneralNamePtr gn(GENERAL_NAME_new());
  Asn1StringPtr ia5(ASN1_IA5STRING_new());
  if (!gn || !ia5 || ASN1_STRING_set(ia5.get(), value.data(), static_cast<int>(value.size())) != 1)
    return false;
  GENERAL_NAME_set0_value(gn.get(), type, ia5.release());
  return sk_GENERAL_NAME_push(names, gn.release()) > 0;
}

bool add_upn(GENERAL_NAMES* names, const std::string& upn) {
  GeneralNamePtr gn(GENERAL_NAME_new());
  ASN1_OBJECT* oid = OBJ_txt2obj(kUpnOid, 1);
  ASN1_TYPE* value = ASN1_TYPE_new();
  ASN1_UTF8STRING* text = ASN1_UTF8STRING_new();
  if (!gn || !oid || !value || !text ||
      ASN1_STRING_set(text, upn.data(), static_cast<int>(upn.size())) != 1) {
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(value);
    ASN1_UTF8STRING_free(text);
    return false;
  }
  ASN1_TYPE_set(value, V_ASN1_UTF8STRING, text);
  if (GENERAL_NAME_set0_othername(gn.get(), oid, value) != 1) {
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(value);
    return false;
  }
  return sk_GENERAL_NAME_push(names, gn.release()) > 0;
}

// The extensions a policy asks for, except the key identifiers (those need the certificate).
KeyResult<ExtStackPtr> policy_extensions(const CertificatePolicy& p) {
  ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!exts) return internal_error("extension list");
  auto push = [&](X509_EXTENSION* ext) {
    if (!ext) return false;
    if (sk_X509_EXTENSION_push(exts.get(), ext) <= 0) {
      X509_EXTENSION_free(ext);
      return false;
    }
    return true;
  };
  BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
  if (!bc) return internal_error("basic constraints");
  bc->ca = 0;
  bool ok = push(X509V3_EXT_i2d(NID_basic_constraints, 1, bc));
  BASIC_CONSTRAINTS_free(bc);
  if (!ok) return internal_error("basic constraints");

  const auto& usages = p.key_usage.value_or(std::vector<std::string>{});
  if (!usages.empty()) {
    Asn1StringPtr bits(ASN1_BIT_STRING_new());
    if (!bits) return internal_error("key usage");
    const auto& names = key_usage_names();
    for (const auto& u : usages) {
      auto it = std::find(names.begin(), names.end(), u);
      if (it == names.end()) continue;
      ASN1_BIT_STRING_set_bit(bits.get(), static_cast<int>(it - names.begin()), 1);
    }
    if (!push(X509V3_EXT_i2d(NID_key_usage, 1, bits.get()))) return internal_error("key usage");
  }
  const auto& ekus = p.ekus.value_or(std::vector<std::string>{});
  if (!ekus.empty()) {
    EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
    if (!eku) return internal_error("extended key usage");
    for (const auto& e : ekus) {
      ASN1_OBJECT* obj = OBJ_txt2obj(e.c_str(), 1);
      if (!obj || sk_ASN1_OBJECT_push(eku, obj) <= 0) {
        ASN1_OBJECT_free(obj);
        sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
        return bad_parameter("The enhanced key usage '" + e + "' is not an object identifier.");
      }
    }
    ok = push(X509V3_EXT_i2d(NID_ext_key_usage, 0, eku));
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    if (!ok) return internal_error("extended key usage");
  }
  if (!p.sans.empty()) {
    GeneralNamesPtr names(GENERAL_NAMES_new());
    if (!names) return internal_error("subject alternative names");
    for (const auto& d : p.sans.dns_names)
      if (!add_general_name(names.get(), GEN_DNS, d)) return internal_error("DNS name");
    for (const auto& e : p.sans.emails)
      if (!add_general_name(names.get(), GEN_EMAIL, e)) return internal_error("email name");
    for (const auto& u : p.sans.upns)
      if (!add_upn(names.get(), u)) return internal_error("UPN name");
    // Critical when the subject is empty (RFC 5280, 4.2.1.6).
    if (!push(X509V3_EXT_i2d(NID_subject_alt_name, p.subject.empty() ? 1 : 0, names.get())))
      return internal_error("subject alternative names");
  }
  return exts;
}

std::string der_of(X509* cert) {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(cert, &buf);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

X509Ptr x509_of_der(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  return cert;
}

bool matches_key(X509* cert, const KeyMaterial& key) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  return pub && key.evp_key() && EVP_PKEY_eq(pub, key.evp_key().get()) == 1;
}

// Whether the PEM text holds an encrypted private key; only then is a password used.
int password_callback(char* buf, int size, int, void* u) {
  const std::string* pwd = static_cast<const std::string*>(u);
  if (!pwd || pwd->empty() || static_cast<int>(pwd->size()) > size) return 0;
  std::memcpy(buf, pwd->data(), pwd->size());
  return static_cast<int>(pwd->size());
}

}  // namespace

X509_NAME* parse_distinguished_name(const std::string& text) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return nullptr;
  std::vector<std::string> parts;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      cur += text[++i];
    } else if (text[i] == ',' || text[i] == ';') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += text[i];
    }
  }
  parts.push_back(cur);
  auto trim = [](std::string s) {
    const size_t b = s.find_first_not_of(" \t");
    const size_t e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  for (auto& part : parts) {
    const size_t eq = part.find('=');
    if (eq == std::string::npos) return nullptr;
    std::string field = trim(part.substr(0, eq));
    std::string value = trim(part.substr(eq + 1));
    if (field.empty() || value.empty() || value.size() > 64 * 4) return nullptr;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    ClearOpenSslErrorsOnExit clear;
    // Attribute names compare case-insensitively ("cn=MyCert" is Key Vault's own example);
    // OpenSSL's short names are upper case.
    if (OBJ_txt2nid(field.c_str()) == NID_undef)
      for (char& c : field) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (field == "E") field = "emailAddress";
    if (field == "S") field = "ST";
    if (OBJ_txt2nid(field.c_str()) == NID_undef) return nullptr;
    if (X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1)
      return nullptr;
  }
  return name.release();
}

KeyResult<CertificateMaterial> CertificateMaterial::assemble(const KeyMaterial& key,
                                                             std::vector<X509Ptr> certs) {
  auto leaf = std::find_if(certs.begin(), certs.end(),
                           [&](const X509Ptr& c) { return matches_key(c.get(), key); });
  if (leaf == certs.end())
    return bad_parameter("No certificate of the chain has the public key of the private key.");
  std::rotate(certs.begin(), leaf, leaf + 1);  // the leaf first, the rest in their order
  CertificateMaterial m;
  m.key_ = std::make_shared<const KeyMaterial>(key);
  m.not_before_ = unix_of(X509_get0_notBefore(certs.front().get()));
  m.not_after_ = unix_of(X509_get0_notAfter(certs.front().get()));
  m.chain_ = std::make_shared<const std::vector<X509Ptr>>(std::move(certs));
  return m;
}

KeyResult<CertificateMaterial> CertificateMaterial::self_signed(const CertificatePolicy& p,
                                                                const KeyMaterial& key,
                                                                int64_t now) {
  ClearOpenSslErrorsOnExit clear;
  if (!key.evp_key()) return bad_parameter("A certificate's key must be RSA or EC.");
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    return internal_error("certificate creation");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return internal_error("serial number");
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x40;  // and a full 16 bytes long
  BignumPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())))
    return internal_error("serial number");
  X509NamePtr subject(p.subject.empty() ? X509_NAME_new() : parse_distinguished_name(p.subject));
  if (!subject) return bad_parameter("The subject '" + p.subject + "' is not a valid X.500 name.");
  const int64_t not_after = add_months(now, p.validity_months.value_or(12));
  if (X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), subject.get()) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now - kBackdate)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after)) ||
      X509_set_pubkey(cert.get(), key.evp_key().get()) != 1)
    return internal_error("certificate fields");
  auto exts = policy_extensions(p);
  if (!exts) return exts.error();
  for (int i = 0; i < sk_X509_EXTENSION_num(exts->get()); ++i)
    if (X509_add_ext(cert.get(), sk_X509_EXTENSION_value(exts->get(), i), -1) != 1)
      return internal_error("certificate extension");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  ExtensionPtr ski(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash"));
  if (!ski || X509_add_ext(cert.get(), ski.get(), -1) != 1)
    return internal_error("subject key identifier");
  ExtensionPtr aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_add_ext(cert.get(), aki.get(), -1) != 1)
    return internal_error("authority key identifier");
  if (X509_sign(cert.get(), key.evp_key().get(), digest_for(key)) <= 0)
    return internal_error("certificate signature");
  std::vector<X509Ptr> certs;
  certs.push_back(std::move(cert));
  return assemble(key, std::move(certs));
}

KeyResult<std::string> CertificateMaterial::csr(const CertificatePolicy& p,
                                                const KeyMaterial& key) {
  ClearOpenSslErrorsOnExit clear;
  if (!key.evp_key()) return bad_parameter("A certificate's key must be RSA or EC.");
  X509ReqPtr req(X509_REQ_new());
  X509NamePtr subject(p.subject.empty() ? X509_NAME_new() : parse_distinguished_name(p.subject));
  if (!req || !subject) return bad_parameter("The subject '" + p.subject + "' is not valid.");
  auto exts = policy_extensions(p);
  if (!exts) return exts.error();
  if (X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.evp_key().get()) != 1 ||
      X509_REQ_add_extensions(req.get(), exts->get()) != 1 ||
      X509_REQ_sign(req.get(), key.evp_key().get(), digest_for(key)) <= 0)
    return internal_error("certificate request");
  unsigned char* buf = nullptr;
  const int n = i2d_X509_REQ(req.get(), &buf);
  if (n <= 0) return internal_error("certificate request encoding");
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

KeyResult<CertificateMaterial> CertificateMaterial::merge(
    const KeyMaterial& key, const std::vector<std::string>& der_chain) {
  ClearOpenSslErrorsOnExit clear;
  if (der_chain.empty())
    return bad_parameter("The property 'x5c' must hold at least one certificate.");
  std::vector<X509Ptr> certs;
  for (size_t i = 0; i < der_chain.size(); ++i) {
    X509Ptr c = x509_of_der(der_chain[i]);
    if (!c) return bad_parameter("x5c[" + std::to_string(i) + "] is not a DER X.509 certificate.");
    certs.push_back(std::move(c));
  }
  auto m = assemble(key, std::move(certs));
  if (!m)
    return bad_parameter(
        "Public key from x5c parameter does not match with the pending certificate's key.");
  return m;
}

KeyResult<CertificateMaterial> CertificateMaterial::from_parts(
    const KeyMaterial& key, const std::vector<std::string>& der_chain) {
  return merge(key, der_chain);
}

KeyResult<CertificateMaterial> CertificateMaterial::import_certificate(
    const std::string& value, const std::string& password) {
  ClearOpenSslErrorsOnExit clear;
  std::vector<X509Ptr> certs;
  PkeyPtr pkey;
  if (value.find("-----BEGIN") != std::string::npos) {
    // OpenSSL's readers skip the blocks of other types: the key and the certificates may come
    // in any order.
    std::string pwd = password;
    BioPtr key_bio = memory_bio(value);
    pkey.reset(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, password_callback, &pwd)
                       : nullptr);
    wipe(pwd);
    if (!pkey) {
      const bool encrypted = value.find("ENCRYPTED") != std::string::npos;
      if (encrypted)
        return bad_parameter(
            "The private key of the PEM text could not be decrypted: the password is missing or "
            "wrong.");
      return bad_parameter("The PEM text holds no private key that could be read.");
    }
    BioPtr cert_bio = memory_bio(value);
    while (cert_bio) {
      X509Ptr c(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
      if (!c) break;
      certs.push_back(std::move(c));
    }
    if (certs.empty()) return bad_parameter("The PEM text holds no certificate.");
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(value.data());
    Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(value.size())));
    if (!p12) return bad_parameter("The certificate is neither PEM text nor a PKCS#12 (PFX) file.");
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* ca = nullptr;
    // An empty password is tried both as "" and as none, as PKCS #12 writers differ.
    if (PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &ca) != 1) {
      const std::string why = openssl_errors();
      if (why.find("unsupported") != std::string::npos)
        return bad_parameter(
            "The PKCS#12 file uses an encryption OpenSSL 3 does not read by default (such as "
            "RC2-40): export it with AES-256 or 3DES.");
      return bad_parameter(
          "The PKCS#12 file could not be read: the password is missing or wrong, or the file is "
          "damaged.");
    }
    pkey.reset(key);
    X509StackPtr rest(ca);
    if (!pkey) {
      X509_free(cert);
      return bad_parameter("The PKCS#12 file holds no private key.");
    }
    if (cert) certs.emplace_back(cert);
    while (rest && sk_X509_num(rest.get()) > 0) certs.emplace_back(sk_X509_shift(rest.get()));
    if (certs.empty()) return bad_parameter("The PKCS#12 file holds no certificate.");
  }
  auto key = KeyMaterial::from_evp_key(pkey.release());
  if (!key) return key.error();
  auto m = assemble(*key, std::move(certs));
  if (!m) return bad_parameter("No certificate matches the private key.");
  return m;
}

std::string CertificateMaterial::der() const {
  return der_of(leaf());
}

std::vector<std::string> CertificateMaterial::der_chain() const {
  std::vector<std::string> out;
  for (const auto& c : *chain_) out.push_back(der_of(c.get()));
  return out;
}

std::string CertificateMaterial::x5t() const {
  unsigned char md[SHA_DIGEST_LENGTH];
  unsigned int n = 0;
  if (X509_digest(leaf(), EVP_sha1(), md, &n) != 1) return {};
  return std::string(reinterpret_cast<char*>(md), n);
}

std::string CertificateMaterial::pem() const {
  ClearOpenSslErrorsOnExit clear;
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return {};
  if (PEM_write_bio_PrivateKey(bio.get(), key_->evp_key().get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1)
    return {};
  for (const auto& c : *chain_)
    if (PEM_write_bio_X509(bio.get(), c.get()) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string CertificateMaterial::pkcs12() const {
  ClearOpenSslErrorsOnExit clear;
  X509StackPtr ca(sk_X509_new_null());
  if (!ca) return {};
  for (size_t i = 1; i < chain_->size(); ++i) {
    X509* c = (*chain_)[i].get();
    if (X509_up_ref(c) != 1 || sk_X509_push(ca.get(), c) <= 0) return {};
  }
  // No encryption of key or certificates (nid -1) and a MAC over the empty password with one
  // iteration: what readers given no password accept, made in microseconds.
  Pkcs12Ptr p12(PKCS12_create("", nullptr, key_->evp_key().get(), leaf(), ca.get(), -1, -1,
                              PKCS12_DEFAULT_ITER, 1, 0));
  if (!p12) return {};
  unsigned char* buf = nullptr;
  const int n = i2d_PKCS12(p12.get(), &buf);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_clear_free(buf, static_cast<size_t>(n));
  return out;
}

std::string CertificateMaterial::subject() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  X509_NAME_print_ex(
      bio.get(), X509_get_subject_name(leaf()), 0,
      (XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV & ~XN_FLAG_SEP_MASK & ~ASN1_STRFLGS_ESC_MSB) |
          XN_FLAG_SEP_CPLUS_SPC);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

SubjectAlternativeNames CertificateMaterial::sans() const {
  SubjectAlternativeNames out;
  GENERAL_NAMES* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf(), NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    auto text = [](const ASN1_STRING* s) {
      return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
    };
    if (gn->type == GEN_DNS) out.dns_names.push_back(text(gn->d.dNSName));
    if (gn->type == GEN_EMAIL) out.emails.push_back(text(gn->d.rfc822Name));
    if (gn->type == GEN_OTHERNAME) {
      char oid[64];
      OBJ_obj2txt(oid, sizeof oid, gn->d.otherName->type_id, 1);
      const ASN1_TYPE* v = gn->d.otherName->value;
      if (std::strcmp(oid, kUpnOid) == 0 && v && v->type == V_ASN1_UTF8STRING)
        out.upns.push_back(text(v->value.utf8string));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::vector<std::string> CertificateMaterial::ekus() const {
  std::vector<std::string> out;
  EXTENDED_KEY_USAGE* eku = static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(leaf(), NID_ext_key_usage, nullptr, nullptr));
  if (!eku) return out;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
    char oid[128];
    OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(eku, i), 1);
    out.emplace_back(oid);
  }
  sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  return out;
}

std::vector<std::string> CertificateMaterial::key_usage() const {
  std::vector<std::string> out;
  const uint32_t bits = X509_get_key_usage(leaf());
  if (bits == UINT32_MAX) return out;  // no extension
  // X509_get_key_usage's flags (KU_*) in bit order: 0x80 digitalSignature ... 0x8000 decipherOnly.
  static const uint32_t flags[] = {KU_DIGITAL_SIGNATURE, KU_NON_REPUDIATION, KU_KEY_ENCIPHERMENT,
                                   KU_DATA_ENCIPHERMENT, KU_KEY_AGREEMENT,   KU_KEY_CERT_SIGN,
                                   KU_CRL_SIGN,          KU_ENCIPHER_ONLY,   KU_DECIPHER_ONLY};
  for (size_t i = 0; i < key_usage_names().size(); ++i)
    if (bits & flags[i]) out.push_back(key_usage_names()[i]);
  return out;
}

CertificatePolicy CertificateMaterial::derived_policy(const std::string& content_type) const {
  CertificatePolicy p;
  const bool ec = key_->family() == KeyFamily::Ec;
  p.kty = ec ? "EC" : "RSA";
  if (ec) {
    p.crv = curve_name(key_->curve().value_or(Curve::P256));
    p.key_size = key_->size_bits();
  } else {
    p.key_size = key_->size_bits();
  }
  p.exportable = true;
  p.reuse_key = false;
  p.content_type = content_type;
  p.subject = subject();
  p.sans = sans();
  p.ekus = ekus();
  p.key_usage = key_usage();
  // Whole months between the validity dates, as Key Vault reports them.
  const int64_t days = (not_after_ - not_before_) / 86400;
  p.validity_months = std::max<int>(1, static_cast<int>((days + 15) / 30.4375));
  p.issuer_name = "Unknown";
  p.lifetime_actions = std::vector<CertificateLifetimeAction>{{80, std::nullopt, "EmailContacts"}};
  return p;
}

}  // namespace cmk::keyvault_data
