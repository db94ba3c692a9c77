// Identifier generation. IdGenerator is the seam for deterministic runs: seeded, it yields the
// same sequence every time (issue 8's --seed); unseeded, it draws from the OS. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace cmk {

class IdGenerator {
 public:
  explicit IdGenerator(std::optional<uint64_t> seed = std::nullopt);
  std::string guid();   // "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower case
  std::string hex32();  // 32 lower-case hex characters (Key Vault versions)
  uint64_t next();

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
};

// A random GUID from a thread-local generator: for request ids, which need no determinism and
// sit on the hot path.
std::string random_guid();

}  // namespace cmk
