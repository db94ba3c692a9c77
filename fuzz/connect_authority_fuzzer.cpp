// CONNECT parsing on the plain-HTTP listener's front door (http/front_door.h connect_target,
// parse_connect_authority) and what the refusal quotes of it: the bytes of a CONNECT head decide
// whether the emulator tunnels to its HTTPS listener or refuses with 403, and the refusal shows
// the target in a log line and a JSON body (common/utf8.h).
//
// Input: a CONNECT head ("CONNECT host:443 HTTP/1.1\r\nHost: ...\r\n\r\n"); anything that is no
// CONNECT is parsed as a bare authority ("host:port").
#include <string>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "fuzz_support.h"
#include "http/front_door.h"
#include "http/host_routing.h"
#include "http/message.h"

using namespace cmk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string head(fuzz::as_text(data, size));
  const bool is_connect = head.rfind("CONNECT ", 0) == 0;
  const std::string target = is_connect ? http::connect_target(head) : head;
  if (is_connect) FUZZ_CHECK(target.find("\r\n") == std::string::npos, target);

  if (const auto authority = http::parse_connect_authority(target)) {
    FUZZ_CHECK(authority->port > 0 && authority->port < 65536, target);
    FUZZ_CHECK(!authority->host.empty(), target);
    FUZZ_CHECK(authority->host == http::to_lower(authority->host), target);
    // Tunnelled only for the Azure hosts of the certificate, or a loopback name.
    (void)http::is_served_azure_host(authority->host);
    (void)http::is_loopback_host(authority->host);
  }

  // The refusal's quote: valid UTF-8 whatever the bytes, at most 256 bytes and "...".
  const std::string shown = utf8_prefix(target, 256);
  FUZZ_CHECK(shown.size() <= 256 + 3, shown);
  FUZZ_CHECK(utf8_sanitized(shown) == shown, shown);
  const nlohmann::json body = {{"error", {{"code", "HostNotServed"}, {"message", shown}}}};
  const std::string text = json_text(body);
  // Strict serialisation would throw on invalid UTF-8; the quote must never need the fallback.
  FUZZ_CHECK(body.dump() == text, text);
  return 0;
}
