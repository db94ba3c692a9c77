#include "common/json_input.h"

#include <string>

namespace cmk {

std::string line_and_column(std::string_view text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

size_t json_nesting_depth(std::string_view text, size_t limit, size_t* offset) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) {
        if (offset) *offset = i;
        return deepest;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::json> parse_json_input(std::string_view text, size_t max_nesting) {
  size_t where = 0;
  if (json_nesting_depth(text, max_nesting, &where) > max_nesting)
    return Status::error("JSON nested deeper than " + std::to_string(max_nesting) + " levels at " +
                         line_and_column(text, where));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann counts the byte after the offending one (1-based).
    std::string what = e.what();
    if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
    return Status::error("invalid JSON at " + line_and_column(text, e.byte ? e.byte - 1 : 0) +
                         " (" + what + ")");
  } catch (const nlohmann::json::exception& e) {
    // out_of_range.406: a number such as 1e400 that no double holds.
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Status::error("invalid JSON: " + what);
  }
}

}  // namespace cmk
