#include "keyvault_data/backup_seal.h"

#include <cstring>

namespace cmk::keyvault_data {

namespace {
constexpr size_t kMagic = 4, kIv = 12, kTag = 16;
EncryptionAlgorithm gcm() {
  return {EncryptionAlgorithm::Kind::AesGcm, 256, "A256GCM"};
}
}  // namespace

KeyResult<std::string> seal_backup(const KeyMaterial& sealing, const BlobKind& kind,
                                   const std::string& plain) {
  auto sealed = sealing.encrypt(gcm(), {plain, std::nullopt, std::string(kind.aad), std::nullopt});
  if (!sealed) return sealed.error();
  return std::string(kind.magic, kMagic) + *sealed->iv + *sealed->tag + sealed->value;
}

std::optional<std::string> open_backup(const KeyMaterial& sealing, const BlobKind& kind,
                                       const std::string& blob) {
  const size_t head = kMagic + kIv + kTag;
  if (blob.size() <= head || blob.compare(0, kMagic, kind.magic, kMagic) != 0) return std::nullopt;
  CipherInput in{blob.substr(head), blob.substr(kMagic, kIv), std::string(kind.aad),
                 blob.substr(kMagic + kIv, kTag)};
  auto plain = sealing.decrypt(gcm(), in);
  if (!plain) return std::nullopt;
  return std::move(plain.value());
}

}  // namespace cmk::keyvault_data
