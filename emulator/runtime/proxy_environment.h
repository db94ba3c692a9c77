// The shell environment that points clients at an emulator in proxy mode: the proxy, the hosts
// that bypass it, and the emulator's CA for every runtime's own variable. `cmk-emulator env`
// prints it, GET /_emulator/info lists it, and the test helpers under clients/ apply it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace cmk::runtime {

// "http://host:port" of the plain-HTTP listener as a client on this machine reaches it (a
// wildcard bind address becomes loopback; an IPv6 address is bracketed).
std::string http_listener_url(const std::string& host, int http_port);

// Name and value pairs, in the order they are printed. Both spellings of the proxy variables are
// set because curl and Python prefer a preset lowercase https_proxy to HTTPS_PROXY; the CA goes
// into CURL_CA_BUNDLE too because curl prefers it (and a preset SSL_CERT_DIR) to SSL_CERT_FILE.
std::vector<std::pair<std::string, std::string>> proxy_environment(const std::string& host,
                                                                   int http_port,
                                                                   const std::string& ca_file);

}  // namespace cmk::runtime
