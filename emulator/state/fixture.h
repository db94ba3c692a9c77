// Declarative fixtures (PRODUCT §5): JSON files under fixtures/ that describe the world the
// emulator starts with. Applied in the order given; later files add to or replace (by id) what
// earlier ones defined.
//
// Top-level shape (this version; later surfaces add their own sections):
//   {
//     "version": 1,                      optional; only 1 is understood
//     "description": "...",              optional, ignored
//     "tenants": [{"id": GUID, "displayName": str, "defaultDomain": str}],
//     "subscriptions": [{"id": GUID, "tenantId": GUID, "displayName": str, "state": str}],
//     "servicePrincipals": [{"appId": GUID, "objectId": GUID, "tenantId": GUID,
//                            "displayName": str, "secrets": [str], "certificates": [PEM str]}],
//     "lroPolicies": {"default": {policy}, "rules": [...]}   long-running operation policies,
//                                        as PUT /_emulator/lro-policy takes (arm/operations.h)
//     "faults": [rule]                   fault rules, as PUT /_emulator/faults takes
//                                        (faults/fault_rules.h); appended in fixture order
//   }
// Unknown keys are errors (a typo must not silently drop a section). Every error names the
// file, the JSON path and the problem: "fixtures/x.json: $.subscriptions[0].tenantId: ...".
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "arm/subscriptions.h"
#include "common/status.h"
#include "entra/directory.h"

namespace cmk::state {

struct Fixture {
  std::string source;  // file name (or "built-in default") used in error messages
  std::vector<entra::Tenant> tenants;
  std::vector<arm::Subscription> subscriptions;
  std::vector<entra::ServicePrincipal> service_principals;
  std::optional<arm::LroPolicySet> lro_policies;  // added to the table, in fixture order
  std::optional<nlohmann::json> faults;           // validated rules, loaded at start
};

Result<Fixture> parse_fixture(const std::string& text, const std::string& source);
Result<Fixture> load_fixture_file(const std::filesystem::path& path);

// The fixture compiled into the binary from fixtures/default.json: what a bare start uses.
const std::string& builtin_default_fixture_text();

// Applies fixtures in order, checking references across them (a subscription's tenant, a
// principal's tenant must exist once all earlier fixtures and this one are applied).
Status apply_fixtures(const std::vector<Fixture>& fixtures, entra::Directory& directory,
                      arm::SubscriptionRegistry& subscriptions);

}  // namespace cmk::state
