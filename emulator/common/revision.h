// A change counter: a store bumps it on every write that changes what it would export, so
// persistence (state/persistence.h) can tell with one atomic load whether a store changed since
// it last looked. Values only grow; equal values mean "nothing to write again".
#pragma once

#include <atomic>
#include <cstdint>

namespace cmk {

class Revision {
 public:
  void bump() { n_.fetch_add(1, std::memory_order_acq_rel); }
  uint64_t value() const { return n_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint64_t> n_{0};
};

}  // namespace cmk
