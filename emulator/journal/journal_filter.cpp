#include "journal/journal_filter.h"


namespace cmk::journal {

void JournalFilter::after(const http::Request& req, http::Response& res) {
  if (req.surface == http::Surface::Admin || journal_.capacity() == 0) return;
  const auto elapsed = std::chrono::steady_clock::now() - req.received_at;
  Record r;
  r.time = clock_.now() - std::chrono::duration_cast<Duration>(elapsed);
  r.surface = http::surface_name(req.surface);
  r.method = req.method;
  r.host = req.host;
  r.path = req.path;
  if (const size_t q = req.raw_target.find('?'); q != std::string::npos)
    r.query = req.raw_target.substr(q + 1);
  r.status = res.status;
  r.duration_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  r.request_id = req.request_id;
  r.correlation_id = req.correlation_id;
  if (auto c = req.header("x-ms-client-request-id")) r.client_request_id = *c;
  if (req.principal) {
    r.principal_oid = req.principal->object_id;
    r.principal_appid = req.principal->app_id;
  }
  r.fault = req.fault_applied;
  if (auto caller = req.header(http::kEmulatorCallerHeader)) r.emulator_caller = *caller;
  if (bodies_) {
    r.request_body = req.body;
    r.response_body = res.body;
    r.request_content_type = req.header("Content-Type").value_or("");
    r.response_content_type = res.header("Content-Type").value_or("");
  }
  journal_.record(std::move(r));
}

}  // namespace cmk::journal
