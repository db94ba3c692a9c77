#include "runtime/proxy_environment.h"

namespace cmk::runtime {

std::string http_listener_url(const std::string& host, int http_port) {
  std::string h = host;
  if (h == "0.0.0.0" || h.empty()) h = "127.0.0.1";
  if (h == "::") h = "::1";
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return "http://" + h + ":" + std::to_string(http_port);
}

std::vector<std::pair<std::string, std::string>> proxy_environment(const std::string& host,
                                                                   int http_port,
                                                                   const std::string& ca_file) {
  const std::string proxy = http_listener_url(host, http_port);
  const std::string no_proxy = "localhost,127.0.0.1,::1";
  // SSL_CERT_DIR is left as it is: with SSL_CERT_FILE set, OpenSSL trusts the file and the
  // folder both, and curl reads the folder only when CURL_CA_BUNDLE is unset.
  return {{"HTTPS_PROXY", proxy},           {"https_proxy", proxy},
          {"NO_PROXY", no_proxy},           {"no_proxy", no_proxy},
          {"REQUESTS_CA_BUNDLE", ca_file},  {"CURL_CA_BUNDLE", ca_file},
          {"NODE_EXTRA_CA_CERTS", ca_file}, {"SSL_CERT_FILE", ca_file}};
}

}  // namespace cmk::runtime
