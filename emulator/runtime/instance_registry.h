// Running emulators register themselves in a per-user folder, one JSON file each, so that
// `cmk-emulator env` run from any folder finds their ports and CA:
//   ${XDG_RUNTIME_DIR:-/tmp}/cmk-emulator-<uid>/<pid>.json
// The folder is owner-only (0700) and refused when another user owns it or may write to it: its
// entries name the proxy and the CA clients will trust. An entry whose process has died (killed,
// crashed) is deleted by the next reader; an emulator that stops cleanly removes its own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cmk::runtime {

struct RunningInstance {
  int pid = 0;
  std::string host;
  int https_port = 0;
  int http_port = 0;
  std::string ca_file;
  // UTC with milliseconds, "2024-05-01T12:00:00.123Z": fixed width, so it sorts as it reads.
  std::string started;
  // The process's start time in clock ticks after boot (/proc/<pid>/stat): tells the
  // registered process from a later one that got the same pid. 0 = unknown.
  uint64_t process_start = 0;
  // "net:[4026531840]" (/proc/self/ns/net): loopback ports are only reachable from the same
  // network namespace. Empty = unknown, matches any.
  std::string network_namespace;
};

nlohmann::json to_json(const RunningInstance& instance);
Result<RunningInstance> instance_from_json(const nlohmann::json& json);

// This process as it registers: pid, process start, network namespace and the time now.
RunningInstance this_process(const std::string& host, int https_port, int http_port,
                             const std::string& ca_file);
// The network namespace of this process ("" where /proc does not tell).
std::string current_network_namespace();

// $XDG_RUNTIME_DIR/cmk-emulator-<uid> when that variable names an absolute path, else
// /tmp/cmk-emulator-<uid>. The second form is the first one's logic, for tests.
std::filesystem::path registry_folder();
std::filesystem::path registry_folder(const char* xdg_runtime_dir, uid_t uid);

// Whether `pid` is a live process started at `process_start` (0: any start); zombies are dead.
bool process_alive(int pid, uint64_t process_start);

class InstanceRegistry {
 public:
  explicit InstanceRegistry(std::filesystem::path folder) : folder_(std::move(folder)) {}

  const std::filesystem::path& folder() const { return folder_; }

  // Writes <pid>.json (0600, atomically), creating the folder owner-only if needed.
  Status add(const RunningInstance& instance);
  // Removes <pid>.json; a missing entry is fine.
  void remove(int pid);
  // The entries of live processes in this network namespace, oldest first. Entries of dead
  // processes in this namespace are deleted; those of other namespaces are left alone (such a
  // process may live in another pid namespace too, where its pid names another process). No
  // folder: no entries.
  Result<std::vector<RunningInstance>> live();

 private:
  std::filesystem::path entry_file(int pid) const;

  std::filesystem::path folder_;
};

}  // namespace cmk::runtime
