// The wire shapes of the keys data plane (api-surface §3.4), both ways: KeyStore views rendered as
// KeyBundle / KeyItem / DeletedKeyBundle / KeyRotationPolicy JSON, and request bodies read into
// the store's request structs. No HTTP: the adapter passes the vault URL the client addressed.
//
// Rendering rules: binary members are base64url without padding; times are Unix seconds; `kid`
// is "<vault url>/keys/<name>/<version>" (list items of GET /keys and deleted items name the key
// without a version); `tags` appears only when the version has tags; private key members never
// appear. Reading rules: unknown members are ignored (clients send more than they must); a
// member of the wrong JSON type is a BadParameter naming it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "keyvault_data/key_store.h"

namespace cmk::keyvault_data {

nlohmann::json key_bundle_json(const KeyView& k, const std::string& vault_url);
nlohmann::json deleted_key_bundle_json(const KeyView& k, const std::string& vault_url);
// An item of a list: `with_version` for GET /keys/{name}/versions.
nlohmann::json key_item_json(const KeyView& k, const std::string& vault_url, bool with_version);
nlohmann::json deleted_key_item_json(const KeyView& k, const std::string& vault_url);
nlohmann::json rotation_policy_json(const RotationPolicy& p, const std::string& vault_url,
                                    const std::string& key_name);

KeyResult<CreateKeyRequest> read_create_request(const nlohmann::json& body);
KeyResult<ImportKeyRequest> read_import_request(const nlohmann::json& body);
KeyResult<UpdateKeyRequest> read_update_request(const nlohmann::json& body);
KeyResult<RotationPolicy> read_rotation_policy(const nlohmann::json& body);

// Overwrites the private members (d, p, q, dp, dq, qi, k) of a JWK held in `jwk` (an import body
// is done with them once the key is made).
void wipe_private_members(nlohmann::json& jwk);

// A required string member ("alg") or a BadParameter naming it.
KeyResult<std::string> read_string(const nlohmann::json& body, const char* name);
// A base64url member, decoded: required, or optional (nullopt when absent or null).
KeyResult<std::string> read_binary(const nlohmann::json& body, const char* name);
KeyResult<std::optional<std::string>> read_optional_binary(const nlohmann::json& body, const char* name);

}  // namespace cmk::keyvault_data
