// Helpers shared by the libFuzzer harnesses (fuzz/*_fuzzer.cpp): turning the input into text
// and lines, and a check that fails loudly. A failed check aborts, so libFuzzer records the input
// as a crash exactly as it would a sanitizer report, and the replay tests fail on it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace cmk::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The text up to the first '\n' (a trailing '\r' dropped), and what follows it.
inline std::pair<std::string_view, std::string_view> first_line(std::string_view text) {
  const size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return {line, nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1)};
}

[[noreturn]] inline void check_failed(const char* what, const char* file, int line,
                                      std::string_view detail) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n  %.*s\n", file, line, what,
               static_cast<int>(detail.size() > 2000 ? 2000 : detail.size()), detail.data());
  std::abort();
}

}  // namespace cmk::fuzz

// An invariant of the code under test; `detail` (a string) is printed when it fails.
#define FUZZ_CHECK(cond, detail) \
  ((cond) ? void(0) : ::cmk::fuzz::check_failed(#cond, __FILE__, __LINE__, (detail)))
