// The wire shapes of the secrets data plane, both ways: SecretStore views rendered as
// SecretBundle / SecretItem / DeletedSecretBundle / DeletedSecretItem JSON, and request bodies
// read into the store's request structs. No HTTP: the adapter passes the vault URL the client
// addressed.
//
// Rendering rules: `id` is "<vault url>/secrets/<name>/<version>" (list items of GET /secrets
// and deleted items name the secret without a version); `value` only when the view has one (set
// and get); `contentType` when set; `tags` only when the version has tags; `kid` and
// `"managed": true` only for a certificate's secret; attributes carry enabled, nbf/exp when set,
// created, updated, recoveryLevel and, from api-version 7.1, recoverableDays; deleted ones add
// recoveryId ("<vault url>/deletedsecrets/<name>"), deletedDate and scheduledPurgeDate. Reading
// rules: unknown members are ignored; a member of the wrong JSON type is a BadParameter naming it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "keyvault_data/key_json.h"
#include "keyvault_data/secret_store.h"

namespace cmk::keyvault_data {

nlohmann::json secret_bundle_json(const SecretView& s, const std::string& vault_url,
                                  const AttributeSet& a = {});
nlohmann::json deleted_secret_bundle_json(const SecretView& s, const std::string& vault_url,
                                          const AttributeSet& a = {});
// An item of a list: `with_version` for GET /secrets/{name}/versions.
nlohmann::json secret_item_json(const SecretView& s, const std::string& vault_url,
                                bool with_version, const AttributeSet& a = {});
nlohmann::json deleted_secret_item_json(const SecretView& s, const std::string& vault_url,
                                        const AttributeSet& a = {});

// PUT /secrets/{name}: {"value" (required string), "contentType", "attributes": {"enabled",
// "nbf", "exp"}, "tags"}.
SecretResult<SetSecretRequest> read_set_secret_request(const nlohmann::json& body);
// PATCH /secrets/{name}/{version}: {"contentType", "attributes", "tags"}.
SecretResult<UpdateSecretRequest> read_update_secret_request(const nlohmann::json& body);

}  // namespace cmk::keyvault_data
