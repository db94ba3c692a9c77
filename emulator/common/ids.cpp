#include "common/ids.h"

namespace cmk {

namespace {
std::string format_guid(uint64_t hi, uint64_t lo) {
  // Version 4, variant 1 bits, as real Azure GUIDs carry.
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

uint64_t os_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

IdGenerator::IdGenerator(std::optional<uint64_t> seed) : rng_(seed ? *seed : os_seed()) {}

uint64_t IdGenerator::next() {
  std::lock_guard lock(mu_);
  return rng_();
}

std::string IdGenerator::guid() {
  std::lock_guard lock(mu_);
  uint64_t hi = rng_(), lo = rng_();
  return format_guid(hi, lo);
}

std::string IdGenerator::hex32() {
  std::lock_guard lock(mu_);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  return buf;
}

std::string random_guid() {
  thread_local std::mt19937_64 rng(os_seed());
  uint64_t hi = rng(), lo = rng();
  return format_guid(hi, lo);
}

}  // namespace cmk
