// The template functions (template_expression.h): each checks its arguments the way ARM does and
// fails with a TemplateError at the call's position.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <set>

#include "common/base64.h"
#include "common/json_input.h"
#include "deployments/template_expression.h"
#include "deployments/unique_string.h"
#include "http/message.h"

namespace cmk::deployments {

namespace {

using Args = std::vector<json>;

// format(): the largest precision of a numeric format specifier and the bound on an alignment,
// as .NET's composite formatting has them.
constexpr int kMaxPrecision = 99;
constexpr long kMaxAlignment = 1'000'000;
// The longest string a function may return (format's alignments, padLeft, concat or replace of
// variables built from each other could otherwise ask for gigabytes).
constexpr size_t kMaxStringBytes = kMaxValueBytes;

[[noreturn]] void fail(const Expr& e, const std::string& detail) {
  throw TemplateError("the template function '" + e.text + "' " + detail, e.pos);
}

// Fails unless a string of `bytes` may be made.
void check_length(const Expr& e, size_t bytes) {
  if (bytes > kMaxStringBytes)
    fail(e, "would make a string of " + std::to_string(bytes) + " bytes, more than the " +
                std::to_string(kMaxStringBytes) + " a template value may hold");
}

void arity(const Expr& e, size_t min, size_t max) {
  const size_t n = e.args.size();
  if (n >= min && n <= max) return;
  std::string want = min == max        ? std::to_string(min)
                     : max == SIZE_MAX ? "at least " + std::to_string(min)
                                       : std::to_string(min) + " to " + std::to_string(max);
  fail(e, "expects " + want + " argument" + (min == 1 && max == 1 ? "" : "s") + ", not " +
              std::to_string(n));
}

const std::string& str(const Expr& e, const Args& a, size_t i) {
  if (!a[i].is_string())
    fail(e, "expects argument " + std::to_string(i + 1) + " to be a String, not '" +
                type_name(a[i]) + "'");
  return a[i].get_ref<const std::string&>();
}

int64_t integer(const Expr& e, const Args& a, size_t i) {
  if (!a[i].is_number_integer())
    fail(e, "expects argument " + std::to_string(i + 1) + " to be an Integer, not '" +
                type_name(a[i]) + "'");
  return a[i].get<int64_t>();
}

bool boolean(const Expr& e, const Args& a, size_t i) {
  if (!a[i].is_boolean())
    fail(e, "expects argument " + std::to_string(i + 1) + " to be a Boolean, not '" +
                type_name(a[i]) + "'");
  return a[i].get<bool>();
}

std::vector<std::string> strings(const Expr& e, const Args& a) {
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back(str(e, a, i));
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A number with a .NET standard numeric format: D<n> (zero-padded), N<n> (thousands
// separators), F<n>, X/x (hex); anything else is written plainly.
std::string format_number(const Expr& e, const json& v, const std::string& spec) {
  if (spec.empty() || !v.is_number()) return to_text(v);
  const char kind = static_cast<char>(std::toupper(static_cast<unsigned char>(spec[0])));
  int digits = -1;
  if (spec.size() > 1) {
    try {
      digits = std::stoi(spec.substr(1));
    } catch (...) {
      return to_text(v);
    }
  }
  // .NET's precision specifier goes to 99 (a larger one is a FormatException); it also bounds
  // the text below (a double in %.99f is at most 309 + 1 + 99 characters).
  if (digits > kMaxPrecision)
    fail(e, "has the format specifier '" + spec + "' whose precision is over " +
                std::to_string(kMaxPrecision));
  char buf[512];
  const double d = v.get<double>();
  if (kind == 'D' && v.is_number_integer()) {
    std::snprintf(buf, sizeof buf, "%0*lld", digits < 0 ? 1 : digits,
                  static_cast<long long>(v.get<int64_t>()));
    return buf;
  }
  if (kind == 'X' && v.is_number_integer()) {
    std::snprintf(buf, sizeof buf, spec[0] == 'x' ? "%0*llx" : "%0*llX", digits < 0 ? 1 : digits,
                  static_cast<unsigned long long>(v.get<int64_t>()));
    return buf;
  }
  if (kind == 'F' || kind == 'N') {
    std::snprintf(buf, sizeof buf, "%.*f", digits < 0 ? 2 : digits, d);
    std::string s = buf;
    if (kind == 'N') {
      size_t dot = s.find('.');
      if (dot == std::string::npos) dot = s.size();
      const size_t first = s[0] == '-' ? 1 : 0;
      for (size_t k = dot; k > first + 3; k -= 3) s.insert(k - 3, ",");
    }
    return s;
  }
  return to_text(v);
}

// .NET composite formatting: {index[,alignment][:format]}, {{ and }} for braces.
std::string composite_format(const Expr& e, const std::string& fmt, const Args& a) {
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (c == '}')
      fail(e, "has a format string with an unmatched '}' at offset " + std::to_string(i));
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos)
      fail(e, "has a format string with an unmatched '{' at offset " + std::to_string(i));
    std::string item = fmt.substr(i + 1, close - i - 1), spec;
    long align = 0;
    if (auto colon = item.find(':'); colon != std::string::npos) {
      spec = item.substr(colon + 1);
      item = item.substr(0, colon);
    }
    if (auto comma = item.find(','); comma != std::string::npos) {
      try {
        align = std::stol(item.substr(comma + 1));
      } catch (...) {
        fail(e, "has an invalid alignment in '{" + fmt.substr(i + 1, close - i - 1) + "}'");
      }
      // .NET refuses an alignment of a million or more (FormatException): without the limit,
      // '{0,400000000}' made a 400 MB string of one template expression.
      if (align >= kMaxAlignment || align <= -kMaxAlignment)
        fail(e, "has an alignment out of range in '{" + fmt.substr(i + 1, close - i - 1) +
                    "}' (at most " + std::to_string(kMaxAlignment - 1) + ")");
      item = item.substr(0, comma);
    }
    size_t index = 0;
    try {
      size_t used = 0;
      index = std::stoul(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (...) {
      fail(e, "has an invalid format item '{" + fmt.substr(i + 1, close - i - 1) + "}'");
    }
    if (index + 1 >= a.size())
      fail(e, "has the format item '{" + item + "}' but only " + std::to_string(a.size() - 1) +
                  " value(s) to format");
    std::string text = format_number(e, a[index + 1], spec);
    const size_t width = static_cast<size_t>(align < 0 ? -align : align);
    check_length(e, out.size() + std::max(text.size(), width));
    if (text.size() < width) {
      if (align > 0)
        text = std::string(width - text.size(), ' ') + text;
      else
        text += std::string(width - text.size(), ' ');
    }
    out += text;
    i = close;
  }
  return out;
}

// utcNow's format: .NET standard (u, s, o, d, t, ...) or custom (yyyy MM dd HH mm ss fff ...).
std::string format_time(TimePoint t, const std::string& format) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const auto frac = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::string f = format;
  if (f == "u")
    f = "yyyy-MM-dd HH:mm:ssZ";
  else if (f == "s")
    f = "yyyy-MM-ddTHH:mm:ss";
  else if (f == "o" || f == "O")
    f = "yyyy-MM-ddTHH:mm:ss.fffffffZ";
  else if (f == "d")
    f = "M/d/yyyy";
  else if (f == "D")
    f = "dddd, MMMM d, yyyy";
  else if (f == "t")
    f = "h:mm tt";
  else if (f == "T")
    f = "h:mm:ss tt";
  else if (f == "g")
    f = "M/d/yyyy h:mm tt";
  else if (f == "G")
    f = "M/d/yyyy h:mm:ss tt";
  static const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                "Thursday", "Friday", "Saturday"};
  static const char* kMonths[] = {"January",   "February", "March",    "April",
                                  "May",       "June",     "July",     "August",
                                  "September", "October",  "November", "December"};
  std::string out;
  char buf[32];
  for (size_t i = 0; i < f.size();) {
    const char c = f[i];
    size_t n = 1;
    while (i + n < f.size() && f[i + n] == c) ++n;
    auto pad = [&](int v, size_t w) {
      std::snprintf(buf, sizeof buf, "%0*d", static_cast<int>(w), v);
      out += buf;
    };
    switch (c) {
      case 'y':
        pad(n == 2 ? (tm.tm_year + 1900) % 100 : tm.tm_year + 1900, n);
        break;
      case 'M':
        if (n >= 4)
          out += kMonths[tm.tm_mon];
        else if (n == 3)
          out += std::string(kMonths[tm.tm_mon]).substr(0, 3);
        else
          pad(tm.tm_mon + 1, n);
        break;
      case 'd':
        if (n >= 4)
          out += kDays[tm.tm_wday];
        else if (n == 3)
          out += std::string(kDays[tm.tm_wday]).substr(0, 3);
        else
          pad(tm.tm_mday, n);
        break;
      case 'H':
        pad(tm.tm_hour, n);
        break;
      case 'h':
        pad(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12, n);
        break;
      case 'm':
        pad(tm.tm_min, n);
        break;
      case 's':
        pad(tm.tm_sec, n);
        break;
      case 't':
        out += (tm.tm_hour < 12 ? std::string("AM") : std::string("PM")).substr(0, n == 1 ? 1 : 2);
        break;
      case 'f': {
        std::snprintf(buf, sizeof buf, "%09lld", static_cast<long long>(frac));
        out += std::string(buf).substr(0, std::min<size_t>(n, 9));
        break;
      }
      case '\'': {
        const size_t close = f.find('\'', i + 1);
        out += f.substr(i + 1, (close == std::string::npos ? f.size() : close) - i - 1);
        i = close == std::string::npos ? f.size() : close + 1;
        continue;
      }
      default:
        out += std::string(n, c);
    }
    i += n;
  }
  return out;
}

bool is_empty(const json& v) {
  return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
         ((v.is_array() || v.is_object()) && v.empty());
}

// resourceId/subscriptionResourceId: [subscriptionId], [resourceGroupName], type, names...
json resource_id(const Expr& e, const Args& a, EvalContext& ctx, bool subscription_level) {
  arity(e, 2, SIZE_MAX);
  const std::vector<std::string> s = strings(e, a);
  size_t type_at = 0;
  while (type_at < s.size() && s[type_at].find('/') == std::string::npos) ++type_at;
  if (type_at == s.size()) fail(e, "needs a resource type such as 'Microsoft.Kusto/clusters'");
  const size_t max_scope = subscription_level ? 1 : 2;
  if (type_at > max_scope)
    fail(e, "has " + std::to_string(type_at) + " arguments before the resource type; at most " +
                std::to_string(max_scope) + " (subscription id" +
                (subscription_level ? "" : ", resource group name") + ") are allowed");
  std::string sub = ctx.subscription_id, rg = ctx.resource_group_name;
  if (subscription_level) {
    if (type_at == 1) sub = s[0];
    rg.clear();
  } else if (type_at == 1) {
    rg = s[0];
  } else if (type_at == 2) {
    sub = s[0];
    rg = s[1];
  }
  const std::string& type = s[type_at];
  const size_t slash = type.find('/');
  const std::string ns = type.substr(0, slash);
  std::vector<std::string> types;
  for (size_t p = slash + 1;;) {
    const size_t q = type.find('/', p);
    types.push_back(type.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  const size_t names = s.size() - type_at - 1;
  if (names != types.size())
    fail(e, "got " + std::to_string(names) + " resource name(s) for the type '" + type +
                "', which needs " + std::to_string(types.size()));
  if (!subscription_level && rg.empty())
    fail(e, "needs a resource group name at this scope (or use subscriptionResourceId)");
  std::string id = "/subscriptions/" + sub;
  if (!rg.empty()) id += "/resourceGroups/" + rg;
  if (http::iequals(type, "Microsoft.Resources/resourceGroups") && rg.empty())
    return id + "/resourceGroups/" + s[type_at + 1];
  id += "/providers/" + ns;
  for (size_t k = 0; k < types.size(); ++k) id += "/" + types[k] + "/" + s[type_at + 1 + k];
  return id;
}

}  // namespace

const std::vector<std::string>& known_functions() {
  static const std::vector<std::string> names = {"add",
                                                 "and",
                                                 "base64",
                                                 "base64tostring",
                                                 "bool",
                                                 "coalesce",
                                                 "concat",
                                                 "contains",
                                                 "copyindex",
                                                 "createarray",
                                                 "createobject",
                                                 "deployment",
                                                 "div",
                                                 "empty",
                                                 "endswith",
                                                 "equals",
                                                 "false",
                                                 "first",
                                                 "format",
                                                 "greater",
                                                 "greaterorequals",
                                                 "guid",
                                                 "if",
                                                 "indexof",
                                                 "int",
                                                 "json",
                                                 "last",
                                                 "length",
                                                 "less",
                                                 "lessorequals",
                                                 "listkeys",
                                                 "mod",
                                                 "mul",
                                                 "not",
                                                 "null",
                                                 "or",
                                                 "padleft",
                                                 "parameters",
                                                 "reference",
                                                 "replace",
                                                 "resourcegroup",
                                                 "resourceid",
                                                 "skip",
                                                 "split",
                                                 "startswith",
                                                 "string",
                                                 "sub",
                                                 "subscription",
                                                 "subscriptionresourceid",
                                                 "substring",
                                                 "take",
                                                 "tolower",
                                                 "toupper",
                                                 "trim",
                                                 "true",
                                                 "union",
                                                 "uniquestring",
                                                 "utcnow",
                                                 "variables"};
  return names;
}

json call_function(const Expr& e, Evaluator& ev) {
  EvalContext& ctx = ev.context();
  const std::string name = http::to_lower(e.text);

  // Lazy: only the chosen branch is evaluated (ARM does the same).
  if (name == "if") {
    arity(e, 3, 3);
    Args cond{ev.eval(e.args[0])};
    return ev.eval(e.args[boolean(e, cond, 0) ? 1 : 2]);
  }

  // The arguments together stay within what one value may hold: an expression naming a large
  // value many times (concat(v, v, v, ...)) would otherwise hold all its copies at once.
  Args a;
  a.reserve(e.args.size());
  size_t bytes = 0;
  for (const auto& x : e.args) {
    a.push_back(ev.eval(x));
    bytes += value_bytes(a.back(), kMaxValueBytes - std::min(bytes, kMaxValueBytes));
    if (bytes > kMaxValueBytes)
      fail(e, "was given arguments of more than the " + std::to_string(kMaxValueBytes) +
                  " bytes a template value may hold");
  }

  if (name == "parameters" || name == "variables") {
    arity(e, 1, 1);
    const std::string& n = str(e, a, 0);
    try {
      return name == "parameters" ? ctx.parameter(n) : ctx.variable(n);
    } catch (TemplateError& err) {
      if (!err.position && err.text.empty()) err.position = e.pos;
      throw;
    }
  }
  if (name == "concat") {
    arity(e, 1, SIZE_MAX);
    if (std::all_of(a.begin(), a.end(), [](const json& v) { return v.is_array(); })) {
      json out = json::array();
      for (const auto& v : a) out.insert(out.end(), v.begin(), v.end());
      return out;
    }
    std::string out;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].is_array() || a[i].is_object())
        fail(e, "cannot join a '" + type_name(a[i]) + "' (argument " + std::to_string(i + 1) +
                    ") with strings");
      const std::string text = to_text(a[i]);
      check_length(e, out.size() + text.size());
      out += text;
    }
    return out;
  }
  if (name == "format") {
    arity(e, 1, SIZE_MAX);
    return composite_format(e, str(e, a, 0), a);
  }
  if (name == "uniquestring") {
    arity(e, 1, SIZE_MAX);
    return unique_string(strings(e, a));
  }
  if (name == "guid") {
    arity(e, 1, SIZE_MAX);
    return arm_guid(strings(e, a));
  }
  if (name == "resourcegroup") {
    arity(e, 0, 0);
    if (!ctx.resource_group) fail(e, "is not available in a deployment at subscription scope");
    return *ctx.resource_group;
  }
  if (name == "subscription") {
    arity(e, 0, 0);
    return ctx.subscription;
  }
  if (name == "deployment") {
    arity(e, 0, 0);
    return ctx.deployment;
  }
  if (name == "resourceid") return resource_id(e, a, ctx, false);
  if (name == "subscriptionresourceid") return resource_id(e, a, ctx, true);
  if (name == "reference" || name == "listkeys") {
    if (name == "reference")
      arity(e, 1, 3);
    else
      arity(e, 2, 3);
    str(e, a, 0);
    if (!ctx.runtime)
      fail(e,
           "is not expected at this location: it can only be used in resource properties "
           "and outputs");
    try {
      return ctx.runtime(name, a);
    } catch (TemplateError& err) {
      if (!err.position) err.position = e.pos;
      throw;
    }
  }
  if (name == "tolower" || name == "toupper") {
    arity(e, 1, 1);
    const std::string& s = str(e, a, 0);
    return name == "tolower" ? lower(s) : upper(s);
  }
  if (name == "equals") {
    arity(e, 2, 2);
    if (a[0].is_number() && a[1].is_number()) return a[0].get<double>() == a[1].get<double>();
    return a[0] == a[1];
  }
  if (name == "not") {
    arity(e, 1, 1);
    return !boolean(e, a, 0);
  }
  if (name == "and" || name == "or") {
    arity(e, 2, SIZE_MAX);
    bool r = name == "and";
    for (size_t i = 0; i < a.size(); ++i)
      r = name == "and" ? (boolean(e, a, i) && r) : (boolean(e, a, i) || r);
    return r;
  }
  if (name == "empty") {
    arity(e, 1, 1);
    return is_empty(a[0]);
  }
  if (name == "length") {
    arity(e, 1, 1);
    if (a[0].is_string()) return a[0].get_ref<const std::string&>().size();
    if (a[0].is_array() || a[0].is_object()) return a[0].size();
    fail(e, "expects a String, an Array or an Object, not '" + type_name(a[0]) + "'");
  }
  if (name == "copyindex") {
    arity(e, 0, 2);
    std::optional<std::string> loop;
    int64_t offset = 0;
    if (a.size() == 2) {
      loop = str(e, a, 0);
      offset = integer(e, a, 1);
    } else if (a.size() == 1) {
      if (a[0].is_string())
        loop = a[0].get<std::string>();
      else
        offset = integer(e, a, 0);
    }
    if (!loop) {
      if (ctx.resource_copy) return ctx.resource_copy->second + offset;
      if (!ctx.loops.empty()) return ctx.loops.back().second + offset;  // an output copy loop
      fail(e, "is not expected at this location: it needs a copy loop");
    }
    for (auto it = ctx.loops.rbegin(); it != ctx.loops.rend(); ++it)
      if (http::iequals(it->first, *loop)) return it->second + offset;
    if (ctx.resource_copy && http::iequals(ctx.resource_copy->first, *loop))
      return ctx.resource_copy->second + offset;
    fail(e, "refers to the copy loop '" + *loop + "', which is not in scope here");
  }
  if (name == "utcnow") {
    arity(e, 0, 1);
    if (!ctx.allow_utc_now || !ctx.now)
      fail(e,
           "is not expected at this location: it can only be used in the default value of "
           "a parameter");
    return format_time(ctx.now(), a.empty() ? "yyyyMMddTHHmmssZ" : str(e, a, 0));
  }
  if (name == "true" || name == "false") {
    arity(e, 0, 0);
    return name == "true";
  }
  if (name == "null") {
    arity(e, 0, 0);
    return nullptr;
  }
  // --- further string, array, logical and numeric functions
  if (name == "string") {
    arity(e, 1, 1);
    return a[0].is_string()
               ? a[0]
               : json(a[0].is_boolean() ? (a[0].get<bool>() ? "True" : "False") : a[0].dump());
  }
  if (name == "int") {
    arity(e, 1, 1);
    if (a[0].is_number_integer()) return a[0];
    try {
      size_t used = 0;
      const std::string& s = str(e, a, 0);
      const long long v = std::stoll(s, &used);
      if (used == s.size()) return v;
    } catch (const TemplateError&) {
      throw;
    } catch (...) {
    }
    fail(e, "cannot convert '" + to_text(a[0]) + "' to an Integer");
  }
  if (name == "bool") {
    arity(e, 1, 1);
    if (a[0].is_boolean()) return a[0];
    if (a[0].is_number_integer()) return a[0].get<int64_t>() != 0;
    const std::string s = lower(str(e, a, 0));
    if (s == "true" || s == "false") return s == "true";
    fail(e, "cannot convert '" + a[0].get<std::string>() + "' to a Boolean");
  }
  if (name == "json") {
    arity(e, 1, 1);
    // Through the input reader: nesting beyond its limit would overflow the stack later, when
    // the value is copied or freed.
    auto parsed = parse_json_input(str(e, a, 0));
    if (!parsed) fail(e, "was given a string that is not valid JSON");
    return parsed.value();
  }
  if (name == "createarray") return json(a);
  if (name == "createobject") {
    if (a.size() % 2) fail(e, "expects an even number of arguments (name, value pairs)");
    json o = json::object();
    for (size_t i = 0; i < a.size(); i += 2) o[str(e, a, i)] = a[i + 1];
    return o;
  }
  if (name == "coalesce") {
    arity(e, 1, SIZE_MAX);
    for (const auto& v : a)
      if (!v.is_null()) return v;
    return nullptr;
  }
  if (name == "contains") {
    arity(e, 2, 2);
    if (a[0].is_string()) return a[0].get<std::string>().find(to_text(a[1])) != std::string::npos;
    if (a[0].is_object()) return a[1].is_string() && a[0].contains(a[1].get<std::string>());
    if (a[0].is_array()) return std::find(a[0].begin(), a[0].end(), a[1]) != a[0].end();
    fail(e, "expects a String, an Array or an Object as its first argument");
  }
  if (name == "startswith" || name == "endswith") {
    arity(e, 2, 2);
    const std::string s = lower(str(e, a, 0)), x = lower(str(e, a, 1));
    if (x.size() > s.size()) return false;
    return name == "startswith" ? s.compare(0, x.size(), x) == 0
                                : s.compare(s.size() - x.size(), x.size(), x) == 0;
  }
  if (name == "indexof") {
    arity(e, 2, 2);
    const size_t at = lower(str(e, a, 0)).find(lower(str(e, a, 1)));
    return at == std::string::npos ? -1 : static_cast<int64_t>(at);
  }
  if (name == "substring") {
    arity(e, 2, 3);
    const std::string& s = str(e, a, 0);
    const int64_t start = integer(e, a, 1);
    const int64_t len = a.size() == 3 ? integer(e, a, 2) : static_cast<int64_t>(s.size()) - start;
    if (start < 0 || len < 0 || start + len > static_cast<int64_t>(s.size()))
      fail(e, "was given an index and length outside the string (index " + std::to_string(start) +
                  ", length " + std::to_string(len) + ", string length " +
                  std::to_string(s.size()) + ")");
    return s.substr(static_cast<size_t>(start), static_cast<size_t>(len));
  }
  if (name == "replace") {
    arity(e, 3, 3);
    const std::string& s = str(e, a, 0);
    const std::string& from = str(e, a, 1);
    const std::string& to = str(e, a, 2);
    if (from.empty()) return s;
    // Left to right, each occurrence once; built anew, so its length is known as it grows.
    std::string out;
    size_t at = 0;
    for (size_t p; (p = s.find(from, at)) != std::string::npos; at = p + from.size()) {
      check_length(e, out.size() + (p - at) + to.size());
      out.append(s, at, p - at).append(to);
    }
    check_length(e, out.size() + (s.size() - at));
    return out.append(s, at, std::string::npos);
  }
  if (name == "split") {
    arity(e, 2, 2);
    const std::string& s = str(e, a, 0);
    std::vector<std::string> seps;
    if (a[1].is_array()) {
      for (const auto& x : a[1])
        if (x.is_string()) seps.push_back(x.get<std::string>());
    } else {
      seps.push_back(str(e, a, 1));
    }
    json out = json::array();
    size_t from = 0;
    for (size_t i = 0; i <= s.size();) {
      bool cut = false;
      for (const auto& sep : seps)
        if (!sep.empty() && s.compare(i, sep.size(), sep) == 0) {
          out.push_back(s.substr(from, i - from));
          i += sep.size();
          from = i;
          cut = true;
          break;
        }
      if (!cut) ++i;
    }
    out.push_back(s.substr(from));
    return out;
  }
  if (name == "trim") {
    arity(e, 1, 1);
    std::string s = str(e, a, 0);
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
  }
  if (name == "padleft") {
    arity(e, 2, 3);
    std::string s = a[0].is_string() ? a[0].get<std::string>() : to_text(a[0]);
    const int64_t width = integer(e, a, 1);
    const char pad = a.size() == 3 && !str(e, a, 2).empty() ? a[2].get<std::string>()[0] : ' ';
    if (width > static_cast<int64_t>(s.size())) {
      check_length(e, static_cast<uint64_t>(width) > kMaxStringBytes ? kMaxStringBytes + 1
                                                                     : static_cast<size_t>(width));
      s = std::string(static_cast<size_t>(width) - s.size(), pad) + s;
    }
    return s;
  }
  if (name == "base64") {
    arity(e, 1, 1);
    check_length(e, (str(e, a, 0).size() + 2) / 3 * 4);
    return base64_encode(str(e, a, 0));
  }
  if (name == "base64tostring") {
    arity(e, 1, 1);
    auto d = base64_decode(str(e, a, 0));
    if (!d) fail(e, "was given a string that is not base64");
    return d.value();
  }
  if (name == "first" || name == "last") {
    arity(e, 1, 1);
    if (a[0].is_string()) {
      const std::string& s = a[0].get_ref<const std::string&>();
      if (s.empty()) return "";
      return std::string(1, name == "first" ? s.front() : s.back());
    }
    if (!a[0].is_array()) fail(e, "expects a String or an Array");
    if (a[0].empty()) return nullptr;
    return name == "first" ? a[0].front() : a[0].back();
  }
  if (name == "take" || name == "skip") {
    arity(e, 2, 2);
    const int64_t n = std::max<int64_t>(0, integer(e, a, 1));
    if (a[0].is_string()) {
      const std::string& s = a[0].get_ref<const std::string&>();
      const size_t k = std::min<size_t>(static_cast<size_t>(n), s.size());
      return name == "take" ? s.substr(0, k) : s.substr(k);
    }
    if (!a[0].is_array()) fail(e, "expects a String or an Array");
    const size_t k = std::min<size_t>(static_cast<size_t>(n), a[0].size());
    json out = json::array();
    for (size_t i = name == "take" ? 0 : k; i < (name == "take" ? k : a[0].size()); ++i)
      out.push_back(a[0][i]);
    return out;
  }
  if (name == "union") {
    arity(e, 1, SIZE_MAX);
    if (a[0].is_object()) {
      json out = json::object();
      for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_object()) fail(e, "expects all arguments to be Objects or all Arrays");
        for (auto it = a[i].begin(); it != a[i].end(); ++it) out[it.key()] = *it;
      }
      return out;
    }
    // In order, each value once; a set finds those already taken in log time (a scan of the
    // array so far would take quadratic time over a large one).
    json out = json::array();
    std::set<json> taken;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_array()) fail(e, "expects all arguments to be Objects or all Arrays");
      for (const auto& v : a[i])
        if (taken.insert(v).second) out.push_back(v);
    }
    return out;
  }
  if (name == "add" || name == "sub" || name == "mul" || name == "div" || name == "mod") {
    arity(e, 2, 2);
    const int64_t x = integer(e, a, 0), y = integer(e, a, 1);
    if ((name == "div" || name == "mod") && y == 0) fail(e, "cannot divide by zero");
    if (name == "add") return x + y;
    if (name == "sub") return x - y;
    if (name == "mul") return x * y;
    if (name == "div") return x / y;
    return x % y;
  }
  if (name == "less" || name == "lessorequals" || name == "greater" || name == "greaterorequals") {
    arity(e, 2, 2);
    int cmp = 0;
    if (a[0].is_number() && a[1].is_number()) {
      const double x = a[0].get<double>(), y = a[1].get<double>();
      cmp = x < y ? -1 : x > y ? 1 : 0;
    } else {
      cmp = str(e, a, 0).compare(str(e, a, 1));
      cmp = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
    }
    if (name == "less") return cmp < 0;
    if (name == "lessorequals") return cmp <= 0;
    if (name == "greater") return cmp > 0;
    return cmp >= 0;
  }
  throw TemplateError("the template function '" + e.text +
                          "' is not valid. Please see https://aka.ms/arm-functions for usage "
                          "details",
                      e.pos);
}

}  // namespace cmk::deployments
