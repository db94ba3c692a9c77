#include "keyvault_data/secrets_api.h"

#include <memory>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "http/error_bodies.h"
#include "keyvault_data/key_json.h"
#include "keyvault_data/secret_json.h"

namespace cmk::keyvault_data {

using http::iequals;
using http::Request;
using http::Response;
using nlohmann::json;

namespace {

// The one mapping from the domain's errors to Key Vault's status, code and innererror.
Response error_response(const SecretError& e) {
  switch (e.kind) {
    case SecretErrorKind::BadParameter:
      return http::keyvault_error(400, "BadParameter", e.message);
    case SecretErrorKind::SecretNotFound:
      return http::keyvault_error(404, "SecretNotFound", e.message);
    case SecretErrorKind::SecretDisabled:
      return http::keyvault_error(403, "Forbidden", e.message, "SecretDisabled");
    case SecretErrorKind::MalformedBackup:
      return http::keyvault_error(400, "Malformed backup blob", e.message);
    case SecretErrorKind::SecretManaged:
    case SecretErrorKind::PurgeProtected:
      return http::keyvault_error(403, "Forbidden", e.message);
    case SecretErrorKind::DeletedButRecoverable:
      return http::keyvault_error(409, "Conflict", e.message, "ObjectIsDeletedButRecoverable");
    case SecretErrorKind::Conflict:
      return http::keyvault_error(409, "Conflict", e.message);
    case SecretErrorKind::Internal:
      break;
  }
  return http::keyvault_error(500, "InternalServerError", e.message);
}

enum class Op {
  Set,
  Get,
  Update,
  Delete,
  List,
  ListVersions,
  Backup,
  Restore,
  ListDeleted,
  GetDeleted,
  Purge,
  Recover
};

struct Route {
  Op op = Op::Get;
  std::string name;
  std::string version;
  const char* permission = "get";
};

struct Routing {
  std::optional<Route> route;
  std::string allowed;  // for 405
};

Routing route_of(const Request& req) {
  const auto& s = req.segments;
  const std::string& m = req.method;
  auto one = [&](const char* method, Route r) -> Routing {
    if (m == method) return {std::move(r), {}};
    return {std::nullopt, method};
  };
  if (s.empty()) return {};
  const std::string first = http::to_lower(s[0]);
  if (first == "deletedsecrets") {
    if (s.size() == 1) return one("GET", {Op::ListDeleted, {}, {}, "list"});
    if (s.size() == 2) {
      if (m == "GET") return {Route{Op::GetDeleted, s[1], {}, "get"}, {}};
      if (m == "DELETE") return {Route{Op::Purge, s[1], {}, "purge"}, {}};
      return {std::nullopt, "GET, DELETE"};
    }
    if (s.size() == 3 && iequals(s[2], "recover"))
      return one("POST", {Op::Recover, s[1], {}, "recover"});
    return {};
  }
  if (first != "secrets") return {};
  if (s.size() == 1) return one("GET", {Op::List, {}, {}, "list"});
  const std::string& name = s[1];
  if (s.size() == 2) {
    if (iequals(name, "restore") && m == "POST") return {Route{Op::Restore, {}, {}, "restore"}, {}};
    if (m == "GET") return {Route{Op::Get, name, {}, "get"}, {}};
    if (m == "PUT") return {Route{Op::Set, name, {}, "set"}, {}};
    if (m == "PATCH") return {Route{Op::Update, name, {}, "update"}, {}};
    if (m == "DELETE") return {Route{Op::Delete, name, {}, "delete"}, {}};
    return {std::nullopt, "GET, PUT, PATCH, DELETE"};
  }
  if (s.size() == 3) {
    const std::string third = http::to_lower(s[2]);
    if (third == "versions") return one("GET", {Op::ListVersions, name, {}, "list"});
    if (third == "backup") return one("POST", {Op::Backup, name, {}, "backup"});
    if (m == "GET") return {Route{Op::Get, name, s[2], "get"}, {}};
    if (m == "PATCH") return {Route{Op::Update, name, s[2], "update"}, {}};
    return {std::nullopt, "GET, PATCH"};
  }
  return {};
}

class SecretsApi {
 public:
  explicit SecretsApi(SecretsApiContext ctx) : ctx_(std::move(ctx)) {}

  Response serve(Request& req, const VaultRequest& vr) {
    Routing routing = route_of(req);
    if (!routing.route) return kv_no_route(req, routing.allowed);
    const Route& route = *routing.route;
    const json& props = vr.vault.body["properties"];
    const std::string scope =
        vr.vault.id.str() + (route.name.empty() ? "" : "/secrets/" + route.name);
    VaultRef ref{vr.vault.id.name(), vr.vault.location, scope, &props};
    if (auto denied = check_secret_permission(ref, vr.caller, route.permission, ctx_.rbac))
      return http::keyvault_error(403, "Forbidden", denied->message, denied->inner_code);
    const VaultSettings settings = vault_settings(vr.vault.id.name(), props);
    json body;
    Response error;
    if (!parse_kv_body(req, body, error)) {
      wipe(req.body);
      return error;
    }
    Response res = run(req, route, settings, body, vr.api_version);
    if (route.op == Op::Set) {
      // The body carried the value: gone as soon as the secret is stored.
      if (auto v = body.find("value"); v != body.end() && v->is_string())
        wipe(v->get_ref<std::string&>());
      wipe(req.body);
    }
    return res;
  }

 private:
  Response run(const Request& req, const Route& route, const VaultSettings& v, const json& body,
               const std::string& api_version) {
    SecretStore& store = *ctx_.store;
    const std::string url = req.base_url();
    const AttributeSet shape = attribute_set_for(api_version);
    auto bundle = [&](const SecretResult<SecretView>& s) {
      return s ? kv_json_response(200, secret_bundle_json(*s, url, shape))
               : error_response(s.error());
    };
    switch (route.op) {
      case Op::Set: {
        auto r = read_set_secret_request(body);
        if (!r) return error_response(r.error());
        Response res = bundle(store.set(v, route.name, *r));
        wipe(r->value);
        return res;
      }
      case Op::Get:
        return bundle(store.get(v, route.name, route.version));
      case Op::Update: {
        auto r = read_update_secret_request(body);
        if (!r) return error_response(r.error());
        return bundle(store.update(v, route.name, route.version, *r));
      }
      case Op::Delete: {
        auto s = store.remove(v, route.name);
        return s ? kv_json_response(200, deleted_secret_bundle_json(*s, url, shape))
                 : error_response(s.error());
      }
      case Op::List:
      case Op::ListVersions:
      case Op::ListDeleted:
        return list(req, route, v, api_version);
      case Op::GetDeleted: {
        auto s = store.get_deleted(v, route.name);
        return s ? kv_json_response(200, deleted_secret_bundle_json(*s, url, shape))
                 : error_response(s.error());
      }
      case Op::Recover:
        return bundle(store.recover(v, route.name));
      case Op::Purge: {
        auto done = store.purge(v, route.name);
        if (!done) return error_response(done.error());
        Response r;
        r.status = 204;
        return r;
      }
      case Op::Backup: {
        auto blob = store.backup(v, route.name);
        if (!blob) return error_response(blob.error());
        return kv_json_response(200, {{"value", base64url_encode(*blob)}});
      }
      case Op::Restore: {
        auto blob = read_binary(body, "value");
        if (!blob) return kv_bad_parameter(blob.error().message);
        return bundle(store.restore(v, *blob));
      }
    }
    return kv_no_route(req, "");
  }

  Response list(const Request& req, const Route& route, const VaultSettings& v,
                const std::string& api_version) {
    Response bad_max;
    const auto max_or = read_maxresults(req, bad_max);
    if (!max_or) return bad_max;
    const size_t max = *max_or;
    const std::string marker = marker_of_request(req);
    const std::string url = req.base_url();
    SecretPage page;
    if (route.op == Op::List) {
      page = ctx_.store->list_secrets(v, marker, max);
    } else if (route.op == Op::ListDeleted) {
      page = ctx_.store->list_deleted(v, marker, max);
    } else {
      // As for keys: the versions of a secret that does not exist are an empty page.
      auto versions = ctx_.store->list_versions(v, route.name, marker, max);
      if (versions)
        page = std::move(*versions);
      else if (versions.error().kind != SecretErrorKind::SecretNotFound)
        return error_response(versions.error());
    }
    const AttributeSet shape = attribute_set_for(api_version);
    json value = json::array();
    for (const auto& s : page.items)
      value.push_back(route.op == Op::ListDeleted
                          ? deleted_secret_item_json(s, url, shape)
                          : secret_item_json(s, url, route.op == Op::ListVersions, shape));
    const std::string path = route.op == Op::List          ? "/secrets"
                             : route.op == Op::ListDeleted ? "/deletedsecrets"
                                                           : "/secrets/" + route.name + "/versions";
    return kv_json_response(
        200,
        {{"value", value}, {"nextLink", next_link(url, path, api_version, page.next_marker, max)}});
  }

  SecretsApiContext ctx_;
};

}  // namespace

VaultObjectHandler secrets_handler(SecretsApiContext ctx) {
  auto api = std::make_shared<SecretsApi>(std::move(ctx));
  return VaultObjectHandler{
      {"secrets", "deletedsecrets"},
      [api](Request& req, const VaultRequest& vr) { return api->serve(req, vr); }};
}

}  // namespace cmk::keyvault_data
