// Backup blobs of the vault's objects (keys, secrets): a document sealed with AES-256-GCM under
// the store's backup key, framed as <4-byte magic><12-byte IV><16-byte tag><ciphertext>. The
// magic and the additional authenticated data name the kind of object, so a key's blob never
// restores as a secret or the other way round. Only this emulator (or one that imported its
// backup key with the state) opens its blobs.
#pragma once

#include <optional>
#include <string>

#include "keyvault_data/key_errors.h"
#include "keyvault_data/key_material.h"

namespace cmk::keyvault_data {

struct BlobKind {
  const char* magic;  // 4 characters
  const char* aad;
};

// The sealed blob, or an Internal error when OpenSSL fails.
KeyResult<std::string> seal_backup(const KeyMaterial& sealing, const BlobKind& kind,
                                   const std::string& plain);
// The plain document, or nullopt when the blob is not of this kind, not sealed by this key, or
// altered. The caller wipes the result.
std::optional<std::string> open_backup(const KeyMaterial& sealing, const BlobKind& kind,
                                       const std::string& blob);

}  // namespace cmk::keyvault_data
