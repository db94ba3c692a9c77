// The managed-identity HTTP surface (Surface::Msi, the plain-HTTP listener): the token endpoints
// that App Service, Cloud Shell and IMDS offer to code running on Azure, as a thin adapter over
// TokenService.
//
// Routes and what each flavour demands:
//   GET  /msi/token   App Service: header X-IDENTITY-HEADER (api-version 2019-08-01), or the
//                     legacy header `secret` (api-version 2017-09-01, MSI_SECRET); expires_on is
//                     a date string "MM/DD/YYYY HH:MM:SS +00:00" in the legacy flavour
//   POST /msi/token   Cloud Shell / az (MSI_ENDPOINT): header `Metadata: true`, form `resource`
//   GET  /metadata/identity/oauth2/token[/]   IMDS: header `Metadata: true`, api-version
//
// Contract:
// - Checks run cheapest first, and the IMDS header check before anything else, because
//   DefaultAzureCredential probes IMDS with a short timeout and counts any 400 as "present".
// - `resource` comes from the query (GET) or the form, then the query (POST). Missing: 400
//   invalid_request "Required audience parameter not specified".
// - Selectors, at most one: client_id (also `clientid`, App Service 2017), object_id /
//   principal_id, mi_res_id / msi_res_id. Two or more: 400 invalid_request. One that names no
//   managed identity of the directory: 400 invalid_request "Identity not found", as IMDS says.
// - Without a selector the endpoint speaks for the host identity (MsiSettings): the configured
//   selector (--msi-identity, PUT /_emulator/msi), else the default host identity, a
//   system-assigned identity registered at start (default_host_identity()). The configured one
//   is looked up per request, so it may name an identity ARM creates later; until then requests
//   without a selector get "Identity not found".
// - Identity header: any non-empty value, or exactly MsiSettings::identity_header() when one is
//   configured (401 otherwise). Missing: 400.
// - Success (200): access_token, token_type "Bearer", expires_on, expires_in, not_before,
//   resource, client_id -- numbers as strings, as the real endpoints send them -- plus
//   ext_expires_in and an empty refresh_token for IMDS and Cloud Shell.
// - Errors: http::msi_error {error, error_description}.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "entra/directory.h"
#include "entra/token_service.h"
#include "http/router.h"

namespace cmk::msi {

// Which identity the MSI endpoints speak for when a request names none, and which identity
// header they demand. Thread-safe.
class MsiSettings {
 public:
  // A client id, principal id or ARM resource id; "" = the default host identity.
  void set_host_identity(std::string selector);
  std::string host_identity() const;
  // The resource id of the default host identity (set at start).
  void set_default_host_identity(std::string resource_id);
  std::string default_host_identity() const;
  // host_identity(), or the default's resource id when none is configured.
  std::string effective_host_identity() const;

  // The value X-IDENTITY-HEADER / secret must carry; "" = any non-empty value.
  void set_identity_header(std::string value);
  std::string identity_header() const;

 private:
  mutable std::mutex mu_;
  std::string host_identity_;
  std::string default_host_identity_;
  std::string identity_header_;
};

// "/subscriptions/<sub>/resourceGroups/cmk-emulator/providers/Microsoft.Compute/virtualMachines/
// host": the resource the default host identity belongs to.
std::string default_host_resource_id(const std::string& subscription_id);
// The default host identity: system-assigned, in `tenant_id`, with ids derived from the
// resource id (deterministic_object_id(tenant, "principal:" + id) and (..., "client:" + id)),
// so they are the same on every start and machine.
entra::ManagedIdentity default_host_identity(const std::string& tenant_id,
                                             const std::string& subscription_id);

// A managed identity by client id, principal id or resource id (case-insensitive).
std::optional<entra::ManagedIdentity> find_identity(const entra::Directory& directory,
                                                    const std::string& selector);

struct MsiContext {
  // The emulator's token service; null until the emulator has started (then 503).
  std::function<const entra::TokenService*()> token_service;
  const MsiSettings* settings = nullptr;
};

void register_msi_routes(http::Router& router, MsiContext ctx);

}  // namespace cmk::msi
