#include "deployments/template_expression.h"

#include <algorithm>
#include <cctype>

#include "common/utf8.h"
#include "http/message.h"

namespace cmk::deployments {

std::string TemplateError::message() const {
  std::string m = "Deployment template validation failed: 'The template ";
  if (!text.empty())
    m += "expression '" + text + "' ";
  else
    m += "value ";
  if (!path.empty()) m += "at '" + path + "' ";
  m += "is not valid: " + detail;
  if (position) m += " (position " + std::to_string(*position) + ")";
  m += ".'";
  return m;
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "String";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "Integer";
    case json::value_t::number_float:
      return "Float";
    case json::value_t::boolean:
      return "Boolean";
    case json::value_t::object:
      return "Object";
    case json::value_t::array:
      return "Array";
    default:
      return "Null";
  }
}

size_t value_bytes(const json& v, size_t limit) {
  const auto rest = [limit](size_t spent) { return spent < limit ? limit - spent : 0; };
  size_t n = 0;
  switch (v.type()) {
    case json::value_t::string:
      return v.get_ref<const std::string&>().size();
    case json::value_t::array:
      for (auto it = v.begin(); it != v.end() && n <= limit; ++it)
        n += value_bytes(*it, rest(n)) + 1;
      return n;
    case json::value_t::object:
      for (auto it = v.begin(); it != v.end() && n <= limit; ++it)
        n += it.key().size() + 1 + value_bytes(it.value(), rest(n));
      return n;
    default:
      return 8;
  }
}

std::string to_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "";
  return v.dump();
}

// --- parser

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Expr parse() {
    // s_ is "[...]": parse between the brackets.
    i_ = 1;
    end_ = s_.size() - 1;
    skip();
    if (i_ >= end_) throw TemplateError("the expression is empty", 1);
    Expr e = expression();
    skip();
    if (i_ < end_)
      throw TemplateError("the character '" + character_at(i_) + "' is not expected", i_);
    return e;
  }

 private:
  void skip() {
    while (i_ < end_ && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool at(char c) {
    skip();
    return i_ < end_ && s_[i_] == c;
  }
  void expect(char c, const char* what) {
    skip();
    if (i_ >= end_)
      throw TemplateError(std::string("the expression ends where ") + what + " was expected", i_);
    if (s_[i_] != c)
      throw TemplateError(
          "the character '" + character_at(i_) + "' is not expected; " + what + " was expected",
          i_);
    ++i_;
  }
  // The whole (UTF-8) character at `pos` for a message: one byte of 'é' would be invalid text.
  std::string character_at(size_t pos) const {
    size_t len = 1;
    while (pos + len < s_.size() && (static_cast<unsigned char>(s_[pos + len]) & 0xC0) == 0x80)
      ++len;
    return utf8_sanitized(s_.substr(pos, len));
  }
  static bool name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  }
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  }

  std::string name() {
    const size_t start = i_;
    while (i_ < end_ && name_char(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  // Each nested call, array index or parenthesis parses through here: the depth is bounded so
  // that neither this parser nor the evaluator (which follows the tree) runs off the stack.
  static constexpr int kMaxNesting = 64;

  Expr expression() {
    struct Depth {
      int& d;
      explicit Depth(int& depth) : d(++depth) {}
      ~Depth() { --d; }
    } depth(depth_);
    if (depth_ > kMaxNesting)
      throw TemplateError(
          "the expression nests deeper than " + std::to_string(kMaxNesting) + " levels", i_);
    Expr e = primary();
    for (;;) {
      skip();
      if (i_ < end_ && s_[i_] == '.') {
        const size_t pos = i_++;
        skip();
        if (i_ >= end_ || !name_start(s_[i_]))
          throw TemplateError("a property name was expected after '.'", i_);
        Expr m;
        m.kind = Expr::Kind::Member;
        m.pos = pos;
        m.text = name();
        m.args.push_back(std::move(e));
        e = std::move(m);
      } else if (i_ < end_ && s_[i_] == '[') {
        const size_t pos = i_++;
        Expr ix;
        ix.kind = Expr::Kind::Index;
        ix.pos = pos;
        ix.args.push_back(std::move(e));
        skip();
        ix.args.push_back(expression());
        expect(']', "']'");
        e = std::move(ix);
      } else {
        return e;
      }
    }
  }

  Expr primary() {
    skip();
    if (i_ >= end_) throw TemplateError("the expression ends where a value was expected", i_);
    const char c = s_[i_];
    Expr e;
    e.pos = i_;
    if (c == '\'') {
      e.kind = Expr::Kind::String;
      ++i_;
      for (;;) {
        if (i_ >= end_) throw TemplateError("the string literal is not terminated", e.pos);
        if (s_[i_] == '\'') {
          if (i_ + 1 < end_ && s_[i_ + 1] == '\'') {
            e.text += '\'';
            i_ += 2;
            continue;
          }
          ++i_;
          return e;
        }
        e.text += s_[i_++];
      }
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '-' && i_ + 1 < end_ && std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))) {
      const size_t start = i_;
      if (c == '-') ++i_;
      while (i_ < end_ && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (i_ < end_ && s_[i_] == '.')
        throw TemplateError("only integer literals are supported (use json('1.5') for others)", i_);
      e.kind = Expr::Kind::Integer;
      try {
        e.integer = std::stoll(std::string(s_.substr(start, i_ - start)));
      } catch (const std::exception&) {
        throw TemplateError("the integer literal is out of range", start);
      }
      return e;
    }
    if (!name_start(c))
      throw TemplateError("the character '" + std::string(1, c) + "' is not expected", i_);
    std::string n = name();
    // A user-defined function's namespace: "ns.fn(".
    if (i_ < end_ && s_[i_] == '.') {
      size_t k = i_ + 1;
      while (k < end_ && name_char(s_[k])) ++k;
      size_t j = k;
      while (j < end_ && std::isspace(static_cast<unsigned char>(s_[j]))) ++j;
      if (k > i_ + 1 && j < end_ && s_[j] == '(') {
        n += std::string(s_.substr(i_, k - i_));
        i_ = k;
      }
    }
    skip();
    if (i_ < end_ && s_[i_] == '(') {
      ++i_;
      e.kind = Expr::Kind::Call;
      e.text = n;
      skip();
      if (i_ < end_ && s_[i_] == ')') {
        ++i_;
        return e;
      }
      for (;;) {
        e.args.push_back(expression());
        skip();
        if (i_ < end_ && s_[i_] == ',') {
          ++i_;
          continue;
        }
        expect(')', "',' or ')'");
        return e;
      }
    }
    const std::string lower = http::to_lower(n);
    if (lower == "true" || lower == "false" || lower == "null") {
      e.kind = Expr::Kind::Literal;
      e.literal = lower == "null" ? json() : json(lower == "true");
      return e;
    }
    throw TemplateError("'" + n + "' is not a function call: '(' was expected after it", e.pos);
  }

  std::string_view s_;
  size_t i_ = 0;
  size_t end_ = 0;
  int depth_ = 0;
};

}  // namespace

Expr parse_expression(std::string_view source) {
  return Parser(source).parse();
}

TemplateString classify_template_string(std::string_view s) {
  TemplateString t;
  if (s.size() >= 2 && s[0] == '[' && s[1] == '[') {
    t.literal = std::string(s.substr(1));
    return t;
  }
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    t.expression = true;
    return t;
  }
  t.literal = std::string(s);
  return t;
}

// --- evaluation

namespace {

const json* find_member(const json& o, const std::string& name) {
  if (auto it = o.find(name); it != o.end()) return &*it;
  for (auto it = o.begin(); it != o.end(); ++it)
    if (http::iequals(it.key(), name)) return &*it;
  return nullptr;
}

std::string member_list(const json& o) {
  std::string out;
  for (auto it = o.begin(); it != o.end(); ++it) out += (out.empty() ? "" : ", ") + it.key();
  return out;
}

}  // namespace

json Evaluator::eval(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::String:
      return e.text;
    case Expr::Kind::Integer:
      return e.integer;
    case Expr::Kind::Literal:
      return e.literal;
    case Expr::Kind::Call:
      return call_function(e, *this);
    case Expr::Kind::Member: {
      json object = eval(e.args[0]);
      if (!object.is_object())
        throw TemplateError("the property '" + e.text + "' cannot be read from a value of type '" +
                                type_name(object) + "'",
                            e.pos);
      const json* m = find_member(object, e.text);
      if (!m)
        throw TemplateError("the language expression property '" + e.text +
                                "' doesn't exist, available properties are '" +
                                member_list(object) + "'",
                            e.pos);
      return *m;
    }
    case Expr::Kind::Index: {
      json object = eval(e.args[0]);
      json index = eval(e.args[1]);
      if (object.is_array()) {
        if (!index.is_number_integer())
          throw TemplateError("an array index must be an integer, not '" + type_name(index) + "'",
                              e.pos);
        const int64_t i = index.get<int64_t>();
        if (i < 0 || static_cast<size_t>(i) >= object.size())
          throw TemplateError("the array index '" + std::to_string(i) +
                                  "' is out of bounds (length " + std::to_string(object.size()) +
                                  ")",
                              e.pos);
        return object[static_cast<size_t>(i)];
      }
      if (object.is_object() && index.is_string()) {
        const json* m = find_member(object, index.get<std::string>());
        if (!m)
          throw TemplateError("the language expression property '" + index.get<std::string>() +
                                  "' doesn't exist, available properties are '" +
                                  member_list(object) + "'",
                              e.pos);
        return *m;
      }
      throw TemplateError("a value of type '" + type_name(object) + "' cannot be indexed with '" +
                              type_name(index) + "'",
                          e.pos);
    }
  }
  return nullptr;
}

json Evaluator::string(const std::string& s, const std::string& path) {
  TemplateString t = classify_template_string(s);
  if (!t.expression) return t.literal;
  try {
    return eval(parse_expression(s));
  } catch (TemplateError& e) {
    if (e.path.empty()) e.path = path;
    if (e.text.empty()) e.text = s;
    throw;
  }
}

namespace {

// Counts what an array or object being built holds, and fails once it holds more than a template
// value may (kMaxValueBytes).
class ValueBudget {
 public:
  explicit ValueBudget(const std::string& path) : path_(path) {}
  void add(const json& part, size_t overhead = 1) {
    spent_ += value_bytes(part, kMaxValueBytes - std::min(spent_, kMaxValueBytes)) + overhead;
    if (spent_ <= kMaxValueBytes) return;
    TemplateError e("the value would hold more than the " + std::to_string(kMaxValueBytes) +
                    " bytes a template value may hold");
    e.path = path_;
    throw e;
  }

 private:
  const std::string& path_;
  size_t spent_ = 0;
};

}  // namespace

json Evaluator::value(const json& v, const std::string& path, bool expand_copy) {
  if (v.is_string()) return string(v.get<std::string>(), path);
  if (v.is_array()) {
    json out = json::array();
    ValueBudget budget(path);
    for (size_t i = 0; i < v.size(); ++i) {
      out.push_back(value(v[i], path + "[" + std::to_string(i) + "]", expand_copy));
      budget.add(out.back());
    }
    return out;
  }
  if (!v.is_object()) return v;
  json out = json::object();
  ValueBudget budget(path);
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string child = path.empty() ? it.key() : path + "." + it.key();
    if (expand_copy && it.key() == "copy" && it->is_array()) {
      // Property iteration: [{name, count, input}] -> name: [input for each index].
      for (size_t k = 0; k < it->size(); ++k) {
        const json& loop = (*it)[k];
        const std::string lp = child + "[" + std::to_string(k) + "]";
        if (!loop.is_object() || !loop.contains("name") || !loop.contains("count") ||
            !loop.contains("input"))
          throw TemplateError("a property copy loop needs 'name', 'count' and 'input'");
        json name = value(loop["name"], lp + ".name");
        json count = value(loop["count"], lp + ".count");
        if (!name.is_string() || !count.is_number_integer() || count.get<int64_t>() < 0 ||
            count.get<int64_t>() > 800) {
          TemplateError e(
              "the copy loop needs a string 'name' and an integer 'count' from 0 to 800");
          e.path = lp;
          throw e;
        }
        json items = json::array();
        for (int64_t i = 0; i < count.get<int64_t>(); ++i) {
          ctx_.loops.emplace_back(name.get<std::string>(), static_cast<int>(i));
          try {
            items.push_back(value(loop["input"], lp + ".input", expand_copy));
            budget.add(items.back());
          } catch (...) {
            ctx_.loops.pop_back();
            throw;
          }
          ctx_.loops.pop_back();
        }
        out[name.get<std::string>()] = std::move(items);
      }
      continue;
    }
    json key = string(it.key(), child);
    if (!key.is_string()) {
      TemplateError e("a property name must evaluate to a string, not '" + type_name(key) + "'");
      e.path = child;
      throw e;
    }
    json& member = out[key.get<std::string>()];
    member = value(*it, child, expand_copy);
    budget.add(member, key.get_ref<const std::string&>().size() + 1);
  }
  return out;
}

}  // namespace cmk::deployments
