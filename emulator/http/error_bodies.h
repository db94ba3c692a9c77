// The one place that builds error responses, one function per API family, so every error a
// client sees has the shape of the service it talked to:
//   ARM        {"error":{"code","message"[,"target"]}}                       (api-surface §4.1)
//   Key Vault  {"error":{"code","message"[,"innererror":{"code"}]}}          (api-surface §3.7)
//   Entra      {"error","error_description","error_codes","timestamp","trace_id","correlation_id",
//               "error_uri"}                                                 (api-surface §5)
//   MSI        {"error","error_description"}                                 (api-surface §5.3)
//   Admin      {"error":{"code","message"}}
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace cmk::http {

Response arm_error(int status, std::string_view code, std::string_view message,
                   std::string_view target = {});
Response keyvault_error(int status, std::string_view code, std::string_view message,
                        std::string_view inner_code = {});
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
