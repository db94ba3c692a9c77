// Fault injection (faults/, issue 7): matchers, limits and determinism on the rule set itself;
// every action over real HTTPS against a running emulator; LRO outcomes through the operation
// engine; admin calls left alone unless a rule names the admin surface.
#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>

#include <nlohmann/json.hpp>

#include "faults/fault_filter.h"
#include "faults/fault_rules.h"
#include "http/host_routing.h"
#include "http/server.h"
#include "test_support.h"

using namespace cmk;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const RealClock real_clock;

// Facts for a request; the views point at string literals, which outlive the test.
faults::RequestFacts facts(const char* surface, const char* method, const char* path,
                           std::string operation = "") {
  faults::RequestFacts f;
  f.surface = surface;
  f.method = method;
  f.path = path;
  f.host = "management.azure.com";
  f.operation = [operation] { return operation; };
  return f;
}

std::vector<faults::Rule> rules(const json& j, TimePoint now = TimePoint{}) {
  auto r = faults::parse_rules(j, now);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  return std::move(r.value());
}

// Which of `n` identical requests the set acted on (1-based).
std::vector<int> acted(faults::FaultSet& set, const faults::RequestFacts& f, int n) {
  std::vector<int> out;
  for (int i = 1; i <= n; ++i)
    if (set.decide(f)) out.push_back(i);
  return out;
}

http::Request request(const std::string& method, const std::string& host,
                      const std::string& target) {
  http::Request req;
  req.method = method;
  http::parse_target(req, target, host, 443);
  http::classify(req);
  return req;
}

}  // namespace

TEST_CASE("faults: operation names in the vocabulary rules match", "[faults]") {
  using faults::operation_name;
  const std::string c = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kusto/clusters/c1";
  CHECK(operation_name(request("PUT", "management.azure.com", c + "?api-version=1")) ==
        "Microsoft.Kusto/clusters/write");
  CHECK(operation_name(request("PATCH", "management.azure.com", c)) ==
        "Microsoft.Kusto/clusters/write");
  CHECK(operation_name(request("GET", "management.azure.com", c)) ==
        "Microsoft.Kusto/clusters/read");
  CHECK(operation_name(request("DELETE", "management.azure.com", c)) ==
        "Microsoft.Kusto/clusters/delete");
  CHECK(operation_name(request("POST", "management.azure.com", c + "/start")) ==
        "Microsoft.Kusto/clusters/start/action");
  CHECK(operation_name(request("PUT", "management.azure.com", c + "/databases/db1")) ==
        "Microsoft.Kusto/clusters/databases/write");
  CHECK(operation_name(
            request("GET", "management.azure.com", "/subscriptions/s/resourceGroups/rg")) ==
        "Microsoft.Resources/subscriptions/resourceGroups/read");
  CHECK(
      operation_name(request(
          "GET", "management.azure.com",
          "/subscriptions/s/providers/Microsoft.Kusto/locations/westeurope/operationResults/x")) ==
      "Microsoft.Kusto/locations/operationResults/read");
  CHECK(operation_name(request("POST", "kv1.vault.azure.net", "/keys/k/0123/unwrapkey")) ==
        "keys/unwrapKey");
  CHECK(operation_name(request("POST", "kv1.vault.azure.net", "/keys/k/create")) == "keys/create");
  CHECK(operation_name(request("GET", "kv1.vault.azure.net", "/keys/k")) == "keys/get");
  CHECK(operation_name(request("GET", "kv1.vault.azure.net", "/keys")) == "keys/list");
  CHECK(operation_name(request("DELETE", "kv1.vault.azure.net", "/deletedkeys/k")) ==
        "deletedkeys/purge");
  CHECK(operation_name(request("POST", "kv1.vault.azure.net", "/certificates/c/create")) ==
        "certificates/create");
  CHECK(operation_name(request("POST", "kv1.vault.azure.net", "/certificates/c/pending/merge")) ==
        "certificates/merge");
  CHECK(operation_name(request("GET", "kv1.vault.azure.net", "/certificates/c/pending")) ==
        "certificates/get");
  CHECK(operation_name(request("POST", "login.microsoftonline.com", "/tenant/oauth2/v2.0/token")) ==
        "oauth2/v2.0/token");
}

TEST_CASE("faults: each matcher", "[faults]") {
  faults::FaultSet set(real_clock);
  auto decides = [&](const json& match, const faults::RequestFacts& f) {
    set.replace(rules({{"match", match}, {"action", {{"type", "status"}}}}));
    return set.decide(f).has_value();
  };
  auto arm = facts("arm", "GET", "/subscriptions/s/resourceGroups/rg",
                   "Microsoft.Resources/subscriptions/resourceGroups/read");
  auto admin = facts("admin", "GET", "/_emulator/health");

  // No surface named: everything but admin.
  CHECK(decides(json::object(), arm));
  CHECK_FALSE(decides(json::object(), admin));
  CHECK(decides({{"surface", "admin"}}, admin));
  CHECK(decides({{"surface", {"keyvault", "arm"}}}, arm));
  CHECK_FALSE(decides({{"surface", "keyvault"}}, arm));

  CHECK(decides({{"host", "*.azure.com"}}, arm));
  CHECK_FALSE(decides({{"host", "*.vault.azure.net"}}, arm));
  CHECK(decides({{"method", {"put", "GET"}}}, arm));
  CHECK_FALSE(decides({{"method", "DELETE"}}, arm));
  CHECK(decides({{"path", "/subscriptions/*/resourcegroups/RG"}}, arm));
  CHECK_FALSE(decides({{"path", "/subscriptions/*/resourceGroups/other"}}, arm));
  CHECK(decides({{"pathRegex", "^/subscriptions/[^/]+/resourceGroups/rg$"}}, arm));
  CHECK_FALSE(decides({{"pathRegex", "providers"}}, arm));
  CHECK(decides({{"pathRegex", "RESOURCEGROUPS/R[G]"}}, arm));  // searched, case-insensitive
  // The rule that made std::regex backtrack for seconds on a 7 000-character path: RE2 answers
  // (linear time) and answers right, both ways.
  const std::string a7000 = "/" + std::string(7000, 'a'), a7000c = a7000 + "c";
  auto long_path = facts("arm", "GET", a7000.c_str(), "");
  CHECK_FALSE(decides({{"pathRegex", "(a|b)*c"}}, long_path));
  auto long_path_c = facts("arm", "GET", a7000c.c_str(), "");
  CHECK(decides({{"pathRegex", "(a|b)*c"}}, long_path_c));
  CHECK(decides({{"operation", "Microsoft.Resources/*/read"}}, arm));
  CHECK_FALSE(decides({{"operation", "*/write"}}, arm));

  arm.api_version = [] { return std::string("2021-04-01"); };
  CHECK(decides({{"apiVersion", "2021-04-01"}}, arm));
  CHECK_FALSE(decides({{"apiVersion", "2020-01-01"}}, arm));

  std::map<std::string, std::string> headers = {{"x-ms-client-request-id", "abc-123"}};
  arm.header = [&](std::string_view n) -> std::optional<std::string> {
    for (const auto& [k, v] : headers)
      if (http::iequals(k, n)) return v;
    return std::nullopt;
  };
  CHECK(decides({{"headers", {{"X-MS-Client-Request-Id", "*"}}}}, arm));
  CHECK(decides({{"headers", {{"x-ms-client-request-id", "abc-*"}}}}, arm));
  CHECK_FALSE(decides({{"headers", {{"x-ms-client-request-id", "xyz"}}}}, arm));
  CHECK_FALSE(decides({{"headers", {{"x-other", "*"}}}}, arm));

  arm.principal_oid = "oid-1";
  arm.principal_appid = "app-1";
  CHECK(decides({{"principal", "oid-1"}}, arm));
  CHECK(decides({{"principal", "APP-1"}}, arm));
  CHECK_FALSE(decides({{"principal", "someone-else"}}, arm));

  // caller: only the emulator's own calls.
  CHECK_FALSE(decides({{"caller", "*"}}, arm));
  headers["x-ms-emulator-caller"] =
      "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kusto/clusters/c1";
  CHECK(decides({{"caller", "*/clusters/c1"}}, arm));
  CHECK_FALSE(decides({{"caller", "*/clusters/c2"}}, arm));
}

TEST_CASE("faults: limits count matches - the first rule that acts wins", "[faults]") {
  test::ManualClock base;
  VirtualClock clock(&base);
  faults::FaultSet set(clock);
  const auto f = facts("arm", "GET", "/x");
  auto one = [&](const json& limit) {
    set.replace(
        rules({{"name", "r"}, {"limit", limit}, {"action", {{"type", "status"}}}}, clock.now()));
  };
  one({{"first", 2}});
  CHECK(acted(set, f, 5) == std::vector<int>{1, 2});
  one({{"after", 2}});
  CHECK(acted(set, f, 5) == std::vector<int>{3, 4, 5});
  one({{"every", 2}});
  CHECK(acted(set, f, 6) == std::vector<int>{2, 4, 6});
  one({{"after", 1}, {"every", 2}, {"first", 4}});  // matches 2..5, every second of those
  CHECK(acted(set, f, 8) == std::vector<int>{3, 5});
  one({{"maxCount", 3}});
  CHECK(acted(set, f, 5) == std::vector<int>{1, 2, 3});
  auto listed = set.to_json()["value"][0];
  CHECK(listed["hits"] == 3);
  CHECK(listed["exhausted"] == true);

  // Time: a window and a TTL on the virtual clock.
  one({{"from", "now+10s"}, {"until", "now+20s"}});
  CHECK_FALSE(set.decide(f));
  clock.advance(std::chrono::seconds(10));
  CHECK(set.decide(f));
  clock.advance(std::chrono::seconds(10));
  CHECK_FALSE(set.decide(f));
  one({{"ttlSeconds", 5}});
  CHECK(set.decide(f));
  clock.advance(std::chrono::seconds(5));
  CHECK_FALSE(set.decide(f));

  // A rule that declines lets the next one act; the first that acts wins.
  set.replace(
      rules(json::array({{{"name", "a"},
                          {"limit", {{"every", 2}}},
                          {"action", {{"type", "status"}, {"status", 500}}}},
                         {{"name", "b"}, {"action", {{"type", "status"}, {"status", 502}}}}}),
            clock.now()));
  CHECK(set.decide(f)->rule == "b");
  CHECK(set.decide(f)->rule == "a");
  CHECK(set.decide(f)->rule == "b");
}

TEST_CASE("faults: probability with a seed repeats exactly", "[faults]") {
  const auto f = facts("keyvault", "POST", "/keys/k/v/unwrapkey");
  auto run = [&](uint64_t seed) {
    faults::FaultSet set(real_clock);
    set.replace(rules(
        {{"limit", {{"probability", 0.3}, {"seed", seed}}}, {"action", {{"type", "status"}}}}));
    return acted(set, f, 200);
  };
  const auto first = run(42);
  CHECK(first == run(42));
  CHECK(first != run(43));
  // Roughly the probability asked for (binomial 200 x 0.3: 60 +- 30 is beyond 4 sigma).
  CHECK(first.size() > 30);
  CHECK(first.size() < 90);

  // Latency draws are seeded too, and capped.
  auto delays = [&](uint64_t seed) {
    faults::FaultSet set(real_clock);
    set.replace(rules({{"limit", {{"seed", seed}}},
                       {"action",
                        {{"type", "latency"},
                         {"distribution", "lognormal"},
                         {"medianMs", 5},
                         {"sigma", 2},
                         {"capMs", 40}}}}));
    std::vector<double> out;
    for (int i = 0; i < 50; ++i) out.push_back(set.decide(f)->latency_ms);
    return out;
  };
  const auto d = delays(7);
  CHECK(d == delays(7));
  CHECK(*std::max_element(d.begin(), d.end()) <= 40);
  CHECK(std::count(d.begin(), d.end(), 40.0) > 0);  // sigma 2: some draws hit the cap
}

TEST_CASE("faults: invalid rules are refused with the JSON path", "[faults]") {
  auto error = [](const json& j) {
    auto r = faults::parse_rules(j, TimePoint{});
    REQUIRE_FALSE(r.is_ok());
    return r.status().message();
  };
  CHECK_THAT(error(json::object()), Contains("$.action: is required"));
  CHECK_THAT(error({{"action", {{"type", "explode"}}}}),
             Contains("$.action.type: 'explode' is not an action"));
  CHECK_THAT(error(json::array({{{"action", {{"type", "status"}}}},
                                {{"action", {{"type", "status"}, {"status", 42}}}}})),
             Contains("$[1].action.status: must be an HTTP status"));
  CHECK_THAT(error({{"match", {{"surface", "web"}}}, {"action", {{"type", "status"}}}}),
             Contains("$.match.surface: 'web' is not a surface"));
  CHECK_THAT(error({{"match", {{"pathRegex", "(["}}}, {"action", {{"type", "status"}}}}),
             Contains("$.match.pathRegex: not a valid regular expression"));
  // Backreferences are not RE2 syntax: refused when the rule is loaded, not at match time.
  CHECK_THAT(error({{"match", {{"pathRegex", "(a)\\1"}}}, {"action", {{"type", "status"}}}}),
             Contains("RE2 syntax"));
  CHECK_THAT(error({{"limit", {{"probability", 2}}}, {"action", {{"type", "status"}}}}),
             Contains("$.limit.probability: must be a number from 0"));
  CHECK_THAT(error({{"limit", {{"from", "tomorrow"}}}, {"action", {{"type", "status"}}}}),
             Contains("$.limit.from: must be an ISO-8601 time"));
  CHECK_THAT(error({{"action", {{"type", "quota"}, {"limit", 3}}}}),
             Contains("$.action.name: is required"));
  CHECK_THAT(error({{"action", {{"type", "lro"}, {"outcome", "explode"}}}}),
             Contains("$.action.outcome: must be fail, cancel, hold or delay"));
  CHECK_THAT(error({{"action", {{"type", "latency"}}}}), Contains("$.action.ms: is required"));
  CHECK_THAT(error({{"matches", {}}, {"action", {{"type", "status"}}}}),
             Contains("$.matches: unknown key"));
  CHECK_THAT(error({{"preset", "nope"}}), Contains("$.preset: no preset 'nope' (arm-throttling"));
}

TEST_CASE("faults: presets expand and take overrides", "[faults]") {
  for (const auto& [name, preset] : faults::presets_json().items()) {
    INFO(name);
    auto r = faults::parse_rules({{"preset", name}}, TimePoint{});
    REQUIRE(r.is_ok());
    CHECK(r.value()[0].name == name);
    CHECK_FALSE(preset.value("description", "").empty());
  }
  auto r = rules({{"preset", "keyvault-outage"},
                  {"name", "kv1-down"},
                  {"match", {{"host", "kv1.vault.azure.net"}}},
                  {"action", {{"status", 500}}}});
  CHECK(r[0].name == "kv1-down");
  CHECK(r[0].match.host == "kv1.vault.azure.net");
  CHECK(r[0].match.surfaces == std::vector<std::string>{"keyvault"});  // kept from the preset
  CHECK(r[0].action.status == 500);
  CHECK(r[0].action.code == "ServiceUnavailable");
}

namespace {

struct Live {
  // Warnings the emulator logged.
  std::shared_ptr<std::vector<std::string>> warnings = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::mutex> warnings_mu = std::make_shared<std::mutex>();
  std::unique_ptr<Emulator> emu = test::start_emulator([this] {
    auto o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.lro_policies = {"immediate"};
    o.log_level = LogLevel::Warn;
    o.log_sink = [lines = warnings, mu = warnings_mu](std::string_view line) {
      std::lock_guard lock(*mu);
      lines->emplace_back(line);
    };
    return o;
  }());
  std::vector<std::string> logged() {
    std::lock_guard lock(*warnings_mu);
    return *warnings;
  }
  std::unique_ptr<httplib::SSLClient> arm = test::https_client(*emu);
  std::unique_ptr<httplib::Client> admin = test::http_client(*emu);
  httplib::Headers auth{{"Authorization", "Bearer " + test::app_token(*emu)}};
  const std::string sub = std::string("/subscriptions/") + test::kSubscription;

  void faults(const json& rules) {
    auto r = admin->Put("/_emulator/faults", rules.dump(), "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
  }
  json journal(const std::string& query = "") {
    auto r = admin->Get("/_emulator/requests" + query);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  }
};

}  // namespace

TEST_CASE("faults: actions over HTTPS", "[faults]") {
  Live l;
  const std::string groups = l.sub + "/resourcegroups?api-version=2021-04-01";

  SECTION("status, in the surface's shape, or a custom body") {
    l.faults({{{"match", {{"surface", "arm"}}},
               {"action",
                {{"type", "status"},
                 {"status", 500},
                 {"code", "Boom"},
                 {"headers", {{"x-extra", "1"}}}}}}});
    auto r = l.arm->Get(groups, l.auth);
    REQUIRE(r);
    CHECK(r->status == 500);
    CHECK(json::parse(r->body)["error"]["code"] == "Boom");
    CHECK(r->get_header_value("x-extra") == "1");
    CHECK_FALSE(
        r->get_header_value("x-ms-request-id").empty());  // the pipeline's headers still apply
    l.faults({{{"action", {{"type", "status"}, {"status", 418}, {"body", "short and stout"}}}}});
    r = l.arm->Get(groups, l.auth);
    CHECK(r->status == 418);
    CHECK(r->body == "short and stout");
  }
  SECTION("throttle: 429 with Retry-After and ARM's headers; a named quota") {
    l.faults({{{"action", {{"type", "throttle"}, {"retryAfter", 7}}}, {"limit", {{"first", 1}}}}});
    auto r = l.arm->Get(groups, l.auth);
    CHECK(r->status == 429);
    CHECK(r->get_header_value("Retry-After") == "7");
    CHECK(r->get_header_value("x-ms-ratelimit-remaining-subscription-reads") == "0");
    CHECK(json::parse(r->body)["error"]["code"] == "TooManyRequests");
    CHECK(l.arm->Get(groups, l.auth)->status == 200);

    l.faults({{{"match", {{"method", "GET"}}},
               {"action",
                {{"type", "quota"}, {"name", "reads"}, {"limit", 2}, {"windowSeconds", 60}}}}});
    CHECK(l.arm->Get(groups, l.auth)->status == 200);
    CHECK(l.arm->Get(groups, l.auth)->status == 200);
    r = l.arm->Get(groups, l.auth);
    CHECK(r->status == 429);
    CHECK(r->get_header_value("Retry-After") == "60");
    l.emu->clock().advance(std::chrono::seconds(45));
    CHECK(l.arm->Get(groups, l.auth)->get_header_value("Retry-After") == "15");
    l.emu->clock().advance(std::chrono::seconds(15));
    CHECK(l.arm->Get(groups, l.auth)->status == 200);  // a new window
  }
  SECTION("latency before the answer is journaled with its drawn delay") {
    l.faults({{{"name", "slow"}, {"action", {{"type", "latency"}, {"ms", 20}}}}});
    CHECK(l.arm->Get(groups, l.auth)->status == 200);
    auto j = l.journal();
    CHECK(j["value"].back()["fault"] == "slow: latency 20 ms");
  }
  SECTION("reset: the client sees a broken connection, before or after the change") {
    l.faults({{{"match", {{"method", "PUT"}}},
               {"action", {{"type", "reset"}}},
               {"limit", {{"first", 1}}}}});
    const std::string rg = l.sub + "/resourcegroups/rg-reset?api-version=2021-04-01";
    auto r = l.arm->Put(rg, l.auth, R"({"location":"westeurope"})", "application/json");
    CHECK_FALSE(r);                                // no response at all
    CHECK(l.arm->Get(rg, l.auth)->status == 404);  // "before": not handled
    l.faults({{{"match", {{"method", "PUT"}}},
               {"action", {{"type", "reset"}, {"when", "after"}}},
               {"limit", {{"first", 1}}}}});
    auto fresh = test::https_client(*l.emu);
    CHECK_FALSE(fresh->Put(rg, l.auth, R"({"location":"westeurope"})", "application/json"));
    CHECK(fresh->Get(rg, l.auth)->status == 200);  // "after": it happened
  }
  SECTION("reset through the proxy reaches the client as a reset too") {
    l.faults({{{"match", {{"surface", "keyvault"}}}, {"action", {{"type", "reset"}}}}});
    auto kv = test::proxied_client(*l.emu, "kv1.vault.azure.net");
    CHECK_FALSE(kv->Get("/keys?api-version=7.4"));
    CHECK(l.journal("?surface=keyvault")["value"][0]["fault"] == "rule-1: reset");
  }
  SECTION("truncate and malformed bodies") {
    l.faults({{{"action", {{"type", "truncate"}, {"fraction", 0.5}}}, {"limit", {{"first", 1}}}}});
    CHECK_FALSE(l.arm->Get(groups, l.auth));  // Content-Length promised more than came
    l.faults({{{"action", {{"type", "malformed"}}}, {"limit", {{"first", 1}}}}});
    auto fresh = test::https_client(*l.emu);
    auto r = fresh->Get(groups, l.auth);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body, nullptr, false).is_discarded());
    CHECK_THAT(r->body, Contains("malformed"));
  }
  SECTION("hang: nothing comes back; the connection is dropped when the client gives up") {
    l.faults({{{"action", {{"type", "hang"}}}, {"limit", {{"first", 1}}}}});
    auto impatient = test::https_client(*l.emu);
    impatient->set_read_timeout(0, 300'000);
    CHECK_FALSE(impatient->Get(groups, l.auth));
    // The emulator noticed and moved on: the next request is served (and the hang journaled).
    auto fresh = test::https_client(*l.emu);
    CHECK(fresh->Get(groups, l.auth)->status == 200);
  }
  SECTION("admin calls are not faulted unless a rule names the admin surface") {
    l.faults({{{"action", {{"type", "status"}, {"status", 503}}}}});
    CHECK(l.admin->Get("/_emulator/health")->status == 200);
    l.faults({{{"match", {{"surface", "admin"}, {"path", "/_emulator/health"}}},
               {"action", {{"type", "status"}, {"status", 503}}}}});
    CHECK(l.admin->Get("/_emulator/health")->status == 503);
    CHECK(l.admin->Get("/_emulator/faults")->status == 200);
  }
  SECTION("admin API: append, list with counters, remove one, clear") {
    l.faults(
        {{{"name", "a"}, {"match", {{"path", "/nothing"}}}, {"action", {{"type", "status"}}}}});
    auto r =
        l.admin->Post("/_emulator/faults", R"({"preset":"arm-throttling"})", "application/json");
    REQUIRE(r->status == 200);
    auto list = json::parse(r->body)["value"];
    REQUIRE(list.size() == 2);
    CHECK(list[1]["name"] == "arm-throttling");
    l.arm->Get(groups, l.auth);
    l.arm->Get(groups, l.auth);
    list = json::parse(l.admin->Get("/_emulator/faults")->body)["value"];
    CHECK(list[1]["matched"] == 2);
    CHECK(list[1]["hits"] == 1);
    CHECK(l.admin->Delete("/_emulator/faults/a")->status == 200);
    CHECK(l.admin->Delete("/_emulator/faults/a")->status == 404);
    CHECK(json::parse(l.admin->Delete("/_emulator/faults")->body)["value"].empty());
    r = l.admin->Put("/_emulator/faults", R"([{"action":{"type":"nope"}}])", "application/json");
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["error"]["code"] == "InvalidFaultRule");
    CHECK_THAT(json::parse(r->body)["error"]["message"].get<std::string>(),
               Contains("$[0].action.type"));
    CHECK(json::parse(l.admin->Get("/_emulator/faults/presets")->body).contains("slow-lro"));
  }
}

TEST_CASE("faults: long-running operations fail, hold, cancel or take longer", "[faults]") {
  Live l;
  const std::string rg = l.sub + "/resourceGroups/rg1";
  REQUIRE(l.arm
              ->Put(rg + "?api-version=2021-04-01", l.auth, R"({"location":"westeurope"})",
                    "application/json")
              ->status == 201);
  auto put_cluster = [&](const std::string& name) {
    auto r = l.arm->Put(
        rg + "/providers/Microsoft.Kusto/clusters/" + name + "?api-version=2024-04-13", l.auth,
        R"({"location":"westeurope","sku":{"name":"Standard_E8ads_v5","tier":"Standard"}})",
        "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 201);
    const std::string async = r->get_header_value("Azure-AsyncOperation");
    return async.substr(async.find("/subscriptions/"));
  };
  auto poll = [&](const std::string& op) { return json::parse(l.arm->Get(op, l.auth)->body); };
  auto show = [&](const std::string& name) {
    return json::parse(
        l.arm
            ->Get(rg + "/providers/Microsoft.Kusto/clusters/" + name + "?api-version=2024-04-13",
                  l.auth)
            ->body);
  };

  l.faults({{{"preset", "provisioning-failure"}, {"limit", {{"first", 1}}}}});
  auto op = poll(put_cluster("kcfail"));
  CHECK(op["status"] == "Failed");
  CHECK(op["error"]["code"] == "InternalServerError");
  CHECK(show("kcfail")["properties"]["provisioningState"] == "Failed");
  CHECK(show("kcfail")["properties"]["state"] == "Unavailable");
  CHECK(l.journal("?faulted=true")["value"][0]["fault"] ==
        "provisioning-failure: lro fail InternalServerError");

  // An injected failure of a customer-managed-key update puts the previous key settings back,
  // as a real one does, and says why in the log and in /_emulator/operations.
  l.faults(json::array());
  const std::string cmk = rg + "/providers/Microsoft.Kusto/clusters/kccmk?api-version=2024-04-13";
  REQUIRE(l.arm
              ->Put(cmk, l.auth,
                    R"({"location":"westeurope","identity":{"type":"SystemAssigned"},
                        "sku":{"name":"Standard_E8ads_v5","tier":"Standard"}})",
                    "application/json")
              ->status == 201);
  l.faults({{{"preset", "provisioning-failure"}, {"limit", {{"first", 1}}}}});
  auto patched =
      l.arm->Patch(cmk, l.auth,
                   R"({"properties":{"keyVaultProperties":{"keyName":"cmk1","keyVersion":"",
          "keyVaultUri":"https://kv1.vault.azure.net/"}}})",
                   "application/json");
  REQUIRE(patched->status == 200);
  const std::string patch_async = patched->get_header_value("Azure-AsyncOperation");
  CHECK(poll(patch_async.substr(patch_async.find("/subscriptions/")))["status"] == "Failed");
  auto after = show("kccmk")["properties"];
  CHECK(after["provisioningState"] == "Failed");
  CHECK_FALSE(after.contains("keyVaultProperties"));
  const auto warned = l.logged();
  CHECK(std::count_if(warned.begin(), warned.end(), [](const std::string& line) {
          return line.find("WARN operation ServiceConfigurationAlter") != std::string::npos &&
                 line.find(
                     "/clusters/kccmk failed (injected by a fault rule): "
                     "InternalServerError") != std::string::npos;
        }) == 1);
  auto failed = json::parse(l.admin->Get("/_emulator/operations?status=Failed")->body)["value"];
  REQUIRE(failed.size() == 2);
  CHECK(failed[0]["resource"].get<std::string>().ends_with("/clusters/kccmk"));  // newest first
  CHECK(failed[0]["kind"] == "ServiceConfigurationAlter");
  CHECK(failed[0]["error"]["code"] == "InternalServerError");
  CHECK(failed[0]["injectedFault"] == "fail");
  CHECK(failed[0].contains("endTime"));
  CHECK(failed[1]["resource"].get<std::string>().ends_with("/clusters/kcfail"));
  auto by_resource = json::parse(
      l.admin->Get("/_emulator/operations?status=failed,succeeded&resource=KCCMK")->body)["value"];
  CHECK(by_resource.size() == 2);  // its create and its failed update
  CHECK(json::parse(l.admin->Get("/_emulator/operations?status=all&top=1")->body)["value"].size() ==
        1);
  auto bad = l.admin->Get("/_emulator/operations?status=Broken");
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["error"]["code"] == "InvalidQueryParameter");
  CHECK(l.admin->Get("/_emulator/operations?status=all&top=0")->status == 400);

  l.faults({{{"match", {{"operation", "Microsoft.Kusto/clusters/write"}}},
             {"action", {{"type", "lro"}, {"outcome", "hold"}}}}});
  const std::string held = put_cluster("kchold");
  CHECK(poll(held)["status"] == "Running");
  l.emu->clock().advance(std::chrono::hours(1));
  CHECK(poll(held)["status"] == "Running");
  auto ops = json::parse(l.admin->Get("/_emulator/operations")->body)["value"];
  REQUIRE(ops.size() == 1);
  CHECK(ops[0]["held"] == true);
  const std::string id = ops[0]["id"];
  CHECK(l.admin->Post("/_emulator/operations/" + id + "/release", "", "application/json")->status ==
        200);
  CHECK(poll(held)["status"] == "Succeeded");
  CHECK(show("kchold")["properties"]["state"] == "Running");
  CHECK(l.admin->Post("/_emulator/operations/" + id + "/release", "", "application/json")->status ==
        404);

  l.faults({{{"match", {{"operation", "Microsoft.Kusto/clusters/write"}}},
             {"action", {{"type", "lro"}, {"outcome", "cancel"}}}}});
  CHECK(poll(put_cluster("kccancel"))["status"] == "Canceled");
  CHECK(show("kccancel")["properties"]["provisioningState"] == "Canceled");

  l.faults({{{"preset", "slow-lro"}}});
  const std::string slow = put_cluster("kcslow");
  l.emu->clock().advance(std::chrono::seconds(599));
  CHECK(poll(slow)["status"] == "Running");
  l.emu->clock().advance(std::chrono::seconds(1));
  CHECK(poll(slow)["status"] == "Succeeded");
}
