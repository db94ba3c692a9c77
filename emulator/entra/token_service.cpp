#include "entra/token_service.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "common/base64.h"
#include "common/ids.h"
#include "entra/jwt.h"
#include "http/message.h"

namespace cmk::entra {

using http::iequals;
using http::to_lower;
using std::chrono::seconds;

namespace {

// --- small helpers ---

// A client-supplied value fit to quote in an error description: printable ASCII only (the
// description goes into JSON and logs), bounded length.
std::string quote_safe(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 200) return out + "...";
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return std::string(s.substr(b, e - b));
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

bool present(const std::optional<std::string>& v) {
  return v.has_value() && !v->empty();
}

EntraError err(int status, const char* error, int code, std::string text) {
  return EntraError{status, error, code, "AADSTS" + std::to_string(code) + ": " + std::move(text)};
}

EntraError missing_parameter(const char* name) {
  return err(400, "invalid_request", 900144,
             std::string("The request body must contain the following parameter: '") + name + "'.");
}

int64_t seconds_of(TimePoint t) {
  return to_unix_seconds(t);
}

// ISO-8601 for a claim value; claims come from clients (assertions) and can be any int64, which
// the nanosecond system_clock cannot hold, so far-off values are shown as plain numbers.
std::string when(int64_t unix_seconds) {
  if (unix_seconds < 0 || unix_seconds > 9'000'000'000)
    return "unix time " + std::to_string(unix_seconds);
  return to_iso8601(from_unix_seconds(unix_seconds));
}

// Ceiling of a time point in whole unix seconds.
int64_t ceil_seconds(TimePoint t) {
  int64_t s = to_unix_seconds(t);
  return from_unix_seconds(s) < t ? s + 1 : s;
}

// An integer NumericDate claim; JSON floats are accepted when they are whole-number-ish and in
// range (RFC 7519 allows fractions), anything else is treated as absent.
std::optional<int64_t> numeric_claim(const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return std::nullopt;
    return static_cast<int64_t>(std::floor(d));
  }
  return std::nullopt;
}

std::string string_claim(const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// `aud` may be a string or an array of strings (RFC 7519 §4.1.3).
std::vector<std::string> audiences_of(const nlohmann::json& payload) {
  std::vector<std::string> out;
  auto it = payload.find("aud");
  if (it == payload.end()) return out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& a : *it)
      if (a.is_string()) out.push_back(a.get<std::string>());
  }
  return out;
}

// For matching a client assertion's aud with the token endpoint URL.
std::string normalise_url(std::string_view u) {
  std::string s = to_lower(trim(u));
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

bool secrets_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_b64url(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    ERR_clear_error();
    // Uniqueness, not secrecy, is what uti needs; a GUID has enough of it.
    return base64url_encode(cmk::random_guid()).substr(0, (n * 4 + 2) / 3);
  }
  return base64url_encode(bytes);
}

std::string sha256_b64url(const std::string& input) {
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), h, &len, EVP_sha256(), nullptr);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(h), len));
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// The public key of a PEM certificate, or null.
PkeyPtr certificate_public_key(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (cert == nullptr) {
    ERR_clear_error();
    return PkeyPtr(nullptr, EVP_PKEY_free);
  }
  EVP_PKEY* key = X509_get_pubkey(cert);  // new reference
  X509_free(cert);
  ERR_clear_error();
  return PkeyPtr(key, EVP_PKEY_free);
}

// Real app ids are GUIDs; the emulator also admits other names (handy in tests), but not control
// characters, spaces or unbounded lengths.
bool plausible_client_id(const std::string& id) {
  if (id.size() > 256) return false;
  for (char c : id)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

bool is_authority_alias(const std::string& seg) {
  return seg.empty() || seg == "adfs" || seg == "common" || seg == "organizations" ||
         seg == "consumers";
}

// The client id a request speaks for: the form/basic value, else an assertion's sub (then iss),
// read unverified -- it only selects whose credentials to check.
std::string effective_client_id(const ClientCredentials& c) {
  if (!c.client_id.empty()) return c.client_id;
  if (!present(c.client_assertion)) return {};
  auto jwt = decode_jwt(*c.client_assertion);
  if (!jwt) return {};
  std::string sub = jwt->claim_string("sub");
  return sub.empty() ? jwt->claim_string("iss") : sub;
}

}  // namespace

// --- free functions ---

std::string strip_default_suffix(std::string_view scope) {
  static constexpr std::string_view kSuffix = "/.default";
  if (ends_with_ci(scope, kSuffix))
    return std::string(scope.substr(0, scope.size() - kSuffix.size()));
  return std::string(scope);
}

EntraResult<std::string> resource_from_request(TokenEndpoint endpoint,
                                               const std::optional<std::string>& scope,
                                               const std::optional<std::string>& resource) {
  std::string res = resource ? trim(*resource) : std::string();
  std::string sc = scope ? trim(*scope) : std::string();

  bool use_resource = false;
  switch (endpoint) {
    case TokenEndpoint::V1:
      if (!res.empty())
        use_resource = true;
      else if (sc.empty())
        return missing_parameter("resource");
      break;
    case TokenEndpoint::V2:
      if (sc.empty()) return missing_parameter("scope");
      break;
    case TokenEndpoint::Adfs:
      if (sc.empty()) {
        if (res.empty()) return missing_parameter("scope");
        use_resource = true;
      }
      break;
  }
  if (use_resource) {
    if (res.find_first_of(" \t\r\n") != std::string::npos)
      return err(400, "invalid_resource", 50001,
                 "The resource '" + quote_safe(res) + "' is not a valid resource identifier.");
    return res;
  }

  // Scope list: whitespace-separated; OIDC scopes carry no resource.
  std::vector<std::string> entries;
  size_t i = 0;
  while (i < sc.size()) {
    size_t j = sc.find_first_of(" \t\r\n", i);
    if (j == std::string::npos) j = sc.size();
    std::string item = sc.substr(i, j - i);
    i = j + 1;
    if (item.empty()) continue;
    if (iequals(item, "openid") || iequals(item, "profile") || iequals(item, "email") ||
        iequals(item, "offline_access"))
      continue;
    if (std::find(entries.begin(), entries.end(), item) == entries.end()) entries.push_back(item);
  }
  if (entries.empty())
    return err(400, "invalid_scope", 70011,
               "The provided value for the input parameter 'scope' is not valid. The scope '" +
                   quote_safe(sc) +
                   "' does not name a resource. Client credential flows must have a scope value "
                   "with /.default suffixed to the resource identifier (application ID URI).");
  if (entries.size() > 1) {
    std::string all;
    for (const auto& e : entries) all += (all.empty() ? "" : " ") + e;
    return err(400, "invalid_scope", 28000,
               "Provided value for the input parameter scope is not valid because it contains "
               "more than one resource. Scope " +
                   quote_safe(all) + " is not valid.");
  }
  const std::string& only = entries.front();
  std::string target = strip_default_suffix(only);
  if (target.size() == only.size() || target.empty())
    // Entra's current answer for a client-credentials scope without "/.default".
    return err(400, "invalid_scope", 1002012,
               "The provided value for scope " + quote_safe(only) +
                   " is not valid. Client credential flows must have a scope value with "
                   "/.default suffixed to the resource identifier (application ID URI).");
  return target;
}

const std::vector<std::string>& arm_audiences() {
  static const std::vector<std::string> kAudiences = {
      "https://management.core.windows.net/", "https://management.core.windows.net",
      "https://management.azure.com/", "https://management.azure.com"};
  return kAudiences;
}

std::string v1_issuer(std::string_view tenant_id) {
  return "https://sts.windows.net/" + std::string(tenant_id) + "/";
}

std::string v2_issuer(std::string_view tenant_id) {
  return "https://login.microsoftonline.com/" + std::string(tenant_id) + "/v2.0";
}

const char* token_error_name(TokenErrorKind kind) {
  switch (kind) {
    case TokenErrorKind::Missing:
      return "Missing";
    case TokenErrorKind::Malformed:
      return "Malformed";
    case TokenErrorKind::BadSignature:
      return "BadSignature";
    case TokenErrorKind::Expired:
      return "Expired";
    case TokenErrorKind::NotYetValid:
      return "NotYetValid";
    case TokenErrorKind::WrongAudience:
      return "WrongAudience";
    case TokenErrorKind::WrongTenant:
      return "WrongTenant";
    case TokenErrorKind::Revoked:
      return "Revoked";
  }
  return "Unknown";
}

// --- TokenService ---

TokenService::TokenService(Directory& directory, SigningKey key, const Clock& clock,
                           TokenServiceOptions options)
    : directory_(directory),
      key_(std::move(key)),
      clock_(clock),
      options_(std::move(options)),
      strict_(options_.strict_auth) {
  options_.lifetime = std::clamp(options_.lifetime, seconds(1), seconds(366 * 86400));
  options_.backdate = std::clamp(options_.backdate, seconds(0), seconds(86400));
  options_.clock_skew = std::clamp(options_.clock_skew, seconds(0), seconds(86400));
}

void TokenService::set_revocation_cutoff(int64_t iat) {
  revoked_before_iat_.store(std::clamp<int64_t>(iat, 0, 9'000'000'000));
}

std::string TokenService::default_tenant() const {
  if (!options_.default_tenant_id.empty()) return to_lower(options_.default_tenant_id);
  auto all = directory_.tenants();
  return all.empty() ? std::string() : to_lower(all.front().id);
}

EntraResult<std::string> TokenService::resolve_tenant(std::string_view authority_segment,
                                                      const std::string& client_id) const {
  const std::string seg = to_lower(trim(authority_segment));
  auto not_found = [&] {
    return err(400, "invalid_request", 90002,
               "Tenant '" + quote_safe(seg) +
                   "' not found. Check to make sure you have the correct tenant ID and are "
                   "signing into the correct cloud. Check with your subscription administrator, "
                   "this may happen if there are no active subscriptions for the tenant.");
  };
  if (is_authority_alias(seg)) {
    if (!client_id.empty()) {
      auto sp = directory_.find_service_principal(client_id);
      if (sp && !sp->registered_on_the_fly && !sp->tenant_id.empty())
        return to_lower(sp->tenant_id);
    }
    std::string t = default_tenant();
    if (t.empty()) return not_found();
    return t;
  }
  if (is_guid(seg)) {
    if (auto t = directory_.find_tenant(seg)) return to_lower(t->id);
    if (strict_.load()) return not_found();
    return seg;
  }
  for (const auto& t : directory_.tenants())
    if (!t.default_domain.empty() && iequals(t.default_domain, seg)) return to_lower(t.id);
  return not_found();
}

EntraResult<AuthenticatedClient> TokenService::authenticate_client(
    const std::string& tenant_id, const ClientCredentials& credentials,
    const std::vector<std::string>& assertion_audiences) const {
  const std::string client_id = effective_client_id(credentials);
  if (client_id.empty()) return missing_parameter("client_id");

  const bool has_secret = present(credentials.client_secret);
  const bool has_assertion = present(credentials.client_assertion);
  if (has_secret && has_assertion)
    return err(400, "invalid_request", 90023,
               "Only one client credential may be sent; the request has both 'client_secret' "
               "and 'client_assertion'.");
  if (!has_secret && !has_assertion)
    return err(401, "invalid_client", 7000216,
               "'client_assertion', 'client_secret' or 'request' is required for the "
               "'client_credentials' grant type.");
  if (has_assertion && (!credentials.client_assertion_type ||
                        trim(*credentials.client_assertion_type) != kJwtBearerAssertionType))
    return err(400, "invalid_request", 7000219,
               std::string("'client_assertion_type' must be '") + kJwtBearerAssertionType +
                   "' when 'client_assertion' is sent.");

  auto unknown_application = [&] {
    std::string dir_name = tenant_id;
    if (auto t = directory_.find_tenant(tenant_id); t && !t->display_name.empty())
      dir_name = t->display_name;
    return err(400, "unauthorized_client", 700016,
               "Application with identifier '" + quote_safe(client_id) +
                   "' was not found in the directory '" + quote_safe(dir_name) +
                   "'. This can happen if the application has not been installed by the "
                   "administrator of the tenant or consented to by any user in the tenant. You "
                   "may have sent your authentication request to the wrong tenant.");
  };

  auto sp = directory_.find_service_principal(client_id);
  if (sp && !sp->registered_on_the_fly) {
    // A registered principal: its credentials decide, in every mode.
    if (!sp->tenant_id.empty() && !iequals(sp->tenant_id, tenant_id)) return unknown_application();
    AuthenticatedClient out{to_lower(tenant_id), sp->app_id,
                            sp->object_id.empty() ? deterministic_object_id(tenant_id, sp->app_id)
                                                  : to_lower(sp->object_id),
                            "1", false};
    if (has_secret) {
      bool match = false;
      for (const auto& s : sp->secrets)
        match = secrets_equal(s, *credentials.client_secret) || match;
      if (!match)
        return err(401, "invalid_client", 7000215,
                   "Invalid client secret provided. Ensure the secret being sent in the request "
                   "is the client secret value, not the client secret ID, for a secret added to "
                   "app '" +
                       quote_safe(sp->app_id) + "'.");
      return out;
    }
    auto checked = check_assertion(tenant_id, client_id, sp, credentials, assertion_audiences);
    if (!checked) return checked.error();
    out.acr = "2";
    return out;
  }

  // Unknown (or admitted earlier on the fly): only non-strict mode lets it in, and only with an
  // id that can sensibly become a directory entry and an `appid` claim.
  if (strict_.load() || !plausible_client_id(client_id)) return unknown_application();
  std::string acr = "1";
  if (has_assertion) {
    auto checked =
        check_assertion(tenant_id, client_id, std::nullopt, credentials, assertion_audiences);
    if (!checked) return checked.error();
    acr = "2";
  }
  if (!sp) {
    ServicePrincipal fresh;
    fresh.app_id = client_id;
    fresh.object_id = deterministic_object_id(tenant_id, client_id);
    fresh.tenant_id = to_lower(tenant_id);
    fresh.display_name = "on-the-fly " + quote_safe(client_id);
    fresh.registered_on_the_fly = true;
    directory_.add_service_principal_if_absent(std::move(fresh));
  }
  // The object id is per tenant, as a multi-tenant app's service principal is.
  return AuthenticatedClient{to_lower(tenant_id), client_id,
                             deterministic_object_id(tenant_id, client_id), acr, true};
}

EntraResult<AuthenticatedClient> TokenService::check_assertion(
    const std::string& tenant_id, const std::string& client_id,
    const std::optional<ServicePrincipal>& sp, const ClientCredentials& credentials,
    const std::vector<std::string>& audiences) const {
  auto jwt = decode_jwt(*credentials.client_assertion);
  if (!jwt) return err(401, "invalid_client", 50027, "JWT token is invalid or malformed.");

  std::string iss = jwt->claim_string("iss");
  std::string sub = jwt->claim_string("sub");
  if (!iequals(iss, client_id) || !iequals(sub, client_id))
    return err(401, "invalid_client", 700021,
               "Client assertion application identifier doesn't match 'client_id' parameter. "
               "The assertion's 'iss' and 'sub' must both be the client id.");

  if (!audiences.empty()) {
    bool match = false;
    for (const auto& a : audiences_of(jwt->payload))
      for (const auto& expected : audiences)
        if (normalise_url(a) == normalise_url(expected)) match = true;
    if (!match)
      return err(401, "invalid_client", 700023,
                 "Client assertion audience claim does not match Realm issuer. The 'aud' claim "
                 "must be the token endpoint the assertion is sent to.");
  }

  const int64_t now = seconds_of(clock_.now());
  const int64_t skew = options_.clock_skew.count();
  auto exp = numeric_claim(jwt->payload, "exp");
  auto nbf = numeric_claim(jwt->payload, "nbf");
  // Written as now - skew so a hostile exp near INT64_MAX cannot overflow.
  if (!exp || now - skew >= *exp || (nbf && now + skew < *nbf))
    return err(401, "invalid_client", 700024,
               "Client assertion is not within its valid time range. Current time: " + when(now) +
                   (exp ? ", expiry time of assertion " + when(*exp)
                        : std::string(", the assertion has no 'exp' claim")) +
                   ".");

  if (sp) {
    if (sp->certificate_pems.empty())
      return err(401, "invalid_client", 700027,
                 "The certificate with identifier used to sign the client assertion is not "
                 "registered on application. [Reason - The key was not found.]");
    bool verified = false;
    for (const auto& pem : sp->certificate_pems) {
      PkeyPtr pub = certificate_public_key(pem);
      if (pub && verify_rs256(*jwt, pub.get())) {
        verified = true;
        break;
      }
    }
    if (!verified)
      return err(401, "invalid_client", 700027, "Client assertion failed signature validation.");
  }
  return AuthenticatedClient{to_lower(tenant_id), client_id, "", "2", !sp.has_value()};
}

EntraResult<IssuedToken> TokenService::token(const TokenRequest& request) const {
  if (!present(request.grant_type)) return missing_parameter("grant_type");
  if (trim(*request.grant_type) != "client_credentials")
    return err(
        400, "unsupported_grant_type", 70003,
        "The app requested an unsupported grant type '" + quote_safe(*request.grant_type) + "'.");
  const std::string client_id = effective_client_id(request.client);
  if (client_id.empty()) return missing_parameter("client_id");

  auto resource = resource_from_request(request.endpoint, request.scope, request.resource);
  if (!resource) return resource.error();
  auto tenant = resolve_tenant(request.tenant, client_id);
  if (!tenant) return tenant.error();
  auto client = authenticate_client(*tenant, request.client, request.assertion_audiences);
  if (!client) return client.error();
  return issue_app_token(*client, *resource);
}

EntraResult<IssuedToken> TokenService::issue_app_token(const AuthenticatedClient& client,
                                                       const std::string& resource,
                                                       std::optional<TokenVersion> version) const {
  return sign(Subject{client.tenant_id, client.app_id, client.object_id, client.acr, ""}, resource,
              version.value_or(options_.token_version));
}

EntraResult<IssuedToken> TokenService::issue_managed_identity_token(
    const ManagedIdentity& identity, const std::string& resource,
    std::optional<TokenVersion> version) const {
  std::string res = trim(resource);
  if (res.empty())
    return EntraError{400, "invalid_request", 0, "Required audience parameter not specified"};
  std::string tenant = identity.tenant_id.empty() ? default_tenant() : to_lower(identity.tenant_id);
  return sign(Subject{tenant, to_lower(identity.client_id), to_lower(identity.principal_id), "2",
                      identity.resource_id},
              res, version.value_or(options_.token_version));
}

EntraResult<IssuedToken> TokenService::sign(const Subject& subject, const std::string& resource,
                                            TokenVersion version) const {
  const int64_t backdate = options_.backdate.count();
  const int64_t lifetime = options_.lifetime.count();
  // iat is never below the revocation cutoff, so a token issued after a revocation validates.
  const int64_t iat = std::max(seconds_of(clock_.now()) - backdate, revoked_before_iat_.load());
  const int64_t issued = iat + backdate;
  const int64_t exp = issued + lifetime;
  const bool v1 = version == TokenVersion::V1;

  nlohmann::json claims = {
      {"aud", resource},
      {"iss", v1 ? v1_issuer(subject.tenant_id) : v2_issuer(subject.tenant_id)},
      {"iat", iat},
      {"nbf", iat},
      {"exp", exp},
      {"idtyp", "app"},
      {"oid", subject.object_id},
      {"sub", subject.object_id},
      {"tid", subject.tenant_id},
      {"uti", random_b64url(16)},
      {"rh", "0.A" + sha256_b64url(subject.tenant_id + "|" + subject.client_id + "|" + resource)},
      {"ver", v1 ? "1.0" : "2.0"},
  };
  if (v1) {
    claims["appid"] = subject.client_id;
    claims["appidacr"] = subject.acr;
    claims["idp"] = v1_issuer(subject.tenant_id);
  } else {
    claims["azp"] = subject.client_id;
    claims["azpacr"] = subject.acr;
  }
  if (!subject.mirid.empty()) claims["xms_mirid"] = subject.mirid;

  nlohmann::json header = {{"kid", key_.kid()}, {"x5t", key_.x5t()}};
  auto jwt = sign_rs256(header, claims, key_.pkey());
  if (!jwt) return EntraError{500, "server_error", 0, "The token could not be signed."};

  IssuedToken out;
  out.access_token = std::move(*jwt);
  out.resource = resource;
  out.client_id = subject.client_id;
  out.tenant_id = subject.tenant_id;
  out.object_id = subject.object_id;
  out.expires_in = lifetime;
  out.expires_on = exp;
  out.not_before = iat;
  out.issued_at = iat;
  out.version = version;
  return out;
}

void TokenService::revoke_tokens_issued_before_now() {
  const int64_t wanted = ceil_seconds(clock_.now()) - options_.backdate.count();
  int64_t current = revoked_before_iat_.load();
  for (;;) {
    // A second revocation within the same second must still catch the tokens issued between
    // the two, which carry iat == current cutoff.
    int64_t next = std::max(wanted, current + 1);
    if (revoked_before_iat_.compare_exchange_weak(current, next)) return;
  }
}

Outcome<std::shared_ptr<const Jwt>, TokenError> TokenService::verified_jwt(
    std::string_view token) const {
  {
    std::shared_lock lock(verified_mu_);
    if (auto it = verified_.find(token); it != verified_.end()) return it->second;
  }
  using K = TokenErrorKind;
  auto jwt = decode_jwt(token);
  if (!jwt) return TokenError{K::Malformed, "The access token is malformed: " + jwt.error() + "."};
  // A kid/x5t naming another key means another issuer signed it; say so rather than reporting
  // a bare signature mismatch.
  std::string kid = jwt->header_string("kid");
  std::string x5t = jwt->header_string("x5t");
  if ((!kid.empty() && kid != key_.kid()) || (!x5t.empty() && x5t != key_.x5t()))
    return TokenError{K::BadSignature,
                      "The access token was signed by a key this emulator does not publish."};
  if (Status st = verify_rs256(*jwt, key_.pkey()); !st)
    return TokenError{K::BadSignature,
                      "The access token signature is invalid: " + st.message() + "."};
  auto shared = std::make_shared<const Jwt>(std::move(jwt.value()));
  std::unique_lock lock(verified_mu_);
  auto [it, added] = verified_.emplace(std::string(token), shared);
  if (added) verified_order_.push_back(it->first);
  while (verified_order_.size() > options_.verified_cache_limit) {
    verified_.erase(verified_.find(verified_order_.front()));
    verified_order_.pop_front();
  }
  return shared;
}

size_t TokenService::verified_cache_size() const {
  std::shared_lock lock(verified_mu_);
  return verified_.size();
}

ValidationResult TokenService::validate(std::string_view token,
                                        const std::vector<std::string>& audiences,
                                        const std::optional<std::string>& tenant) const {
  using K = TokenErrorKind;
  auto fail = [](K kind, std::string message) { return TokenError{kind, std::move(message)}; };

  if (token.empty()) return fail(K::Missing, "No access token was provided.");
  auto verified = verified_jwt(token);
  if (!verified) return verified.error();
  const std::shared_ptr<const Jwt> jwt = verified.value();

  const nlohmann::json& p = jwt->payload;
  TokenClaims c;
  c.tid = string_claim(p, "tid");
  c.oid = string_claim(p, "oid");
  c.appid = string_claim(p, "appid");
  if (c.appid.empty()) c.appid = string_claim(p, "azp");
  c.idtyp = string_claim(p, "idtyp");
  c.xms_mirid = string_claim(p, "xms_mirid");
  c.iss = string_claim(p, "iss");
  c.ver = string_claim(p, "ver");
  auto exp = numeric_claim(p, "exp");
  auto nbf = numeric_claim(p, "nbf");
  auto iat = numeric_claim(p, "iat");
  std::vector<std::string> auds = audiences_of(p);
  if (!exp) return fail(K::Malformed, "The access token has no valid 'exp' claim.");
  if (c.tid.empty()) return fail(K::Malformed, "The access token has no 'tid' claim.");
  if (auds.empty()) return fail(K::Malformed, "The access token has no 'aud' claim.");
  if (!iequals(c.iss, v1_issuer(c.tid)) && !iequals(c.iss, v2_issuer(c.tid)))
    return fail(K::Malformed, "The access token's issuer does not match its tenant.");
  c.exp = *exp;
  c.nbf = nbf.value_or(0);
  c.iat = iat.value_or(0);

  const int64_t now = seconds_of(clock_.now());
  const int64_t skew = options_.clock_skew.count();
  if (now - skew >= c.exp)
    return fail(K::Expired,
                "The access token expired at " + when(c.exp) + "; it is now " + when(now) + ".");
  if (nbf && now + skew < *nbf)
    return fail(K::NotYetValid, "The access token is not valid before " + when(*nbf) +
                                    "; it is now " + when(now) + ".");
  const int64_t cutoff = revoked_before_iat_.load();
  if (cutoff != 0 && (!iat || *iat < cutoff))
    return fail(K::Revoked, "The access token was revoked: tokens issued before " +
                                when(cutoff + options_.backdate.count()) +
                                " are no longer accepted.");

  if (audiences.empty()) {
    c.aud = auds.front();
  } else {
    for (const auto& a : auds) {
      if (std::find(audiences.begin(), audiences.end(), a) != audiences.end()) {
        c.aud = a;
        break;
      }
    }
    if (c.aud.empty()) {
      std::string allowed;
      for (const auto& a : audiences) allowed += (allowed.empty() ? "'" : ",'") + a + "'";
      return fail(K::WrongAudience,
                  "The access token has been obtained for wrong audience or resource '" +
                      quote_safe(auds.front()) +
                      "'. It should exactly match with one of the allowed audiences " + allowed +
                      ".");
    }
  }
  if (tenant && !iequals(c.tid, *tenant))
    return fail(K::WrongTenant, "The access token is from tenant '" + quote_safe(c.tid) +
                                    "'; tenant '" + quote_safe(*tenant) + "' was expected.");
  c.audiences = std::move(auds);
  c.raw = std::shared_ptr<const nlohmann::json>(jwt, &jwt->payload);
  return c;
}

}  // namespace cmk::entra
