// The wire shapes of the keys data plane, both ways: KeyStore views rendered as
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

// The key attributes an api-version's answers carry. Key Vault added them version by version
// and answers each version in its own shape (its recorded traffic): `recoverableDays` from 7.1
// (7.0 and the dated 2015/2016 versions omit it), `exportable` from 7.4 (7.3 omits it),
// `hsmPlatform` from 7.5 ("0" for software keys, "2" for -HSM keys). The dated versions after
// 7.6 (2025-06-01-preview on) and anything unrecognised get the newest shape.
struct AttributeSet {
  bool recoverable_days = true;
  bool exportable = true;
  bool hsm_platform = true;
};
AttributeSet attribute_set_for(const std::string& api_version);

nlohmann::json key_bundle_json(const KeyView& k, const std::string& vault_url,
                               const AttributeSet& a = {});
nlohmann::json deleted_key_bundle_json(const KeyView& k, const std::string& vault_url,
                                       const AttributeSet& a = {});
// An item of a list: `with_version` for GET /keys/{name}/versions.
nlohmann::json key_item_json(const KeyView& k, const std::string& vault_url, bool with_version,
                             const AttributeSet& a = {});
nlohmann::json deleted_key_item_json(const KeyView& k, const std::string& vault_url,
                                     const AttributeSet& a = {});
// A policy that was set: {id, lifetimeActions, attributes {expiryTime?, created, updated}}. The
// default policy of a key that never had one is answered as Key Vault does: no `id` and
// `"attributes": null`.
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
KeyResult<std::optional<std::string>> read_optional_binary(const nlohmann::json& body,
                                                           const char* name);

}  // namespace cmk::keyvault_data
