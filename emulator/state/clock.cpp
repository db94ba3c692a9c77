#include "state/clock.h"

#include <ctime>
#include <string>

namespace cmk {

namespace {
const RealClock& real_clock() {
  static const RealClock clock;
  return clock;
}
}  // namespace

VirtualClock::VirtualClock(const Clock* base) : base_(base ? base : &real_clock()) {}

TimePoint VirtualClock::now() const {
  std::lock_guard lock(mu_);
  if (frozen_) return frozen_at_;
  return base_->now() + offset_;
}

bool VirtualClock::advance(Duration by) {
  if (by < Duration::zero()) return false;
  std::lock_guard lock(mu_);
  offset_ += by;
  if (frozen_) frozen_at_ += by;
  return true;
}

void VirtualClock::set_frozen(bool frozen) {
  std::lock_guard lock(mu_);
  if (frozen == frozen_) return;
  if (frozen) {
    frozen_at_ = base_->now() + offset_;
  } else {
    // Resume from the frozen instant: the time that passed while frozen is absorbed.
    offset_ = frozen_at_ - base_->now();
  }
  frozen_ = frozen;
}

bool VirtualClock::frozen() const {
  std::lock_guard lock(mu_);
  return frozen_;
}

Duration VirtualClock::offset() const {
  std::lock_guard lock(mu_);
  if (frozen_) return frozen_at_ - base_->now();
  return offset_;
}

int64_t to_unix_seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint from_unix_seconds(int64_t s) { return TimePoint(std::chrono::seconds(s)); }

std::string to_iso8601(TimePoint t) {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since);
  const auto ticks = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count() / 100;
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%07lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ticks));
  return buf;
}

}  // namespace cmk
