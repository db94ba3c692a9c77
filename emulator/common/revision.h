// Change tracking for persistence (state/persistence.h).
//
// Revision: a change counter. A store bumps it on every write that changes what it would export,
// so persistence can tell with one atomic load whether a store changed since it last looked.
// Values only grow; equal values mean "nothing to write again".
//
// ChangeLog: which rows changed, for stores large enough that looking at every row after each
// write would cost more than the write (resources, operations, keys). Off until track(): without
// --state-dir nothing is recorded and nothing grows. One reader takes what was recorded.
//
// The order that makes a reader miss nothing: a store records the row's key *before* it bumps
// the counter, both under the lock that guards the row (Revision::bump(key) does the first two
// in that order). A reader reads the counter, then take()s, then reads each row under the
// store's lock. A change the counter already shows was recorded before the reader took, and
// reading its row waits for the writer's lock, so the reader sees the row as changed; a change
// the counter does not show yet makes the next reader look again.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cmk {

class ChangeLog {
 public:
  // Starts recording and forgets what was recorded so far (the reader has just read every row).
  void track() {
    std::lock_guard lock(mu_);
    all_ = false;
    keys_.clear();
    on_.store(true, std::memory_order_release);
  }
  // The row `key` changed: added, modified or removed.
  void record(std::string_view key) {
    if (!on_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(mu_);
    if (!all_) keys_.emplace(key);
  }
  // Any row may have changed (the store was replaced).
  void record_all() {
    if (!on_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(mu_);
    all_ = true;
    keys_.clear();
  }
  struct Changes {
    bool all = false;               // read every row
    std::vector<std::string> keys;  // else these, sorted, each once
  };
  // What was recorded since the last take() (or track()), forgetting it.
  Changes take() {
    std::lock_guard lock(mu_);
    Changes c;
    c.all = all_;
    c.keys.assign(keys_.begin(), keys_.end());
    all_ = false;
    keys_.clear();
    return c;
  }

 private:
  std::atomic<bool> on_{false};
  std::mutex mu_;
  bool all_ = false;
  std::set<std::string> keys_;
};

class Revision {
 public:
  // A change that is not one row's (or of a store whose rows nobody tracks).
  void bump() {
    changes_.record_all();
    n_.fetch_add(1, std::memory_order_acq_rel);
  }
  // A change of the row `key` (see the top of this file for the order).
  void bump(std::string_view key) {
    changes_.record(key);
    n_.fetch_add(1, std::memory_order_acq_rel);
  }
  uint64_t value() const { return n_.load(std::memory_order_acquire); }
  ChangeLog& changes() const { return changes_; }

 private:
  std::atomic<uint64_t> n_{0};
  mutable ChangeLog changes_;
};

}  // namespace cmk
