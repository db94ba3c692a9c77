// The Key Vault keys data plane over HTTP: a thin
// adapter that finds the vault, authenticates, authorizes, parses the body into KeyStore calls
// and renders the answers and errors in Key Vault's shapes.
//
// Per request, in this order:
// 1. The vault named by the host (<vault>.vault.azure.net / <vault>.vault.localhost) must be a
//    live Microsoft.KeyVault vault of the ARM surface, else 404 VaultNotFound (emulator-chosen:
//    in Azure the host would not resolve). On a loopback host (https://localhost:<port>/keys/...,
//    no vault in the name) the vault is localhost_vault when set (404 VaultNotFound if it does
//    not exist), else the only live vault; no vault -> 404 VaultNotFound, several -> 400
//    BadParameter naming them, both saying how to choose.
// 2. No "Authorization: Bearer <token>" -> 401 AKV10000 with the challenge
//    (http::keyvault_challenge), before the body is read: clients send their first request
//    without body to provoke it. A token that fails validation -> 401 with the challenge and
//    Key Vault's reason (AKV10022 audience, AKV10032 issuer/tenant, AKV10046 signature,
//    "[TokenExpired] ..."). Accepted audiences: https://vault.azure.net and the challenge's
//    resource for the host used (https://vault.localhost[:port]; on a loopback host the
//    challenge names https://vault.azure.net), each with or without a trailing '/'. The token's
//    tenant must be the vault's tenantId.
// 3. api-version is required (400 BadParameter); any value is accepted unless
//    strict_api_versions, then only known ones ("The specified version (X) is not recognized.");
//    an unknown one accepted is reported to on_unlisted_api_version.
//    Paths of the vault's other objects (secrets: secrets_api.h) go to their handler here.
// 4. The route: paths compare case-insensitively (wrapKey = wrapkey), the version segment may be
//    absent or empty (latest). Unknown path 404 NotFound, wrong method 405 MethodNotAllowed.
// 5. Authorization: the operation's key permission by access policy or RBAC (vault_access.h):
//    403 Forbidden with innererror ForbiddenByPolicy / ForbiddenByRbac.
// 6. The operation; domain errors map as key_errors.h lists.
// `kid`s, nextLinks and recoveryIds use the scheme, host and port the client addressed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arm/resource_store.h"
#include "entra/token_service.h"
#include "http/router.h"
#include "keyvault_data/key_store.h"
#include "keyvault_data/rsa_key_pool.h"
#include "keyvault_data/vault_access.h"
#include "keyvault_data/vault_http.h"

namespace cmk::keyvault_data {

struct KeysApiContext {
  KeyStore* store = nullptr;
  RsaKeyPool* pool = nullptr;  // warmed on the first data-plane request
  // The live vault of that name (any subscription) as an immutable snapshot, or null.
  std::function<std::shared_ptr<const arm::TrackedResource>(const std::string& name)> find_vault;
  // Every live vault: on a loopback host without a vault name the only one is served.
  std::function<std::vector<arm::TrackedResource>()> list_vaults;
  // The vault requests on a loopback host speak to (--localhost-vault); "" = the only vault.
  std::string localhost_vault;
  // The emulator's token service; null before it started (then 503).
  std::function<const entra::TokenService*()> token_service;
  RbacCheck rbac;  // decides RBAC vaults; empty = nobody is allowed there
  bool strict_api_versions = false;
  // Told of each request whose api-version is served though not known (lenient mode).
  std::function<void(const std::string& version)> on_unlisted_api_version;
  // The vault's other objects (secrets, certificates): a request whose first path segment one
  // of them names goes to it after steps 1-3 (vault, authentication, api-version); it does its
  // own routing, authorization and errors (vault_http.h).
  std::vector<VaultObjectHandler> object_handlers;
};

// Serves every path of Surface::KeyVault.
void register_keys_routes(http::Router& router, KeysApiContext ctx);

// api-versions the data plane knows (strict mode accepts only these).
bool is_known_keys_api_version(const std::string& version);

}  // namespace cmk::keyvault_data
