// Long-running operations (arm/operations.h), for a user who wants to know what ARM is doing or
// why something failed (az reports a failed operation only as "The operation failed"):
//   GET /_emulator/operations                   the running ones, oldest first (held ones too)
//   GET /_emulator/operations?status=Failed     finished or running ones by status, newest first;
//       status: a comma-separated list of Running, Succeeded, Failed, Canceled, or "all";
//       resource: only operations whose resource id contains this text (case-insensitive);
//       top: at most this many (default 100)
//   POST /_emulator/operations/{id}/release     lets an operation a fault rule holds finish
//   POST /_emulator/operations/release          releases every held operation
#include <algorithm>

#include "admin/admin_api.h"
#include "admin/admin_json.h"

namespace cmk::admin {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

json operation_json(const arm::Operation& op) {
  json j = {{"id", op.id},
            {"resource", op.resource_key},
            {"kind", op.kind},
            {"status", arm::operation_status_name(op.status)},
            {"startTime", to_iso8601(op.started_at)},
            {"held", op.held},
            {"polls", op.polls}};
  if (op.ended_at) j["endTime"] = to_iso8601(*op.ended_at);
  if (op.error) j["error"] = {{"code", op.error->code}, {"message", op.error->message}};
  if (op.fault) {
    using F = arm::LroFault::Outcome;
    const F o = op.fault->outcome;
    j["injectedFault"] = o == F::Fail     ? "fail"
                         : o == F::Cancel ? "cancel"
                         : o == F::Hold   ? "hold"
                                          : "delay";
  }
  return j;
}

// The statuses a `status` query names; an error message when it names something else.
std::optional<std::string> parse_statuses(const std::string& text,
                                          std::vector<arm::OperationStatus>& out) {
  using S = arm::OperationStatus;
  const S all[] = {S::Running, S::Succeeded, S::Failed, S::Canceled};
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string word = http::to_lower(text.substr(start, comma - start));
    start = comma + 1;
    if (word == "all") {
      out.assign(std::begin(all), std::end(all));
      continue;
    }
    const auto* match = std::find_if(std::begin(all), std::end(all), [&](S s) {
      return http::to_lower(arm::operation_status_name(s)) == word;
    });
    if (match == std::end(all))
      return "status '" + utf8_prefix(word, 64) +
             "' is not Running, Succeeded, Failed, Canceled or all";
    out.push_back(*match);
  }
  return std::nullopt;
}

Response list_operations(const Request& req, const arm::OperationEngine& operations) {
  const auto status = req.query_param("status");
  if (!status) {
    json list = json::array();
    for (const auto& op : operations.running()) list.push_back(operation_json(op));
    return json_ok({{"value", list}});
  }
  std::vector<arm::OperationStatus> wanted;
  if (auto why = parse_statuses(*status, wanted))
    return http::admin_error(400, "InvalidQueryParameter", *why + ".");
  size_t top = 100;
  if (auto t = req.query_param("top")) {
    const bool number =
        !t->empty() && t->size() <= 6 &&
        std::all_of(t->begin(), t->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!number || std::stoul(*t) == 0)
      return http::admin_error(400, "InvalidQueryParameter",
                               "top must be a whole number from 1 to 999999.");
    top = std::stoul(*t);
  }
  const std::string resource = http::to_lower(req.query_param("resource").value_or(""));
  std::vector<arm::Operation> matching;
  for (auto& op : operations.all())
    if (std::find(wanted.begin(), wanted.end(), op.status) != wanted.end() &&
        op.resource_key.find(resource) != std::string::npos)
      matching.push_back(std::move(op));
  // Newest first: by when it ended (or, still running, started); ties by id for a stable order.
  const auto latest = [](const arm::Operation& op) { return op.ended_at.value_or(op.started_at); };
  std::sort(matching.begin(), matching.end(),
            [&](const arm::Operation& a, const arm::Operation& b) {
              if (latest(a) != latest(b)) return latest(a) > latest(b);
              return a.id < b.id;
            });
  json list = json::array();
  for (size_t i = 0; i < matching.size() && i < top; ++i)
    list.push_back(operation_json(matching[i]));
  return json_ok({{"value", list}});
}

}  // namespace

void register_operation_routes(http::Router& router, arm::OperationEngine& operations) {
  router.add("GET", "/_emulator/operations", [&operations](Request& req, const RouteParams&) {
    return list_operations(req, operations);
  });
  router.add("POST", "/_emulator/operations/release", [&operations](Request&, const RouteParams&) {
    return json_ok({{"released", operations.release_all()}});
  });
  router.add("POST", "/_emulator/operations/{id}/release",
             [&operations](Request&, const RouteParams& p) {
               if (!operations.release(p.get("id")))
                 return http::admin_error(404, "OperationNotHeld",
                                          "No held operation has the id '" + p.get("id") + "'.");
               return json_ok({{"released", 1}});
             });
}

}  // namespace cmk::admin
