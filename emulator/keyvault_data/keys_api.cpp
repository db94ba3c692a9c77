#include "keyvault_data/keys_api.h"

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>

#include "common/base64.h"
#include "common/json_input.h"
#include "common/openssl_util.h"
#include "http/error_bodies.h"
#include "http/host_routing.h"
#include "keyvault_data/key_json.h"
#include "keyvault_data/vault_http.h"

namespace cmk::keyvault_data {

using http::iequals;
using http::Request;
using http::Response;
using nlohmann::json;

namespace {

constexpr const char* kLatestApiVersion = "2026-04-01";

// The one mapping from domain errors to Key Vault's status, code and innererror (key_errors.h).
Response error_response(const KeyError& e) {
  switch (e.kind) {
    case KeyErrorKind::BadParameter:
      return http::keyvault_error(400, "BadParameter", e.message);
    case KeyErrorKind::KeyNotFound:
      return http::keyvault_error(404, "KeyNotFound", e.message);
    case KeyErrorKind::KeyDisabled:
      return http::keyvault_error(403, "Forbidden", e.message, "KeyDisabled");
    case KeyErrorKind::KeyExpired:
      return http::keyvault_error(403, "Forbidden", e.message, "KeyExpired");
    case KeyErrorKind::KeyNotYetValid:
      return http::keyvault_error(403, "Forbidden", e.message, "KeyNotYetValid");
    case KeyErrorKind::KeyOperationForbidden:
      return http::keyvault_error(403, "Forbidden", e.message, "KeyOperationForbidden");
    case KeyErrorKind::PurgeProtected:
      return http::keyvault_error(403, "Forbidden", e.message);
    case KeyErrorKind::DeletedButRecoverable:
      return http::keyvault_error(409, "Conflict", e.message, "ObjectIsDeletedButRecoverable");
    case KeyErrorKind::Conflict:
      return http::keyvault_error(409, "Conflict", e.message);
    case KeyErrorKind::Internal:
      break;
  }
  return http::keyvault_error(500, "InternalServerError", e.message);
}

// What a request asks for, once the path is understood.
enum class Op {
  ListKeys,
  Restore,
  GetKey,
  ImportKey,
  UpdateKey,
  DeleteKey,
  CreateKey,
  ListVersions,
  GetPolicy,
  SetPolicy,
  Backup,
  Rotate,
  Cipher,
  Sign,
  Verify,
  Release,
  ListDeleted,
  GetDeleted,
  Purge,
  Recover,
  Rng
};

struct Route {
  Op op = Op::GetKey;
  std::string name;
  std::string version;
  CipherOperation cipher = CipherOperation::Encrypt;
  const char* permission = nullptr;  // key permission; null for /rng (any authenticated caller)
};

struct Routing {
  std::optional<Route> route;
  std::string allowed;  // for 405: the methods the path takes
};

// POST /keys/{name}[/{version}]/{operation}: the operations of a key version.
std::optional<Route> key_operation(const std::string& op, const std::string& name,
                                   const std::string& version) {
  const std::string o = http::to_lower(op);
  Route r{Op::Cipher, name, version};
  if (o == "encrypt")
    r.cipher = CipherOperation::Encrypt, r.permission = "encrypt";
  else if (o == "decrypt")
    r.cipher = CipherOperation::Decrypt, r.permission = "decrypt";
  else if (o == "wrapkey")
    r.cipher = CipherOperation::WrapKey, r.permission = "wrapKey";
  else if (o == "unwrapkey")
    r.cipher = CipherOperation::UnwrapKey, r.permission = "unwrapKey";
  else if (o == "sign")
    r.op = Op::Sign, r.permission = "sign";
  else if (o == "verify")
    r.op = Op::Verify, r.permission = "verify";
  else if (o == "release")
    r.op = Op::Release, r.permission = "release";
  else
    return std::nullopt;
  return r;
}

Routing route_of(const Request& req) {
  const auto& s = req.segments;
  const std::string& m = req.method;
  auto one = [&](const char* method, Route r) -> Routing {
    if (m == method) return {std::move(r), {}};
    return {std::nullopt, method};
  };
  if (s.empty()) return {};
  const std::string first = http::to_lower(s[0]);
  if (first == "rng" && s.size() == 1) return one("POST", {Op::Rng, {}, {}, {}, nullptr});
  if (first == "deletedkeys") {
    if (s.size() == 1) return one("GET", {Op::ListDeleted, {}, {}, {}, "list"});
    if (s.size() == 2) {
      if (m == "GET") return {Route{Op::GetDeleted, s[1], {}, {}, "get"}, {}};
      if (m == "DELETE") return {Route{Op::Purge, s[1], {}, {}, "purge"}, {}};
      return {std::nullopt, "GET, DELETE"};
    }
    if (s.size() == 3 && iequals(s[2], "recover"))
      return one("POST", {Op::Recover, s[1], {}, {}, "recover"});
    return {};
  }
  if (first != "keys") return {};
  if (s.size() == 1) return one("GET", {Op::ListKeys, {}, {}, {}, "list"});
  const std::string& name = s[1];
  if (s.size() == 2) {
    if (iequals(name, "restore") && m == "POST")
      return {Route{Op::Restore, {}, {}, {}, "restore"}, {}};
    if (m == "GET") return {Route{Op::GetKey, name, {}, {}, "get"}, {}};
    if (m == "PUT") return {Route{Op::ImportKey, name, {}, {}, "import"}, {}};
    if (m == "PATCH") return {Route{Op::UpdateKey, name, {}, {}, "update"}, {}};
    if (m == "DELETE") return {Route{Op::DeleteKey, name, {}, {}, "delete"}, {}};
    return {std::nullopt, "GET, PUT, PATCH, DELETE"};
  }
  if (s.size() == 3) {
    const std::string third = http::to_lower(s[2]);
    if (third == "create") return one("POST", {Op::CreateKey, name, {}, {}, "create"});
    if (third == "versions") return one("GET", {Op::ListVersions, name, {}, {}, "list"});
    if (third == "backup") return one("POST", {Op::Backup, name, {}, {}, "backup"});
    if (third == "rotate") return one("POST", {Op::Rotate, name, {}, {}, "rotate"});
    if (third == "rotationpolicy") {
      if (m == "GET") return {Route{Op::GetPolicy, name, {}, {}, "getrotationpolicy"}, {}};
      if (m == "PUT") return {Route{Op::SetPolicy, name, {}, {}, "setrotationpolicy"}, {}};
      return {std::nullopt, "GET, PUT"};
    }
    if (auto op = key_operation(third, name, {}))
      return m == "POST" ? Routing{op, {}} : Routing{std::nullopt, "POST"};
    // Otherwise the segment is a version.
    if (m == "GET") return {Route{Op::GetKey, name, s[2], {}, "get"}, {}};
    if (m == "PATCH") return {Route{Op::UpdateKey, name, s[2], {}, "update"}, {}};
    return {std::nullopt, "GET, PATCH"};
  }
  if (s.size() == 4)
    if (auto op = key_operation(s[3], name, s[2]))
      return m == "POST" ? Routing{op, {}} : Routing{std::nullopt, "POST"};
  return {};
}

// Whether `aud` is an audience a token for this vault host may carry: Key Vault's own, and the
// resource the challenge advertised for the host the client used, each with or without a
// trailing '/' (exact, case-sensitive comparison).
// On a loopback host that resource is Key Vault's own: a token for https://localhost:<port> is
// an ARM token there and stays one.
bool is_accepted_audience(const Request& req, std::string_view aud) {
  if (!aud.empty() && aud.back() == '/') aud.remove_suffix(1);
  if (aud == "https://vault.azure.net") return true;
  if (http::vault_name_of(req.host).empty()) return false;
  static constexpr std::string_view kScheme = "https://";
  const std::string_view parent = std::string_view(req.host).substr(req.host.find('.') + 1);
  if (!aud.starts_with(kScheme)) return false;
  aud.remove_prefix(kScheme.size());
  if (!aud.starts_with(parent)) return false;
  aud.remove_prefix(parent.size());
  if (aud.empty()) return true;
  return req.port != 443 && req.port != 0 && aud == ":" + std::to_string(req.port);
}

// The vault's ARM properties ({} when it has none): read from the shared snapshot, never
// inserted into it.
const json& vault_properties(const arm::TrackedResource& vault) {
  static const json empty = json::object();
  auto it = vault.body.find("properties");
  return it != vault.body.end() ? *it : empty;
}

class KeysApi {
 public:
  explicit KeysApi(KeysApiContext ctx) : ctx_(std::move(ctx)) {}

  Response handle(Request& req) { return with_service_headers(answer(req)); }

 private:
  Response answer(Request& req) {
    if (ctx_.pool) std::call_once(warm_, [this] { ctx_.pool->warm(); });
    std::shared_ptr<const arm::TrackedResource> vault;
    if (req.vault_name.empty()) {
      if (auto refused = choose_localhost_vault(req, vault)) return std::move(*refused);
    } else {
      vault = ctx_.find_vault(req.vault_name);
      if (!vault)
        return vault_not_found(req.vault_name, "in Azure its host name would not resolve.");
    }
    const std::string tenant = vault_properties(*vault).value("tenantId", "");

    Caller caller;
    Response res;
    if (auto refused = authenticate(req, tenant, caller))
      res = std::move(*refused);
    else
      res = serve(req, *vault, caller);
    // Key Vault names its region and build on every answer, the 401 challenge included.
    res.set_header("x-ms-keyvault-region", vault->location);
    res.set_header("x-ms-keyvault-service-version", "1.9.0.0");
    return res;
  }

  // The headers every Key Vault answer carries (its recorded traffic shows them on 200, 401,
  // 403 and 404 alike). The network info names the loopback address: clients only reach the
  // emulator there.
  static Response with_service_headers(Response res) {
    res.set_header("Expires", "-1");
    res.set_header("Pragma", "no-cache");
    res.set_header("Strict-Transport-Security", "max-age=31536000;includeSubDomains");
    res.set_header("x-ms-keyvault-network-info",
                   "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;");
    return res;
  }

  static Response vault_not_found(const std::string& name, const std::string& why) {
    return http::keyvault_error(404, "VaultNotFound",
                                "The vault '" + name +
                                    "' does not exist in cmk-emulator. Create "
                                    "it through ARM (PUT .../providers/Microsoft.KeyVault/vaults/" +
                                    name + "); " + why);
  }

  // The vault a request on a loopback host (no vault in the host name) speaks to: the one
  // --localhost-vault names, else the only live vault. Anything else is refused with the ways to
  // choose, because guessing among several vaults would act on the wrong keys.
  // Sets `vault`, or returns the refusal.
  std::optional<Response> choose_localhost_vault(
      const Request& req, std::shared_ptr<const arm::TrackedResource>& vault) {
    const std::string port = req.port == 443 || req.port == 0 ? "" : ":" + std::to_string(req.port);
    const std::string how = "address the vault as https://<vault>.vault.localhost" + port +
                            " (with an /etc/hosts line for that name) or start cmk-emulator with "
                            "--localhost-vault <vault>.";
    if (!ctx_.localhost_vault.empty()) {
      vault = ctx_.find_vault(ctx_.localhost_vault);
      if (!vault) return vault_not_found(ctx_.localhost_vault, "--localhost-vault names it.");
      return std::nullopt;
    }
    std::vector<arm::TrackedResource> all =
        ctx_.list_vaults ? ctx_.list_vaults() : std::vector<arm::TrackedResource>{};
    if (all.size() == 1) {
      vault = std::make_shared<const arm::TrackedResource>(std::move(all.front()));
      return std::nullopt;
    }
    if (all.empty())
      return http::keyvault_error(404, "VaultNotFound",
                                  "No vault exists in cmk-emulator, so " + req.authority +
                                      " serves none. Create one through ARM (PUT "
                                      ".../providers/Microsoft.KeyVault/vaults/<vault>), then " +
                                      how);
    std::vector<std::string> names;
    for (const auto& v : all) names.push_back(v.id.name());
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return http::keyvault_error(400, "BadParameter",
                                std::to_string(all.size()) + " vaults exist (" + list + "), so " +
                                    req.authority + " cannot tell which one is meant: " + how);
  }

  // Sets `caller` from a valid bearer token for this vault, or returns the 401 to answer.
  std::optional<Response> authenticate(const Request& req, const std::string& tenant,
                                       Caller& caller) {
    std::string_view token;
    if (auto header = req.header_view("Authorization")) {
      std::string_view v = *header;
      const size_t b = v.find_first_not_of(" \t");
      v = b == std::string_view::npos ? std::string_view() : v.substr(b);
      if (v.size() > 7 && iequals(v.substr(0, 7), "bearer ")) {
        token = v.substr(7);
        const size_t tb = token.find_first_not_of(" \t");
        const size_t te = token.find_last_not_of(" \t");
        token = tb == std::string_view::npos ? std::string_view() : token.substr(tb, te - tb + 1);
      }
    }
    if (token.empty()) return http::keyvault_challenge(req, tenant);
    // The authentication filter validated this very header (signature, expiry, nbf, revocation;
    // bearer_auth.h) and left the principal: the token is verified once per request. Without it
    // (no filter ran, or the token failed) the token is validated here, for the reason to give.
    const http::Principal* principal = req.principal ? &*req.principal : nullptr;
    std::optional<entra::ValidationResult> claims;
    if (!principal) {
      const entra::TokenService* service = ctx_.token_service ? ctx_.token_service() : nullptr;
      if (!service)
        return http::keyvault_error(503, "ServiceUnavailable", "The emulator has not started.");
      claims = service->validate(token, {}, std::nullopt);
      if (!*claims) return http::keyvault_challenge(req, tenant, token_failure(claims->error()));
    }
    // Audience and tenant are checked here, so the messages can name what the token carries.
    const std::vector<std::string>& auds = principal ? principal->audiences : (*claims)->audiences;
    const std::string& tid = principal ? principal->tenant_id : (*claims)->tid;
    const bool audience_ok = std::any_of(auds.begin(), auds.end(), [&](const std::string& a) {
      return is_accepted_audience(req, a);
    });
    if (!audience_ok)
      return http::keyvault_challenge(
          req, tenant,
          "AKV10022: Invalid audience. Expected https://vault.azure.net, found: " +
              (auds.empty() ? std::string() : auds.front()) + ".");
    if (!iequals(tid, tenant))
      return http::keyvault_challenge(req, tenant,
                                      "AKV10032: Invalid issuer. Expected one of " +
                                          entra::v1_issuer(tenant) + ", found " +
                                          entra::v1_issuer(tid) + ".");
    if (principal)
      caller = Caller{principal->tenant_id, principal->object_id, principal->app_id,
                      entra::v1_issuer(tid)};
    else
      caller = Caller{(*claims)->tid, (*claims)->oid, (*claims)->appid, entra::v1_issuer(tid)};
    return std::nullopt;
  }

  static std::string token_failure(const entra::TokenError& e) {
    using K = entra::TokenErrorKind;
    switch (e.kind) {
      case K::Missing:
        return "AKV10000: Request is missing a Bearer or PoP token.";
      case K::Expired:
        return "[TokenExpired] Error validating token: 'S2S12086'.";
      case K::BadSignature:
        return "AKV10046: Unable to resolve the key used for signature validation.";
      case K::NotYetValid:
        return "[TokenNotYetValid] Error validating token: " + e.message;
      case K::Revoked:
        return "[TokenRevoked] Error validating token: " + e.message;
      case K::Malformed:
      case K::WrongAudience:
      case K::WrongTenant:
        break;
    }
    return "[BadToken] Error validating token: " + e.message;
  }

  Response serve(Request& req, const arm::TrackedResource& vault, const Caller& caller) {
    const auto version = req.query_param("api-version");
    if (!version || version->empty())
      return kv_bad_parameter("The 'api-version' query parameter is missing.");
    if (!is_known_keys_api_version(*version)) {
      if (ctx_.strict_api_versions)
        return kv_bad_parameter("The specified version (" + *version +
                                ") is not recognized. Consider using the latest supported "
                                "version (" +
                                kLatestApiVersion + ").");
      if (ctx_.on_unlisted_api_version) ctx_.on_unlisted_api_version(*version);
    }
    if (!req.segments.empty())
      for (const auto& handler : ctx_.object_handlers)
        for (const auto& first : handler.first_segments)
          if (iequals(req.segments[0], first))
            return handler.serve(req, VaultRequest{vault, caller, *version});
    Routing routing = route_of(req);
    if (!routing.route) return kv_no_route(req, routing.allowed);
    const Route& route = *routing.route;
    const json& props = vault_properties(vault);
    if (route.permission) {
      // A key's RBAC scope is the vault's child resource "keys/<name>".
      const std::string scope = vault.id.str() + (route.name.empty() ? "" : "/keys/" + route.name);
      VaultRef ref{vault.id.name(), vault.location, scope, &props};
      if (auto denied = check_key_permission(ref, caller, route.permission, ctx_.rbac))
        return http::keyvault_error(403, "Forbidden", denied->message, denied->inner_code);
    }
    const VaultSettings settings = vault_settings(vault.id.name(), props);
    json body;
    Response error;
    if (!parse_kv_body(req, body, error)) return error;
    Response res = run(req, route, settings, body, *version);
    if (route.op == Op::ImportKey) {
      // The body carried private key material: gone as soon as the key is made.
      if (body.contains("key")) wipe_private_members(body["key"]);
      wipe(req.body);
    }
    return res;
  }

  Response run(const Request& req, const Route& route, const VaultSettings& v, const json& body,
               const std::string& api_version) {
    KeyStore& store = *ctx_.store;
    const std::string url = req.base_url();
    const AttributeSet shape = attribute_set_for(api_version);
    auto bundle = [&](const KeyResult<KeyView>& k) {
      return k ? kv_json_response(200, key_bundle_json(*k, url, shape)) : error_response(k.error());
    };
    switch (route.op) {
      case Op::CreateKey: {
        auto r = read_create_request(body);
        if (!r) return error_response(r.error());
        return bundle(store.create(v, route.name, *r));
      }
      case Op::ImportKey: {
        auto r = read_import_request(body);
        if (!r) return error_response(r.error());
        Response res = bundle(store.import(v, route.name, *r));
        wipe_private_members(r->jwk);
        return res;
      }
      case Op::GetKey:
        return bundle(store.get(v, route.name, route.version));
      case Op::UpdateKey: {
        auto r = read_update_request(body);
        if (!r) return error_response(r.error());
        return bundle(store.update(v, route.name, route.version, *r));
      }
      case Op::DeleteKey: {
        auto k = store.remove(v, route.name);
        return k ? kv_json_response(200, deleted_key_bundle_json(*k, url, shape))
                 : error_response(k.error());
      }
      case Op::ListKeys:
      case Op::ListVersions:
      case Op::ListDeleted:
        return list(req, route, v, api_version);
      case Op::GetDeleted: {
        auto k = store.get_deleted(v, route.name);
        return k ? kv_json_response(200, deleted_key_bundle_json(*k, url, shape))
                 : error_response(k.error());
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
        if (!blob) return error_response(blob.error());
        return bundle(store.restore(v, *blob));
      }
      case Op::Rotate:
        return bundle(store.rotate(v, route.name));
      case Op::GetPolicy: {
        auto p = store.get_rotation_policy(v, route.name);
        if (!p) return error_response(p.error());
        return kv_json_response(200, rotation_policy_json(*p, url, canonical_name(v, route.name)));
      }
      case Op::SetPolicy: {
        auto in = read_rotation_policy(body);
        if (!in) return error_response(in.error());
        auto p = store.set_rotation_policy(v, route.name, *in);
        if (!p) return error_response(p.error());
        return kv_json_response(200, rotation_policy_json(*p, url, canonical_name(v, route.name)));
      }
      case Op::Cipher:
        return cipher(route, v, body, url);
      case Op::Sign: {
        auto alg = read_string(body, "alg");
        if (!alg) return error_response(alg.error());
        auto digest = read_binary(body, "value");
        if (!digest) return error_response(digest.error());
        auto s = store.sign(v, route.name, route.version, *alg, *digest);
        if (!s) return error_response(s.error());
        return kv_json_response(200, {{"kid", url + "/keys/" + s->name + "/" + s->version},
                                      {"value", base64url_encode(s->signature)}});
      }
      case Op::Verify: {
        auto alg = read_string(body, "alg");
        if (!alg) return error_response(alg.error());
        auto digest = read_binary(body, "digest");
        if (!digest) return error_response(digest.error());
        auto sig = read_binary(body, "value");
        if (!sig) return error_response(sig.error());
        auto ok = store.verify(v, route.name, route.version, *alg, *digest, *sig);
        if (!ok) return error_response(ok.error());
        return kv_json_response(200, {{"value", ok->valid}});
      }
      case Op::Release: {
        auto k = store.get(v, route.name, route.version);
        if (!k) return error_response(k.error());
        return kv_bad_parameter(
            "Key release needs an attestation token from Microsoft Azure Attestation, which "
            "cmk-emulator does not emulate.");
      }
      case Op::Rng: {
        auto it = body.find("count");
        if (it == body.end() || !it->is_number_integer())
          return kv_bad_parameter("The property 'count' is required and must be an integer.");
        auto bytes = KeyStore::random_bytes(it->get<int>());
        if (!bytes) return error_response(bytes.error());
        return kv_json_response(200, {{"value", base64url_encode(*bytes)}});
      }
    }
    return http::keyvault_error(404, "NotFound", "No such operation.");
  }

  Response cipher(const Route& route, const VaultSettings& v, const json& body,
                  const std::string& url) {
    auto alg = read_string(body, "alg");
    if (!alg) return error_response(alg.error());
    CipherInput in;
    auto value = read_binary(body, "value");
    if (!value) return error_response(value.error());
    in.value = std::move(*value);
    for (auto [name, slot] :
         {std::pair{"iv", &in.iv}, std::pair{"aad", &in.aad}, std::pair{"tag", &in.tag}}) {
      auto b = read_optional_binary(body, name);
      if (!b) return error_response(b.error());
      *slot = std::move(*b);
    }
    auto r = ctx_.store->cipher(v, route.name, route.version, route.cipher, *alg, in);
    if (!r) return error_response(r.error());
    json out = {{"kid", url + "/keys/" + r->name + "/" + r->version},
                {"value", base64url_encode(r->output.value)}};
    if (r->output.iv) out["iv"] = base64url_encode(*r->output.iv);
    if (r->output.tag) out["tag"] = base64url_encode(*r->output.tag);
    if (r->output.aad) out["aad"] = base64url_encode(*r->output.aad);
    return kv_json_response(200, out);
  }

  Response list(const Request& req, const Route& route, const VaultSettings& v,
                const std::string& api_version) {
    Response bad_max;
    const auto max_or = read_maxresults(req, bad_max);
    if (!max_or) return bad_max;
    const size_t max = *max_or;
    const std::string marker = marker_of_request(req);
    const std::string url = req.base_url();
    KeyPage page;
    if (route.op == Op::ListKeys) {
      page = ctx_.store->list_keys(v, marker, max);
    } else if (route.op == Op::ListDeleted) {
      page = ctx_.store->list_deleted(v, marker, max);
    } else {
      // Key Vault lists the versions of a key that does not exist as an empty page, not a 404.
      auto versions = ctx_.store->list_versions(v, route.name, marker, max);
      if (versions)
        page = std::move(*versions);
      else if (versions.error().kind != KeyErrorKind::KeyNotFound)
        return error_response(versions.error());
    }
    const AttributeSet shape = attribute_set_for(api_version);
    json value = json::array();
    for (const auto& k : page.items)
      value.push_back(route.op == Op::ListDeleted
                          ? deleted_key_item_json(k, url, shape)
                          : key_item_json(k, url, route.op == Op::ListVersions, shape));
    const std::string path = route.op == Op::ListKeys      ? "/keys"
                             : route.op == Op::ListDeleted ? "/deletedkeys"
                                                           : "/keys/" + route.name + "/versions";
    const json next = next_link(url, path, api_version, page.next_marker, max);
    return kv_json_response(200, {{"value", value}, {"nextLink", next}});
  }

  // The key's name as first created (kids use it), or the name as asked.
  std::string canonical_name(const VaultSettings& v, const std::string& name) {
    auto page = ctx_.store->list_versions(v, name, "", 1);
    return page && !page->items.empty() ? page->items.front().name : name;
  }

  KeysApiContext ctx_;
  std::once_flag warm_;
};

}  // namespace

bool is_known_keys_api_version(const std::string& version) {
  static const std::array<const char*, 21> known = {"2015-06-01",
                                                    "2016-10-01",
                                                    "7.0",
                                                    "7.1",
                                                    "7.2",
                                                    "7.3",
                                                    "7.4",
                                                    "7.5",
                                                    "7.6",
                                                    "7.3-preview",
                                                    "7.4-preview.1",
                                                    "7.5-preview.1",
                                                    "7.6-preview.1",
                                                    "7.6-preview.2",
                                                    "2025-06-01-preview",
                                                    "2025-07-01",
                                                    "2026-01-01-preview",
                                                    "2026-03-01-preview",
                                                    "2026-04-01",
                                                    "2026-05-01-preview",
                                                    "2026-07-01-preview"};
  return std::find(known.begin(), known.end(), version) != known.end();
}

void register_keys_routes(http::Router& router, KeysApiContext ctx) {
  auto api = std::make_shared<KeysApi>(std::move(ctx));
  router.add("*", "/{path*}",
             [api](Request& req, const http::RouteParams&) { return api->handle(req); });
}

}  // namespace cmk::keyvault_data
