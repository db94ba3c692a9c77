// Helpers shared by the unit tests: temporary folders, an emulator on free ports, and HTTPS/HTTP
// clients that trust its CA.
#pragma once

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "emulator.h"

namespace cmk::test {

// A folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("cmk-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A base clock the test moves by hand, so nothing depends on real time passing.
class ManualClock : public Clock {
 public:
  TimePoint now() const override { return t; }
  TimePoint t = from_unix_seconds(1'700'000'000);
};

// One certificate folder for the whole test process: RSA key generation is the slow part of a
// first start, and the certificate module has tests of its own.
inline const std::filesystem::path& shared_certs_dir() {
  static TempDir dir;
  return dir.path();
}

inline EmulatorOptions test_options() {
  EmulatorOptions o;
  o.https_port = 0;
  o.http_port = 0;
  o.certs_dir = shared_certs_dir();
  o.log_level = LogLevel::Off;
  return o;
}

// An emulator started on free ports; REQUIREs a successful start.
inline std::unique_ptr<Emulator> start_emulator(EmulatorOptions o = test_options()) {
  auto emu = std::make_unique<Emulator>(std::move(o));
  auto s = emu->start();
  INFO(s.message());
  REQUIRE(s.is_ok());
  return emu;
}

// HTTPS client to the emulator's HTTPS port that verifies the server against the emulator's CA.
inline std::unique_ptr<httplib::SSLClient> https_client(const Emulator& emu) {
  auto cli = std::make_unique<httplib::SSLClient>("127.0.0.1", emu.https_port());
  cli->set_ca_cert_path(emu.ca_file().c_str());
  cli->enable_server_certificate_verification(true);
  cli->set_connection_timeout(5);
  cli->set_read_timeout(10);
  return cli;
}

inline std::unique_ptr<httplib::Client> http_client(const Emulator& emu) {
  auto cli = std::make_unique<httplib::Client>("127.0.0.1", emu.http_port());
  cli->set_connection_timeout(5);
  cli->set_read_timeout(10);
  return cli;
}

// An HTTPS client for a real Azure host name, reaching the emulator through its proxy front
// door (proxy mode, as the real clients use it).
inline std::unique_ptr<httplib::SSLClient> proxied_client(const Emulator& emu,
                                                          const std::string& host) {
  auto cli = std::make_unique<httplib::SSLClient>(host, 443);
  cli->set_proxy("127.0.0.1", emu.http_port());
  cli->set_ca_cert_path(emu.ca_file().c_str());
  cli->enable_server_certificate_verification(true);
  cli->set_connection_timeout(5);
  cli->set_read_timeout(10);
  return cli;
}

// The default fixture's identities (docs/identity.md, "Default identities").
inline constexpr const char* kTenant = "72f988bf-0000-0000-0000-000000000001";
inline constexpr const char* kSubscription = "00000000-0000-0000-0000-000000000001";
inline constexpr const char* kSpAppId = "11111111-1111-1111-1111-111111111111";
inline constexpr const char* kSpObjectId = "11111111-0000-0000-0000-000000000001";
inline constexpr const char* kSpSecret = "emulator-secret";

// "a=1&b=2" with every name and value percent-encoded, as a form body.
inline std::string form(std::initializer_list<std::pair<std::string, std::string>> fields) {
  std::string out;
  for (const auto& [k, v] : fields)
    out += (out.empty() ? "" : "&") + http::percent_encode(k) + "=" + http::percent_encode(v);
  return out;
}

// A token for the default service principal, straight from the token service.
inline std::string app_token(Emulator& emu,
                             const std::string& resource = "https://management.azure.com/") {
  entra::TokenRequest r;
  r.endpoint = entra::TokenEndpoint::V1;
  r.tenant = kTenant;
  r.grant_type = "client_credentials";
  r.client.client_id = kSpAppId;
  r.client.client_secret = kSpSecret;
  r.resource = resource;
  auto t = emu.token_service().token(r);
  INFO((t ? std::string() : t.error().description));
  REQUIRE(t.is_ok());
  return t->access_token;
}

}  // namespace cmk::test
