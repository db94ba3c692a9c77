// `cmk-emulator env`: the proxy-mode exports for the running emulator it finds in the registry
// (instance_registry.h, chosen as instance_choice.h says), or for the flags and defaults when
// none matches; a warning on stderr when the CA file it names does not exist.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace cmk::runtime {

struct EnvRequest {
  // What the flags said; unset = not given.
  std::optional<std::string> host;
  std::optional<int> http_port;
  std::optional<int> https_port;
  std::optional<std::filesystem::path> certs_dir;
  // The emulator's own defaults, for what neither the flags nor a running emulator say.
  std::string default_host = "127.0.0.1";
  int default_http_port = 8080;
  std::filesystem::path default_certs_dir = "certs";
  std::filesystem::path registry_folder;
};

// Writes `export NAME='value'` lines to `out` and notes and warnings to `err`, each line
// starting "cmk-emulator env: ". Returns the exit code: 0 (a warning does not fail an eval).
int print_env(const EnvRequest& request, std::ostream& out, std::ostream& err);

// `s` in single quotes, safe to paste into sh: 'it'\''s'.
std::string shell_quote(const std::string& s);

}  // namespace cmk::runtime
