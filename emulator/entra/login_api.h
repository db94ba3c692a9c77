// The Entra ID HTTP surface (Surface::Login): discovery documents, JWKS, instance discovery and
// the token endpoints, as a thin adapter over TokenService.
//
// Routes (on the login hosts, and beside ARM on the management and loopback hosts):
//   GET  /{tenant}/v2.0/.well-known/openid-configuration   v2 discovery
//   GET  /{tenant}/.well-known/openid-configuration        v1 discovery
//   GET  /adfs/.well-known/openid-configuration            ADFS discovery (az endpoint mode)
//   GET  /{tenant}/discovery/v2.0/keys, /{tenant}/discovery/keys   JWKS (any tenant segment)
//   GET  /common/discovery/instance                        instance discovery (MSAL)
//   POST /{tenant}/oauth2/v2.0/token, /{tenant}/oauth2/token, /adfs/oauth2/token
//
// Contract:
// - Every URL a document hands out starts with https://<host[:port] the request came in on>,
//   so a client that discovered through the proxy (login.microsoftonline.com) or in endpoint
//   mode (localhost:8443) keeps talking to the emulator. The issuer is Entra's
//   (https://login.microsoftonline.com/{tid}/v2.0, https://sts.windows.net/{tid}/): it names the
//   tokens' `iss`, not where the emulator listens. The ADFS document's issuer is
//   https://<host>/adfs and its token_endpoint https://<host>/adfs/oauth2/token, since MSAL takes
//   the tenant from the token endpoint's first path segment.
// - A tenant segment is a GUID, a tenant's default domain, or common/organizations/consumers
//   (kept as is in the URLs, issuer "{tenantid}"); a domain resolves to its GUID. An unknown
//   domain (or, in strict mode, an unknown GUID) is 400 invalid_tenant AADSTS90002.
// - Instance discovery answers for the login hosts, the management hosts and loopback hosts
//   (which the emulator serves): tenant_discovery_endpoint on the host asked about (for a
//   loopback host given without a port -- MSAL drops it -- the emulator's HTTPS port is
//   filled in), metadata[0] the public-cloud alias group, plus a group of its own for a host
//   outside it. Any other host gets Entra's 400 invalid_instance (AADSTS50049), which MSAL
//   reports as "not whitelisted".
// - Token endpoints read the form body (application/x-www-form-urlencoded, '+' = space); the
//   first occurrence of a field wins; unknown fields and all query parameters are ignored.
//   client_secret_basic: "Authorization: Basic base64(urlencode(id):urlencode(secret))" fills in
//   client_id/client_secret; a form client_id that differs from the Basic one is 400
//   invalid_request AADSTS9002313. The URLs the endpoint was reached at (this host, and
//   login.microsoftonline.com, with the tenant as sent and as resolved, v1 and v2 paths) are
//   the accepted `aud` values of a client assertion.
// - Success: v2 and ADFS {token_type, expires_in, ext_expires_in, access_token} with numbers;
//   v1 adds expires_on, not_before and resource, and sends every number as a string, as Entra
//   v1 does. Errors: http::entra_error with the domain's status, error and AADSTS code.
// - Other methods on a token endpoint: 405 invalid_request AADSTS900561 (OPTIONS: 200).
#pragma once

#include <functional>

#include "entra/token_service.h"
#include "http/router.h"

namespace cmk::entra {

struct LoginContext {
  // The emulator's token service; null until the emulator has started (then 503).
  std::function<const TokenService*()> token_service;
  // The emulator's HTTPS port, for loopback authorities in instance discovery.
  std::function<int()> https_port;
};

void register_login_routes(http::Router& router, LoginContext ctx);

}  // namespace cmk::entra
