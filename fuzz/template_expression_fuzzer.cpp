// The ARM template expression language (deployments/template_expression.h): the parser and the
// evaluator with every function of template_functions.cpp, in a context that answers
// parameters(), variables(), resourceGroup(), subscription(), deployment(), copyIndex(),
// utcNow() and reference()/listKeys() as a deployment's resource properties would.
//
// Input: one template string ("[concat('a', parameters('name'))]", or a literal).
#include <string>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "deployments/template_expression.h"
#include "fuzz_support.h"
#include "http/message.h"

using namespace cmk;
using namespace cmk::deployments;
using nlohmann::json;

namespace {

const json kParameters = {{"name", "kc1"},
                          {"count", 3},
                          {"flag", true},
                          {"tags", {{"env", "test"}}},
                          {"list", {1, "two", json::array({3})}},
                          {"empty", ""},
                          {"unicode", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac"}};
const json kVariables = {
    {"prefix", "kusto"}, {"obj", {{"a", {{"b", json::array({1, 2})}}}}}, {"big", 9007199254740993}};

EvalContext make_context() {
  EvalContext ctx;
  auto lookup = [](const json& values, const std::string& what, const std::string& name) {
    for (auto it = values.begin(); it != values.end(); ++it)
      if (http::iequals(it.key(), name)) return it.value();
    throw TemplateError("the template " + what + " '" + name + "' is not found");
  };
  ctx.parameter = [lookup](const std::string& n) { return lookup(kParameters, "parameter", n); };
  ctx.variable = [lookup](const std::string& n) { return lookup(kVariables, "variable", n); };
  ctx.subscription_id = "00000000-0000-0000-0000-000000000001";
  ctx.resource_group_name = "rg1";
  ctx.resource_group =
      json{{"id", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1"},
           {"name", "rg1"},
           {"location", "westeurope"},
           {"tags", json::object()}};
  ctx.subscription = {{"id", "/subscriptions/00000000-0000-0000-0000-000000000001"},
                      {"subscriptionId", "00000000-0000-0000-0000-000000000001"},
                      {"tenantId", "72f988bf-0000-0000-0000-000000000001"}};
  ctx.deployment = {{"name", "d1"}, {"properties", {{"templateLink", nullptr}}}};
  ctx.now = [] { return from_unix_seconds(1'700'000'000); };
  ctx.allow_utc_now = true;
  ctx.resource_copy = std::pair<std::string, int>{"loop", 2};
  ctx.loops = {{"loop", 2}, {"inner", 0}};
  ctx.runtime = [](const std::string& function, const std::vector<json>& args) -> json {
    if (function == "listkeys") return {{"keys", json::array({{{"value", "secret"}}})}};
    return {{"id", args.empty() ? json("") : args[0]},
            {"properties", {{"provisioningState", "Succeeded"}, {"uri", "https://x/"}}}};
  };
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(fuzz::as_text(data, size));
  // Template strings come from JSON documents, so they are valid UTF-8.
  if (utf8_sanitized(text) != text) return 0;
  static EvalContext ctx = make_context();

  const TemplateString kind = classify_template_string(text);
  if (kind.expression) {
    try {
      const Expr e = parse_expression(text);
      (void)e;
    } catch (const TemplateError& err) {
      if (err.position) FUZZ_CHECK(*err.position <= text.size(), err.message());
    }
  }
  try {
    Evaluator ev(ctx);
    const json value = ev.string(text, "resources[0].properties.x");
    if (!kind.expression) FUZZ_CHECK(value == kind.literal, text);
    // What a deployment then does with a value: its text in an answer, and to_text in concat().
    (void)json_text(value);
    (void)to_text(value);
  } catch (const TemplateError& err) {
    (void)json_text(json(err.message()));
  }
  return 0;
}
