#include "keyvault_data/rsa_key_pool.h"

#include <algorithm>

namespace cmk::keyvault_data {

RsaKeyPool::RsaKeyPool(RsaKeyPoolOptions options) : options_(std::move(options)) {}

RsaKeyPool::~RsaKeyPool() {
  {
    std::lock_guard lock(mu_);
    stopping_.store(true);
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool RsaKeyPool::pooled(int bits) const {
  return options_.capacity > 0 &&
         std::find(options_.sizes.begin(), options_.sizes.end(), bits) != options_.sizes.end();
}

void RsaKeyPool::start_worker_locked() {
  if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
}

KeyResult<KeyMaterial> RsaKeyPool::take(int bits, unsigned long public_exponent) {
  if (public_exponent == 65537 && pooled(bits)) {
    std::unique_lock lock(mu_);
    wanted_[bits] = true;
    start_worker_locked();
    auto& q = ready_[bits];
    if (!q.empty()) {
      KeyMaterial k = std::move(q.front());
      q.pop_front();
      lock.unlock();
      wake_.notify_one();
      return k;
    }
    lock.unlock();
    wake_.notify_one();
  }
  // Nothing ready: the caller generates its own key rather than wait for the worker's.
  return KeyMaterial::generate_rsa(bits, public_exponent);
}

void RsaKeyPool::warm() {
  if (options_.capacity == 0) return;
  {
    std::lock_guard lock(mu_);
    for (int bits : options_.sizes) wanted_[bits] = true;
    start_worker_locked();
  }
  wake_.notify_one();
}

size_t RsaKeyPool::ready(int bits) const {
  std::lock_guard lock(mu_);
  auto it = ready_.find(bits);
  return it == ready_.end() ? 0 : it->second.size();
}

void RsaKeyPool::run() {
  std::unique_lock lock(mu_);
  while (!stopping_.load()) {
    // The size furthest below capacity is filled first.
    int next = 0;
    size_t fewest = options_.capacity;
    for (int bits : options_.sizes) {
      if (!wanted_[bits]) continue;
      const size_t have = ready_[bits].size();
      if (have < fewest) {
        fewest = have;
        next = bits;
      }
    }
    if (next == 0) {
      wake_.wait(lock);
      continue;
    }
    lock.unlock();
    auto key = KeyMaterial::generate_rsa(next, 65537, &stopping_);
    lock.lock();
    if (key && ready_[next].size() < options_.capacity) ready_[next].push_back(std::move(key.value()));
    // A failure that is not our own cancellation stops filling that size until it is asked
    // for again, rather than spinning on it.
    if (!key) wanted_[next] = false;
  }
}

}  // namespace cmk::keyvault_data
