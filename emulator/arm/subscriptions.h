// Subscriptions known to ARM. Each belongs to one tenant of the identity directory.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

 private:
  mutable std::mutex mu_;
  std::vector<Subscription> subs_;
};

}  // namespace cmk::arm
