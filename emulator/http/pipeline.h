// The middleware chain every request passes through, in one place: request ids,
// access log and error mapping now; journal, fault injection and authentication plug in as
// further filters. Filters are added before the listeners start and must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/log.h"
#include "http/message.h"

namespace cmk::http {

class Filter {
 public:
  virtual ~Filter() = default;
  // Runs in the order filters were added, before the surface. A response short-circuits the
  // rest of the chain and the surface (a fault, an authentication failure).
  virtual std::optional<Response> before(Request&) { return std::nullopt; }
  // Runs in reverse order on every response, short-circuited ones included.
  virtual void after(const Request&, Response&) {}
};

using Terminal = std::function<Response(Request&)>;

class Pipeline {
 public:
  explicit Pipeline(Logger& log) : log_(log) {}
  void add(std::shared_ptr<Filter> f) { filters_.push_back(std::move(f)); }

  // Never throws: an exception escaping a filter or the surface becomes a 500 in the shape of
  // the request's surface, and is logged.
  Response handle(Request& req, const Terminal& surface) const;

 private:
  Logger& log_;
  std::vector<std::shared_ptr<Filter>> filters_;
};

// x-ms-request-id, x-ms-correlation-request-id (echoed or generated), x-ms-client-request-id
// (echoed), and the headers every Azure response carries.
class RequestIdFilter : public Filter {
 public:
  std::optional<Response> before(Request& req) override;
  void after(const Request& req, Response& res) override;
};

// One line per request at info level: method, authority, target, status, duration, surface.
class AccessLogFilter : public Filter {
 public:
  explicit AccessLogFilter(Logger& log) : log_(log) {}
  void after(const Request& req, Response& res) override;

 private:
  Logger& log_;
};

}  // namespace cmk::http
