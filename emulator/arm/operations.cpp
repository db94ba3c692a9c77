#include "arm/operations.h"

#include <algorithm>
#include <cmath>

#include "arm/catalog.h"
#include "arm/resource_id.h"
#include "arm/resource_store.h"
#include "http/message.h"

namespace cmk::arm {

const char* operation_status_name(OperationStatus s) {
  switch (s) {
    case OperationStatus::Running:
      return "Running";
    case OperationStatus::Succeeded:
      return "Succeeded";
    case OperationStatus::Failed:
      return "Failed";
    case OperationStatus::Canceled:
      return "Canceled";
  }
  return "Running";
}

bool is_terminal(OperationStatus s) {
  return s != OperationStatus::Running;
}

Result<LroPolicy> LroPolicy::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Status::error("a policy must be a JSON object");
  auto mode = j.find("mode");
  if (mode == j.end() || !mode->is_string())
    return Status::error("'mode' must be one of immediate, polls, duration");
  LroPolicy p;
  const std::string m = mode->get<std::string>();
  if (m == "immediate") {
    p.mode = Mode::Immediate;
  } else if (m == "polls") {
    auto n = j.find("polls");
    if (n == j.end() || !n->is_number_integer() || *n < 0 || *n > 1000)
      return Status::error("'polls' must be an integer from 0 to 1000");
    p.mode = Mode::AfterPolls;
    p.polls = n->get<int>();
  } else if (m == "duration") {
    auto s = j.find("seconds");
    if (s == j.end() || !s->is_number() || !(s->get<double>() >= 0) ||
        s->get<double>() > 86400 * 366)
      return Status::error("'seconds' must be a number from 0 to 31622400");
    p.mode = Mode::AfterDuration;
    p.duration =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s->get<double>()));
  } else {
    return Status::error("'mode' must be one of immediate, polls, duration (got '" + m + "')");
  }
  return p;
}

nlohmann::json LroPolicy::to_json() const {
  switch (mode) {
    case Mode::Immediate:
      return {{"mode", "immediate"}};
    case Mode::AfterPolls:
      return {{"mode", "polls"}, {"polls", polls}};
    case Mode::AfterDuration:
      return {{"mode", "duration"}, {"seconds", std::chrono::duration<double>(duration).count()}};
  }
  return {};
}

void LroPolicyTable::set(const std::string& type, const std::string& op, LroPolicy p) {
  std::lock_guard lock(mu_);
  rules_[{http::to_lower(type), http::to_lower(op)}] = p;
  revision_.bump();
}

void LroPolicyTable::set_default(LroPolicy p) {
  std::lock_guard lock(mu_);
  default_ = p;
  revision_.bump();
}

LroPolicy LroPolicyTable::get(const std::string& type, const std::string& op) const {
  std::lock_guard lock(mu_);
  const std::string t = http::to_lower(type), o = http::to_lower(op);
  for (const auto& key :
       {std::pair{t, o}, std::pair{t, std::string("*")}, std::pair{std::string("*"), o}}) {
    if (auto it = rules_.find(key); it != rules_.end()) return it->second;
  }
  return default_;
}

void LroPolicyTable::clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
  default_ = LroPolicy{};
  revision_.bump();
}

void LroPolicyTable::apply(const LroPolicySet& set) {
  std::lock_guard lock(mu_);
  if (set.default_policy) default_ = *set.default_policy;
  for (const auto& r : set.rules)
    rules_[{http::to_lower(r.resource_type), http::to_lower(r.operation)}] = r.policy;
  revision_.bump();
}

void LroPolicyTable::replace(const LroPolicySet& set) {
  std::map<std::pair<std::string, std::string>, LroPolicy> rules;
  for (const auto& r : set.rules)
    rules[{http::to_lower(r.resource_type), http::to_lower(r.operation)}] = r.policy;
  std::lock_guard lock(mu_);
  default_ = set.default_policy.value_or(LroPolicy{});
  rules_ = std::move(rules);
  revision_.bump();
}

nlohmann::json LroPolicyTable::to_json() const {
  std::lock_guard lock(mu_);
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& [key, policy] : rules_)
    rules.push_back(
        {{"resourceType", key.first}, {"operation", key.second}, {"policy", policy.to_json()}});
  return {{"default", default_.to_json()}, {"rules", rules}};
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Why a rule's resource type or operation can never match ("" when it can): a type the
// emulated ARM does not list (a misspelt "Microsoft.Kusto/cluster" would silently never apply),
// with the nearest listed type as a suggestion, or an operation other than the three kinds.
std::string unmatchable(const std::string& type, const std::string& operation) {
  const std::string op = http::to_lower(operation);
  if (op != "*" && op != "write" && op != "delete" && op != "action")
    return "operation '" + operation + "' is not write, delete, action or \"*\"";
  if (type == "*") return {};
  const std::string wanted = http::to_lower(type);
  std::string nearest;
  size_t best = std::string::npos;
  for (const auto& provider : providers())
    for (const auto& t : provider.types) {
      const std::string known = provider.name_space + "/" + t.resource_type;
      const size_t d = edit_distance(wanted, http::to_lower(known));
      if (d == 0) return {};
      if (d < best) best = d, nearest = known;
    }
  std::string why = "resource type '" + type + "' is not one the emulator serves";
  if (best <= std::max<size_t>(3, wanted.size() / 4)) why += " (did you mean '" + nearest + "'?)";
  return why;
}

}  // namespace

Result<LroPolicySet> LroPolicySet::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Status::error("$: must be a JSON object");
  for (const auto& [key, value] : j.items())
    if (key != "default" && key != "rules")
      return Status::error("$." + key + ": unknown key (expected default, rules)");
  LroPolicySet set;
  if (auto d = j.find("default"); d != j.end()) {
    auto p = LroPolicy::from_json(*d);
    if (!p) return Status::error("$.default: " + p.status().message());
    set.default_policy = p.value();
  }
  if (auto rules = j.find("rules"); rules != j.end()) {
    if (!rules->is_array()) return Status::error("$.rules: must be an array");
    for (size_t i = 0; i < rules->size(); ++i) {
      const std::string path = "$.rules[" + std::to_string(i) + "]";
      const auto& r = (*rules)[i];
      if (!r.is_object()) return Status::error(path + ": must be an object");
      for (const auto& [key, value] : r.items())
        if (key != "resourceType" && key != "operation" && key != "policy")
          return Status::error(path + "." + key +
                               ": unknown key (expected resourceType, operation, policy)");
      LroRule rule;
      auto type = r.find("resourceType");
      if (type == r.end() || !type->is_string() || type->get<std::string>().empty())
        return Status::error(path + ".resourceType: a resource type or \"*\" is required");
      rule.resource_type = type->get<std::string>();
      if (auto op = r.find("operation"); op != r.end()) {
        if (!op->is_string() || op->get<std::string>().empty())
          return Status::error(path + ".operation: must be write, delete, action or \"*\"");
        rule.operation = op->get<std::string>();
      }
      auto policy = r.find("policy");
      if (policy == r.end()) return Status::error(path + ".policy: is required");
      auto p = LroPolicy::from_json(*policy);
      if (!p) return Status::error(path + ".policy: " + p.status().message());
      rule.policy = p.value();
      if (auto why = unmatchable(rule.resource_type, rule.operation); !why.empty())
        return Status::error(path + ": " + why);
      set.rules.push_back(std::move(rule));
    }
  }
  return set;
}

Result<LroPolicySet> parse_lro_policy_flag(const std::string& spec) {
  const auto bad = [&](const std::string& why) {
    return Status::error("--lro-policy '" + spec + "': " + why +
                         " (expected [TYPE[:OPERATION]=]immediate|polls:N|duration:SECONDS)");
  };
  std::string target, mode = spec;
  if (auto eq = spec.find('='); eq != std::string::npos) {
    target = spec.substr(0, eq);
    mode = spec.substr(eq + 1);
    if (target.empty()) return bad("empty resource type");
  }
  nlohmann::json policy;
  const auto colon = mode.find(':');
  const std::string name = mode.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : mode.substr(colon + 1);
  try {
    size_t used = 0;
    if (name == "immediate" && colon == std::string::npos) {
      policy = {{"mode", "immediate"}};
    } else if (name == "polls" && !arg.empty()) {
      policy = {{"mode", "polls"}, {"polls", std::stoi(arg, &used)}};
    } else if (name == "duration" && !arg.empty()) {
      policy = {{"mode", "duration"}, {"seconds", std::stod(arg, &used)}};
    } else {
      return bad("unknown mode '" + mode + "'");
    }
    if (used != arg.size()) return bad("'" + arg + "' is not a number");
  } catch (const std::exception&) {
    return bad("'" + arg + "' is not a number");
  }
  auto p = LroPolicy::from_json(policy);
  if (!p) return bad(p.status().message());
  LroPolicySet set;
  if (target.empty()) {
    set.default_policy = p.value();
  } else {
    LroRule rule;
    rule.policy = p.value();
    const auto op = target.rfind(':');
    rule.resource_type = target.substr(0, op);
    if (op != std::string::npos) rule.operation = target.substr(op + 1);
    if (rule.resource_type.empty() || rule.operation.empty()) return bad("empty type or operation");
    if (auto why = unmatchable(rule.resource_type, rule.operation); !why.empty()) return bad(why);
    set.rules.push_back(std::move(rule));
  }
  return set;
}

namespace {
// True while this thread runs completions (complete_due): a completion that polls or settles
// another operation of the same batch must not wait for this very thread.
thread_local bool running_completions = false;
}  // namespace

OperationEngine::OperationEngine(const Clock& clock, IdGenerator& ids, size_t max_records)
    : clock_(clock), ids_(ids), max_records_(max_records) {}

bool OperationEngine::due(const Entry& e) const {
  if (e.completing || is_terminal(e.op.status) || e.op.held) return false;
  if (e.op.fault && e.op.fault->outcome == LroFault::Outcome::Delay &&
      clock_.now() < e.op.started_at + e.op.fault->delay)
    return false;
  switch (e.policy.mode) {
    case LroPolicy::Mode::Immediate:
      return true;
    case LroPolicy::Mode::AfterPolls:
      return e.op.polls >= e.policy.polls;
    case LroPolicy::Mode::AfterDuration:
      return clock_.now() >= e.op.started_at + e.policy.duration;
  }
  return true;
}

size_t OperationEngine::complete_due(std::unique_lock<std::mutex>& lock,
                                     const std::vector<std::string>& ids) {
  struct Work {
    std::string id;
    Completion completion;
    std::optional<LroFault> fault;
  };
  std::vector<Work> work;
  for (const auto& id : ids) {
    auto it = ops_.find(id);
    if (it == ops_.end() || !due(it->second)) continue;
    it->second.completing = true;  // claimed: concurrent readers keep seeing Running
    work.push_back({id, it->second.completion, it->second.op.fault});
  }
  if (work.empty()) return 0;
  lock.unlock();
  struct Outcome {
    std::string id;
    OperationStatus status;
    std::optional<OperationError> error;
  };
  std::vector<Outcome> results;
  const bool outer = running_completions;
  running_completions = true;
  for (auto& w : work) {
    using F = LroFault::Outcome;
    if (w.fault && (w.fault->outcome == F::Fail || w.fault->outcome == F::Cancel)) {
      // Injected: the work is not done.
      if (w.fault->outcome == F::Fail)
        results.push_back({w.id, OperationStatus::Failed, w.fault->error});
      else
        results.push_back({w.id, OperationStatus::Canceled,
                           OperationError{"OperationCanceled", "The operation was canceled."}});
      continue;
    }
    std::optional<OperationError> error;
    try {
      if (w.completion) error = w.completion();
    } catch (const std::exception& e) {
      error = OperationError{"InternalServerError", e.what()};
    }
    results.push_back(
        {w.id, error ? OperationStatus::Failed : OperationStatus::Succeeded, std::move(error)});
  }
  running_completions = outer;
  std::vector<std::pair<Operation, Rollback>> faulted;
  std::vector<Operation> ended;
  lock.lock();
  for (auto& [id, status, error] : results) {
    auto it = ops_.find(id);
    if (it == ops_.end()) continue;
    Operation& op = it->second.op;
    op.status = status;
    op.error = std::move(error);
    op.ended_at = clock_.now();
    if (op.fault && (op.fault->outcome == LroFault::Outcome::Fail ||
                     op.fault->outcome == LroFault::Outcome::Cancel))
      faulted.emplace_back(op, std::move(it->second.rollback));
    ended.push_back(op);
    revision_.bump(id);
    it->second.completing = false;
    it->second.completion = nullptr;  // release what the provider captured
    it->second.rollback = nullptr;
    finished_order_[++sequence_] = id;
    if (auto r = running_.find(op.resource_key); r != running_.end()) {
      std::erase(r->second, id);
      if (r->second.empty()) running_.erase(r);
    }
  }
  trim();
  completed_.notify_all();
  if (!ended.empty()) {
    lock.unlock();
    for (const auto& [op, rollback] : faulted) {
      if (on_faulted_) on_faulted_(op);
      if (rollback) rollback();
    }
    if (on_ended_)
      for (const auto& op : ended) on_ended_(op);
    lock.lock();
  }
  return results.size();
}

void OperationEngine::await_completions(std::unique_lock<std::mutex>& lock,
                                        const std::vector<std::string>& ids) {
  if (running_completions) return;
  completed_.wait(lock, [&] {
    for (const auto& id : ids)
      if (auto it = ops_.find(id); it != ops_.end() && it->second.completing) return false;
    return true;
  });
}

void OperationEngine::trim() {
  while (finished_order_.size() > max_records_) {
    revision_.bump(finished_order_.begin()->second);
    ops_.erase(finished_order_.begin()->second);
    finished_order_.erase(finished_order_.begin());
  }
}

std::string OperationEngine::start(std::string resource_key, std::string kind, std::string location,
                                   LroPolicy policy, Completion completion, Rollback rollback) {
  // Asked before the lock: the source belongs to the fault filter and takes none of ours.
  std::optional<LroFault> fault = fault_source_ ? fault_source_() : std::nullopt;
  std::unique_lock lock(mu_);
  Entry e;
  e.op.id = ids_.guid();
  e.op.resource_key = http::to_lower(resource_key);
  e.op.kind = std::move(kind);
  e.op.location = std::move(location);
  e.op.started_at = clock_.now();
  e.policy = policy;
  e.completion = std::move(completion);
  e.rollback = std::move(rollback);
  e.op.fault = std::move(fault);
  e.op.held = e.op.fault && e.op.fault->outcome == LroFault::Outcome::Hold;
  const std::string id = e.op.id;
  running_[e.op.resource_key].push_back(id);
  revision_.bump(id);
  ops_.emplace(id, std::move(e));
  complete_due(lock, {id});
  return id;
}

std::optional<Operation> OperationEngine::poll(const std::string& id) {
  std::unique_lock lock(mu_);
  auto it = ops_.find(http::to_lower(id));
  if (it == ops_.end()) return std::nullopt;
  ++it->second.op.polls;
  const std::string key = it->first;
  complete_due(lock, {key});
  await_completions(lock, {key});
  it = ops_.find(key);
  if (it == ops_.end()) return std::nullopt;
  return it->second.op;
}

void OperationEngine::settle_resource(const std::string& resource_key) {
  std::unique_lock lock(mu_);
  auto it = running_.find(http::to_lower(resource_key));
  if (it == running_.end()) return;
  const std::vector<std::string> ids = it->second;  // complete_due may change the index
  complete_due(lock, ids);
  await_completions(lock, ids);
}

size_t OperationEngine::settle_due() {
  std::unique_lock lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [_, running] : running_) ids.insert(ids.end(), running.begin(), running.end());
  return complete_due(lock, ids);
}

bool OperationEngine::has_running(const std::string& resource_key) const {
  std::lock_guard lock(mu_);
  return running_.count(http::to_lower(resource_key)) > 0;
}

std::optional<Operation> OperationEngine::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = ops_.find(http::to_lower(id));
  if (it == ops_.end()) return std::nullopt;
  return it->second.op;
}

void OperationEngine::set_fault_source(std::function<std::optional<LroFault>()> source) {
  fault_source_ = std::move(source);
}

void OperationEngine::set_on_faulted(std::function<void(const Operation&)> on_faulted) {
  on_faulted_ = std::move(on_faulted);
}

void OperationEngine::set_on_ended(std::function<void(const Operation&)> on_ended) {
  on_ended_ = std::move(on_ended);
}

bool OperationEngine::release(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = ops_.find(http::to_lower(id));
  if (it == ops_.end() || !it->second.op.held) return false;
  it->second.op.held = false;
  revision_.bump(it->first);
  return true;
}

size_t OperationEngine::release_all() {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto& [id, e] : ops_)
    if (e.op.held) {
      e.op.held = false;
      revision_.bump(id);
      ++n;
    }
  return n;
}

std::vector<Operation> OperationEngine::running() const {
  std::lock_guard lock(mu_);
  std::vector<Operation> out;
  for (const auto& [key, ids] : running_)
    for (const auto& id : ids)
      if (auto it = ops_.find(id); it != ops_.end()) out.push_back(it->second.op);
  std::sort(out.begin(), out.end(),
            [](const Operation& a, const Operation& b) { return a.started_at < b.started_at; });
  return out;
}

std::vector<Operation> OperationEngine::all() const {
  std::lock_guard lock(mu_);
  std::vector<Operation> out;
  out.reserve(ops_.size());
  for (const auto& [id, e] : ops_) out.push_back(e.op);
  return out;
}

void OperationEngine::replace_all(std::vector<Operation> finished) {
  std::lock_guard lock(mu_);
  ops_.clear();
  running_.clear();
  finished_order_.clear();
  std::stable_sort(finished.begin(), finished.end(), [](const Operation& a, const Operation& b) {
    return a.ended_at.value_or(a.started_at) < b.ended_at.value_or(b.started_at);
  });
  for (auto& op : finished) {
    if (!is_terminal(op.status)) continue;  // the contract: finished ones only
    op.id = http::to_lower(op.id);
    op.fault.reset();
    op.held = false;
    finished_order_[++sequence_] = op.id;
    Entry e;
    e.op = std::move(op);
    const std::string id = e.op.id;
    ops_.insert_or_assign(id, std::move(e));
  }
  trim();
  revision_.bump();
}

void mark_faulted(ResourceStore& resources, const Operation& op) {
  auto id = ResourceId::parse(op.resource_key);
  if (!id) return;
  const char* provisioning = op.status == OperationStatus::Canceled ? "Canceled" : "Failed";
  resources.update(*id, "", [&](TrackedResource& r) {
    if (!r.body.contains("properties") || !r.body["properties"].is_object()) return false;
    nlohmann::json& props = r.body["properties"];
    props["provisioningState"] = provisioning;
    if (props.contains("state") && props["state"].is_string()) {
      const std::string state = props["state"];
      if (state == "Creating")
        props["state"] = "Unavailable";
      else if (state == "Updating" || state == "Deleting" || state == "Stopping")
        props["state"] = "Running";
      else if (state == "Starting")
        props["state"] = "Stopped";
    }
    return true;
  });
}

}  // namespace cmk::arm
