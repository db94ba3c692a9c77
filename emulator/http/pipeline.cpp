#include "http/pipeline.h"

#include <chrono>
#include <exception>
#include <string>

#include "common/ids.h"
#include "http/error_bodies.h"

namespace cmk::http {

Response Pipeline::handle(Request& req, const Terminal& surface) const {
  Response res;
  size_t ran = 0;
  try {
    std::optional<Response> early;
    for (; ran < filters_.size(); ++ran) {
      early = filters_[ran]->before(req);
      if (early) {
        ++ran;
        break;
      }
    }
    res = early ? std::move(*early) : surface(req);
  } catch (const std::exception& e) {
    log_.error(std::string("internal error on ") + req.method + " " + req.path + ": " + e.what());
    res = surface_error(req, 500, "InternalServerError",
                        "The emulator hit an internal error; see its log for details.");
  } catch (...) {
    log_.error("internal error (non-standard exception) on " + req.method + " " + req.path);
    res = surface_error(req, 500, "InternalServerError", "The emulator hit an internal error.");
  }
  for (size_t i = ran; i-- > 0;) {
    try {
      filters_[i]->after(req, res);
    } catch (const std::exception& e) {
      log_.error(std::string("filter failed after the response: ") + e.what());
    }
  }
  return res;
}

std::optional<Response> RequestIdFilter::before(Request& req) {
  req.request_id = random_guid();
  auto corr = req.header("x-ms-correlation-request-id");
  req.correlation_id = corr && !corr->empty() && corr->size() <= 128 ? *corr : random_guid();
  return std::nullopt;
}

void RequestIdFilter::after(const Request& req, Response& res) {
  res.set_header("x-ms-request-id", req.request_id);
  res.set_header("x-ms-correlation-request-id", req.correlation_id);
  if (auto client = req.header("x-ms-client-request-id"); client && client->size() <= 256)
    res.set_header("x-ms-client-request-id", *client);
  if (auto client = req.header("client-request-id"); client && client->size() <= 256)
    res.set_header("client-request-id", *client);  // MSAL's spelling, echoed by Entra
  if (!res.header("Cache-Control")) res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
}

void AccessLogFilter::after(const Request& req, Response& res) {
  if (!log_.enabled(LogLevel::Info)) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - req.received_at)
                      .count();
  std::string line;
  line.reserve(160);
  line.append(surface_name(req.surface)).append(" ").append(req.method).append(" ");
  line.append(req.listener == Listener::Https ? "https://" : "http://").append(req.authority);
  line.append(req.raw_target.size() > 512 ? req.raw_target.substr(0, 512) + "..." : req.raw_target);
  line.append(" -> ").append(std::to_string(res.status)).append(" ");
  line.append(std::to_string(us / 1000)).append(".").append(std::to_string((us % 1000) / 100));
  line.append("ms id=").append(req.request_id);
  log_.info(line);
}

}  // namespace cmk::http
