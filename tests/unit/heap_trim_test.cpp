#include <catch2/catch.hpp>

#include "common/heap_trim.h"

using namespace std::chrono_literals;

TEST_CASE("heap trim: due once per interval, never on the first call", "[heap_trim]") {
  cmk::HeapTrimmer trimmer(60s);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  CHECK_FALSE(trimmer.maybe_trim(t0));  // starts the count
  CHECK_FALSE(trimmer.maybe_trim(t0 + 59s));
  CHECK(trimmer.maybe_trim(t0 + 60s));
  CHECK_FALSE(trimmer.maybe_trim(t0 + 61s));  // counted from the last trim, not from the start
  CHECK_FALSE(trimmer.maybe_trim(t0 + 119s));
  CHECK(trimmer.maybe_trim(t0 + 120s));
  CHECK(trimmer.trims() == 2);
}

TEST_CASE("heap trim: a zero interval trims on every call after the first", "[heap_trim]") {
  cmk::HeapTrimmer trimmer(0s);
  const auto t0 = std::chrono::steady_clock::time_point{};
  CHECK_FALSE(trimmer.maybe_trim(t0));
  CHECK(trimmer.maybe_trim(t0));
  CHECK(trimmer.maybe_trim(t0 + 1ms));
  CHECK(trimmer.trims() == 2);
}
