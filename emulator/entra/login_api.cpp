#include "entra/login_api.h"

#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/utf8.h"
#include "http/error_bodies.h"
#include "http/host_routing.h"

namespace cmk::entra {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

// Entra's public-cloud alias group, preferred_network first (what instance discovery returns).
constexpr std::array<const char*, 4> kPublicCloudAliases = {
    "login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"};

bool is_authority_alias(const std::string& segment) {
  return http::iequals(segment, "common") || http::iequals(segment, "organizations") ||
         http::iequals(segment, "consumers");
}

// The description the domain wrote starts with "AADSTSnnnn: "; entra_error adds that itself.
std::string without_code_prefix(const EntraError& e) {
  const std::string prefix = "AADSTS" + std::to_string(e.code) + ": ";
  if (e.description.compare(0, prefix.size(), prefix) == 0)
    return e.description.substr(prefix.size());
  return e.description;
}

Response entra_error_response(const Request& req, const EntraError& e) {
  // The domain uses code 0 only for a signing failure (500): Entra's generic server error.
  const int code = e.code != 0 ? e.code : 50000;
  return http::entra_error(e.http_status, e.error, code, without_code_prefix(e),
                           req.correlation_id);
}

Response not_started(const Request& req) {
  return http::entra_error(503, "temporarily_unavailable", 50000,
                           "The emulator's token service is not running.", req.correlation_id);
}

Response json_ok(const json& body) {
  Response r;
  r.set_json(200, json_text(body));  // client text (resource, scope) may be invalid UTF-8
  return r;
}

// --- discovery ---

json v2_document(const std::string& base, const std::string& url_tenant, const std::string& tid) {
  const std::string t = base + "/" + url_tenant;
  const bool alias = tid.empty();
  return {
      {"token_endpoint", t + "/oauth2/v2.0/token"},
      {"token_endpoint_auth_methods_supported",
       {"client_secret_post", "private_key_jwt", "client_secret_basic"}},
      {"jwks_uri", t + "/discovery/v2.0/keys"},
      {"response_modes_supported", {"query", "fragment", "form_post"}},
      {"subject_types_supported", {"pairwise"}},
      {"id_token_signing_alg_values_supported", {"RS256"}},
      {"response_types_supported", {"code", "id_token", "code id_token", "id_token token"}},
      {"scopes_supported", {"openid", "profile", "email", "offline_access"}},
      {"issuer", alias ? "https://login.microsoftonline.com/{tenantid}/v2.0" : v2_issuer(tid)},
      {"request_uri_parameter_supported", false},
      {"userinfo_endpoint", "https://graph.microsoft.com/oidc/userinfo"},
      {"authorization_endpoint", t + "/oauth2/v2.0/authorize"},
      {"device_authorization_endpoint", t + "/oauth2/v2.0/devicecode"},
      {"http_logout_supported", true},
      {"frontchannel_logout_supported", true},
      {"end_session_endpoint", t + "/oauth2/v2.0/logout"},
      {"claims_supported",
       {"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
        "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
        "name", "tid", "ver", "at_hash", "c_hash", "email"}},
      {"kerberos_endpoint", t + "/kerberos"},
      {"tenant_region_scope", alias ? json(nullptr) : json("NA")},
      {"cloud_instance_name", "microsoftonline.com"},
      {"cloud_graph_host_name", "graph.windows.net"},
      {"msgraph_host", "graph.microsoft.com"},
      {"rbac_url", "https://pas.windows.net"},
  };
}

json v1_document(const std::string& base, const std::string& url_tenant, const std::string& tid) {
  const std::string t = base + "/" + url_tenant;
  const bool alias = tid.empty();
  return {
      {"token_endpoint", t + "/oauth2/token"},
      {"token_endpoint_auth_methods_supported",
       {"client_secret_post", "private_key_jwt", "client_secret_basic"}},
      // Entra's v1 document names the common key set whatever the tenant.
      {"jwks_uri", base + "/common/discovery/keys"},
      {"response_modes_supported", {"query", "fragment", "form_post"}},
      {"subject_types_supported", {"pairwise"}},
      {"id_token_signing_alg_values_supported", {"RS256"}},
      {"response_types_supported",
       {"code", "id_token", "code id_token", "token id_token", "token"}},
      {"scopes_supported", {"openid"}},
      {"issuer", alias ? "https://sts.windows.net/{tenantid}/" : v1_issuer(tid)},
      {"microsoft_multi_refresh_token", true},
      {"authorization_endpoint", t + "/oauth2/authorize"},
      {"device_authorization_endpoint", t + "/oauth2/devicecode"},
      {"http_logout_supported", true},
      {"frontchannel_logout_supported", true},
      {"end_session_endpoint", t + "/oauth2/logout"},
      {"claims_supported",
       {"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
        "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email",
        "given_name", "family_name", "nickname"}},
      {"check_session_iframe", t + "/oauth2/checksession"},
      {"userinfo_endpoint", t + "/openid/userinfo"},
      {"kerberos_endpoint", t + "/kerberos"},
      {"tenant_region_scope", alias ? json(nullptr) : json("NA")},
      {"cloud_instance_name", "microsoftonline.com"},
      {"cloud_graph_host_name", "graph.windows.net"},
      {"msgraph_host", "graph.microsoft.com"},
      {"rbac_url", "https://pas.windows.net"},
  };
}

// What an AD FS server publishes, trimmed to what MSAL and az read.
json adfs_document(const std::string& base) {
  const std::string a = base + "/adfs";
  return {
      {"issuer", a},
      {"authorization_endpoint", a + "/oauth2/authorize/"},
      {"token_endpoint", a + "/oauth2/token"},
      {"jwks_uri", a + "/discovery/keys"},
      {"token_endpoint_auth_methods_supported",
       {"client_secret_post", "client_secret_basic", "private_key_jwt",
        "windows_client_authentication"}},
      {"response_types_supported",
       {"code", "id_token", "code id_token", "id_token token", "code token",
        "code id_token token"}},
      {"response_modes_supported", {"query", "fragment", "form_post"}},
      {"grant_types_supported",
       {"authorization_code", "refresh_token", "client_credentials",
        "urn:ietf:params:oauth:grant-type:jwt-bearer", "implicit", "password", "srv_challenge",
        "urn:ietf:params:oauth:grant-type:device_code", "device_code"}},
      {"subject_types_supported", {"pairwise"}},
      {"scopes_supported",
       {"aza", "openid", "profile", "email", "logon_cert", "user_impersonation", "vpn_cert",
        "allatclaims", "winhello_cert"}},
      {"id_token_signing_alg_values_supported", {"RS256"}},
      {"token_endpoint_auth_signing_alg_values_supported", {"RS256"}},
      {"access_token_issuer",
       "http://" + base.substr(base.find("://") + 3) + "/adfs/services/trust"},
      {"claims_supported",
       {"aud", "iss", "iat", "exp", "auth_time", "nonce", "at_hash", "c_hash", "sub", "upn",
        "unique_name", "pwd_url", "pwd_exp", "mfa_auth_time", "sid", "nbf"}},
      {"microsoft_multi_refresh_token", true},
      {"userinfo_endpoint", a + "/userinfo"},
      {"capabilities", json::array()},
      {"end_session_endpoint", a + "/oauth2/logout"},
      {"as_access_token_token_binding_supported", true},
      {"as_refresh_token_token_binding_supported", true},
      {"resource_access_token_token_binding_supported", true},
      {"op_id_token_token_binding_supported", true},
      {"rp_id_token_token_binding_supported", true},
      {"frontchannel_logout_supported", true},
      {"frontchannel_logout_session_supported", true},
      {"device_authorization_endpoint", a + "/oauth2/devicecode"},
  };
}

Response discovery(const LoginContext& ctx, const Request& req, const std::string& segment,
                   bool v2) {
  const TokenService* service = ctx.token_service();
  if (service == nullptr) return not_started(req);
  const std::string base = req.base_url();
  if (http::iequals(segment, "adfs")) return json_ok(adfs_document(base));
  if (is_authority_alias(segment)) {
    const std::string t = http::to_lower(segment);
    return json_ok(v2 ? v2_document(base, t, "") : v1_document(base, t, ""));
  }
  auto tid = service->resolve_tenant(segment, "");
  if (!tid) {
    EntraError e = tid.error();
    e.error =
        "invalid_tenant";  // what the discovery endpoint says, where /token says invalid_request
    return entra_error_response(req, e);
  }
  return json_ok(v2 ? v2_document(base, *tid, *tid) : v1_document(base, *tid, *tid));
}

// --- instance discovery ---

struct ParsedUrl {
  std::string host;  // lower case, brackets kept for IPv6
  std::string port;  // as written, "" when absent
  std::vector<std::string> segments;
};

// "https://host[:port]/a/b" -> parts; nullopt for anything but an absolute https URL.
std::optional<ParsedUrl> parse_https_url(const std::string& url) {
  static constexpr std::string_view kScheme = "https://";
  if (url.size() <= kScheme.size() || !http::iequals(url.substr(0, kScheme.size()), kScheme))
    return std::nullopt;
  std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (const size_t q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);
  ParsedUrl out;
  const size_t close = authority.find(']');
  const size_t colon = authority.find(':', close == std::string::npos ? 0 : close);
  out.host = http::to_lower(authority.substr(0, colon));
  if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  if (out.host.empty() || out.host.find('@') != std::string::npos) return std::nullopt;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.segments.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool is_public_cloud_alias(const std::string& host) {
  for (const char* a : kPublicCloudAliases)
    if (host == a) return true;
  return false;
}

// Hosts whose login paths this emulator answers (http/host_routing.cpp).
bool emulator_serves_login_on(const std::string& host) {
  return is_public_cloud_alias(host) || host == "management.azure.com" ||
         host == "management.core.windows.net" || http::is_loopback_host(host);
}

Response instance_discovery(const LoginContext& ctx, const Request& req) {
  std::string endpoint = req.query_param("authorization_endpoint")
                             .value_or("https://login.microsoftonline.com/common/oauth2/authorize");
  auto url = parse_https_url(endpoint);
  if (!url || !emulator_serves_login_on(url->host))
    return http::entra_error(400, "invalid_instance", 50049, "Unknown or invalid instance.",
                             req.correlation_id);

  std::string authority = url->host;
  if (!url->port.empty() && url->port != "443") {
    authority += ":" + url->port;
  } else if (url->port.empty() && http::is_loopback_host(url->host) && ctx.https_port &&
             ctx.https_port() != 443) {
    // MSAL sends the instance without its port ("https://localhost/<tenant>/..."); the only
    // HTTPS port a loopback authority can mean here is the emulator's.
    authority += ":" + std::to_string(ctx.https_port());
  }
  const std::string tenant = url->segments.empty() ? "common" : url->segments.front();
  bool v2 = false;
  for (const auto& s : url->segments) v2 = v2 || s == "v2.0";
  const std::string tenant_discovery = "https://" + authority + "/" + tenant + (v2 ? "/v2.0" : "") +
                                       "/.well-known/openid-configuration";

  json aliases = json::array();
  for (const char* a : kPublicCloudAliases) aliases.push_back(a);
  json metadata = json::array({{{"preferred_network", "login.microsoftonline.com"},
                                {"preferred_cache", "login.windows.net"},
                                {"aliases", aliases}}});
  if (!is_public_cloud_alias(url->host))
    metadata.push_back({{"preferred_network", url->host},
                        {"preferred_cache", url->host},
                        {"aliases", json::array({url->host})}});
  return json_ok({{"tenant_discovery_endpoint", tenant_discovery},
                  {"api-version", "1.1"},
                  {"metadata", metadata}});
}

// --- token endpoints ---

using Form = std::map<std::string, std::string>;

Form parse_form(const std::string& body) {
  Form form;
  for (auto& [k, v] : http::parse_query(body, /*plus_is_space=*/true))
    form.emplace(std::move(k), std::move(v));  // first occurrence wins
  return form;
}

std::optional<std::string> field(const Form& form, const char* name) {
  auto it = form.find(name);
  if (it == form.end()) return std::nullopt;
  return it->second;
}

// client_secret_basic (RFC 6749 §2.3.1): both halves are form-urlencoded before base64.
std::optional<std::pair<std::string, std::string>> basic_credentials(const Request& req) {
  auto auth = req.header("Authorization");
  if (!auth || auth->size() < 6 || !http::iequals(auth->substr(0, 6), "basic "))
    return std::nullopt;
  std::string encoded = auth->substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.erase(0, 1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.pop_back();
  auto decoded = base64_decode(encoded);
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(http::percent_decode(decoded->substr(0, colon), true),
                        http::percent_decode(decoded->substr(colon + 1), true));
}

void add_unique(std::vector<std::string>& list, std::string value) {
  for (const auto& v : list)
    if (http::iequals(v, value)) return;
  list.push_back(std::move(value));
}

// The URLs a client may have meant as this endpoint: where it reached us and the public-cloud
// form, with the tenant as sent and as resolved, on the v1 and v2 paths (Entra accepts either).
std::vector<std::string> assertion_audiences(const TokenService& service, const Request& req,
                                             TokenEndpoint endpoint, const std::string& segment,
                                             const std::string& client_id) {
  std::vector<std::string> out;
  add_unique(out, req.base_url() + req.path);
  if (endpoint == TokenEndpoint::Adfs) return out;
  std::vector<std::string> tenants = {segment};
  if (auto tid = service.resolve_tenant(segment, client_id)) add_unique(tenants, *tid);
  for (const std::string& base : {req.base_url(), std::string("https://login.microsoftonline.com")})
    for (const auto& t : tenants) {
      add_unique(out, base + "/" + t + "/oauth2/v2.0/token");
      add_unique(out, base + "/" + t + "/oauth2/token");
    }
  return out;
}

Response token(const LoginContext& ctx, const Request& req, TokenEndpoint endpoint,
               const std::string& segment) {
  const TokenService* service = ctx.token_service();
  if (service == nullptr) return not_started(req);

  const Form form = parse_form(req.body);
  TokenRequest tr;
  tr.endpoint = endpoint;
  tr.tenant = segment;
  tr.grant_type = field(form, "grant_type");
  tr.scope = field(form, "scope");
  tr.resource = field(form, "resource");
  tr.client.client_id = field(form, "client_id").value_or("");
  tr.client.client_secret = field(form, "client_secret");
  tr.client.client_assertion_type = field(form, "client_assertion_type");
  tr.client.client_assertion = field(form, "client_assertion");
  if (auto basic = basic_credentials(req)) {
    if (!tr.client.client_id.empty() && tr.client.client_id != basic->first)
      return http::entra_error(400, "invalid_request", 9002313,
                               "Invalid request. Request is malformed or invalid. The client_id "
                               "in the body differs from the one in the Authorization header.",
                               req.correlation_id);
    tr.client.client_id = basic->first;
    if (!tr.client.client_secret) tr.client.client_secret = basic->second;
  }
  tr.assertion_audiences =
      assertion_audiences(*service, req, endpoint, segment, tr.client.client_id);

  auto issued = service->token(tr);
  if (!issued) return entra_error_response(req, issued.error());

  const IssuedToken& t = *issued;
  json body;
  if (endpoint == TokenEndpoint::V1) {
    // Entra v1 sends every number as a string.
    body = {{"token_type", t.token_type},
            {"expires_in", std::to_string(t.expires_in)},
            {"ext_expires_in", std::to_string(t.expires_in)},
            {"expires_on", std::to_string(t.expires_on)},
            {"not_before", std::to_string(t.not_before)},
            {"resource", t.resource},
            {"access_token", t.access_token}};
  } else {
    body = {{"token_type", t.token_type},
            {"expires_in", t.expires_in},
            {"ext_expires_in", t.expires_in},
            {"access_token", t.access_token}};
  }
  Response r = json_ok(body);
  r.set_header("Cache-Control", "no-store, no-cache");
  r.set_header("Pragma", "no-cache");
  return r;
}

Response token_wrong_method(const Request& req) {
  if (req.method == "OPTIONS") {
    Response r;
    r.status = 200;
    r.set_header("Allow", "POST, OPTIONS");
    return r;
  }
  Response r = http::entra_error(
      405, "invalid_request", 900561,
      "The endpoint only accepts POST, OPTIONS requests. Received a " + req.method + " request.",
      req.correlation_id);
  r.set_header("Allow", "POST, OPTIONS");
  return r;
}

}  // namespace

void register_login_routes(http::Router& router, LoginContext ctx) {
  // Discovery. "/adfs/..." matches the {tenant} routes and is told apart inside.
  router.add("GET", "/{tenant}/v2.0/.well-known/openid-configuration",
             [ctx](Request& req, const RouteParams& p) {
               return discovery(ctx, req, p.get("tenant"), /*v2=*/true);
             });
  router.add("GET", "/{tenant}/.well-known/openid-configuration",
             [ctx](Request& req, const RouteParams& p) {
               return discovery(ctx, req, p.get("tenant"), /*v2=*/false);
             });

  // JWKS: one key for every tenant, as the emulator signs everything with it.
  auto keys = [ctx](bool v2) {
    return [ctx, v2](Request& req, const RouteParams&) {
      const TokenService* service = ctx.token_service();
      if (service == nullptr) return not_started(req);
      return json_ok(v2 ? service->signing_key().jwks(
                              std::string("https://login.microsoftonline.com/{tenantid}/v2.0"))
                        : service->signing_key().jwks());
    };
  };
  router.add("GET", "/{tenant}/discovery/v2.0/keys", keys(true));
  router.add("GET", "/{tenant}/discovery/keys", keys(false));

  router.add("GET", "/common/discovery/instance",
             [ctx](Request& req, const RouteParams&) { return instance_discovery(ctx, req); });

  // Token endpoints.
  auto token_route = [&router, ctx](std::string_view pattern, TokenEndpoint endpoint) {
    router.add("POST", pattern, [ctx, endpoint](Request& req, const RouteParams& p) {
      std::string segment = p.get("tenant");
      TokenEndpoint ep = endpoint;
      if (segment.empty() || http::iequals(segment, "adfs")) {
        segment = "adfs";
        ep = TokenEndpoint::Adfs;
      }
      return token(ctx, req, ep, segment);
    });
    router.add("*", pattern,
               [](Request& req, const RouteParams&) { return token_wrong_method(req); });
  };
  token_route("/{tenant}/oauth2/v2.0/token", TokenEndpoint::V2);
  token_route("/{tenant}/oauth2/token", TokenEndpoint::V1);
}

}  // namespace cmk::entra
