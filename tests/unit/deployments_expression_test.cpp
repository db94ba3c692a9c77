// The template language (deployments/template_expression.h, template_functions.cpp,
// unique_string.h): parsing, each function, errors with their position, the lenient body parse.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "deployments/template_expression.h"
#include "deployments/template_json.h"
#include "deployments/unique_string.h"

using namespace cmk;
using namespace cmk::deployments;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

struct Eval {
  EvalContext ctx;
  json params = {{"name", "kc1"}, {"count", 3}, {"flag", true}};
  json vars = {{"prefix", "kusto"}};
  TimePoint now = from_unix_seconds(1'700'000'000);  // 2023-11-14T22:13:20Z

  Eval() {
    ctx.parameter = [this](const std::string& n) {
      if (!params.contains(n))
        throw TemplateError("the template parameter '" + n + "' is not found");
      return params[n];
    };
    ctx.variable = [this](const std::string& n) {
      if (!vars.contains(n)) throw TemplateError("the template variable '" + n + "' is not found");
      return vars[n];
    };
    ctx.subscription_id = "00000000-0000-0000-0000-000000000001";
    ctx.resource_group_name = "rg1";
    ctx.resource_group =
        json{{"id", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1"},
             {"name", "rg1"},
             {"location", "westeurope"}};
    ctx.subscription = {{"id", "/subscriptions/00000000-0000-0000-0000-000000000001"},
                        {"subscriptionId", "00000000-0000-0000-0000-000000000001"}};
    ctx.now = [this] { return now; };
  }
  json operator()(const std::string& s) {
    Evaluator ev(ctx);
    return ev.string(s, "test");
  }
  // The error of evaluating `s`.
  TemplateError error(const std::string& s) {
    try {
      (*this)(s);
    } catch (const TemplateError& e) {
      return e;
    }
    FAIL("no error for " << s);
    return TemplateError("");
  }
};

}  // namespace

TEST_CASE("uniqueString matches values Azure returned", "[deployments][expression]") {
  // Observed by deploying a template with outputs [uniqueString(...)] to Azure, recorded in the
  // public Kingsland.ArmLinter sources
  // (src/Kingsland.ArmLinter/Functions/ArmFunctions_UniqueString.cs):
  //   uniqueString("aaa") => "zavj67f3en4hc", ("bbb") => "w5eragfxe33cy", ("zzz") =>
  //   "cryksdzzzawae",
  //   ("xxx", "yyy", "zzz") => "lghi7k5js7itq".
  CHECK(unique_string({"aaa"}) == "zavj67f3en4hc");
  CHECK(unique_string({"bbb"}) == "w5eragfxe33cy");
  CHECK(unique_string({"zzz"}) == "cryksdzzzawae");
  CHECK(unique_string({"xxx", "yyy", "zzz"}) ==
        "lghi7k5js7itq");  // joined with '-': 8-byte block + tail
  Eval ev;
  CHECK(ev("[uniqueString('xxx', 'yyy', 'zzz')]") == "lghi7k5js7itq");
  // Always 13 characters of a-z2-7, deterministic, case-sensitive.
  const std::string rg = ev("[uniqueString(resourceGroup().id)]");
  CHECK(rg.size() == 13);
  CHECK(rg.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos);
  CHECK(ev("[uniqueString(resourceGroup().id)]") == rg);
  CHECK(unique_string({"ABC"}) != unique_string({"abc"}));
  CHECK(ev.error("[uniqueString(1)]").detail ==
        "the template function 'uniqueString' expects argument 1 to be a String, not 'Integer'");
}

TEST_CASE("guid is the RFC 4122 version-5 UUID in ARM's namespace", "[deployments][expression]") {
  // Expected values from Python's uuid.uuid5(UUID('11fb06fb-712d-4ddd-98c7-e71bbd588830'), name),
  // an independent RFC 4122 implementation, with the arguments joined by '-'.
  CHECK(arm_guid({"hello", "world"}) == "a5b868f8-11fe-567a-ace0-e77cc87f104e");
  Eval ev;
  CHECK(ev("[guid('hello', 'world')]") == "a5b868f8-11fe-567a-ace0-e77cc87f104e");
  const std::string g = ev("[guid(resourceGroup().id)]");
  CHECK(g.size() == 36);
  CHECK(g[14] == '5');  // version 5
}

TEST_CASE("literals, escaping and member access", "[deployments][expression]") {
  Eval ev;
  CHECK(ev("plain") == "plain");
  CHECK(ev("[[notAnExpression]") == "[notAnExpression]");  // '[[' escapes
  CHECK(ev("[[") == "[");
  CHECK(ev("[x") == "[x");  // no closing bracket: a literal
  CHECK(ev("['it''s']") == "it's");
  CHECK(ev("[ 42 ]") == 42);
  CHECK(ev("[-7]") == -7);
  CHECK(ev("[resourceGroup().location]") == "westeurope");
  CHECK(ev("[resourceGroup().LOCATION]") == "westeurope");  // property names are case-insensitive
  CHECK(ev("[resourceGroup()['name']]") == "rg1");
  CHECK(ev("[createArray('a', 'b')[1]]") == "b");
  CHECK(ev("[json('{\"a\":{\"b\":[1,2]}}').a.b[0]]") == 1);
  CHECK(ev("[PARAMETERS('name')]") == "kc1");  // function names too
}

TEST_CASE("parameters, variables, concat, format", "[deployments][expression]") {
  Eval ev;
  CHECK(ev("[parameters('name')]") == "kc1");
  CHECK(ev("[variables('prefix')]") == "kusto");
  CHECK(ev("[concat(variables('prefix'), '-', parameters('name'), parameters('count'))]") ==
        "kusto-kc13");
  CHECK(ev("[concat(createArray(1, 2), createArray(3))]") == json::array({1, 2, 3}));
  CHECK(ev("[format('{0}-{1}-{0}', 'a', 'b')]") == "a-b-a");
  CHECK(ev("[format('{{literal}} {0,4}|{1:D3}|{2:N1}', 'x', 7, 1234)]") ==
        "{literal}    x|007|1,234.0");
  CHECK(ev("[format('{0}', true())]") == "True");
  CHECK(ev.error("[format('{1}', 'a')]").detail ==
        "the template function 'format' has the format item '{1}' but only 1 value(s) to format");
  CHECK(ev.error("[parameters('nope')]").detail == "the template parameter 'nope' is not found");
  CHECK(ev.error("[variables('nope')]").detail == "the template variable 'nope' is not found");
}

TEST_CASE("resourceGroup, subscription, resourceId", "[deployments][expression]") {
  Eval ev;
  const std::string sub = "/subscriptions/00000000-0000-0000-0000-000000000001";
  CHECK(ev("[resourceGroup().id]") == sub + "/resourceGroups/rg1");
  CHECK(ev("[subscription().subscriptionId]") == "00000000-0000-0000-0000-000000000001");
  CHECK(ev("[resourceId('Microsoft.Kusto/clusters', 'kc1')]") ==
        sub + "/resourceGroups/rg1/providers/Microsoft.Kusto/clusters/kc1");
  CHECK(ev("[resourceId('rg2', 'Microsoft.Kusto/clusters/databases', 'kc1', 'db1')]") ==
        sub + "/resourceGroups/rg2/providers/Microsoft.Kusto/clusters/kc1/databases/db1");
  CHECK(ev("[resourceId('s2', 'rg2', 'Microsoft.KeyVault/vaults', 'kv1')]") ==
        "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kv1");
  CHECK(ev("[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg9')]") ==
        sub + "/resourceGroups/rg9");
  CHECK(ev.error("[resourceId('Microsoft.Kusto/clusters/databases', 'kc1')]").detail ==
        "the template function 'resourceId' got 1 resource name(s) for the type "
        "'Microsoft.Kusto/clusters/databases', which needs 2");
  ev.ctx.resource_group.reset();
  CHECK(ev.error("[resourceGroup()]").detail ==
        "the template function 'resourceGroup' is not available in a deployment at subscription "
        "scope");
}

TEST_CASE("toLower, toUpper, if, equals, not, and, or, empty, length",
          "[deployments][expression]") {
  Eval ev;
  CHECK(ev("[toLower('KuStO')]") == "kusto");
  CHECK(ev("[toUpper('kusto')]") == "KUSTO");
  CHECK(ev("[if(parameters('flag'), 'yes', 'no')]") == "yes");
  CHECK(ev("[if(not(parameters('flag')), 'yes', 'no')]") == "no");
  // Only the chosen branch is evaluated.
  CHECK(ev("[if(true(), 'ok', parameters('missing'))]") == "ok");
  CHECK(ev("[equals(parameters('count'), 3)]") == true);
  CHECK(ev("[equals('a', 'A')]") == false);
  CHECK(ev("[equals(createArray(1), createArray(1))]") == true);
  CHECK(ev("[and(true(), true(), false())]") == false);
  CHECK(ev("[or(false(), true())]") == true);
  CHECK(ev("[empty('')]") == true);
  CHECK(ev("[empty(createArray())]") == true);
  CHECK(ev("[empty(json('{}'))]") == true);
  CHECK(ev("[empty(null())]") == true);
  CHECK(ev("[empty('x')]") == false);
  CHECK(ev("[length('abcd')]") == 4);
  CHECK(ev("[length(createArray(1, 2, 3))]") == 3);
  CHECK(ev("[length(resourceGroup())]") == 3);
  CHECK(ev.error("[and(true(), 'x')]").detail ==
        "the template function 'and' expects argument 2 to be a Boolean, not 'String'");
  CHECK(ev.error("[not(1)]").detail ==
        "the template function 'not' expects argument 1 to be a Boolean, not 'Integer'");
  CHECK(ev.error("[length(1)]").detail ==
        "the template function 'length' expects a String, an Array or an Object, not 'Integer'");
}

TEST_CASE("copyIndex in and out of loops", "[deployments][expression]") {
  Eval ev;
  CHECK(ev.error("[copyIndex()]").detail ==
        "the template function 'copyIndex' is not expected at this location: it needs a copy loop");
  ev.ctx.resource_copy = std::make_pair(std::string("clusters"), 2);
  CHECK(ev("[copyIndex()]") == 2);
  CHECK(ev("[copyIndex(1)]") == 3);
  CHECK(ev("[copyIndex('clusters', 10)]") == 12);
  ev.ctx.loops.emplace_back("disks", 5);
  CHECK(ev("[copyIndex('disks')]") == 5);
  CHECK(ev("[copyIndex()]") == 2);  // without a name: the resource loop
  CHECK(ev.error("[copyIndex('other')]").detail ==
        "the template function 'copyIndex' refers to the copy loop 'other', which is not in scope "
        "here");
}

TEST_CASE("utcNow reads the virtual clock, only where ARM allows it", "[deployments][expression]") {
  Eval ev;
  CHECK_THAT(ev.error("[utcNow()]").detail,
             Contains("can only be used in the default value of a parameter"));
  ev.ctx.allow_utc_now = true;
  CHECK(ev("[utcNow()]") == "20231114T221320Z");
  CHECK(ev("[utcNow('u')]") == "2023-11-14 22:13:20Z");
  CHECK(ev("[utcNow('d')]") == "11/14/2023");
  CHECK(ev("[utcNow('yyyy-MM-dd')]") == "2023-11-14");
  ev.now += std::chrono::hours(24);
  CHECK(ev("[utcNow('yyyy-MM-dd')]") == "2023-11-15");
}

TEST_CASE("reference and listKeys go to the runtime, only where allowed",
          "[deployments][expression]") {
  Eval ev;
  CHECK_THAT(ev.error("[reference('kc1')]").detail, Contains("is not expected at this location"));
  std::vector<std::string> calls;
  ev.ctx.runtime = [&](const std::string& fn, const std::vector<json>& args) -> json {
    calls.push_back(fn + ":" + args[0].get<std::string>());
    return {{"uri", "https://kc1.westeurope.kusto.windows.net"}, {"keys", json::array({"k"})}};
  };
  CHECK(ev("[reference(resourceId('Microsoft.Kusto/clusters', 'kc1')).uri]") ==
        "https://kc1.westeurope.kusto.windows.net");
  CHECK(ev("[listKeys('kc1', '2023-08-15').keys[0]]") == "k");
  CHECK(calls.size() == 2);
  CHECK(calls[1] == "listkeys:kc1");
  CHECK(ev.error("[listKeys('kc1')]").detail ==
        "the template function 'listKeys' expects 2 to 3 arguments, not 1");
}

TEST_CASE("more functions", "[deployments][expression]") {
  Eval ev;
  CHECK(ev("[substring('kusto', 1, 3)]") == "ust");
  CHECK(ev("[replace('a-b-c', '-', '')]") == "abc");
  CHECK(ev("[split('a,b', ',')]") == json::array({"a", "b"}));
  CHECK(ev("[contains('kusto', 'st')]") == true);
  CHECK(ev("[startsWith('Kusto', 'ku')]") == true);
  CHECK(ev("[string(5)]") == "5");
  CHECK(ev("[int('12')]") == 12);
  CHECK(ev("[bool('true')]") == true);
  CHECK(ev("[add(2, mul(3, 4))]") == 14);
  CHECK(ev("[greater(3, 2)]") == true);
  CHECK(ev("[coalesce(null(), 'x')]") == "x");
  CHECK(ev("[union(json('{\"a\":1}'), json('{\"b\":2}'))]") == json{{"a", 1}, {"b", 2}});
  CHECK(ev("[take('abcdef', 3)]") == "abc");
  CHECK(ev("[first(createArray(7, 8))]") == 7);
  CHECK(ev("[padLeft('7', 3, '0')]") == "007");
  CHECK(ev("[base64ToString(base64('hi'))]") == "hi");
  CHECK(ev("[createObject('a', 1).a]") == 1);
}

TEST_CASE("bad expressions fail with the position of the fault", "[deployments][expression]") {
  Eval ev;
  auto e = ev.error("[foo('x')]");
  CHECK(e.code == "InvalidTemplate");
  CHECK(e.position == 1u);
  CHECK(e.detail ==
        "the template function 'foo' is not valid. Please see https://aka.ms/arm-functions for "
        "usage details");
  CHECK(e.path == "test");
  CHECK(e.text == "[foo('x')]");
  CHECK(e.message() ==
        "Deployment template validation failed: 'The template expression '[foo('x')]' at 'test' is "
        "not "
        "valid: the template function 'foo' is not valid. Please see https://aka.ms/arm-functions "
        "for "
        "usage details (position 1).'");
  CHECK(ev.error("[concat('a', bar())]").position == 13u);
  e = ev.error("[concat('a' 'b')]");
  CHECK(e.position == 12u);
  CHECK(e.detail == "the character ''' is not expected; ',' or ')' was expected");
  e = ev.error("[concat('a']");
  CHECK(e.detail == "the expression ends where ',' or ')' was expected");
  CHECK(e.position == 11u);
  CHECK(ev.error("['open]").detail == "the string literal is not terminated");
  CHECK(ev.error("[]").detail == "the expression is empty");
  CHECK(ev.error("[concat]").detail ==
        "'concat' is not a function call: '(' was expected after it");
  CHECK(ev.error("[1.5]").detail ==
        "only integer literals are supported (use json('1.5') for others)");
  CHECK(ev.error("[resourceGroup().nope]").detail ==
        "the language expression property 'nope' doesn't exist, available properties are 'id, "
        "location, name'");
  CHECK(ev.error("[createArray(1)[3]]").detail ==
        "the array index '3' is out of bounds (length 1)");
}

TEST_CASE("template values: objects (keys too), arrays and property copy loops",
          "[deployments][expression]") {
  Eval ev;
  Evaluator e(ev.ctx);
  json v = e.value({{"[concat('k', parameters('name'))]", "[parameters('count')]"},
                    {"list", json::array({"[toUpper('a')]", 1})}},
                   "properties");
  CHECK(v == json{{"kkc1", 3}, {"list", json::array({"A", 1})}});
  json copy = {{"copy", json::array({{{"name", "disks"},
                                      {"count", "[parameters('count')]"},
                                      {"input", {{"lun", "[copyIndex('disks')]"}}}}})},
               {"other", "x"}};
  CHECK(e.value(copy, "properties", true) ==
        json{{"disks", json::array({{{"lun", 0}}, {{"lun", 1}}, {{"lun", 2}}})}, {"other", "x"}});
  try {
    e.value({{"a", {{"b", "[nope()]"}}}}, "resources[0].properties");
    FAIL("no error");
  } catch (const TemplateError& err) {
    CHECK(err.path == "resources[0].properties.a.b");
    CHECK(err.position == 1u);
  }
}

TEST_CASE("the lenient body parse takes what az 2.45 sends", "[deployments][json]") {
  // JsonCTemplatePolicy: the template file's text behind an unquoted key, with comments.
  const std::string body =
      "{\"properties\": {\"parameters\": {\"a\": {\"value\": \"x\"}}, \"mode\": \"Incremental\", "
      "template:{\r\n"
      "  // a line comment\r\n"
      "  \"$schema\": "
      "\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\r\n"
      "  /* a block\r\n comment */ \"contentVersion\": \"1.0.0.0\",\r\n"
      "  \"variables\": {\"url\": \"http://not/a // comment\", \"s\": \"multi\nline\"},\r\n"
      "  \"resources\": [],\r\n"
      "}}}";
  auto parsed = parse_lenient_json(body);
  INFO(parsed.error());
  REQUIRE(parsed.is_ok());
  const json& t = parsed.value()["properties"]["template"];
  CHECK(t["contentVersion"] == "1.0.0.0");
  CHECK(t["variables"]["url"] == "http://not/a // comment");
  CHECK(t["variables"]["s"] == "multi\nline");
  CHECK(parsed.value()["properties"]["parameters"]["a"]["value"] == "x");
  // Strict JSON still parses; errors name the line and column of the text as sent.
  CHECK(parse_lenient_json("{\"a\": [1, 2]}").value()["a"][1] == 2);
  auto bad = parse_lenient_json("{\"a\": 1,\n  \"b\": }");
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.error(), Contains("line 2, column 8"));
  CHECK_THAT(parse_lenient_json("{/* open").error(),
             Contains("unterminated /* comment at line 1, column 2"));
}

// Found by fuzz/template_expression_fuzzer.cpp: format('{0,400004000}', ...) built a 400 MB
// string (and an alignment of INT_MIN overflowed when negated); .NET refuses an alignment of a
// million or more and a precision over 99, and no template value needs more than 4 MB.
TEST_CASE("format() alignment and precision within .NET's limits", "[deployments][expression]") {
  Eval ev;
  CHECK_THAT(ev.error("[format('{0,400004000}', 'x')]").detail, Contains("alignment out of range"));
  CHECK_THAT(ev.error("[format('{0,-2147483648}', 'x')]").detail,
             Contains("alignment out of range"));
  CHECK(ev("[format('{0,-3}|{0,999999}', 'x')]").get<std::string>().size() == 4 + 999999);
  CHECK_THAT(ev.error("[format('{0:F1000}', 1)]").detail, Contains("precision is over 99"));
  CHECK(ev("[format('{0:F99}', 1)]") == "1." + std::string(99, '0'));
  CHECK(ev("[format('{0:D70}', 7)]") == std::string(69, '0') + "7");
  // No function makes a string over 4 MB, however it is asked: nor padLeft, replace or concat.
  CHECK_THAT(ev.error("[padLeft('a', 2000000000)]").detail, Contains("more than the 4194304"));
  CHECK(ev("[padLeft('a', 3, 'x')]") == "xxa");
  const std::string mb = "[padLeft('', 1048576, 'a')]";
  CHECK(ev("[length(replace(" + mb.substr(1, mb.size() - 2) + ", 'a', 'bbbb'))]") == 4194304);
  CHECK_THAT(ev.error("[replace(" + mb.substr(1, mb.size() - 2) + ", 'a', 'bbbbb')]").detail,
             Contains("more than the 4194304"));
  CHECK(ev("[replace('abcabc', 'bc', 'x')]") == "axax");
  CHECK_THAT(ev.error("[concat(padLeft('', 4194304, 'a'), 'b')]").detail,
             Contains("more than the 4194304"));
  // Nor does a call hold more than that in its arguments (concat or createArray naming a large
  // value many times), and union() of large arrays takes n log n, not n squared.
  ev.vars["mb"] = std::string(1 << 20, 'a');
  const std::string five =
      "variables('mb'), variables('mb'), variables('mb'), variables('mb'), "
      "variables('mb')";
  CHECK_THAT(ev.error("[createArray(" + five + ")]").detail,
             Contains("was given arguments of more than the 4194304 bytes"));
  CHECK_THAT(ev.error("[concat(" + five + ")]").detail, Contains("more than the 4194304"));
  CHECK(ev("[length(createArray(variables('mb'), variables('mb'), variables('mb')))]") == 3);
  ev.vars["many"] = json::array();
  for (int i = 0; i < 200000; ++i) ev.vars["many"].push_back(i);
  CHECK(ev("[length(union(variables('many'), variables('many'), createArray(-1)))]") == 200001);
  CHECK(ev("[union(createArray(3, 1, 3), createArray(2, 1))]") == json::array({3, 1, 2}));
  // json() reads through the input reader: its nesting limit holds.
  CHECK_THAT(ev.error("[json('" + std::string(100, '[') + std::string(100, ']') + "')]").detail,
             Contains("not valid JSON"));
  CHECK(ev("[json('[[1]]')]") == json::array({json::array({1})}));
}
