#include "deployments/unique_string.h"

#include <openssl/sha.h>

#include <cstdio>

namespace cmk::deployments {

namespace {

constexpr uint32_t kM1 = 0x239b961bu;
constexpr uint32_t kM2 = 0xab0e9789u;
constexpr uint32_t kAdd1 = 0x561ccd1bu;
constexpr uint32_t kAdd2 = 0x0bcaa747u;
constexpr uint32_t kFmix1 = 0x85ebca6bu;
constexpr uint32_t kFmix2 = 0xc2b2ae35u;

uint32_t rotl(uint32_t v, int n) {
  return (v << n) | (v >> (32 - n));
}

// Little-endian word of up to 4 bytes starting at `p`.
uint32_t word(const unsigned char* p, size_t n) {
  uint32_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= static_cast<uint32_t>(p[i]) << (8 * i);
  return w;
}

uint32_t mix_lane1(uint32_t k) {
  return rotl(k * kM1, 15) * kM2;
}
uint32_t mix_lane2(uint32_t k) {
  return rotl(k * kM2, 17) * kM1;
}

uint32_t finalize(uint32_t h) {
  h ^= h >> 16;
  h *= kFmix1;
  h ^= h >> 13;
  h *= kFmix2;
  h ^= h >> 16;
  return h;
}

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) s += '-';
    s += parts[i];
  }
  return s;
}

}  // namespace

uint64_t arm_murmur64(std::string_view data, uint32_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  uint32_t h1 = seed, h2 = seed;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    h1 = (rotl(h1 ^ mix_lane1(word(p + i, 4)), 19) + h2) * 5 + kAdd1;
    h2 = (rotl(h2 ^ mix_lane2(word(p + i + 4, 4)), 13) + h1) * 5 + kAdd2;
  }
  const size_t tail = n - i;
  if (tail > 0) {
    h1 ^= mix_lane1(word(p + i, tail < 4 ? tail : 4));
    if (tail > 4) h2 ^= mix_lane2(word(p + i + 4, tail - 4));
  }
  h1 ^= static_cast<uint32_t>(n);
  h2 ^= static_cast<uint32_t>(n);
  h1 += h2;
  h2 += h1;
  h1 = finalize(h1);
  h2 = finalize(h2);
  h1 += h2;
  h2 += h1;
  return (static_cast<uint64_t>(h2) << 32) | h1;
}

std::string base32_13(uint64_t value) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  for (int i = 0; i < 13; ++i) {
    out += kAlphabet[value >> 59];
    value <<= 5;
  }
  return out;
}

std::string unique_string(const std::vector<std::string>& parts) {
  return base32_13(arm_murmur64(join(parts)));
}

std::string arm_guid(const std::vector<std::string>& parts) {
  // The namespace in network byte order (RFC 4122 §4.3), then the name.
  static constexpr unsigned char kNamespace[16] = {0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd,
                                                   0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30};
  const std::string name = join(parts);
  std::string input(reinterpret_cast<const char*>(kNamespace), sizeof kNamespace);
  input += name;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(
      out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
      digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14], digest[15]);
  return out;
}

}  // namespace cmk::deployments
