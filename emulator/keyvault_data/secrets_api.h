// The Key Vault secrets data plane over HTTP: a thin adapter behind the keys front door
// (keys_api.h steps 1-3: vault, authentication, api-version), registered as its object handler
// for the first segments "secrets" and "deletedsecrets". Per request:
// 4. The route (paths compare case-insensitively; a version segment may be absent or empty):
//      PUT    /secrets/{name}                   set            permission set
//      GET    /secrets/{name}[/{version}]       get            get
//      PATCH  /secrets/{name}[/{version}]       update         set (RBAC secrets/update/action)
//      DELETE /secrets/{name}                   delete         delete
//      GET    /secrets                          list           list
//      GET    /secrets/{name}/versions          list versions  list
//      POST   /secrets/{name}/backup            backup         backup
//      POST   /secrets/restore                  restore        restore
//      GET    /deletedsecrets                   list deleted   list
//      GET    /deletedsecrets/{name}            get deleted    get
//      DELETE /deletedsecrets/{name}            purge          purge
//      POST   /deletedsecrets/{name}/recover    recover        recover
//    Unknown path 404 NotFound, wrong method 405 MethodNotAllowed.
// 5. Authorization: the operation's secret permission by access policy or RBAC at the scope
//    "<vault id>/secrets/<name>" (vault_access.h): 403 ForbiddenByPolicy / ForbiddenByRbac.
// 6. The operation; domain errors map as secret_store.h lists. Lists page with maxresults
//    (1-25) and nextLink as keys' do; list versions of a secret that does not exist is an empty
//    page. The body of a set is wiped once the secret is stored.
#pragma once

#include <functional>
#include <string>

#include "keyvault_data/secret_store.h"
#include "keyvault_data/vault_access.h"
#include "keyvault_data/vault_http.h"

namespace cmk::keyvault_data {

struct SecretsApiContext {
  SecretStore* store = nullptr;
  RbacCheck rbac;  // decides RBAC vaults; empty = nobody is allowed there
};

// The handler to put in KeysApiContext::object_handlers.
VaultObjectHandler secrets_handler(SecretsApiContext ctx);

}  // namespace cmk::keyvault_data
