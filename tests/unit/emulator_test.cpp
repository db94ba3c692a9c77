// The in-process API end to end: real listeners on free ports, real TLS, real HTTP clients.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test_support.h"

using namespace cmk;
using nlohmann::json;

namespace {
// Sends a CONNECT by hand (cpp-httplib's client deadlocks when a proxy refuses one) and returns
// what the proxy answered; `read_to_end` false returns after the first reply bytes.
std::string connect_through(int proxy_port, const std::string& target, bool read_to_end = true) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(proxy_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string hello = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
  REQUIRE(::send(fd, hello.data(), hello.size(), 0) == static_cast<ssize_t>(hello.size()));
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
    reply.append(buf, static_cast<size_t>(n));
    if (!read_to_end && reply.find("\r\n\r\n") != std::string::npos) break;
  }
  ::close(fd);
  return reply;
}

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}
}  // namespace

TEST_CASE("health over HTTPS verifies against the emulator's CA", "[emulator]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto r = cli->Get("/_emulator/health");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto body = json::parse(r->body);
  REQUIRE(body["status"] == "ok");
  REQUIRE(body["version"] == CMK_VERSION);
  REQUIRE(body["uptime_s"].is_number());
  REQUIRE(r->get_header_value("x-ms-request-id").size() == 36);
  // The same API on the plain-HTTP port.
  auto plain = test::http_client(*emu)->Get("/_emulator/health");
  REQUIRE(plain);
  REQUIRE(plain->status == 200);
}

TEST_CASE("two emulators in one process do not interfere", "[emulator]") {
  auto a = test::start_emulator();
  auto b = test::start_emulator();
  REQUIRE(a->https_port() != b->https_port());
  REQUIRE(a->http_port() != b->http_port());
  auto ca = test::https_client(*a), cb = test::https_client(*b);
  REQUIRE(ca->Post("/_emulator/clock/advance", R"({"days": 30})", "application/json")->status == 200);
  const auto offset_a = body_of(ca->Get("/_emulator/clock"))["offset_s"].get<double>();
  const auto offset_b = body_of(cb->Get("/_emulator/clock"))["offset_s"].get<double>();
  REQUIRE(offset_a >= 30 * 86400.0);
  REQUIRE(offset_b < 1.0);
  a->stop();
  // b keeps serving after a stopped.
  REQUIRE(cb->Get("/_emulator/health")->status == 200);
}

TEST_CASE("clock: read, advance, freeze - bad input gets admin errors", "[emulator][clock]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto before = body_of(cli->Get("/_emulator/clock"));
  REQUIRE(before["frozen"] == false);
  auto r = cli->Post("/_emulator/clock/advance", R"({"seconds": 3600, "minutes": 1})",
                     "application/json");
  REQUIRE(r->status == 200);
  auto after = json::parse(r->body);
  REQUIRE(after["unix"].get<int64_t>() - before["unix"].get<int64_t>() >= 3660);
  REQUIRE(emu->clock().offset() >= std::chrono::seconds(3660));

  REQUIRE(cli->Put("/_emulator/clock", R"({"frozen": true})", "application/json")->status == 200);
  REQUIRE(emu->clock().frozen());

  auto negative = cli->Post("/_emulator/clock/advance", R"({"seconds": -5})", "application/json");
  REQUIRE(negative->status == 400);
  REQUIRE(json::parse(negative->body)["error"]["code"] == "InvalidRequestContent");
  auto garbage = cli->Post("/_emulator/clock/advance", "not json", "application/json");
  REQUIRE(garbage->status == 400);
  auto empty = cli->Post("/_emulator/clock/advance", "{}", "application/json");
  REQUIRE(empty->status == 400);
  auto wrong_type = cli->Post("/_emulator/clock/advance", R"({"seconds": "ten"})", "application/json");
  REQUIRE(wrong_type->status == 400);
}

TEST_CASE("unknown routes answer in the shape of the surface they reached", "[emulator]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);

  SECTION("ARM") {
    // With a valid token: without one ARM answers 401 first (bearer_auth_test.cpp).
    auto r = cli->Get("/subscriptions/x/nothing?api-version=2022-01-01",
                      {{"Host", "management.azure.com"},
                       {"Authorization", "Bearer " + test::app_token(*emu)}});
    REQUIRE(r->status == 404);
    auto body = json::parse(r->body);
    REQUIRE(body["error"]["code"] == "NotFound");
    REQUIRE(body["error"]["message"].get<std::string>().find("/subscriptions/x/nothing") !=
            std::string::npos);
    REQUIRE(r->get_header_value("Content-Type") == "application/json; charset=utf-8");
  }
  SECTION("Key Vault") {
    auto r = cli->Get("/nothing?api-version=7.4", {{"Host", "kv1.vault.azure.net"}});
    REQUIRE(r->status == 404);
    auto body = json::parse(r->body);
    REQUIRE(body["error"]["code"].is_string());
    REQUIRE(body["error"]["message"].is_string());
  }
  SECTION("Entra") {
    auto r = cli->Get("/common/nothing", {{"Host", "login.microsoftonline.com"}});
    REQUIRE(r->status == 404);
    auto body = json::parse(r->body);
    REQUIRE(body["error"] == "invalid_request");
    REQUIRE(body["error_codes"].is_array());
    REQUIRE(body["error_description"].get<std::string>().rfind("AADSTS", 0) == 0);
    REQUIRE(body["correlation_id"] == r->get_header_value("x-ms-correlation-request-id"));
  }
  SECTION("managed identity on the plain-HTTP port") {
    auto r = test::http_client(*emu)->Get("/nothing");
    REQUIRE(r->status == 404);
    auto body = json::parse(r->body);
    REQUIRE(body["error"] == "invalid_request");
    REQUIRE(body["error_description"].is_string());
  }
  SECTION("admin, with 405 and Allow for a wrong method") {
    auto r = cli->Delete("/_emulator/health");
    REQUIRE(r->status == 405);
    REQUIRE(r->get_header_value("Allow") == "GET");
    REQUIRE(json::parse(r->body)["error"]["code"] == "MethodNotAllowed");
  }
  SECTION("a method cpp-httplib itself rejects still gets JSON") {
    httplib::Request req;
    req.method = "PROPFIND";
    req.path = "/subscriptions";
    auto r = cli->send(req);
    REQUIRE(r);
    REQUIRE(r->status >= 400);
    REQUIRE(json::parse(r->body)["error"]["code"] == "BadRequest");
  }
}

TEST_CASE("request ids: correlation and client ids are echoed", "[emulator]") {
  auto emu = test::start_emulator();
  auto cli = test::https_client(*emu);
  auto r = cli->Get("/_emulator/health", {{"x-ms-correlation-request-id", "corr-1"},
                                          {"x-ms-client-request-id", "client-1"}});
  REQUIRE(r->get_header_value("x-ms-correlation-request-id") == "corr-1");
  REQUIRE(r->get_header_value("x-ms-client-request-id") == "client-1");
  auto r2 = cli->Get("/_emulator/health");
  REQUIRE(r2->get_header_value("x-ms-correlation-request-id").size() == 36);
  REQUIRE(r2->get_header_value("x-ms-request-id") != r->get_header_value("x-ms-request-id"));
}

TEST_CASE("proxy front door: CONNECT to Azure hosts tunnels and anything else is refused", "[emulator][proxy]") {
  auto emu = test::start_emulator();

  SECTION("a tunnelled request to management.azure.com reaches the emulator") {
    httplib::SSLClient cli("management.azure.com", 443);
    cli.set_proxy("127.0.0.1", emu->http_port());
    cli.set_ca_cert_path(emu->ca_file().c_str());
    cli.enable_server_certificate_verification(true);
    cli.set_connection_timeout(5);
    auto r = cli.Get("/_emulator/health");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    REQUIRE(json::parse(r->body)["status"] == "ok");
    // The vault host's name is also on the certificate and routes to the vault surface.
    httplib::SSLClient kv("kv1.vault.azure.net", 443);
    kv.set_proxy("127.0.0.1", emu->http_port());
    kv.set_ca_cert_path(emu->ca_file().c_str());
    kv.enable_server_certificate_verification(true);
    auto k = kv.Get("/nothing");
    REQUIRE(k);
    REQUIRE(k->status == 404);
  }
  SECTION("CONNECT to an unserved host gets 403 and is recorded") {
    const std::string reply = connect_through(emu->http_port(), "example.com:443");
    REQUIRE(reply.rfind("HTTP/1.1 403", 0) == 0);
    REQUIRE(reply.find("example.com:443") != std::string::npos);
    auto refusals = json::parse(test::http_client(*emu)->Get("/_emulator/proxy/refusals")->body);
    REQUIRE(refusals["count"] == 1);
    REQUIRE(refusals["value"][0]["target"] == "example.com:443");
  }
  SECTION("CONNECT to an Azure host on another port, or to a look-alike host, is refused") {
    REQUIRE(connect_through(emu->http_port(), "management.azure.com:8443").rfind("HTTP/1.1 403", 0) == 0);
    REQUIRE(connect_through(emu->http_port(), "management.azure.com.evil.test:443").rfind("HTTP/1.1 403", 0) == 0);
    REQUIRE(connect_through(emu->http_port(), "garbage").rfind("HTTP/1.1 403", 0) == 0);
  }
  SECTION("CONNECT to a served host is answered 200 Connection established") {
    const std::string reply = connect_through(emu->http_port(), "kv1.vault.azure.net:443", false);
    REQUIRE(reply.rfind("HTTP/1.1 200 Connection established\r\n\r\n", 0) == 0);
  }
  SECTION("plain requests through the proxy, absolute-form, reach the HTTP surfaces") {
    httplib::Client cli("127.0.0.1", emu->http_port());
    cli.set_proxy("127.0.0.1", emu->http_port());
    auto r = cli.Get("/_emulator/health");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
}

TEST_CASE("info lists ports, CA and the proxy-mode environment", "[emulator]") {
  auto emu = test::start_emulator();
  auto info = body_of(test::https_client(*emu)->Get("/_emulator/info"));
  REQUIRE(info["https_port"] == emu->https_port());
  REQUIRE(info["http_port"] == emu->http_port());
  REQUIRE(info["ca_file"] == emu->ca_file().string());
  REQUIRE(info["environment"]["HTTPS_PROXY"] ==
          "http://127.0.0.1:" + std::to_string(emu->http_port()));
  REQUIRE(info["environment"]["https_proxy"] == info["environment"]["HTTPS_PROXY"]);
  REQUIRE(info["environment"]["NO_PROXY"] == "localhost,127.0.0.1,::1");
  for (const char* k :
       {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"})
    REQUIRE(info["environment"][k] == emu->ca_file().string());
  const std::string http_base = "http://127.0.0.1:" + std::to_string(emu->http_port());
  REQUIRE(info["msi_environment"]["IDENTITY_ENDPOINT"] == http_base + "/msi/token");
  REQUIRE(info["msi_environment"]["IDENTITY_HEADER"].is_string());
  REQUIRE(info["msi_environment"]["MSI_ENDPOINT"] == http_base + "/msi/token");
  REQUIRE(info["msi_environment"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == http_base);
  auto ca = test::https_client(*emu)->Get("/_emulator/ca.pem");
  REQUIRE(ca->body == emu->ca_pem());
  REQUIRE(ca->body.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
}
