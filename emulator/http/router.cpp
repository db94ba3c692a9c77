#include "http/router.h"

namespace cmk::http {

const std::string& RouteParams::get(std::string_view name) const {
  static const std::string empty;
  for (const auto& [k, v] : params_)
    if (k == name) return v;
  return empty;
}

void Router::add(std::string method, std::string_view pattern, Handler handler) {
  Route r{std::move(method), {}, std::move(handler)};
  size_t pos = 0;
  while (pos < pattern.size()) {
    size_t slash = pattern.find('/', pos);
    if (slash == std::string_view::npos) slash = pattern.size();
    std::string_view seg = pattern.substr(pos, slash - pos);
    if (!seg.empty()) {
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        std::string_view name = seg.substr(1, seg.size() - 2);
        if (name.back() == '*') {
          r.segments.push_back({Segment::Rest, std::string(name.substr(0, name.size() - 1))});
        } else {
          r.segments.push_back({Segment::Capture, std::string(name)});
        }
      } else {
        r.segments.push_back({Segment::Literal, std::string(seg)});
      }
    }
    pos = slash + 1;
  }
  routes_.push_back(std::move(r));
}

bool Router::match(const Route& r, const std::vector<std::string>& segs, RouteParams* out) {
  size_t i = 0;
  for (const auto& s : r.segments) {
    if (s.kind == Segment::Rest) {
      if (out) {
        std::string rest;
        for (size_t j = i; j < segs.size(); ++j) {
          if (j > i) rest.push_back('/');
          rest += segs[j];
        }
        out->set(s.text, std::move(rest));
      }
      return true;
    }
    if (i >= segs.size()) return false;
    if (s.kind == Segment::Literal) {
      if (!iequals(s.text, segs[i])) return false;
    } else if (out) {
      out->set(s.text, segs[i]);
    }
    ++i;
  }
  return i == segs.size();
}

Router::Outcome Router::dispatch(Request& req, Response& res, std::string* allowed) const {
  bool path_matched = false;
  std::string methods;
  for (const auto& r : routes_) {
    if (!match(r, req.segments, nullptr)) continue;
    const bool method_ok = r.method == "*" || r.method == req.method ||
                           (req.method == "HEAD" && r.method == "GET");
    if (!method_ok) {
      path_matched = true;
      if (methods.find(r.method) == std::string::npos) {
        if (!methods.empty()) methods += ", ";
        methods += r.method;
      }
      continue;
    }
    RouteParams params;
    match(r, req.segments, &params);
    res = r.handler(req, params);
    return Outcome::Handled;
  }
  if (path_matched) {
    if (allowed) *allowed = methods;
    return Outcome::MethodNotAllowed;
  }
  return Outcome::NotFound;
}

}  // namespace cmk::http
