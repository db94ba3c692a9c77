// Templates with parameters bound (deployments/template.h): parameter checks, variables, the
// resource plan (copy loops, conditions, nested children, dependsOn order, cycles), rendering and
// outputs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "deployments/template.h"

using namespace cmk;
using namespace cmk::deployments;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kSub = "00000000-0000-0000-0000-000000000001";
const std::string kRgId = "/subscriptions/" + kSub + "/resourceGroups/rg1";

DeploymentScope scope() {
  DeploymentScope s;
  s.subscription_id = kSub;
  s.tenant_id = "72f988bf-0000-0000-0000-000000000001";
  s.resource_group = json{{"id", kRgId},
                          {"name", "rg1"},
                          {"location", "westeurope"},
                          {"type", "Microsoft.Resources/resourceGroups"}};
  s.location = "westeurope";
  s.deployment_name = "d1";
  s.now = [] { return from_unix_seconds(1'700'000'000); };
  return s;
}

json base(json resources = json::array()) {
  return {{"$schema",
           "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"},
          {"contentVersion", "1.0.0.0"},
          {"resources", resources}};
}

std::shared_ptr<Template> load(const json& t, const json& params = json::object()) {
  auto r = Template::load(t, params, scope());
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r.is_ok());
  return r.value();
}

TemplateError load_error(const json& t, const json& params = json::object()) {
  auto r = Template::load(t, params, scope());
  REQUIRE_FALSE(r.is_ok());
  return r.error();
}

json cluster(const std::string& name, json extra = json::object()) {
  json r = {{"type", "Microsoft.Kusto/clusters"},
            {"apiVersion", "2023-08-15"},
            {"name", name},
            {"location", "[resourceGroup().location]"}};
  r.update(extra);
  return r;
}

std::vector<std::string> names(const Template& t) {
  std::vector<std::string> out;
  for (const auto& r : t.resources()) out.push_back(r.name);
  return out;
}

}  // namespace

TEST_CASE("parameters: values, defaults, types and constraints", "[deployments][template]") {
  json t = base();
  t["parameters"] = {
      {"clusterName",
       {{"type", "string"},
        {"defaultValue", "[concat('kusto', uniqueString(resourceGroup().id))]"}}},
      {"count", {{"type", "int"}, {"defaultValue", 2}, {"minValue", 1}, {"maxValue", 5}}},
      {"sku", {{"type", "string"}, {"allowedValues", {"Standard_E8ads_v5", "Standard_E2ads_v5"}}}},
      {"secret", {{"type", "securestring"}, {"minLength", 3}}},
      {"stamp", {{"type", "string"}, {"defaultValue", "[utcNow('yyyyMMdd')]"}}},
      {"enabled", {{"type", "bool"}, {"defaultValue", false}}}};
  const json ok = {{"sku", {{"value", "Standard_E8ads_v5"}}},
                   {"secret", {{"value", "abcd"}}},
                   {"count", {{"value", "4"}}},
                   {"enabled", {{"value", "true"}}}};
  auto tpl = load(t, ok);
  json p = tpl->parameters_json();
  CHECK(p["clusterName"]["type"] == "String");
  CHECK(p["clusterName"]["value"].get<std::string>().rfind("kusto", 0) == 0);
  CHECK(p["clusterName"]["value"].get<std::string>().size() == 18);
  CHECK(p["count"] == json{{"type", "Int"}, {"value", 4}});  // "4" accepted for an int, as ARM does
  CHECK(p["enabled"]["value"] == true);
  CHECK(p["secret"] == json{{"type", "SecureString"}});  // secure values are never shown
  CHECK(p["stamp"]["value"] == "20231114");              // utcNow on the (virtual) clock

  auto e = load_error(t, {{"secret", {{"value", "abcd"}}}});
  CHECK(e.path == "parameters.sku");
  CHECK_THAT(e.message(), Contains("the value for the template parameter 'sku' is not provided"));
  json bad = ok;
  bad["sku"]["value"] = "Standard_D1";
  CHECK_THAT(load_error(t, bad).detail,
             Contains("The value 'Standard_D1' is not part of the allowed value(s): "
                      "'Standard_E8ads_v5,Standard_E2ads_v5'"));
  bad = ok;
  bad["count"]["value"] = 9;
  CHECK_THAT(load_error(t, bad).detail,
             Contains("the value 9 is greater than the maximum value 5"));
  bad = ok;
  bad["secret"]["value"] = "ab";
  CHECK_THAT(load_error(t, bad).detail, Contains("its length 2 is less than the minimum length 3"));
  bad = ok;
  bad["count"]["value"] = json::array();
  CHECK_THAT(load_error(t, bad).detail, Contains("parameter 'count' expects 'Int', got 'Array'"));
  bad = ok;
  bad["extra"] = {{"value", 1}};
  CHECK_THAT(load_error(t, bad).detail, Contains("the template parameters 'extra' are not valid"));
}

TEST_CASE("template shape errors", "[deployments][template]") {
  CHECK(load_error({{"resources", json::array()}}).path == "contentVersion");
  CHECK(load_error({{"contentVersion", "1.0.0.0"}}).path == "resources");
  json t = base({cluster("kc1")});
  t["resources"][0].erase("apiVersion");
  CHECK(load_error(t).detail == "the resource needs 'apiVersion'");
  t = base({cluster("[parameters('nope')]")});
  auto e = load_error(t);
  CHECK(e.path == "resources[0].name");
  CHECK(e.position == 1u);
  t = base({cluster("[reference('x').name]")});
  CHECK_THAT(load_error(t).detail, Contains("'reference' is not expected at this location"));
  t = base({{{"type", "Microsoft.Kusto/clusters/databases"},
             {"apiVersion", "2023-08-15"},
             {"name", "db1"}}});
  CHECK_THAT(load_error(t).detail, Contains("the name needs one segment per type segment"));
}

TEST_CASE("variables: lazy, may use each other, copy loops, no cycles", "[deployments][template]") {
  json t = base({cluster("[variables('name')]")});
  t["variables"] = {
      {"prefix", "kc"},
      {"name", "[concat(variables('prefix'), variables('suffix'))]"},
      {"suffix", "01"},
      {"copy",
       json::array(
           {{{"name", "zones"}, {"count", 3}, {"input", "[string(copyIndex('zones', 1))]"}}})}};
  t["outputs"] = {{"zones", {{"type", "array"}, {"value", "[variables('zones')]"}}}};
  auto tpl = load(t);
  CHECK(names(*tpl) == std::vector<std::string>{"kc01"});
  CHECK(tpl->outputs(nullptr)["zones"]["value"] == json::array({"1", "2", "3"}));
  t["variables"]["prefix"] = "[variables('name')]";
  CHECK_THAT(load_error(t).detail, Contains("refers to itself"));
}

// Noted by the fuzzing of fuzz/template_fuzzer.cpp: arrays doubled through variables had no
// bound. Each variable the concat of the one before with itself, 40 deep, would ask for 2^40
// elements; a copy loop or a literal array of a large value had no bound either. A value holds
// at most 4 MB (kMaxValueBytes), however it is built.
TEST_CASE("values built from each other stay within 4 MB", "[deployments][template]") {
  json t = base();
  t["variables"] = {{"v0", "[createArray(padLeft('', 1000, 'a'))]"}};
  for (int i = 1; i <= 40; ++i)
    t["variables"]["v" + std::to_string(i)] = "[concat(variables('v" + std::to_string(i - 1) +
                                              "'), variables('v" + std::to_string(i - 1) + "'))]";
  t["outputs"] = {{"all", {{"type", "array"}, {"value", "[variables('v40')]"}}}};
  auto tpl = load(t);
  auto outputs = [&] { tpl->outputs(nullptr); };
  CHECK_THROWS_WITH(outputs(), Contains("more than the 4194304 bytes a template value may hold"));
  t["outputs"] = {{"some", {{"type", "int"}, {"value", "[length(variables('v10'))]"}}}};
  CHECK(load(t)->outputs(nullptr)["some"]["value"] == 1024);

  // A copy loop of a large input, and a literal array naming a large value again and again.
  json big = base();
  big["variables"] = {
      {"mb", "[padLeft('', 1048576, 'a')]"},
      {"copy", json::array({{{"name", "many"}, {"count", 800}, {"input", "[variables('mb')]"}}})},
      {"listed", json::array({"[variables('mb')]", "[variables('mb')]", "[variables('mb')]",
                              "[variables('mb')]", "[variables('mb')]"})}};
  big["outputs"] = {{"o", {{"type", "array"}, {"value", "[variables('many')]"}}}};
  tpl = load(big);
  CHECK_THROWS_WITH(outputs(), Contains("a template value may hold"));
  big["outputs"] = {{"o", {{"type", "array"}, {"value", "[variables('listed')]"}}}};
  tpl = load(big);
  CHECK_THROWS_WITH(outputs(), Contains("a template value may hold"));
}

TEST_CASE("copy loops, conditions and nested child resources", "[deployments][template]") {
  json db = {{"type", "databases"},
             {"apiVersion", "2023-08-15"},
             {"name", "db1"},
             {"location", "westeurope"}};
  json t = base(
      {cluster("[concat('kc', copyIndex(1))]", {{"copy", {{"name", "clusters"}, {"count", 2}}}}),
       cluster("skipped", {{"condition", "[equals(1, 2)]"}}),
       cluster("parent", {{"resources", json::array({db})}})});
  auto tpl = load(t);
  CHECK(names(*tpl) == std::vector<std::string>{"kc1", "kc2", "parent", "parent/db1"});
  const auto& child = tpl->resources()[3];
  CHECK(child.type == "Microsoft.Kusto/clusters/databases");
  CHECK(child.id == kRgId + "/providers/Microsoft.Kusto/clusters/parent/databases/db1");
  CHECK(child.depends_on == std::vector<size_t>{2});  // nested: after its parent
  CHECK(tpl->resources()[1].copy == std::make_pair(std::string("clusters"), 1));
  CHECK(tpl->resources()[1].path == "resources[0][copy 1]");
}

TEST_CASE("dependsOn orders the resources - unknown or circular ones fail",
          "[deployments][template]") {
  // Declared in the reverse order of their dependencies.
  json t =
      base({cluster("c", {{"dependsOn", {"[resourceId('Microsoft.Kusto/clusters', 'b')]"}}}),
            cluster("b", {{"dependsOn", {"Microsoft.Kusto/clusters/a"}}}), cluster("a"),
            cluster("d", {{"dependsOn", {"loop"}}}),
            cluster("[concat('l', copyIndex())]", {{"copy", {{"name", "loop"}, {"count", 2}}}})});
  auto tpl = load(t);
  CHECK(names(*tpl) == std::vector<std::string>{"a", "b", "c", "l0", "l1", "d"});
  CHECK(tpl->resources()[5].depends_on ==
        std::vector<size_t>{3, 4});  // a copy loop name: every instance

  // Serial copy loops go in batches.
  tpl = load(base(
      {cluster("[concat('s', copyIndex())]",
               {{"copy", {{"name", "s"}, {"count", 4}, {"mode", "serial"}, {"batchSize", 2}}}})}));
  CHECK(tpl->resources()[2].depends_on == std::vector<size_t>{0, 1});
  CHECK(tpl->resources()[0].depends_on.empty());

  // reference() of a template resource is an implicit dependency.
  tpl = load(base({cluster("x", {{"properties", {{"p", "[reference('y').uri]"}}}}), cluster("y")}));
  CHECK(names(*tpl) == std::vector<std::string>{"y", "x"});

  auto e = load_error(base({cluster("a", {{"dependsOn", {"nothere"}}})}));
  CHECK(e.detail == "the resource 'nothere' is not defined in the template");
  CHECK(e.path == "resources[0].dependsOn");
  e = load_error(
      base({cluster("a", {{"dependsOn", {"b"}}}), cluster("b", {{"dependsOn", {"a"}}})}));
  CHECK_THAT(e.detail, Contains("circular dependency detected on resource"));
  // dependsOn a resource whose condition is false is ignored.
  load(base({cluster("a", {{"dependsOn", {"b"}}}), cluster("b", {{"condition", false}})}));
}

TEST_CASE("render evaluates the body (keys too) with property copy loops",
          "[deployments][template]") {
  json t = base(
      {cluster("kc1",
               {{"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}},
                {"identity",
                 {{"type", "UserAssigned"},
                  {"userAssignedIdentities", {{"[parameters('identity')]", json::object()}}}}},
                {"properties",
                 {{"copy",
                   json::array({{{"name", "trustedExternalTenants"},
                                 {"count", 2},
                                 {"input",
                                  {{"value", "[string(copyIndex('trustedExternalTenants'))]"}}}}})},
                  {"uriOfOther", "[reference('kc0').uri]"}}},
                {"dependsOn", json::array()}}),
       cluster("kc0")});
  t["parameters"] = {{"identity", {{"type", "string"}}}};
  auto tpl = load(t, {{"identity", {{"value", "/subscriptions/s/rg/x"}}}});
  const auto& r = tpl->resources()[1];
  REQUIRE(r.name == "kc1");
  std::vector<std::string> asked;
  json body = tpl->render(r, [&](const std::string& fn, const std::vector<json>& args) -> json {
    asked.push_back(fn + " " + args[0].get<std::string>());
    return {{"uri", "https://kc0"}};
  });
  CHECK(body ==
        json{{"location", "westeurope"},
             {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}},
             {"identity",
              {{"type", "UserAssigned"},
               {"userAssignedIdentities", {{"/subscriptions/s/rg/x", json::object()}}}}},
             {"properties",
              {{"trustedExternalTenants", json::array({{{"value", "0"}}, {{"value", "1"}}})},
               {"uriOfOther", "https://kc0"}}}});
  CHECK(asked == std::vector<std::string>{"reference kc0"});
}

TEST_CASE("outputs: types, conditions, copy", "[deployments][template]") {
  json t = base();
  t["outputs"] = {
      {"name", {{"type", "string"}, {"value", "[concat('kusto', 'x')]"}}},
      {"n", {{"type", "int"}, {"value", 3}}},
      {"hidden", {{"type", "string"}, {"condition", false}, {"value", "x"}}},
      {"list", {{"type", "array"}, {"copy", {{"count", 2}, {"input", "[copyIndex()]"}}}}}};
  auto out = load(t)->outputs(nullptr);
  CHECK(out == json{{"name", {{"type", "String"}, {"value", "kustox"}}},
                    {"n", {{"type", "Int"}, {"value", 3}}},
                    {"list", {{"type", "Array"}, {"value", json::array({0, 1})}}}});
  t["outputs"] = {{"bad", {{"type", "int"}, {"value", "text"}}}};
  auto tpl = load(t);
  CHECK_THROWS_WITH(tpl->outputs(nullptr), Contains("declared 'Int' but its value is 'String'"));
}
