// The one place that builds error responses, one function per API family, so every error a
// client sees has the shape of the service it talked to:
//   ARM        {"error":{"code","message"[,"target"]}}
//   Key Vault  {"error":{"code","message"[,"innererror":{"code"}]}}
//   Entra      {"error","error_description","error_codes","timestamp","trace_id","correlation_id",
//               "error_uri"}
//   MSI        {"error","error_description"}
//   Admin      {"error":{"code","message"}}
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace cmk::http {

Response arm_error(int status, std::string_view code, std::string_view message,
                   std::string_view target = {});
// ARM's 401: the ARM body plus the challenge ARM sends with it,
//   WWW-Authenticate: Bearer authorization_uri="https://login.windows.net/", error="invalid_token",
//                     error_description="<description>"
// `code` is AuthenticationFailed, InvalidAuthenticationToken, ExpiredAuthenticationToken,
// InvalidAuthenticationTokenAudience or InvalidAuthenticationTokenTenant. Double quotes and
// control characters in the description are replaced, so the header stays one quoted string.
Response arm_unauthorized(std::string_view code, std::string_view message,
                          std::string_view description);
Response keyvault_error(int status, std::string_view code, std::string_view message,
                        std::string_view inner_code = {});
// Key Vault's authentication challenge: 401 Unauthorized
// AKV10000 with
//   WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
//                     resource="https://<vault host minus its first label>[:port unless 443]"
// The resource is the parent domain of the host the client used, port included, because the
// SDKs check that the vault host ends with "." + the resource's host (Python: with the port).
// A token that fails validation gets the same challenge with the reason as the message (Key
// Vault answers every 401 with it, which is what makes clients fetch a new token).
// On a loopback host without a vault name (https://localhost:<port>/keys/..., where clients run
// with challenge resource verification disabled) the resource is https://vault.azure.net.
std::string keyvault_challenge_resource(const Request& req);
Response keyvault_challenge(const Request& req, std::string_view tenant_id,
                            std::string_view message =
                                "AKV10000: Request is missing a Bearer or PoP token.");
Response entra_error(int status, std::string_view error, int aadsts_code,
                     std::string_view description, std::string_view correlation_id);
Response msi_error(int status, std::string_view error, std::string_view description);
Response admin_error(int status, std::string_view code, std::string_view message);

// Generic failures (no route, wrong method, malformed request, internal error) in the shape of
// the surface the request reached. `code` is the ARM/Key Vault/admin code; Entra and MSI use
// their own vocabulary derived from the status.
Response surface_error(const Request& req, int status, std::string_view code,
                       std::string_view message);

}  // namespace cmk::http
