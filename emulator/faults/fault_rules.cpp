#include "faults/fault_rules.h"

#include <algorithm>
#include <cmath>

#include <re2/re2.h>

#include "common/glob.h"
#include "http/message.h"

namespace cmk::faults {

using nlohmann::json;

const char* action_type_name(Action::Type t) {
  switch (t) {
    case Action::Type::Status:
      return "status";
    case Action::Type::Throttle:
      return "throttle";
    case Action::Type::Quota:
      return "quota";
    case Action::Type::Latency:
      return "latency";
    case Action::Type::Reset:
      return "reset";
    case Action::Type::Hang:
      return "hang";
    case Action::Type::Truncate:
      return "truncate";
    case Action::Type::Malformed:
      return "malformed";
    case Action::Type::Lro:
      return "lro";
  }
  return "unknown";
}

std::string Decision::description() const {
  std::string d = rule + ": " + action_type_name(action.type);
  switch (action.type) {
    case Action::Type::Status:
      d += " " + std::to_string(action.status);
      break;
    case Action::Type::Throttle:
    case Action::Type::Quota:
      d += " 429 Retry-After " + std::to_string(retry_after_s);
      break;
    case Action::Type::Latency:
      d += " " + std::to_string(static_cast<int64_t>(latency_ms)) + " ms";
      break;
    case Action::Type::Lro: {
      static const char* kOutcomes[] = {"fail", "cancel", "hold", "delay"};
      d += std::string(" ") + kOutcomes[static_cast<int>(action.lro.outcome)];
      if (action.lro.outcome == arm::LroFault::Outcome::Fail) d += " " + action.lro.error.code;
      break;
    }
    default:
      break;
  }
  return d;
}

const std::string& RequestFacts::operation_name() const {
  if (!operation_) operation_ = operation ? operation() : std::string();
  return *operation_;
}

std::string RequestFacts::emulator_caller() const {
  return header ? header("x-ms-emulator-caller").value_or("") : std::string();
}

bool Match::matches(const RequestFacts& f) const {
  if (surfaces.empty()) {
    if (f.surface == "admin") return false;
  } else if (std::none_of(surfaces.begin(), surfaces.end(),
                          [&](const std::string& s) { return http::iequals(s, f.surface); })) {
    return false;
  }
  if (!methods.empty() && std::none_of(methods.begin(), methods.end(), [&](const std::string& m) {
        return http::iequals(m, f.method);
      }))
    return false;
  if (!host.empty() && !glob_match(host, f.host)) return false;
  if (!path.empty() && !glob_match(path, f.path)) return false;
  if (path_regex && !re2::RE2::PartialMatch(f.path, *path_regex)) return false;
  if (!operation.empty() && !glob_match(operation, f.operation_name())) return false;
  if (!api_version.empty() && !http::iequals(api_version, f.api_version ? f.api_version() : ""))
    return false;
  if (!principal.empty() && !http::iequals(principal, f.principal_oid) &&
      !http::iequals(principal, f.principal_appid))
    return false;
  if (!caller.empty()) {
    const std::string c = f.emulator_caller();
    if (c.empty() || !glob_match(caller, c)) return false;
  }
  for (const auto& [name, value] : headers) {
    auto v = f.header ? f.header(name) : std::nullopt;
    if (!v || !glob_match(value, *v)) return false;
  }
  return true;
}

namespace {

// Parsing with JSON-path errors: every check names where it failed.
struct Parser {
  TimePoint now;

  static Status err(const std::string& path, const std::string& why) {
    return Status::error(path + ": " + why);
  }

  static Status check_keys(const json& obj, const std::string& path,
                           std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : obj.items())
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        std::string list;
        for (auto n : known) list += (list.empty() ? "" : ", ") + std::string(n);
        return err(path + "." + k, "unknown key (expected one of: " + list + ")");
      }
    return Status::ok();
  }

  static Result<std::string> string_at(const json& obj, const std::string& key,
                                       const std::string& path) {
    const json& v = obj.at(key);
    if (!v.is_string() || v.get_ref<const std::string&>().empty())
      return err(path + "." + key, "must be a non-empty string");
    return v.get<std::string>();
  }

  static Result<std::vector<std::string>> strings_at(const json& obj, const std::string& key,
                                                     const std::string& path) {
    const json& v = obj.at(key);
    std::vector<std::string> out;
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (v.is_array() && !v.empty()) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string())
          return err(path + "." + key + "[" + std::to_string(i) + "]", "must be a string");
        out.push_back(v[i].get<std::string>());
      }
    } else {
      return err(path + "." + key, "must be a string or a non-empty array of strings");
    }
    return out;
  }

  static Result<uint64_t> count_at(const json& obj, const std::string& key, const std::string& path,
                                   uint64_t min = 1) {
    const json& v = obj.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < static_cast<int64_t>(min))
      return err(path + "." + key, "must be an integer >= " + std::to_string(min));
    return v.get<uint64_t>();
  }

  static Result<double> number_at(const json& obj, const std::string& key, const std::string& path,
                                  double min, double max) {
    const json& v = obj.at(key);
    if (!v.is_number() || v.get<double>() < min || v.get<double>() > max ||
        std::isnan(v.get<double>()))
      return err(path + "." + key,
                 "must be a number from " + json(min).dump() + " to " + json(max).dump());
    return v.get<double>();
  }

  Result<TimePoint> time_at(const json& obj, const std::string& key,
                            const std::string& path) const {
    const json& v = obj.at(key);
    auto t = v.is_string() ? parse_time_spec(v.get<std::string>(), now) : std::nullopt;
    if (!t) return err(path + "." + key, "must be an ISO-8601 time or now[+-]<n><s|m|h|d>");
    return *t;
  }

  Result<Match> match(const json& m, const std::string& path) const {
    if (!m.is_object()) return err(path, "must be an object");
    if (auto s = check_keys(m, path,
                            {"surface", "host", "method", "path", "pathRegex", "operation",
                             "apiVersion", "headers", "principal", "caller"});
        !s)
      return s;
    Match out;
    if (m.contains("surface")) {
      auto v = strings_at(m, "surface", path);
      if (!v) return v.status();
      for (const auto& s : *v)
        if (s != "arm" && s != "login" && s != "keyvault" && s != "msi" && s != "admin")
          return err(path + ".surface",
                     "'" + s + "' is not a surface (arm, login, keyvault, msi, admin)");
      out.surfaces = *v;
    }
    if (m.contains("method")) {
      auto v = strings_at(m, "method", path);
      if (!v) return v.status();
      out.methods = *v;
    }
    for (auto [key, field] :
         {std::pair{"host", &out.host}, std::pair{"path", &out.path},
          std::pair{"operation", &out.operation}, std::pair{"apiVersion", &out.api_version},
          std::pair{"principal", &out.principal}, std::pair{"caller", &out.caller}}) {
      if (!m.contains(key)) continue;
      auto v = string_at(m, key, path);
      if (!v) return v.status();
      *field = *v;
    }
    if (m.contains("pathRegex")) {
      auto v = string_at(m, "pathRegex", path);
      if (!v) return v.status();
      re2::RE2::Options options;
      options.set_case_sensitive(false);
      options.set_log_errors(false);
      auto re = std::make_shared<const re2::RE2>(*v, options);
      if (!re->ok())
        return err(path + ".pathRegex",
                   "not a valid regular expression (RE2 syntax): " + re->error());
      out.path_regex = std::move(re);
      out.path_regex_text = *v;
    }
    if (m.contains("headers")) {
      const json& h = m["headers"];
      if (!h.is_object()) return err(path + ".headers", "must be an object of name: value glob");
      for (const auto& [name, value] : h.items()) {
        if (!value.is_string())
          return err(path + ".headers." + name, "must be a string (a glob; \"*\" = present)");
        out.headers.emplace_back(name, value.get<std::string>());
      }
    }
    return out;
  }

  Result<Limits> limits(const json& l, const std::string& path) const {
    if (!l.is_object()) return err(path, "must be an object");
    if (auto s = check_keys(l, path,
                            {"probability", "seed", "first", "every", "after", "maxCount", "from",
                             "until", "ttlSeconds"});
        !s)
      return s;
    Limits out;
    if (l.contains("probability")) {
      auto v = number_at(l, "probability", path, 0, 1);
      if (!v) return v.status();
      out.probability = *v;
    }
    if (l.contains("seed")) {
      auto v = count_at(l, "seed", path, 0);
      if (!v) return v.status();
      out.seed = *v;
    }
    for (auto [key, field] : {std::pair{"first", &out.first}, std::pair{"every", &out.every},
                              std::pair{"maxCount", &out.max_count}}) {
      if (!l.contains(key)) continue;
      auto v = count_at(l, key, path);
      if (!v) return v.status();
      *field = *v;
    }
    if (l.contains("after")) {
      auto v = count_at(l, "after", path, 0);
      if (!v) return v.status();
      out.after = *v;
    }
    for (auto [key, field] : {std::pair{"from", &out.from}, std::pair{"until", &out.until}}) {
      if (!l.contains(key)) continue;
      auto t = time_at(l, key, path);
      if (!t) return t.status();
      *field = *t;
    }
    if (l.contains("ttlSeconds")) {
      auto v = number_at(l, "ttlSeconds", path, 0.001, 366.0 * 86400);
      if (!v) return v.status();
      out.expires = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*v));
    }
    if (out.from && out.until && *out.until <= *out.from)
      return err(path + ".until", "must be later than 'from'");
    return out;
  }

  Result<Latency> latency(const json& a, const std::string& path) const {
    Latency out;
    const std::string shape = a.value("distribution", std::string("fixed"));
    if (a.contains("capMs")) {
      auto v = number_at(a, "capMs", path, 0, 600'000);
      if (!v) return v.status();
      out.cap_ms = *v;
    }
    if (shape == "fixed") {
      if (!a.contains("ms")) return err(path + ".ms", "is required for a fixed latency");
      auto v = number_at(a, "ms", path, 0, 600'000);
      if (!v) return v.status();
      out.ms = *v;
    } else if (shape == "uniform") {
      if (!a.contains("minMs") || !a.contains("maxMs"))
        return err(path, "a uniform latency needs minMs and maxMs");
      auto lo = number_at(a, "minMs", path, 0, 600'000);
      if (!lo) return lo.status();
      auto hi = number_at(a, "maxMs", path, *lo, 600'000);
      if (!hi) return hi.status();
      out.shape = Latency::Shape::Uniform;
      out.min_ms = *lo;
      out.max_ms = *hi;
    } else if (shape == "lognormal") {
      if (!a.contains("medianMs"))
        return err(path + ".medianMs", "is required for a lognormal latency");
      auto med = number_at(a, "medianMs", path, 0.001, 600'000);
      if (!med) return med.status();
      out.shape = Latency::Shape::LogNormal;
      out.median_ms = *med;
      if (a.contains("sigma")) {
        auto s = number_at(a, "sigma", path, 0, 10);
        if (!s) return s.status();
        out.sigma = *s;
      }
    } else {
      return err(path + ".distribution", "must be fixed, uniform or lognormal");
    }
    return out;
  }

  Result<Action> action(const json& a, const std::string& path) const {
    if (!a.is_object()) return err(path, "must be an object");
    if (!a.contains("type") || !a["type"].is_string()) return err(path + ".type", "is required");
    const std::string type = a["type"];
    Action out;
    auto keys = [&](std::initializer_list<std::string_view> known) {
      return check_keys(a, path, known);
    };
    auto status_and_error = [&]() -> Status {
      if (a.contains("status")) {
        const json& s = a["status"];
        if (!s.is_number_integer() || s.get<int>() < 100 || s.get<int>() > 599)
          return err(path + ".status", "must be an HTTP status from 100 to 599");
        out.status = s.get<int>();
      }
      for (auto [key, field] : {std::pair{"code", &out.code}, std::pair{"message", &out.message}}) {
        if (!a.contains(key)) continue;
        auto v = string_at(a, key, path);
        if (!v) return v.status();
        *field = *v;
      }
      if (a.contains("body")) out.body = a["body"];
      if (a.contains("headers")) {
        if (!a["headers"].is_object())
          return err(path + ".headers", "must be an object of name: value");
        for (const auto& [k, v] : a["headers"].items()) {
          if (!v.is_string()) return err(path + ".headers." + k, "must be a string");
          out.headers.emplace_back(k, v.get<std::string>());
        }
      }
      return Status::ok();
    };
    auto retry_after = [&]() -> Status {
      if (!a.contains("retryAfter")) return Status::ok();
      auto v = count_at(a, "retryAfter", path, 0);
      if (!v) return v.status();
      if (*v > 86400) return err(path + ".retryAfter", "must be at most 86400 seconds");
      out.retry_after_s = static_cast<int>(*v);
      return Status::ok();
    };
    auto when = [&]() -> Status {
      if (!a.contains("when")) return Status::ok();
      if (a["when"] != "before" && a["when"] != "after")
        return err(path + ".when",
                   "must be \"before\" (the request is not handled) or \"after\" (it is)");
      out.after = a["when"] == "after";
      return Status::ok();
    };
    Status s;
    if (type == "status") {
      out.type = Action::Type::Status;
      if (!(s = keys({"type", "status", "code", "message", "body", "headers"}))) return s;
      if (!(s = status_and_error())) return s;
    } else if (type == "throttle") {
      out.type = Action::Type::Throttle;
      out.status = 429;
      if (!(s = keys({"type", "retryAfter", "code", "message", "headers"}))) return s;
      if (!(s = status_and_error()) || !(s = retry_after())) return s;
    } else if (type == "quota") {
      out.type = Action::Type::Quota;
      out.status = 429;
      if (!(s = keys({"type", "name", "limit", "windowSeconds", "code", "message", "headers"})))
        return s;
      if (!(s = status_and_error())) return s;
      if (!a.contains("name")) return err(path + ".name", "is required: quotas are shared by name");
      auto name = string_at(a, "name", path);
      if (!name) return name.status();
      out.quota_name = *name;
      if (!a.contains("limit")) return err(path + ".limit", "is required");
      auto limit = count_at(a, "limit", path, 0);
      if (!limit) return limit.status();
      out.quota_limit = *limit;
      if (!a.contains("windowSeconds")) return err(path + ".windowSeconds", "is required");
      auto window = number_at(a, "windowSeconds", path, 0.001, 366.0 * 86400);
      if (!window) return window.status();
      out.quota_window =
          std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*window));
    } else if (type == "latency") {
      out.type = Action::Type::Latency;
      if (!(s = keys({"type", "distribution", "ms", "minMs", "maxMs", "medianMs", "sigma", "capMs",
                      "when"})))
        return s;
      auto l = latency(a, path);
      if (!l) return l.status();
      out.latency = *l;
      if (!(s = when())) return s;
    } else if (type == "reset") {
      out.type = Action::Type::Reset;
      if (!(s = keys({"type", "when"})) || !(s = when())) return s;
    } else if (type == "hang") {
      out.type = Action::Type::Hang;
      if (!(s = keys({"type", "when", "maxSeconds"})) || !(s = when())) return s;
      if (a.contains("maxSeconds")) {
        auto v = number_at(a, "maxSeconds", path, 0.001, 3600);
        if (!v) return v.status();
        out.hang_max_s = *v;
      }
    } else if (type == "truncate") {
      out.type = Action::Type::Truncate;
      if (!(s = keys({"type", "fraction"}))) return s;
      if (a.contains("fraction")) {
        auto v = number_at(a, "fraction", path, 0, 0.99);
        if (!v) return v.status();
        out.truncate_fraction = *v;
      }
    } else if (type == "malformed") {
      out.type = Action::Type::Malformed;
      if (!(s = keys({"type"}))) return s;
    } else if (type == "lro") {
      out.type = Action::Type::Lro;
      if (!(s = keys({"type", "outcome", "code", "message", "seconds"}))) return s;
      const std::string outcome = a.value("outcome", std::string());
      using O = arm::LroFault::Outcome;
      if (outcome == "fail") {
        out.lro.outcome = O::Fail;
        out.lro.error.code = a.value("code", std::string("InternalServerError"));
        out.lro.error.message =
            a.value("message", std::string("The operation failed (injected fault)."));
        if (out.lro.error.code.empty()) return err(path + ".code", "must be a non-empty string");
      } else if (outcome == "cancel") {
        out.lro.outcome = O::Cancel;
      } else if (outcome == "hold") {
        out.lro.outcome = O::Hold;
      } else if (outcome == "delay") {
        out.lro.outcome = O::Delay;
        if (!a.contains("seconds")) return err(path + ".seconds", "is required for a delay");
        auto v = number_at(a, "seconds", path, 0, 366.0 * 86400);
        if (!v) return v.status();
        out.lro.delay = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*v));
      } else {
        return err(path + ".outcome", "must be fail, cancel, hold or delay");
      }
    } else {
      return err(path + ".type",
                 "'" + type +
                     "' is not an action (status, throttle, quota, latency, reset, hang, "
                     "truncate, malformed, lro)");
    }
    return out;
  }

  Result<Rule> rule(json r, const std::string& path, size_t index) const {
    if (!r.is_object()) return err(path, "must be an object");
    if (r.contains("preset")) {
      if (!r["preset"].is_string()) return err(path + ".preset", "must be a string");
      const std::string name = r["preset"];
      const json& presets = presets_json();
      if (!presets.contains(name)) {
        std::string list;
        for (const auto& [k, v] : presets.items()) list += (list.empty() ? "" : ", ") + k;
        return err(path + ".preset", "no preset '" + name + "' (" + list + ")");
      }
      json expanded = presets[name]["rule"];
      json overrides = r;
      overrides.erase("preset");
      if (!overrides.contains("name")) overrides["name"] = name;
      expanded.merge_patch(overrides);
      r = std::move(expanded);
    }
    if (auto s = check_keys(r, path, {"name", "match", "limit", "action"}); !s) return s;
    Rule out;
    out.source = r;
    if (r.contains("name")) {
      auto n = string_at(r, "name", path);
      if (!n) return n.status();
      out.name = *n;
    } else {
      out.name = "rule-" + std::to_string(index);
      out.source["name"] = out.name;
    }
    if (r.contains("match")) {
      auto m = match(r["match"], path + ".match");
      if (!m) return m.status();
      out.match = std::move(*m);
    }
    if (r.contains("limit")) {
      auto l = limits(r["limit"], path + ".limit");
      if (!l) return l.status();
      out.limits = std::move(*l);
    }
    if (!r.contains("action")) return err(path + ".action", "is required");
    auto a = action(r["action"], path + ".action");
    if (!a) return a.status();
    out.action = std::move(*a);
    return out;
  }
};

}  // namespace

Result<std::vector<Rule>> parse_rules(const json& j, TimePoint now, const std::string& where,
                                      size_t first_index) {
  Parser p{now};
  std::vector<Rule> out;
  if (j.is_object()) {
    auto r = p.rule(j, where, first_index);
    if (!r) return r.status();
    out.push_back(std::move(*r));
    return out;
  }
  if (!j.is_array()) return Status::error(where + ": must be a rule object or an array of rules");
  for (size_t i = 0; i < j.size(); ++i) {
    auto r = p.rule(j[i], where + "[" + std::to_string(i) + "]", first_index + i);
    if (!r) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

const json& presets_json() {
  static const json presets = json::parse(R"({
    "arm-throttling": {
      "description": "Every second ARM request is throttled: 429 with Retry-After: 1 and ARM's throttling headers.",
      "rule": {"match": {"surface": "arm"}, "limit": {"every": 2},
               "action": {"type": "throttle", "retryAfter": 1}}},
    "keyvault-outage": {
      "description": "Every Key Vault data-plane request fails with 503 ServiceUnavailable.",
      "rule": {"match": {"surface": "keyvault"},
               "action": {"type": "status", "status": 503, "code": "ServiceUnavailable",
                          "message": "The Key Vault service is unavailable (injected fault)."}}},
    "flaky-token-endpoint": {
      "description": "Half the token requests (Entra and managed identity) fail with 503, repeatably (seed 1).",
      "rule": {"match": {"surface": ["login", "msi"], "path": "*token*"},
               "limit": {"probability": 0.5, "seed": 1},
               "action": {"type": "status", "status": 503}}},
    "provisioning-failure": {
      "description": "Cluster creation and updates end in a failed operation (InternalServerError).",
      "rule": {"match": {"operation": "Microsoft.Kusto/clusters/write"},
               "action": {"type": "lro", "outcome": "fail", "code": "InternalServerError",
                          "message": "The cluster could not be provisioned (injected fault)."}}},
    "slow-lro": {
      "description": "Kusto operations take 10 more minutes of virtual time (advance the clock to finish them).",
      "rule": {"match": {"operation": "Microsoft.Kusto/*"},
               "action": {"type": "lro", "outcome": "delay", "seconds": 600}}},
    "cluster-key-outage": {
      "description": "A CMK cluster's own Key Vault calls fail with 503 (the key itself is untouched): the cluster suspends at its next key refresh. Narrow it to one cluster with match.caller.",
      "rule": {"match": {"surface": "keyvault", "caller": "*"},
               "action": {"type": "status", "status": 503, "code": "ServiceUnavailable",
                          "message": "The Key Vault service is unavailable (injected fault)."}}}
  })");
  return presets;
}

std::shared_ptr<const FaultSet::Snapshot> FaultSet::snapshot() const {
  std::lock_guard lock(rules_mu_);
  return rules_;
}

void FaultSet::install(std::shared_ptr<const Snapshot> rules) {
  std::lock_guard lock(rules_mu_);
  count_.store(rules->size(), std::memory_order_relaxed);
  rules_ = std::move(rules);
  revision_.bump();
}

nlohmann::json FaultSet::definitions() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& live : *snapshot()) out.push_back(live->rule.source);
  return out;
}

void FaultSet::replace(std::vector<Rule> rules) {
  std::lock_guard writers(append_mu_);  // an append racing this must not bring back the old list
  auto next = std::make_shared<Snapshot>();
  for (auto& r : rules) next->push_back(std::make_shared<Live>(std::move(r)));
  {
    std::lock_guard lock(quotas_mu_);
    quotas_.clear();
  }
  install(std::move(next));
}

void FaultSet::append(std::vector<Rule> rules) {
  std::lock_guard writers(append_mu_);
  auto next =
      std::make_shared<Snapshot>(*snapshot());  // the rules already loaded keep their counters
  for (auto& r : rules) next->push_back(std::make_shared<Live>(std::move(r)));
  install(std::move(next));
}

void FaultSet::clear() {
  replace({});
}

bool FaultSet::remove(const std::string& name) {
  std::lock_guard writers(append_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot());
  const size_t before = next->size();
  std::erase_if(*next, [&](const std::shared_ptr<Live>& l) { return l->rule.name == name; });
  const bool removed = next->size() != before;
  install(std::move(next));
  return removed;
}

std::optional<Decision> FaultSet::decide(const RequestFacts& facts) {
  if (empty()) return std::nullopt;
  const auto rules = snapshot();
  const TimePoint now = clock_.now();
  for (const auto& live : *rules) {
    const Limits& lim = live->rule.limits;
    if (lim.expires && now >= *lim.expires) continue;
    if (lim.from && now < *lim.from) continue;
    if (lim.until && now >= *lim.until) continue;
    if (!live->rule.match.matches(facts)) continue;
    std::lock_guard lock(live->mu);
    if (lim.max_count && live->hits >= *lim.max_count) continue;
    const uint64_t m = ++live->matched;
    if (lim.after && m <= *lim.after) continue;
    if (lim.first && m > *lim.first + lim.after.value_or(0)) continue;
    if (lim.every && (m - lim.after.value_or(0)) % *lim.every != 0) continue;
    if (lim.probability) {
      const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(live->rng);
      if (draw >= *lim.probability) continue;
    }
    Decision d;
    d.rule = live->rule.name;
    d.action = live->rule.action;
    d.retry_after_s = d.action.retry_after_s;
    if (d.action.type == Action::Type::Quota) {
      std::lock_guard quota_lock(quotas_mu_);
      Quota& q = quotas_[d.action.quota_name];
      if (q.used == 0 || now >= q.window_start + d.action.quota_window) {
        q.window_start = now;
        q.used = 0;
      }
      if (q.used < d.action.quota_limit) {
        ++q.used;
        continue;  // within the quota: no fault, and later rules may still act
      }
      const auto left = q.window_start + d.action.quota_window - now;
      d.retry_after_s = std::max<int>(
          1, static_cast<int>(std::ceil(std::chrono::duration<double>(left).count())));
    }
    if (d.action.type == Action::Type::Latency) {
      const Latency& l = d.action.latency;
      double ms = l.ms;
      if (l.shape == Latency::Shape::Uniform)
        ms = std::uniform_real_distribution<double>(l.min_ms, l.max_ms)(live->rng);
      else if (l.shape == Latency::Shape::LogNormal)
        ms = std::lognormal_distribution<double>(std::log(l.median_ms), l.sigma)(live->rng);
      d.latency_ms = std::min(ms, l.cap_ms);
    }
    ++live->hits;
    return d;
  }
  return std::nullopt;
}

json FaultSet::to_json() const {
  json rules = json::array();
  for (const auto& live : *snapshot()) {
    std::lock_guard lock(live->mu);
    json r = live->rule.source;
    r["name"] = live->rule.name;
    r["matched"] = live->matched;
    r["hits"] = live->hits;
    r["exhausted"] = live->rule.limits.max_count && live->hits >= *live->rule.limits.max_count;
    rules.push_back(std::move(r));
  }
  json quotas = json::object();
  std::lock_guard lock(quotas_mu_);
  for (const auto& [name, q] : quotas_)
    quotas[name] = {{"used", q.used}, {"windowStart", to_iso8601(q.window_start)}};
  return {{"value", rules}, {"quotas", quotas}};
}

}  // namespace cmk::faults
