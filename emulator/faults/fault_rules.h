// Fault injection rules: an ordered list of
// rules, each a match, limits and an action. For every request the first rule that matches and
// whose limits allow it acts; a rule that matches but declines (probability, every-Nth, window,
// ...) lets the next rule try. Admin calls are never matched unless a rule names the admin
// surface.
//
// JSON form of one rule (all parts optional but `action`; docs/faults.md):
//   {"name": "throttle-reads",
//    "match":  {"surface": "arm" | ["arm","keyvault"], "host": glob, "method": "GET" | [...],
//               "path": glob, "pathRegex": RE2 regex (linear time), "operation": glob
//               ("Microsoft.Kusto/clusters/write", "keys/unwrapKey", "oauth2/v2.0/token"),
//               "apiVersion": "2023-08-15", "headers": {"name": glob ("*" = present)},
//               "principal": oid or appid, "caller": glob on the emulator's own calls},
//    "limit":  {"probability": 0.5, "seed": 7, "first": N, "every": N, "after": N,
//               "maxCount": N, "from": time, "until": time, "ttlSeconds": S},
//    "action": {"type": "status" | "throttle" | "quota" | "latency" | "reset" | "hang" |
//               "truncate" | "malformed" | "lro", ...}}
// or {"preset": NAME, ...overrides}: a named scenario (presets_json()) merged with the overrides.
// Times are ISO-8601 or "now+30s" (virtual clock, when the rule is loaded).
//
// Determinism: each rule draws from its own generator seeded by `seed` (default 0), once per
// request that reaches the probability check, so the same requests in the same order give the
// same decisions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "common/revision.h"
#include "common/status.h"
#include "state/clock.h"

namespace re2 {
class RE2;
}

namespace cmk::faults {

// What rules look at, taken from a request by the filter (fault_filter.h). Views into the
// request, valid while it is served; what costs work to find (the operation name, the
// api-version, headers) is asked for only when a rule wants it, since most requests meet rules
// that fail on a cheaper field first.
struct RequestFacts {
  std::string_view surface;  // arm, login, keyvault, msi, admin
  std::string_view host;
  std::string_view method;
  std::string_view path;
  std::string_view principal_oid;
  std::string_view principal_appid;
  std::function<std::string()> operation;  // operation_name() in fault_filter.h
  std::function<std::string()> api_version;
  std::function<std::optional<std::string>(std::string_view)> header;

  const std::string& operation_name() const;  // computed once
  // x-ms-emulator-caller: set on the emulator's own calls ("" for clients').
  std::string emulator_caller() const;

 private:
  mutable std::optional<std::string> operation_;
};

struct Match {
  std::vector<std::string> surfaces;  // empty: every surface but admin
  std::vector<std::string> methods;
  std::string host, path, operation, api_version, principal, caller;
  std::string path_regex_text;
  // RE2, not std::regex: a client controls the path, and a backtracking engine lets a rule like
  // (a|b)*c take seconds on one long path; RE2 matches in time linear in the path.
  std::shared_ptr<const re2::RE2> path_regex;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value glob

  bool matches(const RequestFacts& f) const;
};

struct Limits {
  std::optional<double> probability;
  uint64_t seed = 0;
  std::optional<uint64_t> first, every, after, max_count;
  std::optional<TimePoint> from, until, expires;
};

struct Latency {
  enum class Shape { Fixed, Uniform, LogNormal };
  Shape shape = Shape::Fixed;
  double ms = 0;                      // Fixed
  double min_ms = 0, max_ms = 0;      // Uniform
  double median_ms = 0, sigma = 0.5;  // LogNormal
  double cap_ms = 60'000;             // every shape
};

struct Action {
  enum class Type { Status, Throttle, Quota, Latency, Reset, Hang, Truncate, Malformed, Lro };
  Type type = Type::Status;
  // Status (and the error part of Throttle and Quota)
  int status = 503;
  std::string code, message;
  std::optional<nlohmann::json> body;  // custom body: JSON, or a string sent as is
  std::vector<std::pair<std::string, std::string>> headers;
  // Throttle and Quota
  int retry_after_s = 1;
  std::string quota_name;
  uint64_t quota_limit = 0;
  Duration quota_window{};
  // Latency
  Latency latency;
  // Latency, Reset and Hang: "before" the request is handled (default), or "after" it was
  // (the change happens, the client does not learn of it).
  bool after = false;
  // Hang: how long at most before the connection is closed (the client usually gives up first).
  double hang_max_s = 300;
  // Truncate: the share of the body sent before the connection closes.
  double truncate_fraction = 0.5;
  // Lro
  arm::LroFault lro;
};
const char* action_type_name(Action::Type t);

struct Rule {
  std::string name;
  Match match;
  Limits limits;
  Action action;
  nlohmann::json source;  // the rule as loaded (presets expanded), for listing
};

// Parses one rule object or an array of them; errors name the JSON path under `where`
// ("$[1].action.status: ..."). Rules without a name get "rule-<n>" from `next_index`.
Result<std::vector<Rule>> parse_rules(const nlohmann::json& j, TimePoint now,
                                      const std::string& where = "$", size_t first_index = 1);

// The named presets: {"<name>": {"description": ..., "rules": [rule JSON]}}.
const nlohmann::json& presets_json();

// What the rule set decided for one request.
struct Decision {
  std::string rule;
  Action action;
  double latency_ms = 0;            // Latency: the drawn delay
  int retry_after_s = 0;            // Throttle / Quota
  std::string description() const;  // "<rule>: <action>" for the journal
};

// Thread-safe. Matching reads an immutable snapshot of the rules without a lock shared by all
// requests; only a rule whose match holds takes that rule's own lock to count and decide, so the
// path no rule matches stays cheap (bench/faults_journal).
class FaultSet {
 public:
  explicit FaultSet(const Clock& clock) : clock_(clock) {}

  void replace(std::vector<Rule> rules);
  void append(std::vector<Rule> rules);
  void clear();
  bool remove(const std::string& name);
  // Cheap: no lock. The filter's fast path when no rule is loaded.
  bool empty() const { return count_.load(std::memory_order_relaxed) == 0; }
  size_t size() const { return count_.load(std::memory_order_relaxed); }

  std::optional<Decision> decide(const RequestFacts& facts);

  // {"value": [rule JSON + {"name","matched","hits","exhausted"}], "quotas": {...}}
  nlohmann::json to_json() const;
  // The rules as loaded (each with its name), in order: what PUT /_emulator/faults takes back
  // (state export). Counters are not part of it.
  nlohmann::json definitions() const;
  // Bumped when the rule list changes, not by matching (common/revision.h).
  uint64_t revision() const { return revision_.value(); }

 private:
  Revision revision_;
  struct Live {
    explicit Live(Rule r) : rule(std::move(r)), rng(rule.limits.seed) {}
    const Rule rule;
    std::mutex mu;         // guards the counters and the generator
    uint64_t matched = 0;  // requests that met `match` (and the window)
    uint64_t hits = 0;     // times the action ran
    std::mt19937_64 rng;
  };
  using Snapshot = std::vector<std::shared_ptr<Live>>;
  struct Quota {
    TimePoint window_start;
    uint64_t used = 0;
  };
  std::shared_ptr<const Snapshot> snapshot() const;
  void install(std::shared_ptr<const Snapshot> rules);

  const Clock& clock_;
  mutable std::mutex rules_mu_;  // guards the pointer only, held for a copy of it
  std::shared_ptr<const Snapshot> rules_ = std::make_shared<const Snapshot>();
  std::atomic<size_t> count_{0};
  std::mutex append_mu_;  // serialises the writers (replace, append, remove)
  mutable std::mutex quotas_mu_;
  std::map<std::string, Quota> quotas_;
};

}  // namespace cmk::faults
