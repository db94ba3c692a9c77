#include "http/pipeline.h"

#include <chrono>
#include <exception>
#include <string>

#include "common/ids.h"
#include "common/utf8.h"
#include "http/access_log.h"
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

namespace {

// Query parameters whose values are credentials: a client that puts them in the URL (a token
// endpoint called with GET, a SAS-style signature) must not find them in the emulator's log.
bool is_secret_parameter(std::string_view name) {
  static constexpr std::string_view kSecret[] = {
      "client_secret", "access_token", "refresh_token", "id_token", "client_assertion",
      "assertion",     "password",     "code",          "sig",      "token"};
  for (std::string_view s : kSecret)
    if (iequals(name, s)) return true;
  // Encoded names (client%5Fsecret) as the npm SDKs send api%2Dversion.
  return name.find('%') != std::string_view::npos && is_secret_parameter(percent_decode(name));
}

}  // namespace

// The request target as the access log shows it: secrets in the query replaced by "REDACTED",
// at most 512 bytes, cut on a character boundary, invalid UTF-8 replaced.
std::string loggable_target(std::string_view target) {
  const size_t q = target.find('?');
  std::string out(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    out += '?';
    for (bool first = true; !query.empty(); first = false) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const size_t eq = pair.find('=');
      if (!first) out += '&';
      if (eq != std::string_view::npos && is_secret_parameter(pair.substr(0, eq)))
        out.append(pair.substr(0, eq)).append("=REDACTED");
      else
        out.append(pair);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
  }
  return utf8_prefix(out, 512);
}

void AccessLogFilter::after(const Request& req, Response& res) {
  if (!log_.enabled(LogLevel::Info)) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - req.received_at)
                      .count();
  std::string line;
  line.reserve(160);
  line.append(surface_name(req.surface))
      .append(" ")
      .append(utf8_prefix(req.method, 32))
      .append(" ");
  line.append(req.listener == Listener::Https ? "https://" : "http://");
  line.append(utf8_prefix(req.authority, 256)).append(loggable_target(req.raw_target));
  line.append(" -> ").append(std::to_string(res.status)).append(" ");
  line.append(std::to_string(us / 1000)).append(".").append(std::to_string((us % 1000) / 100));
  line.append("ms id=").append(req.request_id);
  log_.info(line);
}

}  // namespace cmk::http
