#include "http/host_routing.h"

#include <array>

namespace cmk::http {

namespace {
constexpr std::array<std::string_view, 4> kLoginHosts = {
    "login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"};
constexpr std::array<std::string_view, 2> kManagementHosts = {"management.azure.com",
                                                              "management.core.windows.net"};
constexpr std::array<std::string_view, 2> kVaultSuffixes = {".vault.azure.net", ".vault.localhost"};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_login_host(std::string_view host) {
  for (auto h : kLoginHosts)
    if (host == h) return true;
  return false;
}

// Entra paths served beside ARM on the management and loopback hosts.
bool is_login_path(const std::vector<std::string>& segs) {
  if (segs.empty()) return false;
  if (iequals(segs[0], "adfs")) return true;
  if (segs.size() < 2) return false;
  const std::string& second = segs[1];
  return iequals(second, "oauth2") || iequals(second, "v2.0") || iequals(second, "discovery") ||
         iequals(second, ".well-known") || iequals(second, "federationmetadata");
}
// A loopback address or name as such (localhost, 127.x.y.z, ::1), not a *.localhost vault host.
bool is_bare_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.substr(0, 4) == "127.";
}
}  // namespace

bool is_keyvault_data_path(const std::vector<std::string>& segs) {
  // The collections of Key Vault's data plane. None is an ARM path (those start with
  // /subscriptions, /providers, /tenants, /metadata, ...) nor an Entra one.
  static constexpr std::array<std::string_view, 8> kCollections = {
      "keys",         "deletedkeys",         "rng",         "secrets",
      "deletedsecrets", "certificates", "deletedcertificates", "storage"};
  if (segs.empty()) return false;
  for (auto c : kCollections)
    if (iequals(segs[0], c)) return true;
  return false;
}

std::string vault_name_of(std::string_view host) {
  for (auto suffix : kVaultSuffixes) {
    if (ends_with(host, suffix) && host.size() > suffix.size()) {
      std::string_view name = host.substr(0, host.size() - suffix.size());
      if (name.find('.') == std::string_view::npos) return std::string(name);
    }
  }
  return {};
}

bool is_served_azure_host(std::string_view host) {
  if (is_login_host(host)) return true;
  for (auto h : kManagementHosts)
    if (host == h) return true;
  const std::string vault = vault_name_of(host);
  return !vault.empty() && ends_with(host, ".vault.azure.net");
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  if (host.substr(0, 4) == "127.") return true;
  return ends_with(host, ".localhost");
}

void classify(Request& req) {
  const bool admin = !req.segments.empty() && req.segments[0] == "_emulator";
  if (admin) {
    req.surface = Surface::Admin;
    return;
  }
  if (req.listener == Listener::Http) {
    req.surface = Surface::Msi;
    return;
  }
  std::string vault = vault_name_of(req.host);
  if (!vault.empty()) {
    req.surface = Surface::KeyVault;
    req.vault_name = std::move(vault);
    return;
  }
  // Endpoint mode at https://localhost:<port>: the listener serves ARM there, and Key Vault's
  // data-plane paths reach the vault data plane beside it. No host names the vault, so
  // vault_name stays empty and the keys API chooses one (--localhost-vault, or the only vault).
  // Checked before the Entra paths: a key may be called "discovery" or "oauth2".
  if (is_bare_loopback_host(req.host) && is_keyvault_data_path(req.segments)) {
    req.surface = Surface::KeyVault;
    return;
  }
  if (is_login_host(req.host) || is_login_path(req.segments)) {
    req.surface = Surface::Login;
    return;
  }
  req.surface = Surface::Arm;
}

}  // namespace cmk::http
