// What keeps other web pages from driving the emulator through a browser.
//
// Contract:
// - ConsoleGuard holds a random token made once per process (128 bits, hex). The console page
//   carries it (a <meta> tag of index.html, readable only by pages of the emulator's own origin)
//   and sends it back in the `X-Cmk-Console-Token` header on every console API call. A
//   cross-site form cannot set a header, and a cross-origin fetch with a custom header needs a
//   CORS preflight the emulator never grants, so only the console's own page can call these.
// - CrossSiteGuardFilter refuses (403 CrossSiteRequestRefused, admin shape) every request to
//   /_emulator/ with a method other than GET, HEAD or OPTIONS that a browser marks as coming
//   from another site: `Sec-Fetch-Site: cross-site` or `same-site`, or an `Origin` header that
//   is not this listener's own origin, or either header on a request whose Host is not a loopback
//   name (DNS rebinding). Clients other than browsers (curl, SDKs, tests) send neither header and
//   are not affected.
// - Pages are served only to loopback Host names (localhost, 127.x, ::1): a page that rebinds
//   its own DNS name to 127.0.0.1 would be same-origin with itself, never with the console.
#pragma once

#include <optional>
#include <string>

#include "http/message.h"
#include "http/pipeline.h"

namespace cmk::portal {

inline constexpr const char* kConsoleTokenHeader = "X-Cmk-Console-Token";

class ConsoleGuard {
 public:
  ConsoleGuard();  // a fresh random token
  const std::string& token() const { return token_; }
  // The request carries the console token (compared in constant time).
  bool admits(const http::Request& req) const;

 private:
  std::string token_;
};

// The Host the request names is a loopback name or address.
bool loopback_request(const http::Request& req);

class CrossSiteGuardFilter : public http::Filter {
 public:
  std::optional<http::Response> before(http::Request& req) override;
};

}  // namespace cmk::portal
