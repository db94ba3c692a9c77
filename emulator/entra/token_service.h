// The Entra ID token service, without HTTP: turns a token request into an access token or an
// Entra error value, and validates bearer tokens for the relying parties (ARM, Key Vault).
//
// Contract:
// - Scope/resource: the v2 endpoint reads `scope`, a space-separated list in
//   which exactly one entry must be "<resource>/.default"; the resource is that entry with only
//   the trailing "/.default" removed, so az's "https://management.core.windows.net//.default"
//   asks for "https://management.core.windows.net/". The OIDC scopes openid, profile, email and
//   offline_access are ignored. The v1 endpoint reads `resource` (and falls back to `scope`);
//   the /adfs endpoint reads `scope` and falls back to `resource`. Any resource string is
//   accepted: relying parties decide through `aud`.
// - Client authentication (client_credentials): `client_secret` (post or basic: the adapter
//   passes the decoded values) or `client_assertion` (an RS256 JWT with iss = sub = client id,
//   aud = this token endpoint, unexpired, signed by the key of a certificate registered on the
//   principal). A registered principal with a wrong credential always fails. An unknown client
//   is refused in strict mode (and always when its id has spaces, control bytes or more than
//   256 characters); otherwise it is registered on the fly (Directory) with object id
//   deterministic_object_id(tenant, client id) and from then on accepts any non-empty secret
//   and any well-formed assertion (there is nothing to check them against). Principals
//   registered on the fly are refused once strict mode is on.
// - Tenants: the authority segment may be a tenant GUID, a tenant's default domain, or
//   adfs/common/organizations/consumers (then: the principal's home tenant, else
//   options.default_tenant_id, else the first tenant of the directory). An unknown GUID is
//   accepted in non-strict mode, refused (AADSTS90002) in strict mode; an unknown domain is
//   always refused. A registered principal asked for in a tenant other than its own gets
//   AADSTS700016, as a single-tenant app does.
// - Tokens: RS256, header {typ, alg, kid, x5t}. Claims: aud (the resource string as requested,
//   for v1 and v2 alike -- the emulator has no app ids for resources), iss
//   ("https://sts.windows.net/{tid}/" for v1, "https://login.microsoftonline.com/{tid}/v2.0"
//   for v2), idp (v1), tid, oid, sub (= oid, as for app-only tokens), appid+appidacr (v1) or
//   azp+azpacr (v2) with "1" for a secret and "2" for a certificate or a managed identity,
//   idtyp "app", iat, nbf, exp, ver "1.0"/"2.0", uti (random), rh (opaque), and xms_mirid for
//   managed identities. ARM and Key Vault accept v1 tokens and Entra issues v1 tokens for them,
//   so v1 is the default version whichever endpoint was used.
// - Times come from the injected clock, which must be a real-time clock (RealClock in the
//   emulator; a fake in tests), never the VirtualClock: clients cache tokens by their own clock.
//   Like Entra, iat and nbf are back-dated (default 5 minutes) to absorb client
//   clocks that run slow; exp = issue time + lifetime (default 3599 s: Entra's `expires_in` for
//   client-credentials tokens); `expires_in` reports the lifetime.
// - Revocation: revoke_tokens_issued_before_now() makes validate() refuse every token issued
//   before the call (by this process or an earlier one using the same key) and accept every
//   token issued after it. Tokens issued within the same second as the call get the next second
//   as their issue time, which keeps whole-second iat values unambiguous.
// - Validation for relying parties checks, in this order: present, well-formed, signed by the
//   emulator's key (RS256 only), exp (with clock skew), nbf (with skew), not revoked, audience
//   (exact string match against any expected audience), tenant (tid, and iss consistent with
//   tid). The first failure is returned as a TokenError; adapters map it to their 401 shapes.
// - Thread-safe: all methods may be called concurrently. Messages never include secrets,
//   assertions, tokens or key material.
//
// Entra error codes used (http status, `error`, AADSTS):
//   400 invalid_request          900144  a required parameter is missing
//   400 unsupported_grant_type   70003   grant_type other than client_credentials
//   400 invalid_request          90002   tenant not found
//   400 invalid_scope            70011   scope without "/.default", or no resource scope
//   400 invalid_scope            28000   scopes for more than one resource
//   400 invalid_resource         50001   a v1 `resource` containing whitespace
//   400 unauthorized_client      700016  unknown application (strict mode, or wrong tenant)
//   401 invalid_client           7000215 wrong client secret
//   401 invalid_client           7000216 no client credential
//   401 invalid_client           50027   client assertion is not a well-formed JWT
//   401 invalid_client           700021  assertion iss/sub differ from client_id
//   401 invalid_client           700023  assertion aud is not this token endpoint
//   401 invalid_client           700024  assertion expired or not yet valid
//   401 invalid_client           700027  assertion signature fails / no certificate registered
//   400 invalid_request          7000219 client_assertion_type missing or not jwt-bearer
//                                        (emulator-chosen code)
//   400 invalid_request          90023   both a secret and an assertion were sent
//                                        (emulator-chosen code)
//   400 invalid_request          -       managed identity token without a resource (IMDS text)
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/outcome.h"
#include "entra/directory.h"
#include "entra/jwt.h"
#include "entra/signing_key.h"
#include "state/clock.h"

namespace cmk::entra {

// An error as the token endpoint reports it. The HTTP adapter renders it as
// {error, error_description: description + "\r\nTrace ID: ...\r\nCorrelation ID: ...\r\n
// Timestamp: ...", error_codes:[code], timestamp, trace_id, correlation_id, error_uri}.
struct EntraError {
  int http_status = 400;
  std::string error;        // OAuth 2.0 `error`: invalid_client, invalid_scope, ...
  int code = 0;             // AADSTS number; 0 when the real endpoint sends none (MSI)
  std::string description;  // "AADSTSnnnn: ..." in Entra's words, without the trace suffix
};

template <typename T>
using EntraResult = Outcome<T, EntraError>;

enum class TokenEndpoint { V1, V2, Adfs };  // /oauth2/token, /oauth2/v2.0/token, /adfs/oauth2/token
enum class TokenVersion { V1, V2 };

inline constexpr const char* kJwtBearerAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// The resource a token request targets (see the contract above).
EntraResult<std::string> resource_from_request(TokenEndpoint endpoint,
                                               const std::optional<std::string>& scope,
                                               const std::optional<std::string>& resource);
// "<x>/.default" -> "<x>"; anything else unchanged.
std::string strip_default_suffix(std::string_view scope);

// The four audiences ARM accepts, exactly as it lists them.
const std::vector<std::string>& arm_audiences();
std::string v1_issuer(std::string_view tenant_id);  // https://sts.windows.net/{tid}/
std::string v2_issuer(std::string_view tenant_id);  // https://login.microsoftonline.com/{tid}/v2.0

struct ClientCredentials {
  std::string client_id;  // form field or basic-auth user; may be empty with an assertion
  std::optional<std::string> client_secret;
  std::optional<std::string> client_assertion_type;
  std::optional<std::string> client_assertion;
};

struct TokenRequest {
  TokenEndpoint endpoint = TokenEndpoint::V2;
  std::string tenant;  // authority path segment as sent ("adfs" for the /adfs endpoint)
  std::optional<std::string> grant_type;
  ClientCredentials client;
  std::optional<std::string> scope;
  std::optional<std::string> resource;
  // URLs of this token endpoint as the client addressed it; a client assertion's aud must be
  // one of them (compared case-insensitively, trailing '/' ignored). Empty: aud not checked.
  std::vector<std::string> assertion_audiences;
};

struct AuthenticatedClient {
  std::string tenant_id;
  std::string app_id;
  std::string object_id;
  std::string acr;  // "1" secret, "2" certificate
  bool registered_on_the_fly = false;
};

struct IssuedToken {
  std::string access_token;
  std::string token_type = "Bearer";
  std::string resource;   // the requested resource (= aud)
  std::string client_id;  // appid / azp
  std::string tenant_id;
  std::string object_id;
  int64_t expires_in = 0;  // seconds, as reported to the client
  int64_t expires_on = 0;  // unix seconds (= exp)
  int64_t not_before = 0;  // unix seconds (= nbf)
  int64_t issued_at = 0;   // unix seconds (= iat)
  TokenVersion version = TokenVersion::V1;
};

// Durations are clamped by the constructor: lifetime to [1 s, 366 days], backdate and clock_skew
// to [0, 1 day].
struct TokenServiceOptions {
  bool strict_auth = false;
  std::chrono::seconds lifetime{3599};
  std::chrono::seconds backdate{300};    // iat/nbf before the issue time, as Entra does
  std::chrono::seconds clock_skew{300};  // tolerance for exp/nbf, in validation and assertions
  std::string default_tenant_id;         // for adfs/common/organizations; "" = first tenant
  TokenVersion token_version = TokenVersion::V1;
  // Tokens whose signature check is remembered (the oldest forgotten first); see verified_.
  size_t verified_cache_limit = 4096;
};

enum class TokenErrorKind {
  Missing,
  Malformed,
  BadSignature,
  Expired,
  NotYetValid,
  WrongAudience,
  WrongTenant,
  Revoked
};
const char* token_error_name(TokenErrorKind kind);  // "Missing", "Malformed", ...

struct TokenError {
  TokenErrorKind kind;
  std::string message;  // human text for the 401 body; names claims, never the token
};

struct TokenClaims {
  std::string tid;
  std::string oid;
  std::string appid;  // appid (v1) or azp (v2)
  std::string idtyp;
  std::string aud;                     // the audience that matched (first one when aud is a list)
  std::vector<std::string> audiences;  // every aud of the token, in its order
  std::string xms_mirid;
  std::string iss;
  std::string ver;
  int64_t iat = 0;
  int64_t nbf = 0;
  int64_t exp = 0;
  // The whole payload, shared with the verified-token cache (never copied per request).
  std::shared_ptr<const nlohmann::json> raw;
};

using ValidationResult = Outcome<TokenClaims, TokenError>;

class TokenService {
 public:
  // `clock` must outlive the service; see the contract on which clock to pass.
  TokenService(Directory& directory, SigningKey key, const Clock& clock,
               TokenServiceOptions options = {});

  // The token endpoint: client_credentials only.
  EntraResult<IssuedToken> token(const TokenRequest& request) const;

  // The steps of token(), for adapters that need them separately.
  EntraResult<std::string> resolve_tenant(std::string_view authority_segment,
                                          const std::string& client_id) const;
  EntraResult<AuthenticatedClient> authenticate_client(
      const std::string& tenant_id, const ClientCredentials& credentials,
      const std::vector<std::string>& assertion_audiences) const;
  // Fails only if signing itself fails (500 server_error): a broken key, not a client error.
  EntraResult<IssuedToken> issue_app_token(
      const AuthenticatedClient& client, const std::string& resource,
      std::optional<TokenVersion> version = std::nullopt) const;

  // A token for a managed identity (the MSI adapters resolve which one). `resource` is the
  // requested resource as sent; empty -> 400 invalid_request "Required audience parameter not
  // specified" with code 0, as IMDS answers.
  EntraResult<IssuedToken> issue_managed_identity_token(
      const ManagedIdentity& identity, const std::string& resource,
      std::optional<TokenVersion> version = std::nullopt) const;

  // `audiences`: the accepted `aud` values (exact match; empty = any audience). `tenant`: the
  // required tid (case-insensitive), or nullopt for any tenant. `token` is the bearer value
  // without the "Bearer " prefix; "" gives Missing.
  ValidationResult validate(std::string_view token, const std::vector<std::string>& audiences,
                            const std::optional<std::string>& tenant) const;

  // Admin switch: every token issued before now stops validating. Calls within one second each
  // move the cutoff one more second, so issue times of later tokens may run a second or two
  // ahead of the clock (well inside the skew every client allows).
  void revoke_tokens_issued_before_now();
  // Tokens whose iat is below this (unix seconds) are revoked; 0 = none. For state export/import.
  int64_t revocation_cutoff() const { return revoked_before_iat_.load(); }
  void set_revocation_cutoff(int64_t iat);  // clamped to [0, 9e9]

  // How many tokens' signature checks are remembered (at most options.verified_cache_limit).
  size_t verified_cache_size() const;

  void set_strict_auth(bool strict) { strict_.store(strict); }
  bool strict_auth() const { return strict_.load(); }
  std::chrono::seconds lifetime() const { return options_.lifetime; }

  const SigningKey& signing_key() const { return key_; }
  const Directory& directory() const { return directory_; }

 private:
  EntraResult<AuthenticatedClient> check_assertion(const std::string& tenant_id,
                                                   const std::string& client_id,
                                                   const std::optional<ServicePrincipal>& sp,
                                                   const ClientCredentials& credentials,
                                                   const std::vector<std::string>& audiences) const;
  struct Subject {
    std::string tenant_id;
    std::string client_id;
    std::string object_id;
    std::string acr;
    std::string mirid;  // managed identities only
  };
  EntraResult<IssuedToken> sign(const Subject& subject, const std::string& resource,
                                TokenVersion version) const;
  std::string default_tenant() const;
  // The token taken apart and its signature checked, from the cache or now. Errors are the
  // ValidationResult failure to return.
  Outcome<std::shared_ptr<const Jwt>, TokenError> verified_jwt(std::string_view token) const;

  Directory& directory_;
  SigningKey key_;
  const Clock& clock_;
  TokenServiceOptions options_;
  std::atomic<bool> strict_;
  std::atomic<int64_t> revoked_before_iat_{0};
  // Tokens whose signature verified, by their full text: clients send the same token on every
  // request until it expires, and the RSA check and JSON parse would otherwise dominate an ARM
  // or Key Vault call. Sound because the key never changes for a service; every time-, tenant-,
  // audience- and revocation-dependent check still runs on each call. Bounded by
  // options_.verified_cache_limit: when full, the oldest entry goes (first in, first out), so a
  // long run holds a steady number of tokens rather than refilling an emptied cache.
  mutable std::shared_mutex verified_mu_;
  struct TokenHash {
    using is_transparent = void;  // find() by string_view: no copy of the token per request
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::unordered_map<std::string, std::shared_ptr<const Jwt>, TokenHash, std::equal_to<>>
      verified_;
  // The cached tokens, oldest first: views of verified_'s keys (stable: nodes never move).
  mutable std::deque<std::string_view> verified_order_;
};

}  // namespace cmk::entra
