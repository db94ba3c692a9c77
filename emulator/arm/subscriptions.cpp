#include "arm/subscriptions.h"

#include "http/message.h"

namespace cmk::arm {

void SubscriptionRegistry::put(Subscription s) {
  std::lock_guard lock(mu_);
  revision_.bump();
  for (auto& existing : subs_) {
    if (http::iequals(existing.id, s.id)) {
      existing = std::move(s);
      return;
    }
  }
  subs_.push_back(std::move(s));
}

std::optional<Subscription> SubscriptionRegistry::find(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& s : subs_)
    if (http::iequals(s.id, id)) return s;
  return std::nullopt;
}

std::vector<Subscription> SubscriptionRegistry::all() const {
  std::lock_guard lock(mu_);
  return subs_;
}

void SubscriptionRegistry::replace_all(std::vector<Subscription> subs) {
  std::lock_guard lock(mu_);
  subs_ = std::move(subs);
  revision_.bump();
}

}  // namespace cmk::arm
