// The identity directory's managed identities and ids (emulator/entra/directory.h).
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "entra/directory.h"

using namespace cmk::entra;

namespace {
const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const char* kUamiId =
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id1";
}  // namespace

TEST_CASE("directory: managed identities by resource id, client id and principal id",
          "[entra][directory]") {
  Directory d;
  d.put_managed_identity({kUamiId, "11111111-1111-1111-1111-111111111111",
                          "22222222-2222-2222-2222-222222222222", kTenant,
                          IdentityKind::UserAssigned});
  d.put_managed_identity(
      {"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/"
       "providers/Microsoft.Kusto/clusters/kc1",
       "33333333-3333-3333-3333-333333333333", "44444444-4444-4444-4444-444444444444", kTenant,
       IdentityKind::SystemAssigned});
  CHECK(d.managed_identities().size() == 2);

  // ARM ids arrive in any case (az sends /resourcegroups/).
  auto by_id = d.find_managed_identity_by_resource_id(
      "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/resourcegroups/RG1/providers/"
      "microsoft.managedidentity/userassignedidentities/ID1");
  REQUIRE(by_id);
  CHECK(by_id->principal_id == "11111111-1111-1111-1111-111111111111");
  auto by_client = d.find_managed_identity_by_client_id("44444444-4444-4444-4444-444444444444");
  REQUIRE(by_client);
  CHECK(by_client->kind == IdentityKind::SystemAssigned);
  auto by_principal =
      d.find_managed_identity_by_principal_id("11111111-1111-1111-1111-111111111111");
  REQUIRE(by_principal);
  CHECK(by_principal->resource_id == kUamiId);
  CHECK_FALSE(d.find_managed_identity_by_client_id("55555555-5555-5555-5555-555555555555"));

  // put replaces by resource id.
  d.put_managed_identity({kUamiId, "66666666-6666-6666-6666-666666666666",
                          "22222222-2222-2222-2222-222222222222", kTenant,
                          IdentityKind::UserAssigned});
  CHECK(d.managed_identities().size() == 2);
  CHECK(d.find_managed_identity_by_resource_id(kUamiId)->principal_id ==
        "66666666-6666-6666-6666-666666666666");

  CHECK(d.remove_managed_identity(kUamiId));
  CHECK_FALSE(d.remove_managed_identity(kUamiId));
  CHECK_FALSE(d.find_managed_identity_by_client_id("22222222-2222-2222-2222-222222222222"));
  CHECK(d.managed_identities().size() == 1);
}

TEST_CASE("directory: existing members keep working", "[entra][directory]") {
  Directory d;
  d.put_tenant({kTenant, "Contoso", "contoso.onmicrosoft.com"});
  d.put_service_principal({"AAAAAAAA-0000-0000-0000-000000000001", "o", kTenant, "sp", {"s"}, {}});
  CHECK(d.find_tenant("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
  CHECK(d.find_service_principal("aaaaaaaa-0000-0000-0000-000000000001"));
  CHECK(d.tenants().size() == 1);
  CHECK(d.service_principals().size() == 1);
  CHECK(d.remove_service_principal("aaaaaaaa-0000-0000-0000-000000000001"));
  CHECK(d.service_principals().empty());
}

TEST_CASE("directory: deterministic object id is pinned and case-insensitive",
          "[entra][directory]") {
  // Pinned from an independent computation of the documented definition (Python hashlib).
  const char* app = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
  CHECK(deterministic_object_id(kTenant, app) == "7caf353b-6eaf-806d-abf1-5c683b4c93eb");
  CHECK(deterministic_object_id("72F988BF-86F1-41AF-91AB-2D7CD011DB47",
                                "04B07795-8DDB-461A-BBEE-02F9E1BF7B46") ==
        deterministic_object_id(kTenant, app));
  std::string other_tenant = deterministic_object_id("00000000-0000-0000-0000-000000000002", app);
  CHECK(other_tenant != deterministic_object_id(kTenant, app));
  CHECK(is_guid(other_tenant));
  CHECK(other_tenant[14] == '8');                                          // version 8
  CHECK(std::string("89ab").find(other_tenant[19]) != std::string::npos);  // RFC 9562 variant
}

TEST_CASE("directory: GUID helpers", "[entra][directory]") {
  CHECK(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
  CHECK(is_guid("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
  CHECK_FALSE(is_guid("72f988bf86f141af91ab2d7cd011db47"));
  CHECK_FALSE(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4g"));
  CHECK_FALSE(is_guid("adfs"));
}

TEST_CASE("directory: add_service_principal_if_absent registers once under contention",
          "[entra][directory]") {
  Directory d;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&d, i] {
      ServicePrincipal sp;
      sp.app_id = "aaaaaaaa-0000-0000-0000-000000000009";
      sp.display_name = "thread " + std::to_string(i);
      d.add_service_principal_if_absent(sp);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(d.service_principals().size() == 1);
}
