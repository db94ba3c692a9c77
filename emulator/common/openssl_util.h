// OpenSSL ownership and parsing helpers shared by the certificate authority, the token signing
// key and the Key Vault crypto.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace cmk {

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslDeleter<ASN1_STRING_free>>;

// Drains the calling thread's OpenSSL error queue into one line for an error message.
std::string openssl_errors();

// Leaves the thread's error queue empty on every return path: a stale entry would otherwise be
// picked up by a later, unrelated SSL_get_error() on the same thread.
struct ClearOpenSslErrorsOnExit {
  ~ClearOpenSslErrorsOnExit() { ERR_clear_error(); }
};

BioPtr memory_bio(const std::string& data);
// The first certificate in `pem`; with `only`, nothing but white space may follow it.
X509Ptr parse_certificate_pem(const std::string& pem, bool only = false);
// Never prompts for a passphrase: an encrypted key simply fails to parse.
PkeyPtr parse_private_key_pem(const std::string& pem);
// Overwrites a string that held private key text before it is released.
void wipe(std::string& secret);

}  // namespace cmk
