// The browser console under /_emulator/portal/ (docs/portal.md), on the admin surface of both
// listeners:
//   GET  /_emulator/portal/            the console (index.html, with this process's console token)
//   GET  /_emulator/portal/<file>      its CSS and JavaScript modules
//   GET  /_emulator/portal/principals  who the console can act as: the directory's service
//                                      principals and managed identities, and the default one
//   POST /_emulator/portal/token       {"principal": <app id | client id>, "resource": "arm" |
//                                      "vault"}: an access token for that principal, issued by
//                                      the token service as for any client
//   *    /_emulator/portal/api/...     ARM and Key Vault calls (console_calls.h); reaching this
//                                      route means the call was not admitted, and says why
// Pages go out with a Content-Security-Policy of 'self' only. Every call but the pages needs the
// console token (console_guard.h) and a loopback Host.
#pragma once

#include <functional>

#include "entra/directory.h"
#include "entra/token_service.h"
#include "http/router.h"
#include "portal/console_guard.h"

namespace cmk::portal {

struct PortalContext {
  const ConsoleGuard* guard = nullptr;
  const entra::Directory* directory = nullptr;
  std::function<const entra::TokenService*()> token_service;  // null before start
};

void register_portal_routes(http::Router& router, PortalContext ctx);

}  // namespace cmk::portal
