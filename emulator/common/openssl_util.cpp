#include "common/openssl_util.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <cstring>

namespace cmk {

namespace {
// Without this callback an encrypted key would make OpenSSL prompt on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }
}  // namespace

std::string openssl_errors() {
  std::string out;
  char buf[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no details from OpenSSL" : out;
}

BioPtr memory_bio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

X509Ptr parse_certificate_pem(const std::string& pem, bool only) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return nullptr;
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  if (!cert || !only) return cert;
  char* rest = nullptr;
  long n = BIO_get_mem_data(bio.get(), &rest);
  for (long i = 0; i < n; ++i)
    if (!std::strchr(" \t\r\n", rest[i])) return nullptr;
  return cert;
}

PkeyPtr parse_private_key_pem(const std::string& pem) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace cmk
