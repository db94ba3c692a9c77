#include <catch2/catch.hpp>

#include "http/host_routing.h"
#include "http/router.h"
#include "http/server.h"

using namespace cmk::http;

namespace {
Request request(const std::string& method, const std::string& target, const std::string& host,
                Listener listener = Listener::Https) {
  Request r;
  r.method = method;
  r.listener = listener;
  parse_target(r, target, host, listener == Listener::Https ? 443 : 80);
  classify(r);
  return r;
}
}  // namespace

TEST_CASE("query parameter names and values are percent-decoded", "[http]") {
  auto r = request("GET", "/keys/k1?api%2Dversion=2025-07-01&x=a%20b&flag", "kv1.vault.azure.net");
  REQUIRE(r.query_param("api-version") == std::optional<std::string>("2025-07-01"));
  REQUIRE(r.query_param("API-VERSION") == std::optional<std::string>("2025-07-01"));
  REQUIRE(r.query_param("x") == std::optional<std::string>("a b"));
  REQUIRE(r.query_param("flag") == std::optional<std::string>(""));
  REQUIRE_FALSE(r.query_param("missing").has_value());
  REQUIRE(r.raw_target == "/keys/k1?api%2Dversion=2025-07-01&x=a%20b&flag");
}

TEST_CASE("doubled leading and trailing slashes are tolerated", "[http]") {
  auto r = request("GET", "//metadata/endpoints?api-version=2015-01-01", "localhost:8443");
  REQUIRE(r.path == "/metadata/endpoints");
  REQUIRE(r.segments == std::vector<std::string>{"metadata", "endpoints"});
  REQUIRE_FALSE(r.trailing_slash);
  auto k = request("GET", "/keys/cmk1/", "kv1.vault.localhost:8443");
  REQUIRE(k.segments == std::vector<std::string>{"keys", "cmk1"});
  REQUIRE(k.trailing_slash);
  REQUIRE(k.host == "kv1.vault.localhost");
  REQUIRE(k.port == 8443);
  REQUIRE(k.base_url() == "https://kv1.vault.localhost:8443");
}

TEST_CASE("absolute-form targets sent through a proxy are split into host and path", "[http]") {
  auto r = request("GET", "http://127.0.0.1:8080/msi/token?resource=x", "127.0.0.1:8080",
                   Listener::Http);
  REQUIRE(r.host == "127.0.0.1");
  REQUIRE(r.port == 8080);
  REQUIRE(r.path == "/msi/token");
  REQUIRE(r.query_param("resource") == std::optional<std::string>("x"));
  REQUIRE(r.surface == Surface::Msi);
  auto v6 = request("GET", "/", "[::1]:9443");
  REQUIRE(v6.host == "::1");
  REQUIRE(v6.port == 9443);
}

TEST_CASE("hosts route to their surfaces", "[http]") {
  SECTION("vault hosts reach the Key Vault data plane with the vault's name") {
    auto a = request("POST", "/keys/k/create", "KV1.vault.azure.net");
    REQUIRE(a.surface == Surface::KeyVault);
    REQUIRE(a.vault_name == "kv1");
    auto b = request("GET", "/keys", "myvault.vault.localhost:8443");
    REQUIRE(b.surface == Surface::KeyVault);
    REQUIRE(b.vault_name == "myvault");
    // A deeper name is not a vault host.
    REQUIRE(request("GET", "/", "a.b.vault.azure.net").surface == Surface::Arm);
  }
  SECTION("login hosts reach Entra whatever the path") {
    REQUIRE(request("GET", "/common/discovery/instance", "login.microsoftonline.com").surface ==
            Surface::Login);
    REQUIRE(request("POST", "/t/oauth2/token", "login.windows.net").surface == Surface::Login);
  }
  SECTION("management and loopback hosts reach ARM, with Entra paths beside it") {
    REQUIRE(request("GET", "/subscriptions", "management.azure.com").surface == Surface::Arm);
    REQUIRE(request("GET", "/subscriptions", "localhost:8443").surface == Surface::Arm);
    REQUIRE(request("POST", "/adfs/oauth2/token", "localhost:8443").surface == Surface::Login);
    REQUIRE(request("GET", "/t1/v2.0/.well-known/openid-configuration", "127.0.0.1:8443")
                .surface == Surface::Login);
    REQUIRE(request("GET", "/t1/discovery/v2.0/keys", "localhost").surface == Surface::Login);
  }
  SECTION("on loopback hosts, Key Vault data-plane paths reach the vault data plane, unnamed") {
    for (const char* host : {"localhost:8443", "127.0.0.1:8443", "[::1]:8443", "localhost"}) {
      INFO(host);
      for (const char* path : {"/keys/k1/create", "/Keys", "/deletedkeys/k1/recover", "/rng",
                               "/secrets/s1", "/deletedsecrets", "/certificates/c1",
                               "/keys/discovery/oauth2"}) {
        INFO(path);
        auto r = request("POST", path, host);
        REQUIRE(r.surface == Surface::KeyVault);
        REQUIRE(r.vault_name.empty());
      }
    }
    // Everything else there stays ARM (or Entra).
    REQUIRE(request("GET", "/subscriptions/s/providers/Microsoft.KeyVault/vaults/keys", "localhost:8443")
                .surface == Surface::Arm);
    REQUIRE(request("GET", "/t1/oauth2/v2.0/token", "localhost:8443").surface == Surface::Login);
    // Not on other hosts: the management host is ARM only, the HTTP listener MSI only.
    REQUIRE(request("GET", "/keys", "management.azure.com").surface == Surface::Arm);
    REQUIRE(request("GET", "/keys", "127.0.0.1:8080", Listener::Http).surface == Surface::Msi);
    REQUIRE(is_keyvault_data_path({"DeletedKeys", "k"}));
    REQUIRE_FALSE(is_keyvault_data_path({"subscriptions"}));
    REQUIRE_FALSE(is_keyvault_data_path({}));
  }
  SECTION("/_emulator/ is the admin API on every host and both listeners") {
    REQUIRE(request("GET", "/_emulator/health", "kv1.vault.azure.net").surface == Surface::Admin);
    REQUIRE(request("GET", "/_emulator/health", "login.windows.net").surface == Surface::Admin);
    REQUIRE(request("GET", "/_emulator/health", "127.0.0.1:8080", Listener::Http).surface ==
            Surface::Admin);
  }
  SECTION("the plain-HTTP listener serves managed identity") {
    REQUIRE(request("GET", "/metadata/identity/oauth2/token", "127.0.0.1", Listener::Http)
                .surface == Surface::Msi);
  }
}

TEST_CASE("proxy allow-list: Azure hosts on 443 only, loopback names", "[http]") {
  REQUIRE(is_served_azure_host("management.azure.com"));
  REQUIRE(is_served_azure_host("management.core.windows.net"));
  REQUIRE(is_served_azure_host("login.microsoftonline.com"));
  REQUIRE(is_served_azure_host("kv1.vault.azure.net"));
  REQUIRE_FALSE(is_served_azure_host("example.com"));
  REQUIRE_FALSE(is_served_azure_host("vault.azure.net"));
  REQUIRE_FALSE(is_served_azure_host("evil.management.azure.com"));
  REQUIRE_FALSE(is_served_azure_host("a.b.vault.azure.net"));
  REQUIRE(is_loopback_host("localhost"));
  REQUIRE(is_loopback_host("127.0.0.1"));
  REQUIRE(is_loopback_host("kv1.vault.localhost"));
  REQUIRE_FALSE(is_loopback_host("10.0.0.1"));
}

TEST_CASE("router matches literals case-insensitively and captures segments", "[http]") {
  Router router;
  std::string hit;
  router.add("GET", "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Kusto/clusters/{name}",
             [&](Request&, const RouteParams& p) {
               hit = p.get("sub") + "|" + p.get("rg") + "|" + p.get("name");
               return Response{};
             });
  router.add("POST", "/keys/{name}/{rest*}", [&](Request&, const RouteParams& p) {
    hit = "rest=" + p.get("rest");
    return Response{};
  });
  Response res;
  auto r = request("GET", "/subscriptions/S1/resourcegroups/RG/providers/microsoft.kusto/Clusters/kc1",
                   "localhost");
  REQUIRE(router.dispatch(r, res) == Router::Outcome::Handled);
  REQUIRE(hit == "S1|RG|kc1");

  auto head = request("HEAD", "/subscriptions/s/resourceGroups/r/providers/Microsoft.Kusto/clusters/c",
                      "localhost");
  REQUIRE(router.dispatch(head, res) == Router::Outcome::Handled);

  auto rest = request("POST", "/keys/k1/abc/wrapKey", "kv1.vault.azure.net");
  REQUIRE(router.dispatch(rest, res) == Router::Outcome::Handled);
  REQUIRE(hit == "rest=abc/wrapKey");
  auto empty_rest = request("POST", "/keys/k1", "kv1.vault.azure.net");
  REQUIRE(router.dispatch(empty_rest, res) == Router::Outcome::Handled);
  REQUIRE(hit == "rest=");

  std::string allowed;
  auto wrong = request("DELETE", "/keys/k1/x", "kv1.vault.azure.net");
  REQUIRE(router.dispatch(wrong, res, &allowed) == Router::Outcome::MethodNotAllowed);
  REQUIRE(allowed == "POST");
  auto none = request("GET", "/nothing/here", "localhost");
  REQUIRE(router.dispatch(none, res) == Router::Outcome::NotFound);
}
