// Which running emulator `cmk-emulator env` speaks for. The flags a user gave narrow the choice
// (--http-port, --https-port, --certs-dir must match); with none given, an emulator whose CA is
// certs/ca.pem under the current folder is preferred, as `env` worked before it could look;
// among several, the newest wins and the notes say which and how to pick another.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/instance_registry.h"

namespace cmk::runtime {

struct InstanceQuery {
  std::optional<int> http_port;
  std::optional<int> https_port;
  std::optional<std::filesystem::path> ca_file;  // from an explicit --certs-dir
  std::filesystem::path local_ca_file;           // certs/ca.pem under the current folder
};

struct InstanceChoice {
  std::optional<RunningInstance> chosen;  // none: nothing running matches
  std::vector<std::string> notes;         // for stderr: what was chosen among what
};

// `live` is oldest first, as InstanceRegistry::live() returns it.
InstanceChoice choose_instance(const std::vector<RunningInstance>& live,
                               const InstanceQuery& query);

// "pid 123 (http port 8080, https port 8443, started 2024-05-01T12:00:00.123Z, CA /x/ca.pem)"
std::string describe(const RunningInstance& instance);

// Whether two paths name the same file, symlinks and "." and ".." resolved where they exist.
bool same_path(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace cmk::runtime
