// Template deployments end to end in process (deployments/deployments_api.h): ARM over HTTPS with
// real tokens; each template resource applied through the providers' own routes (a Kusto cluster
// with its CMK checks against real vaults and keys); the deployment's LRO, operations, failures,
// Complete mode, validate, whatIf, subscription scope.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "deployments/unique_string.h"
#include "test_support.h"

using namespace cmk;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kSub = std::string("/subscriptions/") + test::kSubscription;
const std::string kRg = kSub + "/resourceGroups/rg1";
const std::string kDeployments = kRg + "/providers/Microsoft.Resources/deployments/";
const std::string kResV = "?api-version=2021-04-01";

std::string seed_template_text() {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "clients" /
                    "lib" / "templates" / "kusto_cmk_cluster.json";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What Debian's az 2.45 sends (JsonCTemplatePolicy): the file text behind an unquoted key.
std::string az_body(const json& parameters, const std::string& template_text,
                    const std::string& mode = "Incremental") {
  json head = {{"properties", {{"parameters", parameters}, {"mode", mode}}}};
  const std::string partial = head.dump();
  return partial.substr(0, partial.size() - 2) + ", template:" + template_text + "}}";
}

struct Env {
  std::unique_ptr<Emulator> emu;
  std::unique_ptr<httplib::SSLClient> arm;
  httplib::Headers auth, kv_auth;

  explicit Env(std::vector<std::string> lro = {"immediate"}) {
    auto o = test::test_options();
    o.rsa_key_pool_size = 0;
    o.lro_policies = std::move(lro);
    emu = test::start_emulator(o);
    arm = test::https_client(*emu);
    auth = {{"Authorization", "Bearer " + test::app_token(*emu)}};
    kv_auth = {{"Authorization", "Bearer " + test::app_token(*emu, "https://vault.azure.net")}};
    REQUIRE(call("PUT", kRg + kResV, json{{"location", "westeurope"}}.dump()).first == 201);
  }

  std::pair<int, json> call(const std::string& method, const std::string& path,
                            const std::string& body = "", httplib::Headers* headers_out = nullptr) {
    httplib::Result r = method == "GET"   ? arm->Get(path, auth)
                        : method == "PUT" ? arm->Put(path, auth, body, "application/json")
                        : method == "POST"
                            ? arm->Post(path, auth, body.empty() ? "{}" : body, "application/json")
                            : arm->Delete(path, auth);
    REQUIRE(r);
    if (headers_out) *headers_out = r->headers;
    INFO(method << " " << path << " -> " << r->status << " " << r->body);
    return {r->status, r->body.empty() ? json() : json::parse(r->body)};
  }

  // A vault (westeurope) with a policy for the test principal and for `identity_principal`.
  void vault(const std::string& name, bool purge_protection,
             const std::string& identity_principal) {
    json policies = json::array();
    auto policy = [](const std::string& oid, std::vector<std::string> keys) {
      return json{
          {"tenantId", test::kTenant}, {"objectId", oid}, {"permissions", {{"keys", keys}}}};
    };
    policies.push_back(policy(test::kSpObjectId, {"all"}));
    policies.push_back(policy(identity_principal, {"get", "wrapKey", "unwrapKey"}));
    json props = {{"tenantId", test::kTenant},
                  {"sku", {{"family", "A"}, {"name", "standard"}}},
                  {"accessPolicies", policies}};
    if (purge_protection) props["enablePurgeProtection"] = true;
    auto [status, body] = call(
        "PUT", kRg + "/providers/Microsoft.KeyVault/vaults/" + name + "?api-version=2023-07-01",
        json{{"location", "westeurope"}, {"properties", props}}.dump());
    REQUIRE((status == 200 || status == 201));
    auto cli = test::proxied_client(*emu, name + ".vault.azure.net");
    auto r = cli->Post("/keys/cmk1/create?api-version=7.4", kv_auth,
                       R"({"kty":"RSA","key_size":2048})", "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  // A user-assigned identity: {id, principalId}.
  std::pair<std::string, std::string> identity(const std::string& name) {
    const std::string id =
        kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name;
    auto [status, body] =
        call("PUT", id + "?api-version=2023-01-31", json{{"location", "westeurope"}}.dump());
    REQUIRE((status == 201 || status == 200));
    return {id, body["properties"]["principalId"]};
  }
  // PUT a deployment and follow its Azure-AsyncOperation until it is terminal (at most `polls`).
  json deploy(const std::string& name, const std::string& body, int polls = 20) {
    httplib::Headers h;
    auto [status, created] = call("PUT", kDeployments + name + kResV, body, &h);
    INFO(created.dump());
    REQUIRE((status == 201 || status == 200));
    CHECK(created["properties"]["provisioningState"] == "Accepted");
    auto async = h.find("Azure-AsyncOperation");
    REQUIRE(async != h.end());
    const std::string url = async->second;
    REQUIRE(url.find("https://127.0.0.1:") == 0);
    const std::string path = url.substr(url.find('/', 8));
    for (int i = 0; i < polls; ++i) {
      auto [s, op] = call("GET", path);
      REQUIRE(s == 200);
      if (op["status"] != "Running") break;
    }
    return call("GET", kDeployments + name + kResV).second;
  }
  json operations(const std::string& name) {
    auto [status, body] = call("GET", kDeployments + name + "/operations" + kResV);
    REQUIRE(status == 200);
    return body["value"];
  }
};

json seed_parameters(const std::string& vault, const std::string& identity) {
  return {{"keyVaultUri", {{"value", "https://" + vault + ".vault.azure.net/"}}},
          {"keyName", {{"value", "cmk1"}}},
          {"userIdentity", {{"value", identity}}}};
}

json minimal(json resources, json outputs = json::object()) {
  return {{"$schema",
           "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"},
          {"contentVersion", "1.0.0.0"},
          {"resources", resources},
          {"outputs", outputs}};
}

json identity_resource(const std::string& name, json extra = json::object()) {
  json r = {{"type", "Microsoft.ManagedIdentity/userAssignedIdentities"},
            {"apiVersion", "2023-01-31"},
            {"name", name},
            {"location", "[resourceGroup().location]"}};
  r.update(extra);
  return r;
}

std::string body_of(const json& tmpl, const json& params = json::object(),
                    const std::string& mode = "Incremental") {
  return json{{"properties", {{"template", tmpl}, {"parameters", params}, {"mode", mode}}}}.dump();
}

}  // namespace

TEST_CASE("the seed's template deploys a CMK cluster through the Kusto provider",
          "[deployments][api]") {
  Env env;
  auto [uami, principal] = env.identity("id-seed");
  env.vault("kv-seed", true, principal);
  const std::string text = seed_template_text();
  json d = env.deploy("seed", az_body(seed_parameters("kv-seed", uami), text));
  INFO(d.dump(2));
  REQUIRE(d["properties"]["provisioningState"] == "Succeeded");

  // The name: concat('kusto', uniqueString(resourceGroup().id)).
  const std::string cluster = "kusto" + deployments::unique_string({kRg});
  CHECK(d["properties"]["outputs"]["clusterName"]["value"] == cluster);
  CHECK(d["properties"]["outputs"]["clusterUri"]["value"] ==
        "https://" + cluster + ".westeurope.kusto.windows.net");
  CHECK(d["properties"]["parameters"]["location"]["value"] == "westeurope");
  CHECK(d["properties"]["mode"] == "Incremental");
  const std::string cluster_id = kRg + "/providers/Microsoft.Kusto/clusters/" + cluster;
  CHECK(d["properties"]["outputResources"] == json::array({{{"id", cluster_id}}}));
  CHECK(d["id"] == kDeployments + "seed");

  auto [s, c] = env.call("GET", cluster_id + "?api-version=2023-08-15");
  REQUIRE(s == 200);
  CHECK(c["properties"]["provisioningState"] == "Succeeded");
  CHECK(c["properties"]["keyVaultProperties"]["keyName"] == "cmk1");
  CHECK(c["sku"]["name"] == "Standard_E8ads_v5");
  // CMK is really active: the cluster used the key with its identity.
  auto in_use = env.emu->cluster_keys().key_in_use(
      http::to_lower(kRg + "/providers/Microsoft.Kusto/Clusters/" + cluster));
  REQUIRE(in_use);
  CHECK_THAT(in_use->kid, Contains("https://kv-seed.vault.azure.net/keys/cmk1/"));

  json ops = env.operations("seed");
  REQUIRE(ops.size() == 2);
  CHECK(ops[0]["properties"]["provisioningOperation"] == "Create");
  CHECK(ops[0]["properties"]["provisioningState"] == "Succeeded");
  CHECK(ops[0]["properties"]["statusCode"] == "Created");
  CHECK(ops[0]["properties"]["targetResource"]["id"] == cluster_id);
  CHECK(ops[0]["properties"]["targetResource"]["resourceType"] == "Microsoft.Kusto/clusters");
  CHECK(ops[1]["properties"]["provisioningOperation"] == "EvaluateDeploymentOutput");
  auto [one_status, one] = env.call(
      "GET", kDeployments + "seed/operations/" + ops[0]["operationId"].get<std::string>() + kResV);
  CHECK(one_status == 200);
  CHECK(one["id"] == ops[0]["id"]);

  // exportTemplate gives back the template (comments gone); the list shows the deployment.
  auto [es, exported] = env.call("POST", kDeployments + "seed/exportTemplate" + kResV);
  CHECK(es == 200);
  CHECK(exported["template"]["resources"][0]["sku"]["name"] == "Standard_E8ads_v5");
  auto [ls, list] = env.call("GET", kRg + "/providers/Microsoft.Resources/deployments" + kResV);
  CHECK(ls == 200);
  CHECK(list["value"].size() == 1);

  // Deploying again updates in place (200) and succeeds again.
  json again = env.deploy("seed", az_body(seed_parameters("kv-seed", uami), text));
  CHECK(again["properties"]["provisioningState"] == "Succeeded");
}

TEST_CASE("a vault without purge protection fails the deployment with the CMK code",
          "[deployments][api]") {
  Env env;
  auto [uami, principal] = env.identity("id-nopp");
  env.vault("kv-nopp", false, principal);
  json d = env.deploy("nopp", az_body(seed_parameters("kv-nopp", uami), seed_template_text()));
  INFO(d.dump(2));
  REQUIRE(d["properties"]["provisioningState"] == "Failed");
  const json& err = d["properties"]["error"];
  CHECK(err["code"] == "DeploymentFailed");
  REQUIRE(err["details"].size() == 1);
  CHECK(err["details"][0]["code"] == "ResourceDeploymentFailure");
  CHECK(err["details"][0]["details"][0]["code"] == "KeyVaultPurgeProtectionRequired");
  CHECK_FALSE(d["properties"].contains("outputs"));

  // The operation status carries the same error; the operation names the cluster's own code.
  json ops = env.operations("nopp");
  REQUIRE(ops.size() == 1);
  CHECK(ops[0]["properties"]["provisioningState"] == "Failed");
  CHECK(ops[0]["properties"]["statusMessage"]["error"]["code"] ==
        "KeyVaultPurgeProtectionRequired");
  const std::string cluster = "kusto" + deployments::unique_string({kRg});
  auto [s, c] = env.call(
      "GET", kRg + "/providers/Microsoft.Kusto/clusters/" + cluster + "?api-version=2023-08-15");
  REQUIRE(s == 200);
  CHECK(c["properties"]["provisioningState"] == "Failed");
}

TEST_CASE("a refused resource stops its dependents - dependsOn orders the rest",
          "[deployments][api]") {
  Env env;
  json t = minimal({identity_resource("id-b", {{"dependsOn", {"id-a"}}}),
                    identity_resource("id-a"),
                    {{"type", "Microsoft.Kusto/clusters"},
                     {"apiVersion", "2023-08-15"},
                     {"name", "Bad_Name"},
                     {"location", "westeurope"},
                     {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}},
                     {"dependsOn", {"id-b"}}},
                    identity_resource("id-c", {{"dependsOn", {"Bad_Name"}}})});
  json d = env.deploy("refused", body_of(t));
  INFO(d.dump(2));
  REQUIRE(d["properties"]["provisioningState"] == "Failed");
  CHECK(d["properties"]["error"]["details"][0]["code"] == "InvalidResourceName");
  CHECK(d["properties"]["error"]["details"][0]["target"] ==
        kRg + "/providers/Microsoft.Kusto/clusters/Bad_Name");
  json ops = env.operations("refused");
  REQUIRE(ops.size() == 3);  // id-c never started
  CHECK(ops[0]["properties"]["targetResource"]["resourceName"] == "id-a");
  CHECK(ops[1]["properties"]["targetResource"]["resourceName"] == "id-b");
  CHECK(ops[2]["properties"]["statusCode"] == "BadRequest");
  CHECK(env.call("GET", kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                              "id-c?api-version=2023-01-31")
            .first == 404);
  CHECK(d["properties"]["dependencies"].size() == 3);
}

TEST_CASE("the deployment follows each resource's own LRO policy", "[deployments][api]") {
  Env env({"immediate", "Microsoft.Kusto/clusters=polls:2"});
  auto [uami, principal] = env.identity("id-polls");
  env.vault("kv-polls", true, principal);
  httplib::Headers h;
  auto [status, created] =
      env.call("PUT", kDeployments + "polls" + kResV,
               az_body(seed_parameters("kv-polls", uami), seed_template_text()), &h);
  REQUIRE(status == 201);
  const std::string url = h.find("Azure-AsyncOperation")->second;
  const std::string path = url.substr(url.find('/', 8));
  // The PUT polled the cluster's operation once; a second poll completes it.
  CHECK(env.call("GET", kDeployments + "polls" + kResV).second["properties"]["provisioningState"] ==
        "Succeeded");
  CHECK(env.call("GET", path).second == json{{"status", "Succeeded"}});
  CHECK(created["properties"]["provisioningState"] == "Accepted");
}

TEST_CASE("a running deployment cannot be replaced, deleted, only cancelled",
          "[deployments][api]") {
  Env env({"immediate", "Microsoft.Kusto/clusters=polls:100"});
  json t = minimal({{{"type", "Microsoft.Kusto/clusters"},
                     {"apiVersion", "2023-08-15"},
                     {"name", "kcwait"},
                     {"location", "westeurope"},
                     {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}}}}});
  REQUIRE(env.call("PUT", kDeployments + "slow" + kResV, body_of(t)).first == 201);
  CHECK(env.call("GET", kDeployments + "slow" + kResV).second["properties"]["provisioningState"] ==
        "Running");
  auto [s409, conflict] = env.call("PUT", kDeployments + "slow" + kResV, body_of(t));
  CHECK(s409 == 409);
  CHECK(conflict["error"]["code"] == "DeploymentActive");
  CHECK(env.call("DELETE", kDeployments + "slow" + kResV).first == 409);
  CHECK(env.call("POST", kDeployments + "slow/cancel" + kResV).first == 204);
  CHECK(env.call("GET", kDeployments + "slow" + kResV).second["properties"]["provisioningState"] ==
        "Canceled");
  CHECK(env.call("POST", kDeployments + "slow/cancel" + kResV).first == 409);
  // Deleting the record: 202 + Location, then it is gone.
  httplib::Headers h;
  REQUIRE(env.call("DELETE", kDeployments + "slow" + kResV, "", &h).first == 202);
  const std::string loc = h.find("Location")->second;
  CHECK(env.call("GET", loc.substr(loc.find('/', 8))).first == 200);
  CHECK(env.call("GET", kDeployments + "slow" + kResV).second["error"]["code"] ==
        "DeploymentNotFound");
}

TEST_CASE("Complete mode deletes what the template does not name", "[deployments][api]") {
  Env env;
  env.identity("id-keep");
  env.identity("id-drop");
  json t = minimal({identity_resource("id-keep"), identity_resource("id-new")});

  // whatIf first: Create, NoChange and Delete.
  httplib::Headers h;
  auto [ws, accepted] =
      env.call("POST", kDeployments + "complete/whatIf" + kResV, body_of(t, {}, "Complete"), &h);
  REQUIRE(ws == 202);
  const std::string loc = h.find("Location")->second;
  auto [rs, result] = env.call("GET", loc.substr(loc.find('/', 8)));
  REQUIRE(rs == 200);
  std::map<std::string, std::string> change;
  for (const auto& c : result["properties"]["changes"]) {
    const std::string id = c["resourceId"];
    change[id.substr(id.rfind('/') + 1)] = c["changeType"];
  }
  CHECK(change == std::map<std::string, std::string>{
                      {"id-keep", "NoChange"}, {"id-new", "Create"}, {"id-drop", "Delete"}});

  json d = env.deploy("complete", body_of(t, {}, "Complete"));
  INFO(d.dump(2));
  REQUIRE(d["properties"]["provisioningState"] == "Succeeded");
  const std::string ids = kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/";
  CHECK(env.call("GET", ids + "id-keep?api-version=2023-01-31").first == 200);
  CHECK(env.call("GET", ids + "id-new?api-version=2023-01-31").first == 200);
  CHECK(env.call("GET", ids + "id-drop?api-version=2023-01-31").first == 404);
  json ops = env.operations("complete");
  REQUIRE(ops.size() == 3);
  CHECK(ops[2]["properties"]["provisioningOperation"] == "Delete");
  CHECK(ops[2]["properties"]["targetResource"]["resourceName"] == "id-drop");

  // Incremental leaves others alone.
  env.identity("id-other");
  json inc = env.deploy("incremental", body_of(minimal({identity_resource("id-keep")})));
  CHECK(inc["properties"]["provisioningState"] == "Succeeded");
  CHECK(env.call("GET", ids + "id-other?api-version=2023-01-31").first == 200);

  // whatIf of a modification.
  json modified = minimal({identity_resource("id-keep", {{"tags", {{"env", "test"}}}})});
  REQUIRE(env.call("POST", kDeployments + "m/whatIf" + kResV, body_of(modified), &h).first == 202);
  const std::string loc2 = h.find("Location")->second;
  json r2 = env.call("GET", loc2.substr(loc2.find('/', 8))).second;
  CHECK(r2["properties"]["changes"][0]["changeType"] == "Modify");
  // The identity answers "tags": {} as Azure does, so the new tag is a change inside it.
  CHECK(r2["properties"]["changes"][0]["delta"][0]["path"] == "tags.env");
}

TEST_CASE("validate and bad templates", "[deployments][api]") {
  Env env;
  json t = minimal({identity_resource("[concat('id-', parameters('suffix'))]")});
  t["parameters"] = {{"suffix", {{"type", "string"}, {"allowedValues", {"a", "b"}}}}};
  auto [ok_status, ok] = env.call("POST", kDeployments + "v/validate" + kResV,
                                  body_of(t, {{"suffix", {{"value", "a"}}}}));
  CHECK(ok_status == 200);
  CHECK(ok["properties"]["provisioningState"] == "Succeeded");
  CHECK(ok["properties"]["validatedResources"][0]["id"] ==
        kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a");
  CHECK(env.call("GET", kDeployments + "v" + kResV).first == 404);  // validate deploys nothing

  auto [bad_status, bad] = env.call("POST", kDeployments + "v/validate" + kResV,
                                    body_of(t, {{"suffix", {{"value", "c"}}}}));
  CHECK(bad_status == 400);
  CHECK(bad["error"]["code"] == "InvalidTemplate");
  CHECK_THAT(bad["error"]["message"].get<std::string>(),
             Contains("is not part of the allowed value(s): 'a,b'"));

  // An unknown function: 400 on PUT, with the path and the position.
  json unknown = minimal({identity_resource("[toLower(nope('x'))]")});
  auto [us, ue] = env.call("PUT", kDeployments + "u" + kResV, body_of(unknown));
  CHECK(us == 400);
  CHECK(ue["error"]["code"] == "InvalidTemplate");
  CHECK(ue["error"]["additionalInfo"][0]["type"] == "TemplateViolation");
  CHECK(ue["error"]["additionalInfo"][0]["info"]["path"] == "resources[0].name");
  CHECK(ue["error"]["additionalInfo"][0]["info"]["position"] == 9);
  CHECK_THAT(ue["error"]["message"].get<std::string>(),
             Contains("the template function 'nope' is not valid"));

  // Bodies: malformed JSON, no template, a bad mode.
  CHECK(env.call("PUT", kDeployments + "x" + kResV, "{\"properties\": {").second["error"]["code"] ==
        "InvalidRequestContent");
  CHECK(env.call("PUT", kDeployments + "x" + kResV,
                 R"({"properties": {"templateLink": {"uri": "https://x"}}})")
            .second["error"]["code"] == "InvalidRequestContent");
  CHECK(env.call("PUT", kDeployments + "x" + kResV, body_of(minimal(json::array()), {}, "Sideways"))
            .second["error"]["code"] == "InvalidDeploymentMode");
  CHECK(env.call("PUT", kDeployments + "bad%20name" + kResV, body_of(minimal(json::array())))
            .second["error"]["code"] == "InvalidDeploymentName");
  CHECK(
      env.call("PUT",
               kSub + "/resourceGroups/nogroup/providers/Microsoft.Resources/deployments/x" + kResV,
               body_of(minimal(json::array())))
          .second["error"]["code"] == "ResourceGroupNotFound");
}

TEST_CASE("a runtime error in a resource body fails its operation", "[deployments][api]") {
  Env env;
  json t = minimal({identity_resource(
      "id-r", {{"tags",
                {{"x", "[reference('/subscriptions/" + std::string(test::kSubscription) +
                           "/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/"
                           "userAssignedIdentities/missing').principalId]"}}}})});
  json d = env.deploy("runtime", body_of(t));
  REQUIRE(d["properties"]["provisioningState"] == "Failed");
  CHECK(d["properties"]["error"]["details"][0]["code"] == "ResourceNotFound");
}

TEST_CASE("subscription-scope deployments create resource groups", "[deployments][api]") {
  Env env;
  json t = minimal(
      {{{"type", "Microsoft.Resources/resourceGroups"},
        {"apiVersion", "2021-04-01"},
        {"name", "[concat('rg-', parameters('n'))]"},
        {"location", "[deployment().location]"}}},
      {{"id",
        {{"type", "string"},
         {"value", "[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg-x')]"}}}});
  t["parameters"] = {{"n", {{"type", "string"}}}};
  const std::string path = kSub + "/providers/Microsoft.Resources/deployments/sub1" + kResV;
  json body = {
      {"location", "westeurope"},
      {"properties",
       {{"template", t}, {"parameters", {{"n", {{"value", "x"}}}}}, {"mode", "Incremental"}}}};
  auto [s, created] = env.call("PUT", path, body.dump());
  REQUIRE(s == 201);
  json d = env.call("GET", path).second;
  INFO(d.dump(2));
  CHECK(d["properties"]["provisioningState"] == "Succeeded");
  CHECK(d["location"] == "westeurope");
  CHECK(d["properties"]["outputs"]["id"]["value"] == kSub + "/resourceGroups/rg-x");
  CHECK(env.call("GET", kSub + "/resourceGroups/rg-x" + kResV).first == 200);
  body.erase("location");
  CHECK(env.call("PUT", path, body.dump()).second["error"]["code"] == "LocationRequired");
}

TEST_CASE("utcNow in a parameter default reads the emulator's virtual clock",
          "[deployments][api]") {
  Env env;
  json t =
      minimal(json::array(), {{"stamp", {{"type", "string"}, {"value", "[parameters('stamp')]"}}}});
  t["parameters"] = {
      {"stamp", {{"type", "string"}, {"defaultValue", "[utcNow('yyyy-MM-ddTHH')]"}}}};
  auto stamp = [&](const std::string& name) {
    json d = env.deploy(name, body_of(t));
    REQUIRE(d["properties"]["provisioningState"] == "Succeeded");
    return d["properties"]["outputs"]["stamp"]["value"].get<std::string>();
  };
  auto expected = [&] { return to_iso8601(env.emu->clock().now()).substr(0, 13); };
  env.emu->clock().set_frozen(true);
  CHECK(stamp("t1") == expected());
  REQUIRE(env.emu->clock().advance(std::chrono::hours(49)));
  const std::string later = stamp("t2");
  CHECK(later == expected());
  CHECK(later != to_iso8601(env.emu->clock().now() - std::chrono::hours(49)).substr(0, 13));
}

TEST_CASE(
    "a parameter passed as null takes its default; empty parameters and outputs are not shown",
    "[deployments][api]") {
  Env env;
  // What today's `az keyvault create` sends for every option left unset: {"value": null}.
  json tmpl =
      minimal({identity_resource("[parameters('name')]", {{"tags", "[parameters('tags')]"}})},
              {{"flag", {{"type", "bool"}, {"value", "[parameters('flag')]"}}}});
  tmpl["parameters"] = {{"name", {{"type", "string"}, {"defaultValue", "id-default"}}},
                        {"flag", {{"type", "bool"}, {"defaultValue", false}}},
                        {"tags", {{"type", "object"}, {"defaultValue", json::object()}}}};
  json d = env.deploy("nulls", body_of(tmpl, {{"name", {{"value", nullptr}}},
                                              {"flag", {{"value", nullptr}}},
                                              {"tags", {{"value", nullptr}}}}));
  INFO(d.dump());
  CHECK(d["properties"]["provisioningState"] == "Succeeded");
  CHECK(d["properties"]["parameters"]["name"] ==
        json({{"type", "String"}, {"value", "id-default"}}));
  CHECK(d["properties"]["parameters"]["flag"] == json({{"type", "Bool"}, {"value", false}}));
  CHECK(d["properties"]["outputs"]["flag"]["value"] == false);
  CHECK(env.call("GET", kRg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                              "id-default?api-version=2023-01-31")
            .first == 200);
  // A null value for a parameter without a default is a missing value.
  tmpl["parameters"]["name"].erase("defaultValue");
  auto [status, error] = env.call("PUT", kDeployments + "nulls2" + kResV,
                                  body_of(tmpl, {{"name", {{"value", nullptr}}}}));
  CHECK(status == 400);
  CHECK(error["error"]["code"] == "InvalidTemplate");

  // A template without parameters or outputs: neither member is shown, as ARM answers; the
  // duration in ARM's fixed notation.
  json empty = env.deploy("empty", body_of(minimal(json::array())));
  CHECK_FALSE(empty["properties"].contains("parameters"));
  CHECK_FALSE(empty["properties"].contains("outputs"));
  CHECK(empty["properties"]["outputResources"] == json::array());
  const std::string duration = empty["properties"]["duration"];
  CHECK(duration.rfind("PT", 0) == 0);
  CHECK(duration.find('e') == std::string::npos);
}
