// The virtual clock every emulated service reads.
//
// Contract: domain code never calls std::chrono::system_clock directly and never sleeps; it asks
// a Clock for "now" and compares. The VirtualClock follows real time plus an offset that tests
// move forward (advance) and can be frozen, so operation progress, key validity, retention,
// rotation and key refresh can be exercised in milliseconds. Access-token lifetimes are the one
// exception: they are stamped and checked on RealClock, because clients cache tokens
// by their own clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/revision.h"

namespace cmk {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

class VirtualClock final : public Clock {
 public:
  // `base` is where real time is read from; tests may pass a fake.
  explicit VirtualClock(const Clock* base = nullptr);

  TimePoint now() const override;

  // Moves virtual time forward. Negative durations are refused (time never runs backwards,
  // since operations and retention already scheduled would otherwise misbehave).
  bool advance(Duration by);

  // Frozen: virtual time stops at its current value until unfrozen or advanced.
  void set_frozen(bool frozen);
  bool frozen() const;

  // How far virtual time is ahead of real time.
  Duration offset() const;

  // The clock's own settings, for state export and import (state/snapshot.h): when not frozen,
  // virtual time is real time + offset (so it keeps moving while the emulator is down, as real
  // time does); when frozen, it stays at frozen_at.
  struct State {
    bool frozen = false;
    Duration offset{0};
    TimePoint frozen_at{};
  };
  State state() const;
  void set_state(const State& s);
  uint64_t revision() const { return revision_.value(); }  // common/revision.h

 private:
  Revision revision_;
  const Clock* base_;
  mutable std::mutex mu_;
  Duration offset_{0};
  bool frozen_ = false;
  TimePoint frozen_at_{};
};

// Unix seconds and ISO-8601 (UTC, "2024-01-02T03:04:05.1234567Z") renderings used on the wire.
int64_t to_unix_seconds(TimePoint t);
TimePoint from_unix_seconds(int64_t s);
std::string to_iso8601(TimePoint t);
// "2024-01-02T03:04:05Z", with optional fractional seconds and a "Z", "+hh:mm" or "-hh:mm"
// zone (none = UTC); nullopt when malformed.
std::optional<TimePoint> parse_iso8601(std::string_view text);
// A moment people write in configuration: ISO-8601 as above, or relative to `now` as "now",
// "now+30s", "now-5m" (units s, m, h, d). nullopt when malformed.
std::optional<TimePoint> parse_time_spec(std::string_view text, TimePoint now);

}  // namespace cmk
