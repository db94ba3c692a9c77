// Configuring long-running operation policies: the JSON form (fixtures, admin API), the flag
// form, and their effect on operations started afterwards.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "state/fixture.h"
#include "test_support.h"

using namespace cmk;
using Catch::Matchers::Contains;
using nlohmann::json;
using Mode = arm::LroPolicy::Mode;

TEST_CASE("LRO policy sets parse from JSON with errors that name the path", "[lro][arm]") {
  auto set = arm::LroPolicySet::from_json(json::parse(R"({
      "default": {"mode": "polls", "polls": 2},
      "rules": [{"resourceType": "Microsoft.Kusto/clusters", "operation": "delete",
                 "policy": {"mode": "duration", "seconds": 30}},
                {"resourceType": "*", "policy": {"mode": "immediate"}}]})"));
  REQUIRE(set.is_ok());
  REQUIRE(set->default_policy->mode == Mode::AfterPolls);
  REQUIRE(set->rules.size() == 2);
  REQUIRE(set->rules[1].operation == "*");

  auto error = [](const char* text) {
    auto s = arm::LroPolicySet::from_json(json::parse(text));
    REQUIRE_FALSE(s.is_ok());
    return s.status().message();
  };
  REQUIRE_THAT(error("[]"), Contains("$: must be a JSON object"));
  REQUIRE_THAT(error(R"({"defaults": {}})"), Contains("$.defaults: unknown key"));
  REQUIRE_THAT(error(R"({"default": {"mode": "soon"}})"), Contains("$.default: 'mode' must be"));
  REQUIRE_THAT(error(R"({"rules": {}})"), Contains("$.rules: must be an array"));
  REQUIRE_THAT(error(R"({"rules": [{"policy": {"mode": "immediate"}}]})"),
               Contains("$.rules[0].resourceType: a resource type"));
  REQUIRE_THAT(error(R"({"rules": [{"resourceType": "*"}]})"),
               Contains("$.rules[0].policy: is required"));
  REQUIRE_THAT(
      error(R"({"rules": [{"resourceType": "*", "policy": {"mode": "polls", "polls": -1}}]})"),
      Contains("$.rules[0].policy: 'polls' must be"));
  REQUIRE_THAT(error(R"({"rules": [{"resourceType": "*", "op": "x", "policy": {}}]})"),
               Contains("$.rules[0].op: unknown key"));
  // A rule that could never match is refused, not kept silently.
  REQUIRE_THAT(
      error(
          R"({"rules": [{"resourceType": "Microsoft.Kusto/cluster", "policy": {"mode": "immediate"}}]})"),
      Contains("$.rules[0]: resource type 'Microsoft.Kusto/cluster' is not one the emulator serves "
               "(did you mean 'Microsoft.Kusto/clusters'?)"));
  REQUIRE_THAT(
      error(
          R"({"rules": [{"resourceType": "Contoso.Widgets/gadgets", "policy": {"mode": "immediate"}}]})"),
      Contains("is not one the emulator serves") && !Contains("did you mean"));
  REQUIRE_THAT(
      error(
          R"({"rules": [{"resourceType": "*", "operation": "update", "policy": {"mode": "immediate"}}]})"),
      Contains("operation 'update' is not write, delete, action"));
  REQUIRE(
      arm::LroPolicySet::from_json(
          json::parse(
              R"({"rules": [{"resourceType": "microsoft.kusto/CLUSTERS/databases", "operation": "Write",
                             "policy": {"mode": "immediate"}}]})"))
          .is_ok());
}

TEST_CASE("LRO policies parse from the flag form", "[lro][arm]") {
  auto all = arm::parse_lro_policy_flag("immediate");
  REQUIRE(all.is_ok());
  REQUIRE(all->default_policy->mode == Mode::Immediate);
  REQUIRE(all->rules.empty());

  auto polls = arm::parse_lro_policy_flag("Microsoft.Kusto/clusters=polls:3");
  REQUIRE(polls->rules.at(0).resource_type == "Microsoft.Kusto/clusters");
  REQUIRE(polls->rules.at(0).operation == "*");
  REQUIRE(polls->rules.at(0).policy.polls == 3);

  auto del = arm::parse_lro_policy_flag("Microsoft.Kusto/clusters:delete=duration:2.5");
  REQUIRE(del->rules.at(0).operation == "delete");
  REQUIRE(del->rules.at(0).policy.duration == std::chrono::milliseconds(2500));

  for (const char* bad :
       {"", "soon", "polls", "polls:x", "polls:3x", "duration:-1", "=immediate",
        "Microsoft.Kusto/clusters:=immediate", "immediate:1", "Microsoft.Kusto/cluster=polls:3",
        "Microsoft.Kusto/clusters:update=immediate"}) {
    INFO(bad);
    auto r = arm::parse_lro_policy_flag(bad);
    REQUIRE_FALSE(r.is_ok());
    REQUIRE_THAT(r.status().message(), Contains("--lro-policy '"));
  }
  REQUIRE_THAT(arm::parse_lro_policy_flag("Microsoft.Kusto/cluster=polls:3").status().message(),
               Contains("did you mean 'Microsoft.Kusto/clusters'?"));
}

TEST_CASE("LRO policies from fixtures, flags and the admin API decide how operations finish",
          "[lro][arm][emulator]") {
  test::TempDir dir;
  const auto fixture = dir.path() / "lro.json";
  std::ofstream(fixture) << R"({"lroPolicies": {"default": {"mode": "immediate"},
      "rules": [{"resourceType": "Microsoft.Resources/resourceGroups", "operation": "delete",
                 "policy": {"mode": "polls", "polls": 5}}]}})";
  const auto defaults = dir.path() / "default.json";
  std::ofstream(defaults) << state::builtin_default_fixture_text();
  auto o = test::test_options();
  o.fixtures = {defaults, fixture};
  o.lro_policies = {"Microsoft.Kusto/clusters:write=polls:2"};  // flags apply after fixtures
  auto emu = test::start_emulator(o);
  auto cli = test::https_client(*emu);
  httplib::Headers auth{{"Authorization", "Bearer " + test::app_token(*emu)}};

  auto table = json::parse(cli->Get("/_emulator/lro-policy")->body);
  REQUIRE(table["default"]["mode"] == "immediate");
  REQUIRE(table["rules"].size() == 2);
  REQUIRE(table["rules"][0]["resourceType"] == "microsoft.kusto/clusters");
  REQUIRE(table["rules"][0]["policy"]["polls"] == 2);

  const std::string rg =
      std::string("/subscriptions/") + test::kSubscription + "/resourceGroups/rg1";
  const std::string v = "?api-version=2024-04-13";
  REQUIRE(cli->Put(rg + v, auth, R"({"location":"westeurope"})", "application/json")->status ==
          201);
  const json cluster = {{"location", "westeurope"},
                        {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}}};
  auto state_of = [&](const std::string& name) {
    auto r = cli->Get(rg + "/providers/Microsoft.Kusto/clusters/" + name + v, auth);
    return json::parse(r->body)["properties"]["provisioningState"].get<std::string>();
  };
  auto create = [&](const std::string& name) {
    auto r = cli->Put(rg + "/providers/Microsoft.Kusto/clusters/" + name + v, auth, cluster.dump(),
                      "application/json");
    REQUIRE(r->status == 201);
    return r->get_header_value("Azure-AsyncOperation");
  };
  // polls:2 from the flag: GETs of the resource do not count, polls of the operation do.
  const std::string async = create("kcpolls1");
  REQUIRE(state_of("kcpolls1") == "Creating");
  auto poll_path = async.substr(async.find("/subscriptions/"));
  REQUIRE(json::parse(cli->Get(poll_path, auth)->body)["status"] == "Running");
  REQUIRE(json::parse(cli->Get(poll_path, auth)->body)["status"] == "Succeeded");
  REQUIRE(state_of("kcpolls1") == "Succeeded");

  // PUT replaces the whole table: the flag's rule is gone, the new default applies.
  auto bad = cli->Put("/_emulator/lro-policy", R"({"rules": [{"resourceType": "*"}]})",
                      "application/json");
  REQUIRE(bad->status == 400);
  REQUIRE(json::parse(bad->body)["error"]["code"] == "InvalidRequestContent");
  REQUIRE_THAT(json::parse(bad->body)["error"]["message"].get<std::string>(),
               Contains("$.rules[0].policy"));
  REQUIRE(json::parse(cli->Get("/_emulator/lro-policy")->body)["rules"].size() == 2);  // unchanged
  auto put = cli->Put("/_emulator/lro-policy", R"({"default": {"mode": "immediate"}})",
                      "application/json");
  REQUIRE(put->status == 200);
  REQUIRE(json::parse(put->body)["rules"].empty());
  create("kcnow1");
  REQUIRE(state_of("kcnow1") == "Succeeded");

  // DELETE restores the built-in default: about a second on the virtual clock.
  REQUIRE(json::parse(cli->Delete("/_emulator/lro-policy")->body)["default"]["mode"] == "duration");
  create("kcslow1");
  REQUIRE(state_of("kcslow1") == "Creating");
  emu->clock().advance(std::chrono::seconds(1));
  REQUIRE(state_of("kcslow1") == "Succeeded");
}

TEST_CASE("a bad lroPolicies section or --lro-policy stops the start", "[lro][fixture]") {
  test::TempDir dir;
  const auto fixture = dir.path() / "bad.json";
  std::ofstream(fixture)
      << R"({"lroPolicies": {"rules": [{"resourceType": "*", "policy": {"mode": "x"}}]}})";
  auto o = test::test_options();
  o.fixtures = {fixture};
  Emulator emu(o);
  auto s = emu.start();
  REQUIRE_FALSE(s.is_ok());
  REQUIRE_THAT(s.message(), Contains("bad.json: $.lroPolicies.rules[0].policy: 'mode' must be"));

  auto o2 = test::test_options();
  o2.lro_policies = {"sometimes"};
  Emulator emu2(o2);
  auto s2 = emu2.start();
  REQUIRE_FALSE(s2.is_ok());
  REQUIRE_THAT(s2.message(), Contains("--lro-policy 'sometimes'"));
}
