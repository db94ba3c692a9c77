// The managed-identity HTTP surface (emulator/msi/msi_api.h) on the plain-HTTP listener: the App
// Service, legacy App Service, Cloud Shell and IMDS flavours, identity selectors and the host
// identity (option, admin API).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "entra/jwt.h"
#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {

const char* kArm = "https://management.azure.com/";
const char* kUamiResourceId =
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id1";
const char* kUamiClientId = "66666666-6666-6666-6666-666666666666";
const char* kUamiPrincipalId = "66666666-0000-0000-0000-000000000001";

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  INFO(r->body);
  return json::parse(r->body);
}

json claims_of(const json& response) {
  auto jwt = entra::decode_jwt(response["access_token"].get<std::string>());
  REQUIRE(jwt.is_ok());
  return jwt->payload;
}

void require_msi_error(const httplib::Result& r, int status, const std::string& error,
                       const std::string& description_start) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == status);
  json b = json::parse(r->body);
  REQUIRE(b["error"] == error);
  REQUIRE(b["error_description"].get<std::string>().rfind(description_start, 0) == 0);
}

void add_uami(Emulator& emu) {
  emu.directory().put_managed_identity({kUamiResourceId, kUamiPrincipalId, kUamiClientId,
                                        test::kTenant, entra::IdentityKind::UserAssigned});
}

std::string imds_path(const std::string& extra = "") {
  return "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" +
         http::percent_encode(kArm) + extra;
}

std::string app_service_path(const std::string& extra = "") {
  return "/msi/token?api-version=2019-08-01&resource=" + http::percent_encode(kArm) + extra;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The fields every flavour sends, as strings (az needs token_type and expires_on, Python needs
// resource).
void require_token_fields(const json& b) {
  for (const char* k : {"access_token", "token_type", "expires_on", "expires_in", "not_before",
                        "resource", "client_id"}) {
    INFO(k);
    REQUIRE(b[k].is_string());
  }
  REQUIRE(b["token_type"] == "Bearer");
  REQUIRE(b["resource"] == kArm);
  REQUIRE(b["expires_in"] == "3599");
}

}  // namespace

TEST_CASE("msi: App Service (IDENTITY_ENDPOINT + IDENTITY_HEADER)", "[msi]") {
  auto emu = test::start_emulator();
  auto cli = test::http_client(*emu);

  auto r = cli->Get(app_service_path(), {{"X-IDENTITY-HEADER", "anything"}});
  auto b = body_of(r);
  REQUIRE(r->status == 200);
  require_token_fields(b);
  const int64_t expires_on = std::stoll(b["expires_on"].get<std::string>());
  REQUIRE(std::abs(expires_on - (unix_now() + 3599)) <= 5);

  // The default host identity: a VM's system-assigned identity in the first subscription.
  auto claims = claims_of(b);
  const std::string host =
      "/subscriptions/" + std::string(test::kSubscription) +
      "/resourceGroups/cmk-emulator/providers/Microsoft.Compute/virtualMachines/host";
  REQUIRE(claims["xms_mirid"] == host);
  REQUIRE(claims["aud"] == kArm);
  REQUIRE(claims["tid"] == test::kTenant);
  REQUIRE(claims["appid"] == b["client_id"]);
  REQUIRE(claims["oid"] == entra::deterministic_object_id(test::kTenant, "principal:" + host));
  REQUIRE(b["client_id"] == entra::deterministic_object_id(test::kTenant, "client:" + host));
  // The values docs/identity.md documents for the default fixture.
  REQUIRE(b["client_id"] == "7e7b51a6-8e9e-839d-9857-ce12bb9a0dbf");
  REQUIRE(claims["oid"] == "f9e228ce-96ef-81fe-9941-0d7dc50112af");
  REQUIRE(claims["exp"] == expires_on);

  SECTION("without X-IDENTITY-HEADER") {
    require_msi_error(cli->Get(app_service_path()), 400, "invalid_request",
                      "Required header X-IDENTITY-HEADER not specified");
  }
  SECTION("without api-version") {
    require_msi_error(cli->Get("/msi/token?resource=x", {{"X-IDENTITY-HEADER", "h"}}), 400,
                      "invalid_request", "Required query variable 'api-version'");
  }
  SECTION("without resource") {
    require_msi_error(cli->Get("/msi/token?api-version=2019-08-01", {{"X-IDENTITY-HEADER", "h"}}),
                      400, "invalid_request", "Required audience parameter not specified");
  }
}

TEST_CASE("msi: a configured identity header must match", "[msi]") {
  auto opts = test::test_options();
  opts.msi_identity_header = "s3cret";
  auto emu = test::start_emulator(opts);
  auto cli = test::http_client(*emu);
  REQUIRE(cli->Get(app_service_path(), {{"X-IDENTITY-HEADER", "s3cret"}})->status == 200);
  require_msi_error(cli->Get(app_service_path(), {{"X-IDENTITY-HEADER", "other"}}), 401,
                    "unauthorized", "The X-IDENTITY-HEADER header");
  require_msi_error(cli->Get("/msi/token?api-version=2017-09-01&resource=x", {{"secret", "no"}}),
                    401, "unauthorized", "The secret header");
}

TEST_CASE("msi: legacy App Service (MSI_ENDPOINT + MSI_SECRET, 2017-09-01)", "[msi]") {
  auto emu = test::start_emulator();
  auto cli = test::http_client(*emu);
  auto r = cli->Get("/msi/token?api-version=2017-09-01&resource=" + http::percent_encode(kArm),
                    {{"secret", "x"}});
  auto b = body_of(r);
  REQUIRE(r->status == 200);
  require_token_fields(b);
  // "MM/DD/YYYY HH:MM:SS +00:00", which azure-identity and msrestazure read as UTC.
  const std::string date = b["expires_on"];
  std::tm tm{};
  const char* end = strptime(date.c_str(), "%m/%d/%Y %H:%M:%S +00:00", &tm);
  REQUIRE(end != nullptr);
  REQUIRE(*end == '\0');
  REQUIRE(timegm(&tm) == claims_of(b)["exp"].get<int64_t>());

  require_msi_error(cli->Get("/msi/token?api-version=2017-09-01&resource=x"), 400,
                    "invalid_request", "Required header secret not specified");
}

TEST_CASE("msi: Cloud Shell / az (POST, Metadata: true, form resource)", "[msi]") {
  auto emu = test::start_emulator();
  auto cli = test::http_client(*emu);
  const std::string form = test::form({{"resource", kArm}});
  auto r = cli->Post("/msi/token", {{"Metadata", "true"}}, form, "application/x-www-form-urlencoded");
  auto b = body_of(r);
  REQUIRE(r->status == 200);
  require_token_fields(b);
  REQUIRE(std::stoll(b["expires_on"].get<std::string>()) > unix_now());
  REQUIRE(claims_of(b)["tid"] == test::kTenant);  // az decodes tid from the token

  require_msi_error(cli->Post("/msi/token", form, "application/x-www-form-urlencoded"), 400,
                    "invalid_request", "Required metadata header not specified");
  require_msi_error(cli->Post("/msi/token", {{"Metadata", "true"}}, "", "application/x-www-form-urlencoded"),
                    400, "invalid_request", "Required audience parameter not specified");
}

TEST_CASE("msi: IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST)", "[msi]") {
  auto emu = test::start_emulator();
  auto cli = test::http_client(*emu);

  for (const std::string& path :
       {imds_path(), "/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=" +
                         http::percent_encode(kArm)}) {
    INFO(path);  // Node sends the trailing slash
    auto r = cli->Get(path, {{"Metadata", "true"}});
    auto b = body_of(r);
    REQUIRE(r->status == 200);
    require_token_fields(b);
    REQUIRE(b["ext_expires_in"] == "3599");
  }
  SECTION("without the Metadata header: 400 at once (DefaultAzureCredential's probe)") {
    const auto t0 = std::chrono::steady_clock::now();
    require_msi_error(cli->Get("/metadata/identity/oauth2/token?api-version=2018-02-01"), 400,
                      "invalid_request", "Required metadata header not specified");
    REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
    require_msi_error(cli->Get(imds_path(), {{"Metadata", "false"}}), 400, "invalid_request",
                      "Required metadata header not specified");
  }
  SECTION("without api-version") {
    require_msi_error(cli->Get("/metadata/identity/oauth2/token?resource=x", {{"Metadata", "true"}}),
                      400, "invalid_request", "Required query variable 'api-version'");
  }
  SECTION("without resource") {
    require_msi_error(
        cli->Get("/metadata/identity/oauth2/token?api-version=2018-02-01", {{"Metadata", "true"}}),
        400, "invalid_request", "Required audience parameter not specified");
  }
  SECTION("other paths are MSI-shaped 404s") {
    require_msi_error(cli->Get("/metadata/instance?api-version=2021-02-01", {{"Metadata", "true"}}),
                      404, "invalid_request", "");
  }
}

TEST_CASE("msi: selectors pick a managed identity, unknown ones are 'Identity not found'",
          "[msi]") {
  auto emu = test::start_emulator();
  add_uami(*emu);
  auto cli = test::http_client(*emu);

  for (const std::string& selector :
       {std::string("&client_id=") + kUamiClientId, std::string("&object_id=") + kUamiPrincipalId,
        std::string("&principal_id=") + kUamiPrincipalId,
        "&msi_res_id=" + http::percent_encode(kUamiResourceId),
        "&mi_res_id=" + http::percent_encode(kUamiResourceId)}) {
    INFO(selector);
    auto imds = body_of(cli->Get(imds_path(selector), {{"Metadata", "true"}}));
    REQUIRE(imds["client_id"] == kUamiClientId);
    auto claims = claims_of(imds);
    REQUIRE(claims["xms_mirid"] == kUamiResourceId);
    REQUIRE(claims["oid"] == kUamiPrincipalId);
    auto app_service = body_of(cli->Get(app_service_path(selector), {{"X-IDENTITY-HEADER", "h"}}));
    REQUIRE(app_service["client_id"] == kUamiClientId);
  }
  // Cloud Shell: selectors in the form.
  auto shell = body_of(cli->Post("/msi/token", {{"Metadata", "true"}},
                                 test::form({{"resource", kArm}, {"client_id", kUamiClientId}}),
                                 "application/x-www-form-urlencoded"));
  REQUIRE(shell["client_id"] == kUamiClientId);
  // Case does not matter for ids.
  auto lowered = body_of(cli->Get(imds_path("&msi_res_id=" +
                                          http::percent_encode(http::to_lower(kUamiResourceId))),
                                {{"Metadata", "true"}}));
  REQUIRE(lowered["client_id"] == kUamiClientId);

  require_msi_error(cli->Get(imds_path("&client_id=77777777-7777-7777-7777-777777777777"),
                             {{"Metadata", "true"}}),
                    400, "invalid_request", "Identity not found");
  require_msi_error(cli->Get(imds_path("&msi_res_id=%2Fsubscriptions%2Fx"), {{"Metadata", "true"}}),
                    400, "invalid_request", "Identity not found");
  require_msi_error(cli->Get(app_service_path("&principal_id=nope"), {{"X-IDENTITY-HEADER", "h"}}),
                    400, "invalid_request", "Identity not found");
  require_msi_error(cli->Get(imds_path(std::string("&client_id=") + kUamiClientId +
                                       "&object_id=" + kUamiPrincipalId),
                             {{"Metadata", "true"}}),
                    400, "invalid_request", "Only one of");
}

TEST_CASE("msi: the host identity follows --msi-identity and the admin API", "[msi][admin]") {
  auto opts = test::test_options();
  opts.msi_identity = kUamiClientId;  // names an identity that ARM creates later
  auto emu = test::start_emulator(opts);
  auto cli = test::http_client(*emu);

  require_msi_error(cli->Get(imds_path(), {{"Metadata", "true"}}), 400, "invalid_request",
                    "Identity not found");
  auto state = body_of(cli->Get("/_emulator/msi"));
  REQUIRE(state["identity"] == kUamiClientId);
  REQUIRE(state["resolved"].is_null());

  add_uami(*emu);  // now it exists: picked up without a restart
  REQUIRE(body_of(cli->Get(imds_path(), {{"Metadata", "true"}}))["client_id"] == kUamiClientId);
  state = body_of(cli->Get("/_emulator/msi"));
  REQUIRE(state["resolved"]["resourceId"] == kUamiResourceId);
  REQUIRE(state["resolved"]["type"] == "UserAssigned");

  SECTION("PUT null goes back to the default host identity") {
    auto r = cli->Put("/_emulator/msi", R"({"identity": null})", "application/json");
    auto b = body_of(r);
    REQUIRE(r->status == 200);
    REQUIRE(b["identity"].is_null());
    REQUIRE(b["resolved"]["type"] == "SystemAssigned");
    REQUIRE(b["effective_identity"] == b["default_identity"]);
    auto token = body_of(cli->Get(imds_path(), {{"Metadata", "true"}}));
    REQUIRE(claims_of(token)["xms_mirid"] == b["default_identity"]);
  }
  SECTION("PUT a resource id, over HTTPS too") {
    auto r = test::https_client(*emu)->Put(
        "/_emulator/msi", json{{"identity", kUamiResourceId}}.dump(), "application/json");
    REQUIRE(r->status == 200);
    REQUIRE(body_of(cli->Get(imds_path(), {{"Metadata", "true"}}))["client_id"] == kUamiClientId);
  }
  SECTION("PUT an identity header") {
    REQUIRE(cli->Put("/_emulator/msi", R"({"identity_header": "abc"})", "application/json")
                ->status == 200);
    REQUIRE(cli->Get(app_service_path(), {{"X-IDENTITY-HEADER", "x"}})->status == 401);
    REQUIRE(cli->Get(app_service_path(), {{"X-IDENTITY-HEADER", "abc"}})->status == 200);
    REQUIRE(body_of(cli->Get("/_emulator/msi"))["identity_header_required"] == true);
  }
  SECTION("bad bodies") {
    for (const char* body : {R"({"identity": 5})", "{}", "[1]", "nope"}) {
      INFO(body);
      auto r = cli->Put("/_emulator/msi", body, "application/json");
      REQUIRE(r->status == 400);
      REQUIRE(json::parse(r->body)["error"]["code"] == "InvalidRequestContent");
    }
  }
}

TEST_CASE("msi: a managed-identity token is accepted by ARM", "[msi][auth]") {
  auto emu = test::start_emulator();
  auto token = body_of(test::http_client(*emu)->Get(imds_path(), {{"Metadata", "true"}}));
  auto r = test::https_client(*emu)->Get(
      "/subscriptions?api-version=2022-12-01",
      {{"Authorization", "Bearer " + token["access_token"].get<std::string>()}});
  REQUIRE(r);
  REQUIRE(r->status != 401);
}

// Found by fuzz/dataplane_requests_fuzzer.cpp: the answer echoes the resource, and a resource
// with invalid UTF-8 made the strict JSON serialisation throw (500).
TEST_CASE("msi: a resource with invalid UTF-8 is answered, not a 500", "[msi]") {
  auto emu = test::start_emulator();
  auto cli = test::http_client(*emu);
  auto r = cli->Get(
      "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.%96om%2F",
      {{"X-IDENTITY-HEADER", "anything"}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  REQUIRE(body_of(r)["resource"] == "https://management.azure.\xef\xbf\xbdom/");
}
