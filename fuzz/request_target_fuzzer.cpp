// Request-target parsing and classification (http/server.h parse_target, http/host_routing.h
// classify): what every request on either listener goes through before any surface sees it.
//
// Input: line 1 the request target as sent ("/subscriptions/...?api-version=...", an absolute
// "https://host/path", anything), line 2 the Host header, line 3 "http" for the plain-HTTP
// listener (anything else: HTTPS).
#include <string>

#include "fuzz_support.h"
#include "http/host_routing.h"
#include "http/message.h"
#include "http/server.h"

using namespace cmk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [target, rest] = fuzz::first_line(fuzz::as_text(data, size));
  auto [host_header, rest2] = fuzz::first_line(rest);
  auto [listener, unused] = fuzz::first_line(rest2);
  (void)unused;

  http::Request req;
  req.method = "GET";
  req.listener = listener == "http" ? http::Listener::Http : http::Listener::Https;
  http::parse_target(req, std::string(target), std::string(host_header),
                     req.listener == http::Listener::Https ? 443 : 80);
  http::classify(req);

  // The path is the decoded segments joined, "/" when there are none; no segment is empty.
  std::string joined;
  for (const auto& s : req.segments) {
    FUZZ_CHECK(!s.empty(), req.path);
    joined += "/" + s;
    // Encoding is undone by decoding, whatever the bytes.
    FUZZ_CHECK(http::percent_decode(http::percent_encode(s)) == s, s);
  }
  FUZZ_CHECK(req.path == (joined.empty() ? "/" : joined), req.path);
  FUZZ_CHECK(req.host == http::to_lower(req.host), req.host);

  // The surface agrees with the helpers it was decided by.
  const bool admin = !req.segments.empty() && req.segments[0] == "_emulator";
  if (admin) FUZZ_CHECK(req.surface == http::Surface::Admin, req.path);
  if (req.surface == http::Surface::KeyVault && !req.vault_name.empty())
    FUZZ_CHECK(req.vault_name == http::vault_name_of(req.host), req.host);
  if (req.surface == http::Surface::Msi) FUZZ_CHECK(req.listener == http::Listener::Http, req.path);
  (void)http::surface_name(req.surface);
  (void)http::is_served_azure_host(req.host);
  (void)http::is_loopback_host(req.host);
  (void)http::is_keyvault_data_path(req.segments);

  // What handlers then read of the request.
  for (const auto& [name, value] : req.query) {
    FUZZ_CHECK(req.query_param(name).has_value(), name);
    (void)value;
  }
  (void)req.base_url();
  (void)http::parse_query(target, /*plus_is_space=*/true);
  return 0;
}
