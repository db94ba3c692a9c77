// Long-running operations: the engine behind
// Azure-AsyncOperation / Location polling and the provisioningState a resource shows on GET.
//
// Contract:
// - An operation finishes according to its LroPolicy: at once, after the client has polled it N
//   times, or once a span of time has passed on the injected clock (the virtual clock: tests
//   advance it instead of sleeping). Nothing runs in the background: an operation is settled
//   lazily, when someone reads it (poll) or reads its resource (settle_resource).
// - Its Completion runs exactly once, when it is found due, and decides the outcome (no error =
//   Succeeded). Completions run without the engine's lock held, so they may call back into the
//   engine and take their provider's locks; callers must not hold a lock a completion takes.
// - poll() counts a poll; settle_resource() does not (a GET of the resource is not a poll of the
//   operation, but it must show time-based progress, since `az ... wait` polls only GET).
// - Records are kept after completion (the Location/AsyncOperation URLs keep answering) up to a
//   bound; the oldest finished ones are dropped first.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/revision.h"
#include "common/status.h"
#include "state/clock.h"

namespace cmk::arm {

enum class OperationStatus { Running, Succeeded, Failed, Canceled };
const char* operation_status_name(OperationStatus s);
bool is_terminal(OperationStatus s);

struct OperationError {
  std::string code;
  std::string message;
};

struct LroPolicy {
  enum class Mode { Immediate, AfterPolls, AfterDuration };
  Mode mode = Mode::AfterDuration;
  int polls = 1;                                        // AfterPolls
  Duration duration = std::chrono::milliseconds(1000);  // AfterDuration: about a second by default

  // {"mode":"immediate"} | {"mode":"polls","polls":N} | {"mode":"duration","seconds":S}
  static Result<LroPolicy> from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// One rule of a policy table: resource type ("Microsoft.Kusto/clusters" or "*") and operation
// ("write", "delete", "action" or "*").
struct LroRule {
  std::string resource_type;
  std::string operation = "*";
  LroPolicy policy;
};

// A whole table's worth of policies, as configured by a fixture, the admin API or flags:
//   {"default": {policy}, "rules": [{"resourceType": T, "operation": O (default "*"),
//                                    "policy": {policy}}]}
// Both keys optional. from_json's errors name the JSON path ("$.rules[1].policy: ...").
struct LroPolicySet {
  std::optional<LroPolicy> default_policy;
  std::vector<LroRule> rules;
  static Result<LroPolicySet> from_json(const nlohmann::json& j);
};

// The flag form "[TYPE[:OPERATION]=]MODE[:ARG]": "immediate" sets the default,
// "Microsoft.Kusto/clusters=polls:3", "Microsoft.Kusto/clusters:delete=duration:2.5",
// "*:action=immediate" set rules.
Result<LroPolicySet> parse_lro_policy_flag(const std::string& spec);

// Policies by resource type and operation ("Microsoft.Kusto/clusters", "write"), with "*" for
// either; the most specific match wins, then the default.
class LroPolicyTable {
 public:
  void set(const std::string& resource_type, const std::string& operation, LroPolicy p);
  void set_default(LroPolicy p);
  LroPolicy get(const std::string& resource_type, const std::string& operation) const;
  void clear();
  // Adds the set's rules (and default, when it has one) to the table.
  void apply(const LroPolicySet& set);
  // Replaces the whole table at once: readers never see half of the old and half of the new.
  void replace(const LroPolicySet& set);
  // The table in LroPolicySet's JSON form, rules sorted by type and operation.
  nlohmann::json to_json() const;
  uint64_t revision() const { return revision_.value(); }  // common/revision.h

 private:
  Revision revision_;
  mutable std::mutex mu_;
  LroPolicy default_;
  std::map<std::pair<std::string, std::string>, LroPolicy> rules_;  // lower-case keys
};

using Completion = std::function<std::optional<OperationError>()>;
// Undoes what the request that started an operation already wrote, when an injected fault ends
// the operation without its completion (a real failure's completion undoes it itself): a
// cluster update puts back its previous customer-managed key settings, as Azure does.
using Rollback = std::function<void()>;

// A fault injected into one operation (faults/, issue 7), decided when the operation starts:
// Fail and Cancel end it without running its completion (the work was not done; the resource
// is marked by the engine's fault hook), Hold keeps it running until released, Delay adds
// virtual time before it may finish.
struct LroFault {
  enum class Outcome { Fail, Cancel, Hold, Delay };
  Outcome outcome = Outcome::Fail;
  OperationError error;  // Fail
  Duration delay{};      // Delay
};

struct Operation {
  std::string id;            // GUID: the {opId} of operationResults/{opId}
  std::string resource_key;  // lower-case ARM id of the resource it changes
  std::string kind;          // "ServiceConfigurationAlter", "ClusterCreateExternal", ...
  std::string location;      // normalised region, for the operation URLs
  TimePoint started_at;
  std::optional<TimePoint> ended_at;
  OperationStatus status = OperationStatus::Running;
  std::optional<OperationError> error;
  int polls = 0;
  std::optional<LroFault> fault;  // injected at start
  bool held = false;              // a Hold fault not yet released
};

class ResourceStore;
// What an injected Fail or Cancel leaves on the resource (OperationEngine::set_on_faulted): the
// resource's provisioningState becomes Failed or Canceled, and a transitional `state`
// (Creating, Updating, ...) returns to where it came from. The work itself was not done.
void mark_faulted(ResourceStore& resources, const Operation& op);

class OperationEngine {
 public:
  OperationEngine(const Clock& clock, IdGenerator& ids, size_t max_records = 10000);

  // Starts an operation and returns its id. An Immediate policy completes it before returning.
  std::string start(std::string resource_key, std::string kind, std::string location,
                    LroPolicy policy, Completion completion, Rollback rollback = nullptr);

  // The operation after counting one poll and settling it if due; nullopt when unknown. An
  // operation another thread is completing (the settler) is waited for, so that a poll made once
  // it is due answers its outcome, never Running.
  std::optional<Operation> poll(const std::string& id);
  // Settles the resource's due operations without counting a poll, waiting as poll() does: the
  // resource read next shows their outcome.
  void settle_resource(const std::string& resource_key);
  // Settles every due operation without counting a poll, as ARM finishes work nobody is
  // watching; returns how many it completed. An operation under a polls policy is due only once
  // polled, so this completes those only if a poll left them due.
  size_t settle_due();
  // A non-terminal operation on the resource (writes meet 409 RequestConflict).
  bool has_running(const std::string& resource_key) const;
  // Reads without side effects.
  std::optional<Operation> get(const std::string& id) const;

  // Fault injection. `source` is asked once per start() for a fault to attach to the new
  // operation (the fault filter answers for the request being served). `on_faulted` runs, without
  // the engine's lock, after an injected Fail or Cancel ended an operation, so the owner can
  // mark the resource. Both set before the listeners start.
  void set_fault_source(std::function<std::optional<LroFault>()> source);
  void set_on_faulted(std::function<void(const Operation&)> on_faulted);
  // Runs, without the engine's lock, after any operation ended (Succeeded, Failed or Canceled),
  // once the resource shows the outcome: the emulator logs failures. Set before the listeners
  // start.
  void set_on_ended(std::function<void(const Operation&)> on_ended);
  // Lets a held operation finish (at its next read, under its policy); false when unknown or
  // not held. release_all() returns how many it released.
  bool release(const std::string& id);
  size_t release_all();
  // Operations not yet finished, oldest first.
  std::vector<Operation> running() const;

  // State export and import (state/snapshot.h). all(): every operation record, by id.
  // replace_all(): the records, all of them finished (a running operation's work lives in this
  // process and cannot be saved: the snapshot ends such operations before importing them).
  std::vector<Operation> all() const;
  void replace_all(std::vector<Operation> finished);
  // Bumped when an operation starts, ends, is released or trimmed; not by polls
  // (common/revision.h). changes(): the ids of the operations changed, once tracked.
  uint64_t revision() const { return revision_.value(); }
  ChangeLog& changes() const { return revision_.changes(); }

 private:
  struct Entry {
    Operation op;
    LroPolicy policy;
    Completion completion;
    Rollback rollback;
    bool completing = false;
  };
  bool due(const Entry& e) const;
  // Completes every entry in `ids` that is due (lock released while completions run); returns
  // how many.
  size_t complete_due(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& ids);
  // Waits until none of `ids` is being completed by another thread (not when this thread runs
  // completions: one that reads an operation must not wait for itself).
  void await_completions(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& ids);
  void trim();

  const Clock& clock_;
  IdGenerator& ids_;
  Revision revision_;
  const size_t max_records_;
  std::function<std::optional<LroFault>()> fault_source_;
  std::function<void(const Operation&)> on_faulted_;
  std::function<void(const Operation&)> on_ended_;
  mutable std::mutex mu_;
  std::condition_variable completed_;  // notified when completions end
  std::map<std::string, Entry> ops_;
  // Non-terminal operations by resource key: GET of a resource settles only its own, in O(log n).
  std::map<std::string, std::vector<std::string>> running_;
  uint64_t sequence_ = 0;
  std::map<uint64_t, std::string> finished_order_;  // for trimming, oldest first
};

}  // namespace cmk::arm
