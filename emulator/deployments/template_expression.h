// ARM template language expressions (the text between "[" and "]" of a template string): parser,
// syntax tree and evaluator. Functions are in template_functions.cpp; what they may see of the
// deployment (parameters, variables, the resource group, reference()...) comes in an EvalContext.
//
//   expression := primary ( '.' name | '[' expression ']' )*
//   primary    := 'string' ('' escapes a quote) | integer | true | false | null
//                 | name '(' [expression (',' expression)*] ')'
//
// Template strings: "[...]" is an expression, "[[..." a literal with the first '[' dropped,
// anything else a literal. Function and property names are case-insensitive, as in ARM.
//
// Errors are TemplateError (code InvalidTemplate): the JSON path of the string in the template
// ("resources[0].properties.name"), the 0-based position in the string ('[' is position 0) and
// what is wrong.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "state/clock.h"

namespace cmk::deployments {

using nlohmann::json;

struct TemplateError : std::exception {
  std::string code = "InvalidTemplate";
  std::string detail;              // what is wrong, without the location
  std::string path;                // JSON path of the template value, "" when not known
  std::string text;                // the template string holding the expression
  std::optional<size_t> position;  // in `text`

  TemplateError(std::string d, std::optional<size_t> pos = std::nullopt)
      : detail(std::move(d)), position(pos) {}
  // "Deployment template validation failed: 'The template expression '[foo()]' at
  // 'resources[0].name' is not valid: ... (position 1).'"
  std::string message() const;
  const char* what() const noexcept override { return detail.c_str(); }
};

struct Expr {
  enum class Kind { String, Integer, Literal, Call, Member, Index };
  Kind kind = Kind::String;
  std::string text;  // String: the value; Call: function name; Member: property name
  int64_t integer = 0;
  json literal;            // Literal: true/false/null
  std::vector<Expr> args;  // Call: arguments; Member: {object}; Index: {object, index}
  size_t pos = 0;          // position in the template string
};

// Parses `source`, the whole template string "[...]" (the brackets included).
Expr parse_expression(std::string_view source);

// A template string: an expression or a literal.
struct TemplateString {
  bool expression = false;
  std::string literal;  // literal value ("[[x]" -> "[x]")
};
TemplateString classify_template_string(std::string_view s);

struct EvalContext {
  // Values of parameters and variables, by name (case-insensitive); throw TemplateError when
  // unknown.
  std::function<json(const std::string&)> parameter;
  std::function<json(const std::string&)> variable;
  std::string subscription_id;
  std::string resource_group_name;     // "" at subscription scope
  std::optional<json> resource_group;  // resourceGroup(); nullopt at subscription scope
  json subscription = json::object();  // subscription()
  json deployment = json::object();    // deployment()
  std::function<TimePoint()> now;      // utcNow(): the virtual clock
  bool allow_utc_now = false;          // only in parameter default values (as in ARM)
  std::optional<std::pair<std::string, int>> resource_copy;  // copyIndex() of a resource loop
  std::vector<std::pair<std::string, int>> loops;            // named loops in scope
  // reference() and listKeys(): null where ARM does not allow them (names, dependsOn, variables).
  std::function<json(const std::string& function, const std::vector<json>& args)> runtime;
};

class Evaluator {
 public:
  explicit Evaluator(EvalContext& ctx) : ctx_(ctx) {}
  // A template value: strings are evaluated, objects (keys too) and arrays recursively.
  // Property-level `copy` arrays are expanded when `expand_copy`.
  json value(const json& v, const std::string& path, bool expand_copy = false);
  // A template string.
  json string(const std::string& s, const std::string& path);
  // One parsed expression.
  json eval(const Expr& e);
  EvalContext& context() { return ctx_; }

 private:
  EvalContext& ctx_;
};

// The function call `e` (kind Call); template_functions.cpp.
json call_function(const Expr& e, Evaluator& ev);
// Names of the functions the evaluator knows (lower case), for tests and messages.
const std::vector<std::string>& known_functions();

// The most a template value may hold, counted roughly (its strings' bytes and a few more for each
// member and element): a whole template is at most 4 MB in ARM. Without a bound, values built
// from each other (a variable concatenated with itself, again in the next variable) or an
// expression naming a large value many times would ask for gigabytes before anything could fail.
constexpr size_t kMaxValueBytes = 4 * 1024 * 1024;
// The rough size of `v`; the count stops once it passes `limit`.
size_t value_bytes(const json& v, size_t limit = kMaxValueBytes);

// Text of a value as concat()/format() write it: strings as they are, true/false as .NET does
// ("True"), numbers in decimal, null as "", objects and arrays as JSON.
std::string to_text(const json& v);
// ARM's names of JSON types in messages: String, Integer, Boolean, Object, Array, Null.
std::string type_name(const json& v);

}  // namespace cmk::deployments
