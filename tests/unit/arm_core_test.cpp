#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "test_support.h"

#include "arm/operations.h"
#include "arm/resource_id.h"
#include "arm/resource_store.h"

using namespace cmk;
using namespace cmk::arm;
using namespace std::chrono_literals;

using test::ManualClock;

TEST_CASE("resource ids parse and compare case-insensitively", "[arm]") {
  auto a = ResourceId::parse(
      "/subscriptions/S1/resourcegroups/RG1/providers/Microsoft.Kusto/Clusters/kc1");
  auto b = ResourceId::parse(
      "/subscriptions/s1/resourceGroups/rg1/providers/microsoft.kusto/clusters/KC1/");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(*a == *b);
  REQUIRE(a->type() == "Microsoft.Kusto/Clusters");
  REQUIRE(a->name() == "kc1");
  REQUIRE(a->str() ==
          "/subscriptions/S1/resourceGroups/RG1/providers/Microsoft.Kusto/Clusters/kc1");

  auto db = ResourceId::parse(
      "/subscriptions/s/resourceGroups/r/providers/Microsoft.Kusto/clusters/c/databases/d");
  REQUIRE(db->type() == "Microsoft.Kusto/clusters/databases");
  REQUIRE(db->parent()->name() == "c");
  REQUIRE_FALSE(a->parent().has_value());

  auto rg = ResourceId::parse("/subscriptions/s/resourceGroups/r");
  REQUIRE(rg->type() == "Microsoft.Resources/resourceGroups");
  REQUIRE(rg->name() == "r");

  REQUIRE_FALSE(ResourceId::parse("/subscriptions"));
  REQUIRE_FALSE(ResourceId::parse("/tenants/x"));
  REQUIRE_FALSE(ResourceId::parse("/subscriptions/s/resourceGroups"));
  REQUIRE_FALSE(ResourceId::parse("/subscriptions/s/providers/Microsoft.Kusto/clusters"));
  REQUIRE_FALSE(ResourceId::parse("/subscriptions/s/resourceGroups/r/things/x"));
  REQUIRE(normalize_location("West Europe") == "westeurope");
}

TEST_CASE("LRO policies parse from JSON and resolve most specific first", "[arm][lro]") {
  REQUIRE(LroPolicy::from_json({{"mode", "immediate"}})->mode == LroPolicy::Mode::Immediate);
  auto polls = LroPolicy::from_json({{"mode", "polls"}, {"polls", 3}});
  REQUIRE(polls->polls == 3);
  auto dur = LroPolicy::from_json({{"mode", "duration"}, {"seconds", 2.5}});
  REQUIRE(dur->duration == 2500ms);
  REQUIRE(LroPolicy::from_json(dur->to_json())->duration == 2500ms);
  REQUIRE_FALSE(LroPolicy::from_json({{"mode", "sometimes"}}).is_ok());
  REQUIRE_FALSE(LroPolicy::from_json({{"mode", "polls"}, {"polls", -1}}).is_ok());
  REQUIRE_FALSE(LroPolicy::from_json({{"mode", "duration"}}).is_ok());
  REQUIRE_FALSE(LroPolicy::from_json(nlohmann::json::array()).is_ok());

  LroPolicyTable table;
  table.set("Microsoft.Kusto/clusters", "*", *polls);
  table.set("microsoft.kusto/CLUSTERS", "delete", LroPolicy{LroPolicy::Mode::Immediate});
  REQUIRE(table.get("Microsoft.Kusto/clusters", "write").mode == LroPolicy::Mode::AfterPolls);
  REQUIRE(table.get("Microsoft.Kusto/Clusters", "DELETE").mode == LroPolicy::Mode::Immediate);
  REQUIRE(table.get("Microsoft.KeyVault/vaults", "write").mode == LroPolicy::Mode::AfterDuration);
}

TEST_CASE("operations finish by policy, lazily, and their completion decides", "[arm][lro]") {
  ManualClock base;
  VirtualClock clock(&base);
  IdGenerator ids(42);
  OperationEngine engine(clock, ids);
  int completions = 0;

  SECTION("immediate: done before start returns") {
    auto id = engine.start("/Subscriptions/S/x", "ServiceConfigurationAlter", "westus",
                           LroPolicy{LroPolicy::Mode::Immediate}, [&] {
                             ++completions;
                             return std::optional<OperationError>();
                           });
    REQUIRE(engine.get(id)->status == OperationStatus::Succeeded);
    REQUIRE(completions == 1);
    REQUIRE_FALSE(engine.has_running("/subscriptions/s/x"));
  }
  SECTION("after N polls; a GET of the resource is not a poll") {
    LroPolicy p{LroPolicy::Mode::AfterPolls, 2};
    auto id = engine.start("/r", "k", "westus", p, [&] {
      ++completions;
      return std::optional<OperationError>(OperationError{"KeyVaultAccessDenied", "no get"});
    });
    REQUIRE(engine.has_running("/R"));
    engine.settle_resource("/r");
    REQUIRE(engine.poll(id)->status == OperationStatus::Running);
    auto done = engine.poll(id);
    REQUIRE(done->status == OperationStatus::Failed);
    REQUIRE(done->error->code == "KeyVaultAccessDenied");
    REQUIRE(engine.poll(id)->status == OperationStatus::Failed);
    REQUIRE(completions == 1);  // exactly once
  }
  SECTION("after a duration on the virtual clock, seen by a GET of the resource") {
    auto id = engine.start("/r", "k", "westus", LroPolicy{}, [&] {
      ++completions;
      return std::optional<OperationError>();
    });
    engine.settle_resource("/r");
    REQUIRE(engine.get(id)->status == OperationStatus::Running);
    clock.advance(999ms);
    engine.settle_resource("/r");
    REQUIRE(engine.get(id)->status == OperationStatus::Running);
    clock.advance(1ms);
    engine.settle_resource("/r");
    REQUIRE(engine.get(id)->status == OperationStatus::Succeeded);
    REQUIRE(engine.get(id)->ended_at == clock.now());
    REQUIRE(completions == 1);
  }
  SECTION("settle_due finishes what is due without a read, and only that") {
    auto timed = engine.start("/r", "k", "westus", LroPolicy{}, [&] {
      ++completions;
      return std::optional<OperationError>();
    });
    auto polled = engine.start("/p", "k", "westus", LroPolicy{LroPolicy::Mode::AfterPolls, 1},
                               [&] { return std::optional<OperationError>(); });
    REQUIRE(engine.settle_due() == 0);
    clock.advance(1s);
    REQUIRE(engine.settle_due() == 1);
    REQUIRE(engine.get(timed)->status == OperationStatus::Succeeded);
    REQUIRE(engine.get(timed)->polls == 0);                           // not a poll
    REQUIRE(engine.get(polled)->status == OperationStatus::Running);  // due only when polled
    REQUIRE(engine.settle_due() == 0);
    REQUIRE(completions == 1);
    REQUIRE(engine.poll(polled)->status == OperationStatus::Succeeded);
  }
  SECTION("a completion may call back into the engine") {
    std::string inner;
    auto id = engine.start("/r", "k", "westus", LroPolicy{LroPolicy::Mode::AfterPolls, 1}, [&] {
      inner = engine.start("/r2", "k", "westus", LroPolicy{LroPolicy::Mode::Immediate}, nullptr);
      return std::optional<OperationError>();
    });
    REQUIRE(engine.poll(id)->status == OperationStatus::Succeeded);
    REQUIRE(engine.get(inner)->status == OperationStatus::Succeeded);
  }
  SECTION("a throwing completion fails the operation instead of escaping") {
    auto id =
        engine.start("/r", "k", "westus", LroPolicy{LroPolicy::Mode::AfterPolls, 1},
                     []() -> std::optional<OperationError> { throw std::runtime_error("boom"); });
    auto op = engine.poll(id);
    REQUIRE(op->status == OperationStatus::Failed);
    REQUIRE(op->error->code == "InternalServerError");
  }
  SECTION("unknown ids") {
    REQUIRE_FALSE(engine.poll("nope").has_value());
    REQUIRE_FALSE(engine.get("nope").has_value());
  }
}

TEST_CASE("a poll waits for the completion another thread is running", "[arm][lro]") {
  ManualClock base;
  VirtualClock clock(&base);
  IdGenerator ids(42);
  OperationEngine engine(clock, ids);
  // The settler's thread runs the completion, which ends only once the main thread's poll has
  // been counted: that poll finds the operation being completed and must answer its outcome
  // (settle_resource waits the same way).
  std::string id;
  std::atomic<bool> entered{false};
  id = engine.start("/r", "k", "westus", LroPolicy{}, [&] {
    entered = true;
    while (engine.get(id)->polls < 1) std::this_thread::yield();
    return std::optional<OperationError>();
  });
  clock.advance(2s);
  size_t settled = 0;
  std::thread settler([&] { settled = engine.settle_due(); });
  while (!entered) std::this_thread::yield();
  auto polled = engine.poll(id);
  settler.join();
  CHECK(settled == 1);
  CHECK(polled->status == OperationStatus::Succeeded);
}

TEST_CASE("finished operation records are bounded, oldest dropped first", "[arm][lro]") {
  ManualClock base;
  VirtualClock clock(&base);
  IdGenerator ids(1);
  OperationEngine engine(clock, ids, 2);
  auto immediate = LroPolicy{LroPolicy::Mode::Immediate};
  auto a = engine.start("/a", "k", "l", immediate, nullptr);
  auto b = engine.start("/b", "k", "l", immediate, nullptr);
  auto c = engine.start("/c", "k", "l", immediate, nullptr);
  REQUIRE_FALSE(engine.get(a).has_value());
  REQUIRE(engine.get(b).has_value());
  REQUIRE(engine.get(c).has_value());
}

TEST_CASE("the resource store renders a resource once per version", "[arm]") {
  ManualClock clock;
  IdGenerator ids;
  ResourceStore store(clock, ids);
  TrackedResource r;
  r.id = *ResourceId::parse(
      "/subscriptions/s/resourceGroups/g/providers/Microsoft.Kusto/clusters/kc1");
  r.type = "Microsoft.Kusto/Clusters";
  r.location = "westeurope";
  r.body = {{"properties", {{"state", "Running"}}}};
  REQUIRE(store.put(r, "caller"));

  auto first = store.get_rendered(r.id);
  REQUIRE(first);
  REQUIRE(*first->json == store.get(r.id)->to_json().dump());
  REQUIRE(first->etag == store.get(r.id)->etag);
  REQUIRE(store.get_rendered(r.id)->json == first->json);  // shared, not rendered again

  // A change is a new version: new text, new ETag; systemData keeps the last caller when the
  // service itself changes the resource.
  store.update(r.id, "", [](TrackedResource& t) {
    t.body["properties"]["state"] = "Stopped";
    return true;
  });
  auto second = store.get_rendered(r.id);
  REQUIRE(second->etag != first->etag);
  auto shown = nlohmann::json::parse(*second->json);
  REQUIRE(shown["properties"]["state"] == "Stopped");
  REQUIRE(shown["systemData"]["lastModifiedBy"] == "caller");

  REQUIRE(store.find_named("microsoft.kusto/clusters", "KC1").size() == 1);
  REQUIRE(store.remove(r.id));
  REQUIRE_FALSE(store.get_rendered(r.id));
  REQUIRE(store.find_named("Microsoft.Kusto/Clusters", "kc1").empty());
}

TEST_CASE("the resource store shares a snapshot per version that writes never change", "[arm]") {
  ManualClock clock;
  IdGenerator ids;
  ResourceStore store(clock, ids);
  TrackedResource r;
  r.id = *ResourceId::parse(
      "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv1");
  r.type = "Microsoft.KeyVault/vaults";
  r.location = "westeurope";
  r.body = {{"properties", {{"tenantId", "t1"}}}};
  REQUIRE(store.put(r, "caller"));

  auto first = store.find_named_shared("microsoft.keyvault/vaults", "KV1");
  REQUIRE(first);
  REQUIRE(first->body["properties"]["tenantId"] == "t1");
  REQUIRE(store.get_shared(r.id) == first);  // the same snapshot, not a copy

  // A write (even one that reports no change) ends the snapshot's life as the current one; the
  // reader holding it keeps what it read.
  store.update(r.id, "caller", [](TrackedResource& t) {
    t.body["properties"]["tenantId"] = "t2";
    return false;
  });
  auto second = store.get_shared(r.id);
  REQUIRE(second != first);
  REQUIRE(second->body["properties"]["tenantId"] == "t2");
  REQUIRE(first->body["properties"]["tenantId"] == "t1");
  r.body["properties"]["tenantId"] = "t3";
  store.put(r, "caller");
  auto third = store.find_named_shared("Microsoft.KeyVault/vaults", "kv1");
  REQUIRE(third->body["properties"]["tenantId"] == "t3");
  store.replace_all({});
  REQUIRE_FALSE(store.get_shared(r.id));
  REQUIRE_FALSE(store.find_named_shared("Microsoft.KeyVault/vaults", "kv1"));
}
