#include "keyvault_data/certificates_api.h"

#include <memory>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "http/error_bodies.h"
#include "keyvault_data/certificate_json.h"
#include "keyvault_data/key_json.h"

namespace cmk::keyvault_data {

using http::iequals;
using http::Request;
using http::Response;
using nlohmann::json;

namespace {

// The one mapping from the domain's errors to Key Vault's status, code and innererror.
Response error_response(const CertError& e) {
  switch (e.kind) {
    case CertErrorKind::BadParameter:
      return http::keyvault_error(400, "BadParameter", e.message);
    case CertErrorKind::CertificateNotFound:
      return http::keyvault_error(404, "CertificateNotFound", e.message);
    case CertErrorKind::PendingNotFound:
      return http::keyvault_error(404, "PendingCertificateNotFound", e.message);
    case CertErrorKind::IssuerNotFound:
      return http::keyvault_error(404, "CertificateIssuerNotFound", e.message);
    case CertErrorKind::ContactsNotFound:
      return http::keyvault_error(404, "ContactsNotFound", e.message);
    case CertErrorKind::Forbidden:
    case CertErrorKind::PurgeProtected:
      return http::keyvault_error(403, "Forbidden", e.message);
    case CertErrorKind::DeletedButRecoverable:
      return http::keyvault_error(409, "Conflict", e.message, "ObjectIsDeletedButRecoverable");
    case CertErrorKind::Conflict:
      return http::keyvault_error(409, "Conflict", e.message);
    case CertErrorKind::Internal:
      break;
  }
  return http::keyvault_error(500, "InternalServerError", e.message);
}

enum class Op {
  Create,
  Import,
  Get,
  Update,
  Delete,
  List,
  ListVersions,
  GetPolicy,
  UpdatePolicy,
  GetPending,
  CancelPending,
  DeletePending,
  Merge,
  Backup,
  Restore,
  GetContacts,
  SetContacts,
  DeleteContacts,
  ListIssuers,
  GetIssuer,
  SetIssuer,
  UpdateIssuer,
  DeleteIssuer,
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
  if (first == "deletedcertificates") {
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
  if (first != "certificates") return {};
  if (s.size() == 1) return one("GET", {Op::List, {}, {}, "list"});
  const std::string& name = s[1];
  if (iequals(name, "contacts") && s.size() == 2) {
    if (m == "GET") return {Route{Op::GetContacts, {}, {}, "managecontacts"}, {}};
    if (m == "PUT") return {Route{Op::SetContacts, {}, {}, "managecontacts"}, {}};
    if (m == "DELETE") return {Route{Op::DeleteContacts, {}, {}, "managecontacts"}, {}};
    return {std::nullopt, "GET, PUT, DELETE"};
  }
  if (iequals(name, "issuers")) {
    if (s.size() == 2) return one("GET", {Op::ListIssuers, {}, {}, "listissuers"});
    if (s.size() == 3) {
      if (m == "GET") return {Route{Op::GetIssuer, s[2], {}, "getissuers"}, {}};
      if (m == "PUT") return {Route{Op::SetIssuer, s[2], {}, "setissuers"}, {}};
      if (m == "PATCH") return {Route{Op::UpdateIssuer, s[2], {}, "setissuers"}, {}};
      if (m == "DELETE") return {Route{Op::DeleteIssuer, s[2], {}, "deleteissuers"}, {}};
      return {std::nullopt, "GET, PUT, PATCH, DELETE"};
    }
    return {};
  }
  if (s.size() == 2) {
    if (iequals(name, "restore") && m == "POST") return {Route{Op::Restore, {}, {}, "restore"}, {}};
    if (m == "GET") return {Route{Op::Get, name, {}, "get"}, {}};
    if (m == "PATCH") return {Route{Op::Update, name, {}, "update"}, {}};
    if (m == "DELETE") return {Route{Op::Delete, name, {}, "delete"}, {}};
    return {std::nullopt, "GET, PATCH, DELETE"};
  }
  const std::string third = http::to_lower(s[2]);
  if (s.size() == 3) {
    if (third == "create") return one("POST", {Op::Create, name, {}, "create"});
    if (third == "import") return one("POST", {Op::Import, name, {}, "import"});
    if (third == "versions") return one("GET", {Op::ListVersions, name, {}, "list"});
    if (third == "backup") return one("POST", {Op::Backup, name, {}, "backup"});
    if (third == "policy") {
      if (m == "GET") return {Route{Op::GetPolicy, name, {}, "get"}, {}};
      if (m == "PATCH") return {Route{Op::UpdatePolicy, name, {}, "update"}, {}};
      return {std::nullopt, "GET, PATCH"};
    }
    if (third == "pending") {
      if (m == "GET") return {Route{Op::GetPending, name, {}, "get"}, {}};
      if (m == "PATCH") return {Route{Op::CancelPending, name, {}, "update"}, {}};
      if (m == "DELETE") return {Route{Op::DeletePending, name, {}, "delete"}, {}};
      return {std::nullopt, "GET, PATCH, DELETE"};
    }
    if (m == "GET") return {Route{Op::Get, name, s[2], "get"}, {}};
    if (m == "PATCH") return {Route{Op::Update, name, s[2], "update"}, {}};
    return {std::nullopt, "GET, PATCH"};
  }
  if (s.size() == 4 && third == "pending" && iequals(s[3], "merge"))
    return one("POST", {Op::Merge, name, {}, "create"});
  return {};
}

bool is_issuer_permission(const std::string& p) {
  return p == "getissuers" || p == "listissuers" || p == "setissuers" || p == "deleteissuers";
}

class CertificatesApi {
 public:
  explicit CertificatesApi(CertificatesApiContext ctx) : ctx_(std::move(ctx)) {}

  Response serve(Request& req, const VaultRequest& vr) {
    Routing routing = route_of(req);
    if (!routing.route) return kv_no_route(req, routing.allowed);
    const Route& route = *routing.route;
    const json& props = vr.vault.body["properties"];
    const bool object_scope = !route.name.empty() && !is_issuer_permission(route.permission);
    const std::string scope =
        vr.vault.id.str() + (object_scope ? "/certificates/" + route.name : "");
    VaultRef ref{vr.vault.id.name(), vr.vault.location, scope, &props};
    auto denied = check_certificate_permission(ref, vr.caller, route.permission, ctx_.rbac);
    if (denied && is_issuer_permission(route.permission) &&
        !check_certificate_permission(ref, vr.caller, "manageissuers", ctx_.rbac))
      denied.reset();
    if (denied) return http::keyvault_error(403, "Forbidden", denied->message, denied->inner_code);
    const VaultSettings settings = vault_settings(vr.vault.id.name(), props);
    json body;
    Response error;
    if (!parse_kv_body(req, body, error)) {
      wipe(req.body);
      return error;
    }
    Response res = run(req, route, settings, body, vr.api_version);
    if (route.op == Op::Import) {
      // The body carried the private key and its password: gone once the certificate is stored.
      for (const char* member : {"value", "pwd"})
        if (auto v = body.find(member); v != body.end() && v->is_string())
          wipe(v->get_ref<std::string&>());
      wipe(req.body);
    }
    return res;
  }

 private:
  Response run(const Request& req, const Route& route, const VaultSettings& v, const json& body,
               const std::string& api_version) {
    CertificateStore& store = *ctx_.store;
    const std::string url = req.base_url();
    const AttributeSet shape = attribute_set_for(api_version);
    auto bundle = [&](const CertResult<CertificateView>& c, int status = 200) {
      return c ? kv_json_response(status, certificate_bundle_json(*c, url, shape))
               : error_response(c.error());
    };
    auto operation = [&](const CertResult<CertificateOperationView>& o) {
      return o ? kv_json_response(200, certificate_operation_json(*o, url))
               : error_response(o.error());
    };
    auto policy = [&](const CertResult<CertificatePolicy>& p, const std::string& name) {
      return p ? kv_json_response(200, certificate_policy_json(*p, url, name))
               : error_response(p.error());
    };
    auto issuer = [&](const CertResult<CertificateIssuer>& i) {
      return i ? kv_json_response(200, issuer_json(*i, url)) : error_response(i.error());
    };
    auto contacts = [&](const CertResult<std::vector<CertificateContact>>& c) {
      return c ? kv_json_response(200, contacts_json(*c, url)) : error_response(c.error());
    };
    switch (route.op) {
      case Op::Create: {
        auto r = read_create_certificate_request(body);
        if (!r) return error_response(r.error());
        auto o = store.create(v, route.name, *r);
        if (!o) return error_response(o.error());
        Response res = kv_json_response(202, certificate_operation_json(*o, url));
        res.set_header("Location", url + "/certificates/" + o->name +
                                       "/pending?api-version=" + http::percent_encode(api_version) +
                                       "&request_id=" + o->request_id);
        res.set_header("Retry-After", "1");  // Azure says 10; the emulator is faster
        return res;
      }
      case Op::Import: {
        auto r = read_import_certificate_request(body);
        if (!r) return error_response(r.error());
        Response res = bundle(store.import(v, route.name, *r));
        wipe(r->value);
        wipe(r->password);
        return res;
      }
      case Op::Get:
        return bundle(store.get(v, route.name, route.version));
      case Op::Update: {
        auto r = read_update_certificate_request(body);
        if (!r) return error_response(r.error());
        return bundle(store.update(v, route.name, route.version, *r));
      }
      case Op::Delete: {
        auto c = store.remove(v, route.name);
        return c ? kv_json_response(200, deleted_certificate_bundle_json(*c, url, shape))
                 : error_response(c.error());
      }
      case Op::List:
      case Op::ListVersions:
      case Op::ListDeleted:
        return list(req, route, v, api_version);
      case Op::GetPolicy:
        return policy(store.get_policy(v, route.name), canonical(v, route.name));
      case Op::UpdatePolicy: {
        auto p = read_certificate_policy(body);
        if (!p) return error_response(p.error());
        return policy(store.update_policy(v, route.name, *p), canonical(v, route.name));
      }
      case Op::GetPending:
        return operation(store.get_operation(v, route.name, true));
      case Op::CancelPending: {
        auto it = body.find("cancellation_requested");
        if (it == body.end() || !it->is_boolean())
          return kv_bad_parameter(
              "The property 'cancellation_requested' is required and must be a boolean.");
        if (!it->get<bool>()) return operation(store.get_operation(v, route.name, false));
        return operation(store.cancel_operation(v, route.name));
      }
      case Op::DeletePending:
        return operation(store.delete_operation(v, route.name));
      case Op::Merge: {
        auto r = read_merge_request(body);
        if (!r) return error_response(r.error());
        return bundle(store.merge(v, route.name, *r), 201);
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
      case Op::GetContacts:
        return contacts(store.get_contacts(v));
      case Op::SetContacts: {
        auto c = read_contacts(body);
        if (!c) return error_response(c.error());
        return contacts(store.set_contacts(v, *c));
      }
      case Op::DeleteContacts:
        return contacts(store.delete_contacts(v));
      case Op::ListIssuers: {
        Response bad_max;
        const auto max = read_maxresults(req, bad_max);
        if (!max) return bad_max;
        auto page = store.list_issuers(v, marker_of_request(req), *max);
        json value = json::array();
        for (const auto& i : page.items) value.push_back(issuer_item_json(i, url));
        return kv_json_response(
            200, {{"value", value},
                  {"nextLink",
                   next_link(url, "/certificates/issuers", api_version, page.next_marker, *max)}});
      }
      case Op::GetIssuer:
        return issuer(store.get_issuer(v, route.name));
      case Op::SetIssuer:
      case Op::UpdateIssuer: {
        auto in = read_issuer(body);
        if (!in) return error_response(in.error());
        Response res = route.op == Op::SetIssuer ? issuer(store.set_issuer(v, route.name, *in))
                                                 : issuer(store.update_issuer(v, route.name, *in));
        if (in->password) wipe(*in->password);
        return res;
      }
      case Op::DeleteIssuer:
        return issuer(store.delete_issuer(v, route.name));
      case Op::GetDeleted: {
        auto c = store.get_deleted(v, route.name);
        return c ? kv_json_response(200, deleted_certificate_bundle_json(*c, url, shape))
                 : error_response(c.error());
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
    CertificatePage page;
    if (route.op == Op::List) {
      const auto pending = req.query_param("includePending");
      page = ctx_.store->list(v, marker, max, pending && iequals(*pending, "true"));
    } else if (route.op == Op::ListDeleted) {
      page = ctx_.store->list_deleted(v, marker, max);
    } else {
      // As for keys: the versions of a certificate that does not exist are an empty page.
      auto versions = ctx_.store->list_versions(v, route.name, marker, max);
      if (versions)
        page = std::move(*versions);
      else if (versions.error().kind != CertErrorKind::CertificateNotFound)
        return error_response(versions.error());
    }
    const AttributeSet shape = attribute_set_for(api_version);
    json value = json::array();
    for (const auto& c : page.items)
      value.push_back(route.op == Op::ListDeleted
                          ? deleted_certificate_item_json(c, url, shape)
                          : certificate_item_json(c, url, route.op == Op::ListVersions, shape));
    const std::string path = route.op == Op::List ? "/certificates"
                             : route.op == Op::ListDeleted
                                 ? "/deletedcertificates"
                                 : "/certificates/" + route.name + "/versions";
    return kv_json_response(
        200,
        {{"value", value}, {"nextLink", next_link(url, path, api_version, page.next_marker, max)}});
  }

  // The certificate's name as first created (the policy's id uses it), or the name as asked.
  std::string canonical(const VaultSettings& v, const std::string& name) {
    auto c = ctx_.store->get(v, name, "");
    return c ? c->name : name;
  }

  CertificatesApiContext ctx_;
};

}  // namespace

VaultObjectHandler certificates_handler(CertificatesApiContext ctx) {
  auto api = std::make_shared<CertificatesApi>(std::move(ctx));
  return VaultObjectHandler{
      {"certificates", "deletedcertificates"},
      [api](Request& req, const VaultRequest& vr) { return api->serve(req, vr); }};
}

}  // namespace cmk::keyvault_data
