// The reader every JSON document from outside the process goes through (common/json_input.h):
// request bodies of every surface, fixtures, state documents, fault files. The nesting limit
// must hold before nlohmann sees the text, and whatever it accepts must be safe to walk, dump
// and parse again.
//
// Input: any bytes, read as a JSON document.
#include <string>

#include <nlohmann/json.hpp>

#include "common/json_input.h"
#include "common/utf8.h"
#include "fuzz_support.h"

using namespace cmk;
using nlohmann::json;

namespace {
size_t depth_of(const json& j) {
  size_t deepest = 0;
  if (j.is_object() || j.is_array())
    for (const auto& child : j) deepest = std::max(deepest, depth_of(child));
  return (j.is_object() || j.is_array()) ? deepest + 1 : 0;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  for (const size_t limit : {kMaxJsonNesting, size_t{3}}) {
    size_t where = 0;
    const size_t scanned = json_nesting_depth(text, limit, &where);
    auto parsed = parse_json_input(text, limit);
    if (scanned > limit) {
      FUZZ_CHECK(!parsed, std::string(text));
      FUZZ_CHECK(where < text.size(), std::string(text));
    }
    if (!parsed) {
      FUZZ_CHECK(!parsed.error().empty(), std::string(text));
      continue;
    }
    // Accepted documents are within the limit, and come back equal from their own text.
    const json& doc = parsed.value();
    FUZZ_CHECK(depth_of(doc) <= limit, std::string(text));
    const std::string dumped = json_text(doc);
    auto again = parse_json_input(dumped, limit);
    FUZZ_CHECK(again.is_ok(), dumped);
    FUZZ_CHECK(again.value() == doc, dumped);
  }
  (void)line_and_column(text, size / 2);
  (void)line_and_column(text, size + 1);
  return 0;
}
