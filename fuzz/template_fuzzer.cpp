// Template deployments without HTTP (deployments/template_json.h, deployments/template.h): the
// lenient reader of a deployment body (comments, bare keys, trailing commas as az sends them),
// then the template checked and planned with its parameters (copy loops, conditions, nested
// resources, dependsOn, cycles), every resource rendered in deployment order and the outputs
// evaluated, with reference()/listKeys() answered as a deployment would.
//
// Input: a deployment PUT body, {"properties": {"template": {...}, "parameters": {...}}}.
#include <string>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "deployments/template.h"
#include "deployments/template_json.h"
#include "fuzz_support.h"

using namespace cmk;
using namespace cmk::deployments;
using nlohmann::json;

namespace {

DeploymentScope make_scope() {
  DeploymentScope s;
  s.subscription_id = "00000000-0000-0000-0000-000000000001";
  s.tenant_id = "72f988bf-0000-0000-0000-000000000001";
  s.subscription_name = "Emulated subscription";
  s.resource_group =
      json{{"id", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1"},
           {"name", "rg1"},
           {"location", "westeurope"},
           {"type", "Microsoft.Resources/resourceGroups"},
           {"properties", {{"provisioningState", "Succeeded"}}}};
  s.deployment_name = "d1";
  s.location = "westeurope";
  s.now = [] { return from_unix_seconds(1'700'000'000); };
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = parse_lenient_json(fuzz::as_text(data, size));
  if (!parsed) return 0;
  const json& body = parsed.value();
  if (!body.is_object() || !body.contains("properties") || !body["properties"].is_object())
    return 0;
  const json& props = body["properties"];
  if (!props.contains("template") || !props["template"].is_object()) return 0;

  auto loaded =
      Template::load(props["template"], props.value("parameters", json::object()), make_scope());
  if (!loaded) {
    (void)json_text(json(loaded.error().message()));
    return 0;
  }
  const Template& t = *loaded.value();
  (void)json_text(t.parameters_json());
  const auto& resources = t.resources();
  for (size_t i = 0; i < resources.size(); ++i)
    for (const size_t dep : resources[i].depends_on)
      FUZZ_CHECK(dep < i, resources[i].path);  // deployment order: dependencies come first

  const Template::Runtime runtime = [](const std::string& function,
                                       const std::vector<json>& args) -> json {
    if (function == "listkeys") return {{"keys", json::array({{{"value", "secret"}}})}};
    return {{"id", args.empty() ? json("") : args[0]},
            {"properties", {{"provisioningState", "Succeeded"}}}};
  };
  try {
    for (const auto& r : resources) (void)json_text(t.render(r, runtime));
    (void)json_text(t.outputs(runtime));
  } catch (const TemplateError& e) {
    (void)json_text(json(e.message()));
  }
  return 0;
}
