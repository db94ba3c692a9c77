#include "runtime/instance_registry.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <system_error>
#include <tuple>
#include <vector>

#include "common/files.h"
#include "common/json_input.h"

namespace cmk::runtime {

namespace fs = std::filesystem;

namespace {

// "2024-05-01T12:00:00.123Z"
std::string utc_now_with_millis() {
  const auto now = std::chrono::system_clock::now();
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(millis / 1000);
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char text[96];  // room for any int the compiler imagines in each field
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  return text;
}

// The state letter and start time of a process from /proc/<pid>/stat, or nullopt when it cannot
// be read. The command name (field 2) may hold spaces and parentheses, so fields are counted
// from the last ')'.
struct ProcStat {
  char state = '?';
  uint64_t start = 0;
};
std::optional<ProcStat> read_proc_stat(int pid) {
  // Not read_file(): /proc files report a size of 0.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(in, s)) return std::nullopt;
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  // After ')': " S ppid pgrp ..." -- field 3 is the state, field 22 the start time.
  std::vector<std::string> fields;
  size_t i = close + 1;
  while (i < s.size() && fields.size() < 20) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) fields.push_back(s.substr(i, j - i));
    i = j;
  }
  if (fields.size() < 20 || fields[0].empty()) return std::nullopt;
  ProcStat out;
  out.state = fields[0][0];
  out.start = std::strtoull(fields[19].c_str(), nullptr, 10);
  return out;
}

// The folder holds what clients will trust, so it must be this user's alone: a real folder (no
// symlink), owned by the effective user, writable by nobody else.
Status check_private_folder(const fs::path& folder) {
  struct stat st;
  if (::lstat(folder.c_str(), &st) != 0)
    return Status::error(folder.string() + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return Status::error(folder.string() + ": not a folder");
  if (st.st_uid != ::geteuid())
    return Status::error(folder.string() + ": owned by another user (uid " +
                         std::to_string(st.st_uid) + ")");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return Status::error(folder.string() + ": writable by others; expected mode 0700");
  return Status::ok();
}

bool is_entry_name(const std::string& name, int* pid) {
  if (name.size() <= 5 || name.size() > 15 || name.substr(name.size() - 5) != ".json") return false;
  const std::string digits = name.substr(0, name.size() - 5);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  *pid = std::atoi(digits.c_str());
  return *pid > 0;
}

}  // namespace

nlohmann::json to_json(const RunningInstance& i) {
  return nlohmann::json{{"pid", i.pid},
                        {"host", i.host},
                        {"https_port", i.https_port},
                        {"http_port", i.http_port},
                        {"ca_file", i.ca_file},
                        {"started", i.started},
                        {"process_start", i.process_start},
                        {"network_namespace", i.network_namespace}};
}

Result<RunningInstance> instance_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Status::error("not a JSON object");
  RunningInstance i;
  auto int_field = [&](const char* name, int* out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) return false;
    *out = it->get<int>();
    return true;
  };
  auto string_field = [&](const char* name, std::string* out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  if (!int_field("pid", &i.pid) || i.pid <= 0) return Status::error("pid missing or invalid");
  if (!int_field("https_port", &i.https_port) || !int_field("http_port", &i.http_port))
    return Status::error("ports missing");
  if (!string_field("host", &i.host) || !string_field("ca_file", &i.ca_file) ||
      !string_field("started", &i.started))
    return Status::error("host, ca_file or started missing");
  string_field("network_namespace", &i.network_namespace);
  if (auto it = j.find("process_start"); it != j.end() && it->is_number_unsigned())
    i.process_start = it->get<uint64_t>();
  return i;
}

std::string current_network_namespace() {
  std::error_code ec;
  fs::path target = fs::read_symlink("/proc/self/ns/net", ec);
  return ec ? std::string() : target.string();
}

RunningInstance this_process(const std::string& host, int https_port, int http_port,
                             const std::string& ca_file) {
  RunningInstance i;
  i.pid = static_cast<int>(::getpid());
  i.host = host;
  i.https_port = https_port;
  i.http_port = http_port;
  i.ca_file = ca_file;
  i.started = utc_now_with_millis();
  if (auto stat = read_proc_stat(i.pid)) i.process_start = stat->start;
  i.network_namespace = current_network_namespace();
  return i;
}

fs::path registry_folder(const char* xdg_runtime_dir, uid_t uid) {
  const std::string name = "cmk-emulator-" + std::to_string(uid);
  if (xdg_runtime_dir != nullptr && xdg_runtime_dir[0] == '/')
    return fs::path(xdg_runtime_dir) / name;
  return fs::path("/tmp") / name;
}

fs::path registry_folder() {
  return registry_folder(std::getenv("XDG_RUNTIME_DIR"), ::geteuid());
}

bool process_alive(int pid, uint64_t process_start) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  // EPERM: alive, though another user's; /proc tells the rest where it can.
  auto stat = read_proc_stat(pid);
  if (!stat) return true;
  if (stat->state == 'Z' || stat->state == 'X') return false;
  return process_start == 0 || stat->start == process_start;
}

fs::path InstanceRegistry::entry_file(int pid) const {
  return folder_ / (std::to_string(pid) + ".json");
}

Status InstanceRegistry::add(const RunningInstance& instance) {
  if (::mkdir(folder_.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::error(folder_.string() + ": cannot create folder: " + std::strerror(errno));
  if (Status s = check_private_folder(folder_); !s) return s;
  return write_file_atomically(entry_file(instance.pid), to_json(instance).dump() + "\n", 0600);
}

void InstanceRegistry::remove(int pid) {
  ::unlink(entry_file(pid).c_str());
}

Result<std::vector<RunningInstance>> InstanceRegistry::live() {
  std::vector<RunningInstance> out;
  struct stat st;
  if (::lstat(folder_.c_str(), &st) != 0 && errno == ENOENT) return out;
  if (Status s = check_private_folder(folder_); !s) return s;
  const std::string here = current_network_namespace();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder_, ec)) {
    int pid = 0;
    if (!is_entry_name(entry.path().filename().string(), &pid)) continue;
    auto text = read_file(entry.path(), 64 * 1024);
    if (!text || !text->has_value()) continue;  // removed meanwhile, or unreadable
    auto json = parse_json_input(**text);
    auto instance = json ? instance_from_json(*json) : Result<RunningInstance>(json.status());
    if (!instance || instance->pid != pid) {
      // Written atomically, so never half-written: a foreign or damaged file. Gone once its
      // process is.
      if (!process_alive(pid, 0)) ::unlink(entry.path().c_str());
      continue;
    }
    const bool same_namespace =
        here.empty() || instance->network_namespace.empty() || instance->network_namespace == here;
    if (!same_namespace) continue;
    if (!process_alive(instance->pid, instance->process_start)) {
      ::unlink(entry.path().c_str());
      continue;
    }
    out.push_back(std::move(*instance));
  }
  if (ec) return Status::error(folder_.string() + ": cannot list: " + ec.message());
  std::sort(out.begin(), out.end(), [](const RunningInstance& a, const RunningInstance& b) {
    return std::tie(a.started, a.process_start, a.pid) <
           std::tie(b.started, b.process_start, b.pid);
  });
  return out;
}

}  // namespace cmk::runtime
