#include "msi/msi_api.h"

#include <ctime>
#include <map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "http/error_bodies.h"

namespace cmk::msi {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

// --- MsiSettings ---

void MsiSettings::set_host_identity(std::string selector) {
  std::lock_guard<std::mutex> lock(mu_);
  host_identity_ = std::move(selector);
}

std::string MsiSettings::host_identity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return host_identity_;
}

void MsiSettings::set_default_host_identity(std::string resource_id) {
  std::lock_guard<std::mutex> lock(mu_);
  default_host_identity_ = std::move(resource_id);
}

std::string MsiSettings::default_host_identity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return default_host_identity_;
}

std::string MsiSettings::effective_host_identity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return host_identity_.empty() ? default_host_identity_ : host_identity_;
}

void MsiSettings::set_identity_header(std::string value) {
  std::lock_guard<std::mutex> lock(mu_);
  identity_header_ = std::move(value);
}

std::string MsiSettings::identity_header() const {
  std::lock_guard<std::mutex> lock(mu_);
  return identity_header_;
}

// --- identities ---

std::string default_host_resource_id(const std::string& subscription_id) {
  return "/subscriptions/" + subscription_id +
         "/resourceGroups/cmk-emulator/providers/Microsoft.Compute/virtualMachines/host";
}

entra::ManagedIdentity default_host_identity(const std::string& tenant_id,
                                             const std::string& subscription_id) {
  entra::ManagedIdentity mi;
  mi.resource_id = default_host_resource_id(subscription_id);
  mi.principal_id = entra::deterministic_object_id(tenant_id, "principal:" + mi.resource_id);
  mi.client_id = entra::deterministic_object_id(tenant_id, "client:" + mi.resource_id);
  mi.tenant_id = http::to_lower(tenant_id);
  mi.kind = entra::IdentityKind::SystemAssigned;
  return mi;
}

std::optional<entra::ManagedIdentity> find_identity(const entra::Directory& directory,
                                                    const std::string& selector) {
  if (selector.empty()) return std::nullopt;
  if (selector.front() == '/') return directory.find_managed_identity_by_resource_id(selector);
  if (auto mi = directory.find_managed_identity_by_client_id(selector)) return mi;
  return directory.find_managed_identity_by_principal_id(selector);
}

namespace {

enum class Flavour { AppService, AppServiceLegacy, CloudShell, Imds };

using Params = std::map<std::string, std::string>;

// Query parameters (and, for POST, form fields first), names lower-cased; first occurrence wins.
Params request_params(const Request& req, bool with_form) {
  Params out;
  if (with_form)
    for (auto& [k, v] : http::parse_query(req.body, /*plus_is_space=*/true))
      out.emplace(http::to_lower(k), std::move(v));
  for (const auto& [k, v] : req.query) out.emplace(http::to_lower(k), v);
  return out;
}

std::optional<std::string> param(const Params& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end()) return std::nullopt;
  return it->second;
}

bool metadata_header_ok(const Request& req) {
  auto v = req.header("Metadata");
  return v && http::iequals(*v, "true");
}

Response missing_metadata() {
  return http::msi_error(400, "invalid_request", "Required metadata header not specified");
}

// Date string of App Service api-version 2017-09-01 ("06/20/2019 02:57:58 +00:00"), which
// azure-identity and msrestazure parse as UTC.
std::string legacy_date(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%m/%d/%Y %H:%M:%S +00:00", &tm);
  return buf;
}

// Which identity the request speaks for; an error response when none fits.
std::variant<entra::ManagedIdentity, Response> select_identity(const MsiContext& ctx,
                                                               const entra::Directory& directory,
                                                               const Params& p) {
  struct Selector {
    const char* name;
    std::optional<std::string> value;
  };
  std::vector<Selector> given;
  auto first_of = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (auto v = param(p, n); v && !v->empty()) {
        given.push_back({n, v});
        return;
      }
  };
  first_of({"client_id", "clientid"});
  first_of({"object_id", "principal_id"});
  first_of({"msi_res_id", "mi_res_id"});
  if (given.size() > 1)
    return http::msi_error(400, "invalid_request",
                           "Only one of client_id, object_id (principal_id) and msi_res_id "
                           "(mi_res_id) may be specified.");

  std::optional<entra::ManagedIdentity> mi;
  if (given.empty()) {
    const std::string host = ctx.settings->effective_host_identity();
    mi = find_identity(directory, host);
    if (!mi)
      return http::msi_error(400, "invalid_request",
                             "Identity not found: the host identity '" + host +
                                 "' (--msi-identity, PUT /_emulator/msi) is not a managed identity "
                                 "of the emulator.");
    return *mi;
  }
  const Selector& s = given.front();
  const std::string name = s.name;
  if (name == "msi_res_id" || name == "mi_res_id")
    mi = directory.find_managed_identity_by_resource_id(*s.value);
  else if (name == "object_id" || name == "principal_id")
    mi = directory.find_managed_identity_by_principal_id(*s.value);
  else
    mi = directory.find_managed_identity_by_client_id(*s.value);
  if (!mi) return http::msi_error(400, "invalid_request", "Identity not found");
  return *mi;
}

Response issue(const MsiContext& ctx, Flavour flavour, const Params& p) {
  const entra::TokenService* service = ctx.token_service();
  if (service == nullptr)
    return http::msi_error(503, "server_error", "The emulator's token service is not running.");

  auto who = select_identity(ctx, service->directory(), p);
  if (auto* err = std::get_if<Response>(&who)) return std::move(*err);
  const auto& identity = std::get<entra::ManagedIdentity>(who);

  auto issued = service->issue_managed_identity_token(identity, param(p, "resource").value_or(""));
  if (!issued) {
    const auto& e = issued.error();
    return http::msi_error(e.http_status, e.error, e.description);
  }
  const entra::IssuedToken& t = *issued;
  json body = {{"access_token", t.access_token},
               {"token_type", t.token_type},
               {"expires_on", flavour == Flavour::AppServiceLegacy
                                  ? legacy_date(t.expires_on)
                                  : std::to_string(t.expires_on)},
               {"expires_in", std::to_string(t.expires_in)},
               {"not_before", std::to_string(t.not_before)},
               {"resource", t.resource},
               {"client_id", t.client_id}};
  if (flavour == Flavour::Imds || flavour == Flavour::CloudShell) {
    body["ext_expires_in"] = std::to_string(t.expires_in);
    body["refresh_token"] = "";
  }
  Response r;
  r.set_json(200, json_text(body));  // the client's resource may be invalid UTF-8
  return r;
}

// X-IDENTITY-HEADER or `secret`: present, and equal to the configured value if there is one.
std::optional<Response> check_identity_header(const MsiContext& ctx, const std::string& name,
                                              const std::string& value) {
  const std::string expected = ctx.settings->identity_header();
  if (value.empty())
    return http::msi_error(400, "invalid_request", "Required header " + name + " not specified");
  if (!expected.empty() && value != expected)
    return http::msi_error(401, "unauthorized",
                           "The " + name + " header does not carry the expected value "
                           "(IDENTITY_HEADER / MSI_SECRET, --msi-identity-header).");
  return std::nullopt;
}

Response app_service(const MsiContext& ctx, const Request& req) {
  const Params p = request_params(req, false);
  const auto api_version = param(p, "api-version");
  auto identity_header = req.header("X-IDENTITY-HEADER");
  auto secret = req.header("secret");
  Flavour flavour = Flavour::AppService;
  if (!identity_header && (secret || (api_version && *api_version == "2017-09-01"))) {
    flavour = Flavour::AppServiceLegacy;
    if (auto err = check_identity_header(ctx, "secret", secret.value_or(""))) return *err;
  } else if (auto err = check_identity_header(ctx, "X-IDENTITY-HEADER",
                                              identity_header.value_or(""))) {
    return *err;
  }
  if (!api_version || api_version->empty())
    return http::msi_error(400, "invalid_request", "Required query variable 'api-version' is missing");
  return issue(ctx, flavour, p);
}

Response cloud_shell(const MsiContext& ctx, const Request& req) {
  if (!metadata_header_ok(req)) return missing_metadata();
  return issue(ctx, Flavour::CloudShell, request_params(req, true));
}

Response imds(const MsiContext& ctx, const Request& req) {
  if (!metadata_header_ok(req)) return missing_metadata();
  const Params p = request_params(req, false);
  if (auto v = param(p, "api-version"); !v || v->empty())
    return http::msi_error(400, "invalid_request", "Required query variable 'api-version' is missing");
  return issue(ctx, Flavour::Imds, p);
}

}  // namespace

void register_msi_routes(http::Router& router, MsiContext ctx) {
  router.add("GET", "/msi/token",
             [ctx](Request& req, const RouteParams&) { return app_service(ctx, req); });
  router.add("POST", "/msi/token",
             [ctx](Request& req, const RouteParams&) { return cloud_shell(ctx, req); });
  router.add("GET", "/metadata/identity/oauth2/token",
             [ctx](Request& req, const RouteParams&) { return imds(ctx, req); });
}

}  // namespace cmk::msi
