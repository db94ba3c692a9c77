// Errors of the Key Vault keys domain, as values. Each kind maps to
// one HTTP status, `code` and `innererror.code` in the adapter (keys_api.cpp), so the domain
// says what went wrong and the adapter only renders it:
//
//   kind                    HTTP  code            innererror.code
//   BadParameter            400   BadParameter    -
//   KeyNotFound             404   KeyNotFound     -
//   KeyDisabled             403   Forbidden       KeyDisabled
//   KeyExpired              403   Forbidden       KeyExpired
//   KeyNotYetValid          403   Forbidden       KeyNotYetValid   (emulator-chosen)
//   KeyOperationForbidden   403   Forbidden       KeyOperationForbidden
//   PurgeProtected          403   Forbidden       -
//   DeletedButRecoverable   409   Conflict        ObjectIsDeletedButRecoverable
//   Conflict                409   Conflict        -
//   Internal                500   InternalServerError  (OpenSSL failed where it should not)
//
// Messages are in the service's words where they are known; they never carry key material.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "common/outcome.h"

namespace cmk::keyvault_data {

enum class KeyErrorKind {
  BadParameter,
  KeyNotFound,
  KeyDisabled,
  KeyExpired,
  KeyNotYetValid,
  KeyOperationForbidden,
  PurgeProtected,
  DeletedButRecoverable,
  Conflict,
  Internal,
};

struct KeyError {
  KeyErrorKind kind = KeyErrorKind::BadParameter;
  std::string message;
};

inline KeyError bad_parameter(std::string message) {
  return {KeyErrorKind::BadParameter, std::move(message)};
}

// A value or a KeyError.
template <typename T>
using KeyResult = Outcome<T, KeyError>;

// For operations that return nothing but may fail.
struct Done {};

}  // namespace cmk::keyvault_data
