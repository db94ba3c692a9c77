#include "common/heap_trim.h"

#include <malloc.h>

#include <cstdlib>

namespace cmk {

void limit_malloc_arenas(int arenas) {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, arenas);
}

bool HeapTrimmer::maybe_trim(TimePoint now) {
  if (!started_) {
    started_ = true;
    last_ = now;
    return false;
  }
  if (now - last_ < every_) return false;
  last_ = now;
  malloc_trim(0);
  ++trims_;
  return true;
}

}  // namespace cmk
