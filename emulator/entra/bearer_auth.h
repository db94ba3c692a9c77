// Bearer-token validation for the relying parties, as a pipeline filter: every ARM request must
// carry "Authorization: Bearer <token>" issued by this
// emulator for a management audience; failures are answered in ARM's 401 shape before the
// request reaches a handler.
//
// Contract:
// - Surface::Arm only (Key Vault's challenge comes with its data plane, issue 5). Exempt, as on
//   the real ARM: GET /metadata/endpoints (cloud discovery happens before login).
// - Surface::KeyVault: nothing is refused here; a token whose signature, expiry, nbf and revocation
//   check out (any audience, any tenant: validate(token, {}, nullopt)) sets req.principal, so
//   fault rules and the journal know the caller. The keys API takes that principal as the
//   token's validation instead of verifying it a second time, and checks audience and tenant
//   against the vault itself (keys_api.h).
// - Audiences: entra::arm_audiences(). Tenant: any tenant of the directory (a token issued for
//   an unknown GUID tenant in non-strict mode is refused); the ARM surface narrows this to the
//   subscription's tenant once it knows the subscription.
// - 401 codes (http::arm_unauthorized, with WWW-Authenticate):
//     AuthenticationFailed               no Authorization header, or not "Bearer <token>"
//     InvalidAuthenticationToken         malformed, bad signature, not yet valid, revoked
//     ExpiredAuthenticationToken         exp passed (beyond the clock skew)
//     InvalidAuthenticationTokenAudience aud is not a management audience
//     InvalidAuthenticationTokenTenant   tid is not a tenant of the directory
// - On success req.principal holds the token's tid, oid, appid/azp, xms_mirid, idtyp, aud, iss
//   and every aud it carries.
//   A Principal the client tried to pass in is never trusted: the filter always resets it.
#pragma once

#include <functional>
#include <optional>

#include "entra/token_service.h"
#include "http/pipeline.h"

namespace cmk::entra {

// True when an ARM request must carry a bearer token (everything but the exempt paths).
bool arm_request_needs_token(const http::Request& req);

class BearerAuthFilter : public http::Filter {
 public:
  // `service` returns the emulator's token service, or null before it started (then 503).
  explicit BearerAuthFilter(std::function<const TokenService*()> service)
      : service_(std::move(service)) {}

  std::optional<http::Response> before(http::Request& req) override;

 private:
  void identify(http::Request& req) const;
  std::function<const TokenService*()> service_;
};

}  // namespace cmk::entra
