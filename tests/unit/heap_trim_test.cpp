#include <catch2/catch.hpp>

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <latch>
#include <string>
#include <thread>
#include <vector>

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

TEST_CASE("heap: limit_malloc_arenas caps the arenas that threads allocate from", "[heap_trim]") {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) {
    WARN("MALLOC_ARENA_MAX is set: the environment decides, limit_malloc_arenas leaves it alone");
    return;
  }
#if defined(__SANITIZE_ADDRESS__)
  WARN("AddressSanitizer replaces malloc: glibc's arenas are not used");
  return;
#endif
  cmk::limit_malloc_arenas(2);
  // glibc gives each new thread an arena of its own at its first malloc while under the cap: 8
  // threads alive at once would make 9 without it.
  constexpr int kThreads = 8;
  std::latch allocated(kThreads), done(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      std::vector<char> held(4096, 'x');
      allocated.count_down();
      done.wait();
    });
  allocated.wait();
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  REQUIRE(out != nullptr);
  malloc_info(0, out);
  std::fclose(out);
  const std::string info(text, size);
  std::free(text);
  done.count_down();
  for (auto& t : threads) t.join();
  size_t heaps = 0;
  for (size_t at = info.find("<heap nr="); at != std::string::npos;
       at = info.find("<heap nr=", at + 1))
    ++heaps;
  CHECK(heaps >= 1);
  CHECK(heaps <= 2);
}
