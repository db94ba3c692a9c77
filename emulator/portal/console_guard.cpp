#include "portal/console_guard.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "http/error_bodies.h"
#include "http/host_routing.h"

namespace cmk::portal {

ConsoleGuard::ConsoleGuard() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("no random bytes for the console token");
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : bytes) {
    token_ += kHex[b >> 4];
    token_ += kHex[b & 15];
  }
}

bool ConsoleGuard::admits(const http::Request& req) const {
  const auto sent = req.header(kConsoleTokenHeader);
  return sent && sent->size() == token_.size() &&
         CRYPTO_memcmp(sent->data(), token_.data(), token_.size()) == 0;
}

bool loopback_request(const http::Request& req) {
  return req.host == "localhost" || req.host == "::1" || req.host == "[::1]" ||
         req.host.rfind("127.", 0) == 0;
}

std::optional<http::Response> CrossSiteGuardFilter::before(http::Request& req) {
  if (req.surface != http::Surface::Admin) return std::nullopt;
  if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") return std::nullopt;
  bool foreign = false;
  const auto site = req.header("Sec-Fetch-Site");
  const auto origin = req.header("Origin");
  if (site) foreign = http::iequals(*site, "cross-site") || http::iequals(*site, "same-site");
  if (origin)
    foreign = foreign || (!http::iequals(*origin, "http://" + req.authority) &&
                          !http::iequals(*origin, "https://" + req.authority));
  // A browser's request to a name that is not loopback: a page whose own DNS name was rebound to
  // 127.0.0.1 is same-origin with itself, so only the Host tells it apart.
  if ((site || origin) && !loopback_request(req)) foreign = true;
  if (!foreign) return std::nullopt;
  return http::admin_error(403, "CrossSiteRequestRefused",
                           "The emulator refuses state-changing admin calls that a browser sends "
                           "from another site or origin; use the console at /_emulator/portal/ "
                           "or a client that is not a browser.");
}

}  // namespace cmk::portal
