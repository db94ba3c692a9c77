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
  revision_.bump();
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
  revision_.bump();
}

VirtualClock::State VirtualClock::state() const {
  std::lock_guard lock(mu_);
  return {frozen_, offset_, frozen_at_};
}

void VirtualClock::set_state(const State& s) {
  std::lock_guard lock(mu_);
  frozen_ = s.frozen;
  offset_ = s.offset;
  frozen_at_ = s.frozen_at;
  revision_.bump();
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

TimePoint from_unix_seconds(int64_t s) {
  return TimePoint(std::chrono::seconds(s));
}

std::string to_iso8601(TimePoint t) {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since);
  const auto ticks =
      std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count() / 100;
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%07lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ticks));
  return buf;
}

namespace {

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect_char(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<TimePoint> parse_iso8601(std::string_view s) {
  size_t pos = 0;
  int year, mon, day, hour, min, sec;
  if (!digits(s, pos, 4, year) || !expect_char(s, pos, '-') || !digits(s, pos, 2, mon) ||
      !expect_char(s, pos, '-') || !digits(s, pos, 2, day) ||
      !(expect_char(s, pos, 'T') || expect_char(s, pos, 't') || expect_char(s, pos, ' ')) ||
      !digits(s, pos, 2, hour) || !expect_char(s, pos, ':') || !digits(s, pos, 2, min) ||
      !expect_char(s, pos, ':') || !digits(s, pos, 2, sec))
    return std::nullopt;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return std::nullopt;
  std::chrono::nanoseconds fraction{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000, ns = 0;
    const size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    fraction = std::chrono::nanoseconds(ns);
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos++] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(s, pos, 2, oh) || !expect_char(s, pos, ':') || !digits(s, pos, 2, om))
      return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  return TimePoint(std::chrono::seconds(t) - std::chrono::minutes(offset_minutes)) +
         std::chrono::duration_cast<Duration>(fraction);
}

std::optional<TimePoint> parse_time_spec(std::string_view s, TimePoint now) {
  if (s.size() < 3 || (s.substr(0, 3) != "now" && s.substr(0, 3) != "NOW")) return parse_iso8601(s);
  s.remove_prefix(3);
  if (s.empty()) return now;
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  const int sign = s[0] == '-' ? -1 : 1;
  int64_t n = 0;
  size_t i = 1;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    n = n * 10 + (s[i] - '0');
    if (n > 100'000'000) return std::nullopt;
  }
  if (i == 1 || i + 1 != s.size()) return std::nullopt;
  int64_t unit = 0;
  switch (s[i]) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  return now + std::chrono::seconds(sign * n * unit);
}

}  // namespace cmk
