// An emulator started once per fuzzing process, for the harnesses that reach the surfaces'
// body readers through the whole request path (pipeline, authentication, journal, fault filter,
// routing, handlers) and for the fixture and state readers, which need its stores.
//
// Every input starts from the same world: after an input that changed the state (the stores'
// revision sum moved), the state goes back to the start fixtures (Emulator::reset_state), and
// what lives outside the stores (token revocation, strict authentication, the MSI settings, the
// journal) is put back too. So an input that crashes crashes again when replayed alone.
//
// An unhandled exception in a handler is answered 500 and logged "internal error ..." by the
// pipeline; the log sink turns that line into an abort, so libFuzzer records it as a finding.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "emulator.h"
#include "fuzz_support.h"
#include "http/host_routing.h"
#include "http/server.h"
#include "state/fixture.h"
#include "state/snapshot.h"

namespace cmk::fuzz {

inline constexpr const char* kTenant = "72f988bf-0000-0000-0000-000000000001";
inline constexpr const char* kSubscription = "00000000-0000-0000-0000-000000000001";
inline constexpr const char* kSpAppId = "11111111-1111-1111-1111-111111111111";
inline constexpr const char* kSpObjectId = "11111111-0000-0000-0000-000000000001";
inline constexpr const char* kSpSecret = "emulator-secret";

// A folder for the emulator's certificates, reused by later runs (creating them is the slow part
// of a start): $CMK_FUZZ_CERTS, or one per user under the temp folder.
inline std::filesystem::path fuzz_certs_dir() {
  if (const char* dir = std::getenv("CMK_FUZZ_CERTS")) return dir;
  return std::filesystem::temp_directory_path() / ("cmk-fuzz-certs-" + std::to_string(::getuid()));
}

// An RSA-2048 private key in PEM, made once per process: key material given in the world fixture,
// so that going back to the start state does not generate a key.
inline std::string make_rsa_pem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (!key) std::abort();
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

// The world the request harnesses start from, beside the default identities: resource group rg1,
// user-assigned identity mi1, vault kv1 (the default service principal may do everything with
// keys, mi1 may get, wrap and unwrap) with RSA key k1 and EC key ec1, CMK cluster kccmk (mi1,
// k1) and plain cluster kcplain, and long-running operations that complete at once, so a seed's
// steps reach what follows a create.
inline nlohmann::json world_fixture() {
  using nlohmann::json;
  const std::string sub = std::string("/subscriptions/") + kSubscription;
  const std::string rg = sub + "/resourceGroups/rg1";
  const std::string mi = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi1";
  json doc = json::parse(state::builtin_default_fixture_text());
  doc["resourceGroups"] = {{{"id", rg}, {"location", "westeurope"}}};
  doc["userAssignedIdentities"] = {{{"id", mi},
                                    {"location", "westeurope"},
                                    {"properties",
                                     {{"principalId", "22222222-0000-0000-0000-000000000001"},
                                      {"clientId", "22222222-0000-0000-0000-000000000002"}}}}};
  doc["vaults"] = {
      {{"id", rg + "/providers/Microsoft.KeyVault/vaults/kv1"},
       {"location", "westeurope"},
       {"properties",
        {{"sku", {{"family", "A"}, {"name", "premium"}}},
         {"enableSoftDelete", true},
         {"enablePurgeProtection", true},
         {"accessPolicies",
          {{{"tenantId", kTenant},
            {"objectId", "22222222-0000-0000-0000-000000000001"},
            {"permissions", {{"keys", {"get", "wrapKey", "unwrapKey"}}}}},
           {{"tenantId", kTenant},
            {"objectId", kSpObjectId},
            {"permissions", {{"keys", {"all"}}}}}}}}},
       {"keys",
        {{{"name", "k1"},
          {"versions",
           {{{"version", "0123456789abcdef0123456789abcdef"},
             {"pem", make_rsa_pem()},
             {"key_ops", {"wrapKey", "unwrapKey", "encrypt", "decrypt", "sign", "verify"}}}}}},
         {{"name", "ec1"},
          {"versions",
           {{{"version", "fedcba9876543210fedcba9876543210"},
             {"kty", "EC"},
             {"crv", "P-256"}}}}}}}}};
  doc["clusters"] = {
      {{"id", rg + "/providers/Microsoft.Kusto/clusters/kccmk"},
       {"location", "westeurope"},
       {"sku", {{"name", "Standard_E8ads_v5"}, {"tier", "Standard"}, {"capacity", 2}}},
       {"identity", {{"type", "UserAssigned"}, {"userAssignedIdentities", {{mi, json::object()}}}}},
       {"properties",
        {{"state", "Running"},
         {"keyVaultProperties",
          {{"keyVaultUri", "https://kv1.vault.azure.net/"},
           {"keyName", "k1"},
           {"keyVersion", ""},
           {"userIdentity", mi}}}}}},
      {{"id", rg + "/providers/Microsoft.Kusto/clusters/kcplain"},
       {"location", "westeurope"},
       {"sku", {{"name", "Dev(No SLA)_Standard_E2a_v4"}, {"tier", "Basic"}}},
       {"identity", {{"type", "SystemAssigned"}}},
       {"properties", {{"state", "Running"}}}}};
  doc["lroPolicies"] = {{"default", {{"mode", "immediate"}}}};
  return doc;
}

// Which requests of a script a harness sends (the others are skipped).
enum class Surfaces { Arm, DataPlane };

class World {
 public:
  // `fixture`: the start state (written to a file, as --fixture would load it).
  explicit World(const nlohmann::json& fixture) {
    dir_ = std::filesystem::temp_directory_path() /
           ("cmk-fuzz-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "world.json") << fixture.dump(2);
    EmulatorOptions o;
    o.https_port = 0;
    o.http_port = 0;
    o.certs_dir = fuzz_certs_dir();
    o.fixtures = {dir_ / "world.json"};
    o.log_level = LogLevel::Error;
    o.log_sink = [](std::string_view line) {
      if (line.find("internal error") != std::string_view::npos ||
          line.find("filter failed after the response") != std::string_view::npos)
        check_failed("no unhandled exception while serving", __FILE__, __LINE__, line);
    };
    o.rsa_key_pool_size = 0;  // no background key generation competing with the fuzzer
    o.journal_size = 64;
    o.journal_bodies = true;  // so every body also passes journal redaction
    o.seed = 1;
    emu_ = std::make_unique<Emulator>(std::move(o));
    if (auto s = emu_->start(); !s) {
      std::fprintf(stderr, "the emulator did not start: %s\n", s.message().c_str());
      std::abort();
    }
    issue_tokens();
    signature_ = state::state_signature(emu_->state_stores());
  }
  ~World() {
    emu_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Emulator& emulator() { return *emu_; }

  // Back to the start state, if anything changed it.
  void restore() {
    auto& tokens = emu_->token_service();
    if (tokens.revocation_cutoff() != 0) tokens.set_revocation_cutoff(0);
    if (tokens.strict_auth()) tokens.set_strict_auth(false);
    emu_->msi_settings().set_host_identity("");
    emu_->msi_settings().set_identity_header("");
    emu_->journal().clear();
    if (state::state_signature(emu_->state_stores()) == signature_) return;
    if (auto s = emu_->reset_state(); !s)
      check_failed("reset_state", __FILE__, __LINE__, s.message());
    signature_ = state::state_signature(emu_->state_stores());
  }

  // Sends each request of `script` (see run_script) the harness's `surfaces` takes.
  void run_script(std::string_view script, Surfaces surfaces, size_t max_requests = 8) {
    size_t sent = 0;
    key_generations_ = 0;
    while (!script.empty() && sent < max_requests) {
      const size_t sep = script.find("\n~~~\n");
      const std::string_view one = script.substr(0, sep);
      script = sep == std::string_view::npos ? std::string_view() : script.substr(sep + 5);
      sent += send(one, surfaces) ? 1 : 0;
    }
    restore();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }

  void issue_tokens() {
    for (const char* resource : {"https://management.azure.com/", "https://vault.azure.net"}) {
      entra::TokenRequest r;
      r.endpoint = entra::TokenEndpoint::V1;
      r.tenant = kTenant;
      r.grant_type = "client_credentials";
      r.client.client_id = kSpAppId;
      r.client.client_secret = kSpSecret;
      r.resource = resource;
      auto t = emu_->token_service().token(r);
      if (!t) check_failed("a token for the default principal", __FILE__, __LINE__, resource);
      (std::string_view(resource).find("vault") != std::string_view::npos ? vault_token_
                                                                          : arm_token_) =
          t->access_token;
    }
  }

  // One request: "METHOD target [http]\nName: value\n...\n\nbody". The Host header decides the
  // surface as on the wire (an absolute target's authority wins); without one, ARM's host.
  // Without an Authorization header, ARM and Key Vault requests carry the default principal's
  // token for their audience; "Authorization: none" sends none. Returns whether it was sent.
  bool send(std::string_view text, Surfaces surfaces) {
    auto [request_line, rest] = first_line(text);
    http::Request req;
    const size_t sp1 = request_line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return false;
    req.method = std::string(request_line.substr(0, sp1));
    std::string_view target = request_line.substr(sp1 + 1);
    req.listener = http::Listener::Https;
    if (const size_t sp2 = target.rfind(' '); sp2 != std::string_view::npos) {
      if (http::iequals(target.substr(sp2 + 1), "http")) req.listener = http::Listener::Http;
      target = target.substr(0, sp2);
    }
    std::string host = "management.azure.com";
    bool auth_given = false;
    while (!rest.empty()) {
      auto [line, after] = first_line(rest);
      rest = after;
      if (line.empty()) break;
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (http::iequals(name, "Host")) {
        host = std::string(value);
        continue;
      }
      if (http::iequals(name, "Authorization")) {
        auth_given = true;
        if (http::iequals(value, "none")) continue;
      }
      req.headers.emplace(std::move(name), std::string(value));
    }
    req.headers.emplace("Host", host);
    req.body = std::string(rest);
    http::parse_target(req, std::string(target), host,
                       req.listener == http::Listener::Https ? 443 : 80);
    http::classify(req);

    const bool arm = req.surface == http::Surface::Arm;
    if ((surfaces == Surfaces::Arm) != arm) return false;
    // Fault rules may ask for latency, which the filter waits out for real: not for a fuzzer.
    if (req.body.find("atency") != std::string::npos) return false;
    // Generating large RSA keys takes seconds (OpenSSL, not the emulator): 2048 bits only.
    if (req.body.find("3072") != std::string::npos || req.body.find("4096") != std::string::npos)
      return false;
    // Nor more than one key creation or rotation per input: each may generate an RSA key, which
    // is most of an input's time (a create body is read before the key is made).
    if (req.surface == http::Surface::KeyVault && !req.segments.empty() &&
        (http::iequals(req.segments.back(), "create") ||
         http::iequals(req.segments.back(), "rotate")) &&
        key_generations_++ > 0)
      return false;
    if (!auth_given && (arm || req.surface == http::Surface::KeyVault))
      req.headers.emplace("Authorization", "Bearer " + (arm ? arm_token_ : vault_token_));

    http::Response res = emu_->handle(req);
    FUZZ_CHECK(res.status >= 100 && res.status < 600, std::to_string(res.status));
    return true;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Emulator> emu_;
  std::string arm_token_, vault_token_;
  uint64_t signature_ = 0;
  size_t key_generations_ = 0;  // key creations and rotations sent in this input
};

}  // namespace cmk::fuzz
