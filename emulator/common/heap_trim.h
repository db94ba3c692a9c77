// Hands the C library's free heap pages back to the system now and then.
//
// Why: the emulator serves each connection on a thread of its own, and glibc gives threads
// separate malloc arenas. Memory freed inside an arena stays mapped, so over a long run of
// connections that come and go the resident size creeps up while the live heap stays flat
// (bench/soak measured +8 % in 15 minutes with heaptrack showing no live growth; docs/soak.md).
// malloc_trim(0) gives back the free pages of every arena; once a minute costs well under a
// millisecond of a thread that is idle anyway.
//
// Thread-compatible: one owner calls maybe_trim() (the emulator's settler thread). Time is passed
// in, so a test decides when a trim is due.
#pragma once

#include <chrono>
#include <cstdint>

namespace cmk {

// Caps glibc's malloc arenas at `arenas` unless MALLOC_ARENA_MAX is set in the environment (the
// user's choice wins). Its default, 8 per core, gives each of the emulator's many short-lived
// connection threads an arena of its own, and the free space scattered over them grows with the
// run: bench/soak measured 40 % less resident growth per iteration with 2 arenas (docs/soak.md).
// Call it first in main(), before any thread starts.
void limit_malloc_arenas(int arenas);

class HeapTrimmer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `every`: the least time between two trims; zero or less trims on every call.
  explicit HeapTrimmer(std::chrono::steady_clock::duration every) : every_(every) {}

  // Trims when `every` has passed since the last trim (the first call only starts the count:
  // a process that just started has nothing to give back). Returns whether it trimmed.
  bool maybe_trim(TimePoint now);

  uint64_t trims() const { return trims_; }

 private:
  std::chrono::steady_clock::duration every_;
  TimePoint last_{};
  bool started_ = false;
  uint64_t trims_ = 0;
};

}  // namespace cmk
