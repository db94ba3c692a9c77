// Ready-made RSA keys for key creation (the target: create RSA-2048 at p50 <= 2 ms, while raw
// generation takes 60-150 ms).
//
// Contract:
// - One small pool per pooled size (default 2048 and 3072 bits, public exponent 65537), filled by
//   one background worker thread, never on the request path.
// - take(bits) returns a pooled key at once when one is ready; otherwise (pool empty, size not
//   pooled, another exponent, pool disabled) it generates the key on the calling thread, so a
//   caller never waits longer than generating one key itself. Taking wakes the worker to refill.
// - Filling starts lazily, on the first take() of a pooled size, or at once with warm(). A pool
//   that nobody asks for costs nothing (unit tests start many emulators).
// - capacity 0 disables pooling: every take() generates inline (deterministic tests).
// - The destructor stops the worker promptly: a generation in progress is cancelled.
// - Thread-safe. Pooled keys are kept only in memory and never logged.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "keyvault_data/key_material.h"

namespace cmk::keyvault_data {

struct RsaKeyPoolOptions {
  size_t capacity = 4;                 // keys kept ready per pooled size; 0 = no pool
  std::vector<int> sizes{2048, 3072};  // pooled modulus sizes
};

class RsaKeyPool {
 public:
  explicit RsaKeyPool(RsaKeyPoolOptions options = {});
  ~RsaKeyPool();
  RsaKeyPool(const RsaKeyPool&) = delete;
  RsaKeyPool& operator=(const RsaKeyPool&) = delete;

  KeyResult<KeyMaterial> take(int bits, unsigned long public_exponent = 65537);
  // Starts filling every pooled size now.
  void warm();
  // Keys ready now for `bits` (tests and the admin view).
  size_t ready(int bits) const;
  size_t capacity() const { return options_.capacity; }

 private:
  bool pooled(int bits) const;
  void start_worker_locked();
  void run();

  RsaKeyPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<int, std::deque<KeyMaterial>> ready_;
  std::map<int, bool> wanted_;  // sizes asked for at least once (or warmed)
  std::atomic<bool> stopping_{false};
  std::thread worker_;
};

}  // namespace cmk::keyvault_data
