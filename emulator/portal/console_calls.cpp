#include "portal/console_calls.h"

#include <string_view>

namespace cmk::portal {

namespace {
bool is_vault_name(std::string_view s) {
  // Key Vault names: 3-24 letters, digits and dashes.
  if (s.size() < 3 || s.size() > 24) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}
}  // namespace

bool rewrite_console_call(http::Request& req, const ConsoleGuard& guard) {
  const auto& s = req.segments;
  if (s.size() < 5 || s[0] != "_emulator" || s[1] != "portal" || s[2] != "api") return false;
  const bool arm = s[3] == "arm";
  const bool vault = s[3] == "vault" && s.size() >= 6 && is_vault_name(s[4]);
  if (!arm && !vault) return false;
  if (!loopback_request(req) || !guard.admits(req)) return false;

  // The prefix as sent: "/_emulator/portal/api/arm" or ".../vault/<name>", undecoded.
  std::string prefix = "/_emulator/portal/api/" + s[3];
  if (vault) prefix += "/" + s[4];
  if (req.raw_target.compare(0, prefix.size(), prefix) != 0 ||
      req.raw_target.size() <= prefix.size() || req.raw_target[prefix.size()] != '/')
    return false;
  if (req.path.compare(0, prefix.size(), prefix) != 0) return false;

  const size_t drop = vault ? 5 : 4;
  std::string name = vault ? http::to_lower(s[4]) : std::string();
  req.raw_target.erase(0, prefix.size());
  req.path.erase(0, prefix.size());
  req.segments.erase(req.segments.begin(), req.segments.begin() + static_cast<long>(drop));
  req.listener = http::Listener::Https;
  req.port = 443;
  if (vault) {
    req.host = name + ".vault.azure.net";
    req.surface = http::Surface::KeyVault;
    req.vault_name = std::move(name);
  } else {
    req.host = "management.azure.com";
    req.surface = http::Surface::Arm;
  }
  req.authority = req.host;
  return true;
}

}  // namespace cmk::portal
