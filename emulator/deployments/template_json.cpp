#include "deployments/template_json.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

#include "common/json_input.h"

namespace cmk::deployments {

namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '-';
}

class Rewriter {
 public:
  explicit Rewriter(std::string_view in) : in_(in) {}

  // Returns false (with `error_at`) on an unterminated comment.
  bool run() {
    while (i_ < in_.size()) {
      const char c = in_[i_];
      if (c == '"') {
        string_literal();
      } else if (c == '/' && i_ + 1 < in_.size() && (in_[i_ + 1] == '/' || in_[i_ + 1] == '*')) {
        if (!comment()) return false;
      } else if (c == ',' && closes_next(i_ + 1)) {
        ++i_;  // trailing comma
      } else if (ident_start(c) && key_position() && bare_key_end(i_) != 0) {
        const size_t end = bare_key_end(i_);
        emit('"', i_);
        for (; i_ < end; ++i_) emit(in_[i_], i_);
        emit('"', i_ - 1);
      } else {
        emit(c, i_);
        ++i_;
      }
    }
    return true;
  }

  std::string out;
  std::vector<size_t> origin;  // origin[k]: offset in the input of out[k]
  size_t error_at = 0;

 private:
  void emit(char c, size_t from) {
    out += c;
    origin.push_back(from);
  }

  void string_literal() {
    emit('"', i_++);
    while (i_ < in_.size()) {
      const char c = in_[i_];
      if (c == '\\' && i_ + 1 < in_.size()) {
        emit(c, i_);
        emit(in_[i_ + 1], i_ + 1);
        i_ += 2;
        continue;
      }
      if (c == '"') {
        emit(c, i_++);
        return;
      }
      if (static_cast<unsigned char>(c) < 0x20) {  // raw control character: escape it
        const char* esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : nullptr;
        if (esc) {
          emit(esc[0], i_);
          emit(esc[1], i_);
        } else {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          for (const char* b = buf; *b; ++b) emit(*b, i_);
        }
        ++i_;
        continue;
      }
      emit(c, i_++);
    }
  }

  bool comment() {
    const size_t start = i_;
    if (in_[i_ + 1] == '/') {
      while (i_ < in_.size() && in_[i_] != '\n') ++i_;
      return true;
    }
    const size_t end = in_.find("*/", i_ + 2);
    if (end == std::string_view::npos) {
      error_at = start;
      return false;
    }
    i_ = end + 2;
    emit(' ', start);
    return true;
  }

  // Skips white space and comments from `k`; the offset of the next significant character.
  size_t skip(size_t k) const {
    while (k < in_.size()) {
      if (std::isspace(static_cast<unsigned char>(in_[k]))) {
        ++k;
      } else if (in_[k] == '/' && k + 1 < in_.size() && in_[k + 1] == '/') {
        while (k < in_.size() && in_[k] != '\n') ++k;
      } else if (in_[k] == '/' && k + 1 < in_.size() && in_[k + 1] == '*') {
        const size_t end = in_.find("*/", k + 2);
        if (end == std::string_view::npos) return in_.size();
        k = end + 2;
      } else {
        break;
      }
    }
    return k;
  }

  bool closes_next(size_t k) const {
    k = skip(k);
    return k < in_.size() && (in_[k] == '}' || in_[k] == ']');
  }

  // The last significant character written is '{' or ',' : a key may start here.
  bool key_position() const {
    for (size_t k = out.size(); k > 0; --k) {
      const char c = out[k - 1];
      if (std::isspace(static_cast<unsigned char>(c))) continue;
      return c == '{' || c == ',';
    }
    return false;
  }

  // End of a bare key starting at `k` when a ':' follows it; 0 otherwise.
  size_t bare_key_end(size_t k) const {
    size_t e = k;
    while (e < in_.size() && ident_char(in_[e])) ++e;
    const size_t next = skip(e);
    return next < in_.size() && in_[next] == ':' ? e : 0;
  }

  std::string_view in_;
  size_t i_ = 0;
};

}  // namespace

Result<nlohmann::json> parse_lenient_json(std::string_view text) {
  Rewriter r(text);
  if (!r.run())
    return Status::error("unterminated /* comment at " + line_and_column(text, r.error_at));
  size_t deep_at = 0;
  if (json_nesting_depth(r.out, kMaxJsonNesting, &deep_at) > kMaxJsonNesting) {
    const size_t origin = r.origin.empty() ? 0 : r.origin[std::min(deep_at, r.origin.size() - 1)];
    return Status::error("JSON nested deeper than " + std::to_string(kMaxJsonNesting) +
                         " levels at " + line_and_column(text, origin));
  }
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::out_of_range& e) {  // 1e400
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Status::error("invalid JSON: " + what);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based, in the rewritten text.
    size_t at = e.byte > 0 ? e.byte - 1 : 0;
    const size_t origin = r.origin.empty() ? 0 : r.origin[std::min(at, r.origin.size() - 1)];
    std::string what = e.what();
    if (auto colon = what.rfind(": "); colon != std::string::npos) what = what.substr(colon + 2);
    return Status::error("invalid JSON at " + line_and_column(text, origin) + ": " + what);
  }
}

}  // namespace cmk::deployments
