#include "entra/bearer_auth.h"

#include <string>
#include <string_view>

#include "http/error_bodies.h"

namespace cmk::entra {

using http::Request;
using http::Response;

bool arm_request_needs_token(const Request& req) {
  if (req.surface != http::Surface::Arm) return false;
  const auto& s = req.segments;
  const bool endpoints_metadata =
      s.size() == 2 && http::iequals(s[0], "metadata") && http::iequals(s[1], "endpoints");
  return !(endpoints_metadata && (req.method == "GET" || req.method == "HEAD"));
}

namespace {

// The text of ARM's error for a token that failed validation.
Response refused(const TokenError& e) {
  switch (e.kind) {
    case TokenErrorKind::Missing:
      break;
    case TokenErrorKind::Expired:
      return http::arm_unauthorized("ExpiredAuthenticationToken", e.message, e.message);
    case TokenErrorKind::WrongAudience:
      return http::arm_unauthorized("InvalidAuthenticationTokenAudience", e.message, e.message);
    case TokenErrorKind::WrongTenant:
      return http::arm_unauthorized("InvalidAuthenticationTokenTenant", e.message, e.message);
    case TokenErrorKind::Malformed:
    case TokenErrorKind::BadSignature:
    case TokenErrorKind::NotYetValid:
    case TokenErrorKind::Revoked:
      return http::arm_unauthorized("InvalidAuthenticationToken",
                                    "The access token is invalid. " + e.message, e.message);
  }
  return http::arm_unauthorized(
      "AuthenticationFailed",
      "Authentication failed. The 'Authorization' header is provided in an invalid format.",
      "The access token is missing or invalid.");
}

http::Principal principal_of(const TokenClaims& claims) {
  http::Principal p;
  p.tenant_id = claims.tid;
  p.object_id = claims.oid;
  p.app_id = claims.appid;
  p.xms_mirid = claims.xms_mirid;
  p.idtyp = claims.idtyp;
  p.audience = claims.aud;
  p.issuer = claims.iss;
  p.audiences = claims.audiences;
  return p;
}

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::optional<Response> BearerAuthFilter::before(Request& req) {
  req.principal.reset();
  if (req.surface == http::Surface::KeyVault) {
    // The keys API answers for Key Vault tokens itself (its challenge, its messages); here the
    // caller is only identified, for fault rules and the journal. Nothing is refused.
    identify(req);
    return std::nullopt;
  }
  if (!arm_request_needs_token(req)) return std::nullopt;

  auto header = req.header_view("Authorization");
  if (!header)
    return http::arm_unauthorized(
        "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
        "The authentication failed because of missing 'Authorization' header.");
  const std::string_view value = trim(*header);
  if (value.size() < 7 || !http::iequals(value.substr(0, 7), "bearer "))
    return refused(TokenError{TokenErrorKind::Missing, ""});
  const std::string_view token = trim(value.substr(7));
  if (token.empty()) return refused(TokenError{TokenErrorKind::Missing, ""});

  const TokenService* service = service_();
  if (service == nullptr)
    return http::arm_error(503, "ServiceUnavailable", "The emulator has not started.");

  auto claims = service->validate(token, arm_audiences(), std::nullopt);
  if (!claims) return refused(claims.error());
  if (!service->directory().find_tenant(claims->tid))
    return refused(
        TokenError{TokenErrorKind::WrongTenant,
                   "The access token is from the wrong issuer '" + claims->iss +
                       "'. It must match a tenant of this emulator (see its fixtures); tenant '" +
                       claims->tid + "' is not one."});

  req.principal = principal_of(*claims);
  return std::nullopt;
}

void BearerAuthFilter::identify(Request& req) const {
  auto header = req.header_view("Authorization");
  if (!header) return;
  const std::string_view value = trim(*header);
  if (value.size() < 8 || !http::iequals(value.substr(0, 7), "bearer ")) return;
  const TokenService* service = service_();
  if (service == nullptr) return;
  if (auto claims = service->validate(trim(value.substr(7)), {}, std::nullopt))
    req.principal = principal_of(*claims);
}

}  // namespace cmk::entra
