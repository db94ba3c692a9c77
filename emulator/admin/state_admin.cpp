// /_emulator/state and /_emulator/reset (issue 8): export the whole state as a fixture, replace
// it, or go back to the fixtures the emulator started with.
#include "admin/admin_api.h"
#include "admin/admin_json.h"

namespace cmk::admin {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

void register_state_routes(http::Router& router, StateAdmin admin) {
  // ?include=secrets adds key material and principals' secrets: what an import needs.
  router.add("GET", "/_emulator/state", [admin](Request& req, const RouteParams&) {
    const std::string include = req.query_param("include").value_or("");
    if (!include.empty() && include != "secrets")
      return http::admin_error(400, "InvalidQueryParameter",
                               "'include' takes one value: secrets (got '" + include + "').");
    return json_ok(admin.export_state(include == "secrets"));
  });
  router.add("PUT", "/_emulator/state", [admin](Request& req, const RouteParams&) {
    Response err;
    auto body = object_body(req, err);
    if (!body) return err;
    if (auto s = admin.import_state(*body); !s)
      return http::admin_error(400, "InvalidState", s.message());
    return json_ok({{"status", "replaced"}});
  });
  router.add("POST", "/_emulator/reset", [admin](Request&, const RouteParams&) {
    if (auto s = admin.reset(); !s) return http::admin_error(500, "ResetFailed", s.message());
    return json_ok({{"status", "reset"}});
  });
}

}  // namespace cmk::admin
