#include "runtime/instance_choice.h"

#include <system_error>

namespace cmk::runtime {

namespace fs = std::filesystem;

namespace {

std::string describe_list(const std::vector<RunningInstance>& instances,
                          const RunningInstance* but) {
  std::string out;
  for (const auto& i : instances) {
    if (but != nullptr && i.pid == but->pid && i.started == but->started &&
        i.http_port == but->http_port)
      continue;
    if (!out.empty()) out += "; ";
    out += describe(i);
  }
  return out;
}

std::string describe_query(const InstanceQuery& q) {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  if (q.http_port) add("--http-port " + std::to_string(*q.http_port));
  if (q.https_port) add("--https-port " + std::to_string(*q.https_port));
  if (q.ca_file) add("--certs-dir " + q.ca_file->parent_path().string());
  return out;
}

}  // namespace

bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code ec_a, ec_b;
  const fs::path ca = fs::weakly_canonical(a, ec_a);
  const fs::path cb = fs::weakly_canonical(b, ec_b);
  if (!ec_a && !ec_b) return ca == cb;
  return fs::absolute(a).lexically_normal() == fs::absolute(b).lexically_normal();
}

std::string describe(const RunningInstance& i) {
  return "pid " + std::to_string(i.pid) + " (http port " + std::to_string(i.http_port) +
         ", https port " + std::to_string(i.https_port) + ", started " + i.started + ", CA " +
         i.ca_file + ")";
}

InstanceChoice choose_instance(const std::vector<RunningInstance>& live, const InstanceQuery& q) {
  InstanceChoice out;
  const bool narrowed = q.http_port || q.https_port || q.ca_file;
  std::vector<RunningInstance> matches;
  for (const auto& i : live) {
    if (q.http_port && i.http_port != *q.http_port) continue;
    if (q.https_port && i.https_port != *q.https_port) continue;
    if (q.ca_file && !same_path(i.ca_file, *q.ca_file)) continue;
    matches.push_back(i);
  }
  if (matches.empty()) {
    if (narrowed && !live.empty())
      out.notes.push_back(
          "no running emulator matches " + describe_query(q) +
          "; the exports follow the flags. Running: " + describe_list(live, nullptr));
    return out;
  }
  std::vector<RunningInstance> pool;
  if (!narrowed) {
    for (const auto& i : matches)
      if (same_path(i.ca_file, q.local_ca_file)) pool.push_back(i);
  }
  const bool local = !pool.empty();
  if (!local) pool = matches;
  out.chosen = pool.back();
  if (pool.size() > 1) {
    out.notes.push_back(std::to_string(pool.size()) + " emulators " +
                        (local ? "with this folder's certs/ca.pem " : "") +
                        "are running; using the newest, " + describe(*out.chosen) +
                        ". Pick another with --http-port: " + describe_list(pool, &*out.chosen));
  } else if (matches.size() > 1) {
    out.notes.push_back(
        "using the emulator with this folder's certs/ca.pem, " + describe(*out.chosen) +
        ". Also running (pick with --http-port): " + describe_list(matches, &*out.chosen));
  }
  return out;
}

}  // namespace cmk::runtime
