// Errors of the Key Vault certificates domain, as values. Each kind maps to one HTTP status,
// `code` and `innererror.code` in the adapter (certificates_api.cpp):
//
//   kind                    HTTP  code                         innererror.code
//   BadParameter            400   BadParameter                 -
//   CertificateNotFound     404   CertificateNotFound          -
//   PendingNotFound         404   PendingCertificateNotFound   -
//   IssuerNotFound          404   CertificateIssuerNotFound    -   (emulator-chosen)
//   ContactsNotFound        404   ContactsNotFound             -
//   Forbidden               403   Forbidden                    -
//   PurgeProtected          403   Forbidden                    -
//   DeletedButRecoverable   409   Conflict                     ObjectIsDeletedButRecoverable
//   Conflict                409   Conflict                     -
//   Internal                500   InternalServerError          (OpenSSL failed where it should not)
//
// Messages never carry key material.
#pragma once

#include <string>

#include "common/outcome.h"
#include "keyvault_data/key_errors.h"

namespace cmk::keyvault_data {

enum class CertErrorKind {
  BadParameter,
  CertificateNotFound,
  PendingNotFound,
  IssuerNotFound,
  ContactsNotFound,
  Forbidden,
  PurgeProtected,
  DeletedButRecoverable,
  Conflict,
  Internal,
};

struct CertError {
  CertErrorKind kind = CertErrorKind::BadParameter;
  std::string message;
};

// A key-domain error met while making a certificate's material (BadParameter, Internal).
inline CertError cert_error_of(const KeyError& e) {
  switch (e.kind) {
    case KeyErrorKind::Internal:
      return {CertErrorKind::Internal, e.message};
    case KeyErrorKind::DeletedButRecoverable:
      return {CertErrorKind::DeletedButRecoverable, e.message};
    case KeyErrorKind::Conflict:
      return {CertErrorKind::Conflict, e.message};
    default:
      return {CertErrorKind::BadParameter, e.message};
  }
}

template <typename T>
using CertResult = Outcome<T, CertError>;

}  // namespace cmk::keyvault_data
