// Subscriptions known to ARM. Each belongs to one tenant of the identity directory.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/revision.h"

namespace cmk::arm {

struct Subscription {
  std::string id;  // GUID
  std::string tenant_id;
  std::string display_name;
  std::string state = "Enabled";
};

class SubscriptionRegistry {
 public:
  void put(Subscription s);  // adds or replaces by id (case-insensitive)
  std::optional<Subscription> find(const std::string& id) const;
  std::vector<Subscription> all() const;
  // State import and reset (state/snapshot.h).
  void replace_all(std::vector<Subscription> subs);
  uint64_t revision() const { return revision_.value(); }  // common/revision.h

 private:
  Revision revision_;
  mutable std::mutex mu_;
  std::vector<Subscription> subs_;
};

}  // namespace cmk::arm
