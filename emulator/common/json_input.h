// JSON from outside the process (request bodies, fixtures, state documents, fault files).
// nlohmann::json parses any depth, but copying, comparing, dumping and walking a document are
// recursive, so a body nested 100 000 deep would overflow the stack long after it was accepted.
// Every parse of such input goes through parse_json_input, which refuses excessive nesting before
// nlohmann sees the text, and reports errors with a line and a column.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cmk {

// Deepest nesting of arrays and objects accepted in input JSON. Azure's own documents (templates
// included) stay far below; the limit only has to keep recursion off the end of a thread's stack.
inline constexpr size_t kMaxJsonNesting = 64;

// `text` parsed, or an error naming what is wrong and where: "invalid JSON at line 3, column 7
// (syntax error ...)", "JSON nested deeper than 64 levels at line 1, column 65", or a number out
// of range ("1e400"). `what` prefixes nothing; callers add the document's name.
Result<nlohmann::json> parse_json_input(std::string_view text,
                                        size_t max_nesting = kMaxJsonNesting);

// "line L, column C" of byte offset `byte` in `text` (both 1-based), for messages about input.
std::string line_and_column(std::string_view text, size_t byte);

// The deepest nesting of arrays and objects in `text` (brackets inside strings do not count),
// stopping early once `limit` is exceeded; `offset` receives the byte where it was.
size_t json_nesting_depth(std::string_view text, size_t limit, size_t* offset = nullptr);

}  // namespace cmk
