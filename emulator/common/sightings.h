// A bounded, thread-safe tally of values seen, for "say it once, count it always" reporting:
// note() tells whether a value is new, so the caller logs it the first time only, and to_json()
// reports how often each value was seen. Values are kept as given (the caller bounds their
// length); past `max_distinct` values, new ones are counted together under "(others)" so that a
// client sending endless distinct values cannot grow memory.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace cmk {

class Sightings {
 public:
  explicit Sightings(size_t max_distinct = 100) : max_distinct_(max_distinct) {}

  // Counts one sighting; true when `value` had not been seen before (and is still tracked).
  bool note(const std::string& value) {
    std::lock_guard lock(mu_);
    ++total_;
    auto it = counts_.find(value);
    if (it != counts_.end()) {
      ++it->second;
      return false;
    }
    if (counts_.size() >= max_distinct_) {
      ++others_;
      return false;
    }
    counts_.emplace(value, 1);
    return true;
  }

  // {"total": N, "values": {"value": count, ...}} with "(others)" when some were not tracked.
  nlohmann::json to_json() const {
    std::lock_guard lock(mu_);
    nlohmann::json values = nlohmann::json::object();
    for (const auto& [value, count] : counts_) values[value] = count;
    if (others_) values["(others)"] = others_;
    return {{"total", total_}, {"values", values}};
  }

  void clear() {
    std::lock_guard lock(mu_);
    counts_.clear();
    total_ = others_ = 0;
  }

 private:
  const size_t max_distinct_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> counts_;
  uint64_t total_ = 0, others_ = 0;
};

}  // namespace cmk
