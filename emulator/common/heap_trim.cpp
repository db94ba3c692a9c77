#include "common/heap_trim.h"

#include <malloc.h>

namespace cmk {

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
