#include "portal/portal_api.h"

#include <memory>

#include <nlohmann/json.hpp>

#include "admin/admin_json.h"
#include "common/utf8.h"
#include "http/error_bodies.h"
#include "portal/assets.h"

namespace cmk::portal {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

// Nothing but the emulator's own origin: no inline script, no other host.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";
constexpr std::string_view kTokenPlaceholder = "@CMK_CONSOLE_TOKEN@";
constexpr std::string_view kAssetsPlaceholder = "@CMK_ASSETS@";
// The files of this build are also served under "v/<asset version>/".
constexpr std::string_view kVersionedFolder = "v/";

// `cache_control`: the page is never kept (it carries this start's console token); a file under
// the current version's folder is kept for good (other bytes get another version, hence another
// URL), so a second visit loads the console's code without a request; any other file is never
// kept, so a page of an older build, or a path typed by hand, gets the bytes of this one.
Response page_headers(Response r, std::string_view cache_control) {
  r.set_header("Content-Security-Policy", kContentSecurityPolicy);
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("Referrer-Policy", "no-referrer");
  r.set_header("Cache-Control", std::string(cache_control));
  return r;
}

Response not_loopback() {
  return http::admin_error(403, "NotLoopback",
                           "The console is served to loopback host names only (localhost, "
                           "127.0.0.1, [::1]).");
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// index.html as served: this start's console token and this build's folder of files filled in.
// Both are fixed for the process, so the page is made once.
std::string console_page(const ConsoleGuard& guard) {
  const EmbeddedAsset* page = find_asset("index.html");
  std::string html = page ? std::string(page->body) : std::string();
  replace_all(html, kTokenPlaceholder, guard.token());
  replace_all(html, kAssetsPlaceholder,
              std::string(kVersionedFolder) + std::string(asset_version()));
  return html;
}

// `path` is relative to /_emulator/portal/: "index.html", "js/app.js" or "v/<version>/js/app.js";
// `page` is console_page().
Response serve_asset(const Request& req, std::string_view path, const std::string& page) {
  if (!loopback_request(req)) return not_loopback();
  const std::string_view requested = path;
  bool current_version = false;
  if (path.starts_with(kVersionedFolder)) {
    const auto rest = path.substr(kVersionedFolder.size());
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      current_version = rest.substr(0, slash) == asset_version();
      path = rest.substr(slash + 1);
      if (path == "index.html") path = {};  // the page lives at /_emulator/portal/ only
    }
  }
  const EmbeddedAsset* asset = find_asset(path);
  if (!asset)
    return http::admin_error(404, "NotFound",
                             "The console has no file '" + utf8_prefix(requested, 256) + "'.");
  Response r;
  r.status = 200;
  r.body = path == "index.html" ? page : std::string(asset->body);
  r.set_header("Content-Type", std::string(content_type_of(path)));
  return page_headers(std::move(r),
                      current_version ? "public, max-age=31536000, immutable" : "no-store");
}

// Why a console call was refused: checked in the order the rewrite checks them.
std::optional<Response> refuse(const Request& req, const ConsoleGuard& guard) {
  if (!loopback_request(req)) return not_loopback();
  if (!guard.admits(req))
    return http::admin_error(403, "ConsoleTokenRequired",
                             std::string("Console calls need the header ") + kConsoleTokenHeader +
                                 " with the token of the page at /_emulator/portal/.");
  return std::nullopt;
}

// The principal the console acts as when none is chosen: the first service principal of the
// fixtures (not one registered on the fly by a login), else the first principal of any kind.
std::string default_principal(const entra::Directory& directory) {
  const auto sps = directory.service_principals();
  for (const auto& sp : sps)
    if (!sp.registered_on_the_fly) return sp.app_id;
  if (!sps.empty()) return sps.front().app_id;
  const auto mis = directory.managed_identities();
  return mis.empty() ? std::string() : mis.front().client_id;
}

json principals_json(const entra::Directory& directory) {
  json list = json::array();
  for (const auto& sp : directory.service_principals()) {
    list.push_back({{"kind", "servicePrincipal"},
                    {"id", sp.app_id},
                    {"objectId", sp.object_id},
                    {"tenantId", sp.tenant_id},
                    {"displayName", sp.display_name}});
  }
  for (const auto& mi : directory.managed_identities()) {
    const auto slash = mi.resource_id.find_last_of('/');
    list.push_back(
        {{"kind",
          mi.kind == entra::IdentityKind::SystemAssigned ? "systemAssigned" : "userAssigned"},
         {"id", mi.client_id},
         {"objectId", mi.principal_id},
         {"tenantId", mi.tenant_id},
         {"displayName", mi.resource_id.substr(slash == std::string::npos ? 0 : slash + 1)},
         {"resourceId", mi.resource_id}});
  }
  return {{"value", list}, {"default", default_principal(directory)}};
}

Response issue_token(const Request& req, const PortalContext& ctx) {
  Response err;
  auto body = admin::object_body(req, err);
  if (!body) return err;
  const auto principal = body->find("principal");
  const auto resource = body->find("resource");
  if ((principal != body->end() && !principal->is_string()) || resource == body->end() ||
      !resource->is_string() || (*resource != "arm" && *resource != "vault"))
    return http::admin_error(
        400, "InvalidRequestContent",
        "Expected {\"principal\": \"<app id or client id>\" (optional: the default one), "
        "\"resource\": \"arm\" | \"vault\"}.");
  const entra::TokenService* service = ctx.token_service ? ctx.token_service() : nullptr;
  if (!service) return http::admin_error(503, "NotStarted", "The token service is not running.");
  // No principal: the default one, so the console's first call need not wait for the list.
  std::string id = principal == body->end() ? "" : principal->get<std::string>();
  if (id.empty()) id = default_principal(*ctx.directory);
  const std::string audience =
      *resource == "arm" ? "https://management.azure.com/" : "https://vault.azure.net";
  entra::EntraResult<entra::IssuedToken> issued = entra::EntraError{};
  if (auto sp = ctx.directory->find_service_principal(id)) {
    entra::AuthenticatedClient client;
    client.tenant_id = sp->tenant_id;
    client.app_id = sp->app_id;
    client.object_id = sp->object_id;
    client.acr = "1";
    issued = service->issue_app_token(client, audience);
  } else if (auto mi = ctx.directory->find_managed_identity_by_client_id(id)) {
    issued = service->issue_managed_identity_token(*mi, audience);
  } else {
    return http::admin_error(404, "PrincipalNotFound",
                             "No service principal or managed identity has the id '" +
                                 utf8_prefix(id, 128) + "' (GET /_emulator/portal/principals).");
  }
  if (!issued) return http::admin_error(500, "TokenNotIssued", issued.error().description);
  Response r = admin::json_ok({{"access_token", issued.value().access_token},
                               {"expires_on", issued.value().expires_on},
                               {"object_id", issued.value().object_id},
                               {"tenant_id", issued.value().tenant_id}});
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

void register_portal_routes(http::Router& router, PortalContext ctx) {
  const ConsoleGuard& guard = *ctx.guard;
  auto page = std::make_shared<const std::string>(console_page(guard));
  router.add("GET", "/_emulator/portal", [page](Request& req, const RouteParams&) {
    if (!req.trailing_slash) {
      // Relative module paths resolve against the folder, so the page lives at the slash form.
      Response r;
      r.status = 301;
      r.set_header("Location", "/_emulator/portal/");
      return r;
    }
    return serve_asset(req, "index.html", *page);
  });
  router.add("GET", "/_emulator/portal/principals", [ctx](Request& req, const RouteParams&) {
    if (auto refused = refuse(req, *ctx.guard)) return *refused;
    return admin::json_ok(principals_json(*ctx.directory));
  });
  router.add("POST", "/_emulator/portal/token", [ctx](Request& req, const RouteParams&) {
    if (auto refused = refuse(req, *ctx.guard)) return *refused;
    return issue_token(req, ctx);
  });
  router.add("*", "/_emulator/portal/api/{rest*}", [&guard](Request& req, const RouteParams&) {
    if (auto refused = refuse(req, guard)) return *refused;
    return http::admin_error(404, "NotFound",
                             "Console calls are /_emulator/portal/api/arm/<ARM path> or "
                             "/_emulator/portal/api/vault/<vault name>/<Key Vault path>.");
  });
  router.add("GET", "/_emulator/portal/{file*}", [page](Request& req, const RouteParams& p) {
    return serve_asset(req, p.get("file"), *page);
  });
}

}  // namespace cmk::portal
