// Path routing for one surface. Patterns are matched segment by segment, literals
// case-insensitively (ARM ids are case-insensitive: `resourcegroups`, `Clusters`):
//   "/subscriptions/{sub}/resourceGroups/{rg}"   {name} captures one segment
//   "/keys/{name}/{rest*}"                         {name*} captures the rest (maybe empty)
// Empty segments are ignored, so "//metadata/endpoints" and "/keys/k1/" match like their
// canonical forms; Request::trailing_slash tells a handler the latter apart when it matters.
// Routes are tried in the order they were added.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"

namespace cmk::http {

class RouteParams {
 public:
  void set(std::string name, std::string value) { params_.emplace_back(std::move(name), std::move(value)); }
  // Empty string when absent.
  const std::string& get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return params_; }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

using Handler = std::function<Response(Request&, const RouteParams&)>;

class Router {
 public:
  // `method` is an HTTP method or "*" for any. HEAD falls back to a GET route.
  void add(std::string method, std::string_view pattern, Handler handler);

  enum class Outcome { Handled, NotFound, MethodNotAllowed };
  // Runs the first matching route. On MethodNotAllowed, `allowed` lists the methods that would
  // have matched the path.
  Outcome dispatch(Request& req, Response& res, std::string* allowed = nullptr) const;

 private:
  struct Segment {
    enum Kind { Literal, Capture, Rest } kind;
    std::string text;  // literal text or capture name
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool match(const Route& r, const std::vector<std::string>& segs, RouteParams* out);
  std::vector<Route> routes_;
};

}  // namespace cmk::http
