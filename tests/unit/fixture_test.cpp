#include <catch2/catch.hpp>

#include <fstream>

#include "state/fixture.h"
#include "test_support.h"

using namespace cmk;
using Catch::Matchers::Contains;

namespace {
std::string error_of(const std::string& text) {
  auto f = state::parse_fixture(text, "f.json");
  REQUIRE_FALSE(f.is_ok());
  return f.error();
}
}  // namespace

TEST_CASE("the built-in default fixture loads: one tenant, subscription, principal", "[fixture]") {
  auto f = state::parse_fixture(state::builtin_default_fixture_text(), "default");
  REQUIRE(f.is_ok());
  REQUIRE(f->tenants.size() == 1);
  REQUIRE(f->subscriptions.size() == 1);
  REQUIRE(f->service_principals.size() == 1);
  entra::Directory dir;
  arm::SubscriptionRegistry subs;
  REQUIRE(state::apply_fixtures({*f}, dir, subs).is_ok());
  auto sp = dir.find_service_principal("11111111-1111-1111-1111-111111111111");
  REQUIRE(sp.has_value());
  REQUIRE(sp->tenant_id == "72f988bf-0000-0000-0000-000000000001");  // defaulted to the tenant
  REQUIRE(sp->secrets == std::vector<std::string>{"emulator-secret"});
  REQUIRE(subs.find("00000000-0000-0000-0000-000000000001").has_value());
}

TEST_CASE("fixture errors name the file, the JSON path and the problem", "[fixture]") {
  REQUIRE_THAT(error_of("{\n  \"tenants\": [\n    {\"id\": }\n  ]\n}"),
               Contains("f.json: $: invalid JSON at line 3, column"));
  REQUIRE_THAT(error_of("[]"), Contains("f.json: $: a fixture must be a JSON object"));
  REQUIRE_THAT(error_of(R"({"tenant": []})"), Contains("f.json: $.tenant: unknown key"));
  REQUIRE_THAT(error_of(R"({"version": 2})"), Contains("f.json: $.version: only version 1"));
  REQUIRE_THAT(error_of(R"({"tenants": {}})"), Contains("f.json: $.tenants: must be an array"));
  REQUIRE_THAT(error_of(R"({"tenants": [{"id": "nope"}]})"),
               Contains("f.json: $.tenants[0].id: must be a GUID (got \"nope\")"));
  REQUIRE_THAT(error_of(R"({"tenants": [{}]})"), Contains("$.tenants[0].id: is required"));
  REQUIRE_THAT(
      error_of(R"({"subscriptions": [{"id": "00000000-0000-0000-0000-000000000001",
                  "tenantId": "00000000-0000-0000-0000-000000000002", "state": "Sleeping"}]})"),
      Contains("$.subscriptions[0].state: must be one of"));
  REQUIRE_THAT(error_of(R"({"servicePrincipals": [{"appId": "11111111-1111-1111-1111-111111111111",
                  "objectId": "11111111-1111-1111-1111-111111111112", "secrets": [""]}]})"),
               Contains("$.servicePrincipals[0].secrets[0]: must not be empty"));
  REQUIRE_THAT(error_of(R"({"servicePrincipals": [{"appId": "11111111-1111-1111-1111-111111111111",
                  "objectId": "11111111-1111-1111-1111-111111111112", "secrets": [1]}]})"),
               Contains("$.servicePrincipals[0].secrets[0]: must be a string"));
}

TEST_CASE("cross-fixture references: a subscription needs a known tenant", "[fixture]") {
  auto a = state::parse_fixture(R"({"tenants": [{"id": "aaaaaaaa-0000-0000-0000-000000000001"}]})",
                                "a.json");
  auto b = state::parse_fixture(R"({"subscriptions": [
      {"id": "bbbbbbbb-0000-0000-0000-000000000001", "tenantId": "AAAAAAAA-0000-0000-0000-000000000001"},
      {"id": "bbbbbbbb-0000-0000-0000-000000000002", "tenantId": "cccccccc-0000-0000-0000-000000000001"}]})",
                                "b.json");
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  entra::Directory dir;
  arm::SubscriptionRegistry subs;
  auto s = state::apply_fixtures({*a, *b}, dir, subs);
  REQUIRE_FALSE(s.is_ok());
  REQUIRE_THAT(s.message(), Contains("b.json: $.subscriptions[1].tenantId: no tenant "
                                     "'cccccccc-0000-0000-0000-000000000001'"));
  // The first subscription referenced the tenant in another case and was accepted.
  REQUIRE(subs.find("bbbbbbbb-0000-0000-0000-000000000001").has_value());
}

TEST_CASE("an invalid fixture file stops the start with its message", "[fixture]") {
  test::TempDir dir;
  const auto file = dir.path() / "broken.json";
  std::ofstream(file) << R"({"subscriptions": [{"id": 7}]})";
  auto opts = test::test_options();
  opts.fixtures = {file};
  Emulator emu(opts);
  auto s = emu.start();
  REQUIRE_FALSE(s.is_ok());
  REQUIRE_THAT(s.message(), Contains("broken.json: $.subscriptions[0].id: must be a string"));
  REQUIRE(emu.https_port() == 0);  // nothing was left listening

  opts.fixtures = {dir.path() / "missing.json"};
  Emulator emu2(opts);
  auto s2 = emu2.start();
  REQUIRE_THAT(s2.message(), Contains("missing.json: cannot be read"));
}

TEST_CASE("fault rules from fixtures and --faults files load in order - bad ones stop the start",
          "[fixture][faults]") {
  test::TempDir dir;
  const auto fixture = dir.path() / "with-faults.json";
  std::ofstream(fixture) << R"({"faults": [{"preset": "arm-throttling", "limit": {"maxCount": 3}}]})";
  const auto rules = dir.path() / "rules.json";
  std::ofstream(rules) << R"({"name": "slow-kv", "match": {"surface": "keyvault"},
                             "action": {"type": "latency", "ms": 5}})";
  auto opts = test::test_options();
  opts.fixtures = {fixture};
  opts.fault_files = {rules};
  auto emu = test::start_emulator(opts);
  const auto listed = emu->faults().to_json()["value"];
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["name"] == "arm-throttling");
  CHECK(listed[0]["limit"]["maxCount"] == 3);
  CHECK(listed[1]["name"] == "slow-kv");

  REQUIRE_THAT(error_of(R"({"faults": [{"action": {"type": "status", "status": 7}}]})"),
               Contains("f.json: $.faults[0].action.status: must be an HTTP status"));
  const auto bad = dir.path() / "bad-rules.json";
  std::ofstream(bad) << R"([{"match": {"surface": "ftp"}, "action": {"type": "reset"}}])";
  opts.fixtures = {};
  opts.fault_files = {bad};
  Emulator broken(opts);
  auto s = broken.start();
  REQUIRE_FALSE(s.is_ok());
  CHECK_THAT(s.message(), Contains("bad-rules.json: $[0].match.surface: 'ftp' is not a surface"));
}
