// The Key Vault certificates data plane over HTTP: a thin adapter behind the keys front door
// (keys_api.h steps 1-3: vault, authentication, api-version), registered as its object handler
// for the first segments "certificates" and "deletedcertificates". Per request:
// 4. The route (paths compare case-insensitively; a version segment may be absent or empty):
//      POST   /certificates/{name}/create            create            permission create
//      POST   /certificates/{name}/import            import            import
//      GET    /certificates/{name}[/{version}]       get               get
//      PATCH  /certificates/{name}[/{version}]       update            update
//      DELETE /certificates/{name}                   delete            delete
//      GET    /certificates                          list              list
//      GET    /certificates/{name}/versions          list versions     list
//      GET    /certificates/{name}/policy            get policy        get
//      PATCH  /certificates/{name}/policy            update policy     update
//      GET    /certificates/{name}/pending           get operation     get
//      PATCH  /certificates/{name}/pending           cancel            update
//      DELETE /certificates/{name}/pending           delete operation  delete
//      POST   /certificates/{name}/pending/merge     merge             create
//      POST   /certificates/{name}/backup            backup            backup
//      POST   /certificates/restore                  restore           restore
//      GET|PUT|DELETE /certificates/contacts         contacts          managecontacts
//      GET    /certificates/issuers                  list issuers      listissuers
//      GET|PUT|PATCH|DELETE /certificates/issuers/{name}   issuer      getissuers/setissuers/
//                                                                      deleteissuers
//      GET    /deletedcertificates[/{name}]          deleted           list / get
//      DELETE /deletedcertificates/{name}            purge             purge
//      POST   /deletedcertificates/{name}/recover    recover           recover
//    Unknown path 404 NotFound, wrong method 405 MethodNotAllowed.
// 5. Authorization: the certificate permission by access policy or RBAC at the scope
//    "<vault id>/certificates/<name>" (vault_access.h; "manageissuers" also grants the issuer
//    permissions): 403 ForbiddenByPolicy / ForbiddenByRbac.
// 6. The operation; domain errors map as certificate_errors.h lists. create answers 202 with
//    the pending operation and a Location to poll; merge answers 201. The import body (private
//    key, password) is wiped once the certificate is stored.
#pragma once

#include "keyvault_data/certificate_store.h"
#include "keyvault_data/vault_access.h"
#include "keyvault_data/vault_http.h"

namespace cmk::keyvault_data {

struct CertificatesApiContext {
  CertificateStore* store = nullptr;
  RbacCheck rbac;  // decides RBAC vaults; empty = nobody is allowed there
};

// The handler to put in KeysApiContext::object_handlers.
VaultObjectHandler certificates_handler(CertificatesApiContext ctx);

}  // namespace cmk::keyvault_data
