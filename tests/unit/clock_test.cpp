#include <catch2/catch.hpp>

#include "test_support.h"

#include "state/clock.h"

using namespace cmk;
using namespace std::chrono_literals;

using test::ManualClock;

TEST_CASE("virtual clock follows its base and advances on demand", "[clock]") {
  ManualClock base;
  VirtualClock clock(&base);
  REQUIRE(clock.now() == base.t);
  base.t += 5s;
  REQUIRE(clock.now() == base.t);
  REQUIRE(clock.advance(std::chrono::hours(24 * 30)));
  REQUIRE(clock.now() == base.t + std::chrono::hours(24 * 30));
  REQUIRE(clock.offset() == std::chrono::hours(24 * 30));
}

TEST_CASE("virtual clock never runs backwards", "[clock]") {
  ManualClock base;
  VirtualClock clock(&base);
  REQUIRE_FALSE(clock.advance(-1s));
  REQUIRE(clock.now() == base.t);
}

TEST_CASE("a frozen clock stands still until advanced or unfrozen", "[clock]") {
  ManualClock base;
  VirtualClock clock(&base);
  clock.set_frozen(true);
  const TimePoint at = clock.now();
  base.t += 10s;
  REQUIRE(clock.now() == at);
  clock.advance(3s);
  REQUIRE(clock.now() == at + 3s);
  clock.set_frozen(false);
  REQUIRE(clock.now() == at + 3s);  // resumes where it stood
  base.t += 1s;
  REQUIRE(clock.now() == at + 4s);
}

TEST_CASE("wire time formats", "[clock]") {
  REQUIRE(to_unix_seconds(from_unix_seconds(1'700'000'000)) == 1'700'000'000);
  REQUIRE(to_iso8601(from_unix_seconds(0)) == "1970-01-01T00:00:00.0000000Z");
  REQUIRE(to_iso8601(from_unix_seconds(1'700'000'000) + 1500ms) == "2023-11-14T22:13:21.5000000Z");
}
