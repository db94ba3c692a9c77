// The console's ARM and Key Vault calls. A page served over plain HTTP cannot reach the HTTPS
// listener (another origin, and a CA the browser does not trust), so the console sends them to
// its own origin and they are turned here into the requests any client sends:
//   /_emulator/portal/api/arm/<ARM path>?<query>          -> https://management.azure.com/<path>
//   /_emulator/portal/api/vault/<vault>/<data path>?<q>   -> https://<vault>.vault.azure.net/<path>
// The rewritten request then takes the normal road (Emulator::handle): the request-id, journal,
// bearer-authentication and fault filters, the ARM or Key Vault handlers, access policies and
// RBAC. It keeps its headers, the console's bearer token among them.
#pragma once

#include "http/message.h"
#include "portal/console_guard.h"

namespace cmk::portal {

// Rewrites `req` in place and returns true when it is a console call that carries the console
// token, arrives on a loopback Host and names a well-formed target; otherwise leaves it as it is
// (the admin routes of portal_api.h then refuse it with the reason).
bool rewrite_console_call(http::Request& req, const ConsoleGuard& guard);

}  // namespace cmk::portal
