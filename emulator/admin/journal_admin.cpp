// GET /_emulator/requests (filters as query parameters), POST /_emulator/requests/count (filter
// as a JSON body), DELETE /_emulator/requests. Filters: journal/journal.h Query.
#include "admin/admin_api.h"
#include "admin/admin_json.h"

namespace cmk::admin {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

void register_journal_routes(http::Router& router, journal::Journal& journal, const Clock& clock) {
  router.add("GET", "/_emulator/requests", [&journal, &clock](Request& req, const RouteParams&) {
    json filter = json::object();
    for (const auto& [k, v] : req.query) filter[k] = v;
    auto q = journal::Query::from_json(filter, clock.now());
    if (!q) return http::admin_error(400, "InvalidFilter", q.status().message());
    json list = json::array();
    for (const auto& r : journal.find(*q)) list.push_back(r.to_json());
    return json_ok({{"count", list.size()},
                    {"total", journal.size()},
                    {"capacity", journal.capacity()},
                    {"value", std::move(list)}});
  });
  router.add("POST", "/_emulator/requests/count",
             [&journal, &clock](Request& req, const RouteParams&) {
               Response error;
               auto body = object_body(req, error);
               if (!body) return error;
               body->erase("limit");
               auto q = journal::Query::from_json(*body, clock.now());
               if (!q) return http::admin_error(400, "InvalidFilter", q.status().message());
               return json_ok({{"count", journal.count(*q)}});
             });
  router.add("DELETE", "/_emulator/requests", [&journal](Request&, const RouteParams&) {
    journal.clear();
    return json_ok({{"count", 0}});
  });
}

}  // namespace cmk::admin
