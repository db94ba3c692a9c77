// Fault rules (faults/fault_rules.h): PUT /_emulator/faults replaces the list, POST appends (one
// rule or an array), GET lists them with their counters, DELETE clears, DELETE
// /_emulator/faults/{name} removes one; GET /_emulator/faults/presets shows what each preset
// expands to. Operations a rule holds are released through /_emulator/operations
// (operations_admin.cpp).
#include "admin/admin_api.h"
#include "admin/admin_json.h"

namespace cmk::admin {

using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

void register_fault_routes(http::Router& router, faults::FaultSet& faults, const Clock& clock) {
  auto load = [&faults, &clock](Request& req, bool replace) {
    Response error;
    auto body = json_body(req, error, /*arrays_too=*/true, json::array());
    if (!body) return error;
    // {"rules": [...]} is accepted too, the form GET answers with ("value").
    json rules = *body;
    if (rules.is_object() && (rules.contains("rules") || rules.contains("value")) &&
        !rules.contains("action") && !rules.contains("preset"))
      rules = rules.contains("rules") ? rules["rules"] : rules["value"];
    auto parsed = faults::parse_rules(rules, clock.now(), "$", replace ? 1 : faults.size() + 1);
    if (!parsed) return http::admin_error(400, "InvalidFaultRule", parsed.status().message());
    if (replace)
      faults.replace(std::move(*parsed));
    else
      faults.append(std::move(*parsed));
    return json_ok(faults.to_json());
  };
  router.add("GET", "/_emulator/faults",
             [&faults](Request&, const RouteParams&) { return json_ok(faults.to_json()); });
  router.add("PUT", "/_emulator/faults",
             [load](Request& req, const RouteParams&) { return load(req, true); });
  router.add("POST", "/_emulator/faults",
             [load](Request& req, const RouteParams&) { return load(req, false); });
  router.add("DELETE", "/_emulator/faults", [&faults](Request&, const RouteParams&) {
    faults.clear();
    return json_ok(faults.to_json());
  });
  router.add("GET", "/_emulator/faults/presets",
             [](Request&, const RouteParams&) { return json_ok(faults::presets_json()); });
  router.add("DELETE", "/_emulator/faults/{name}", [&faults](Request&, const RouteParams& p) {
    if (!faults.remove(p.get("name")))
      return http::admin_error(404, "FaultRuleNotFound",
                               "No fault rule is named '" + p.get("name") + "'.");
    return json_ok(faults.to_json());
  });
}

}  // namespace cmk::admin
