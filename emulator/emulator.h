// The in-process API: what the cmk-emulator binary and the C++
// tests both use.
//
//   cmk::EmulatorOptions opts;
//   opts.https_port = 0; opts.http_port = 0;          // any free ports
//   opts.certs_dir = "/tmp/my-certs";
//   cmk::Emulator emu(opts);
//   if (auto s = emu.start(); !s) { ... s.message() ... }
//   emu.https_port(); emu.http_port(); emu.ca_pem(); emu.ca_file();
//   emu.stop();                                       // also done by the destructor
//
// Several Emulators may run in one process; they share nothing but the certificate folder when
// given the same one (which is safe: creation is serialised with a lock file).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "arm/arm_api.h"
#include "arm/operations.h"
#include "arm/resource_groups.h"
#include "arm/resource_store.h"
#include "arm/subscriptions.h"
#include "authorization/role_assignments.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/sightings.h"
#include "common/status.h"
#include "entra/directory.h"
#include "entra/token_service.h"
#include "faults/fault_rules.h"
#include "http/certificates.h"
#include "http/pipeline.h"
#include "http/router.h"
#include "http/server.h"
#include "journal/journal.h"
#include "keyvault_data/certificate_store.h"
#include "keyvault_data/key_store.h"
#include "keyvault_data/secret_store.h"
#include "keyvault_data/rsa_key_pool.h"
#include "keyvault_mgmt/vaults.h"
#include "kusto/cluster_keys.h"
#include "msi/msi_api.h"
#include "portal/console_guard.h"
#include "state/clock.h"
#include "state/fixture.h"
#include "state/persistence.h"
#include "state/snapshot.h"

namespace cmk {

struct EmulatorOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int https_port = 8443;           // 0 = any free port
  int http_port = 8080;            // 0 = any free port
  std::filesystem::path certs_dir = "certs";
  // Applied in order. Empty: the built-in default fixture (fixtures/default.json).
  std::vector<std::filesystem::path> fixtures;
  LogLevel log_level = LogLevel::Info;
  Logger::Sink log_sink;  // default: stderr
  // Identity: only registered principals may sign in; access-token lifetime; the
  // tolerance for exp/nbf when validating (tests of expiry set it to 0 with a short lifetime).
  bool strict_auth = false;
  std::chrono::seconds token_lifetime{3599};
  std::chrono::seconds token_clock_skew{300};
  // Managed identity: whom the MSI endpoints speak for without a selector (client id, principal
  // id or ARM resource id; "" = the default host identity), and the X-IDENTITY-HEADER / secret
  // value they demand ("" = any).
  std::string msi_identity;
  std::string msi_identity_header;
  // api-versions: lenient by default (any value is served); strict refuses versions the
  // emulated services do not list: ARM with NoRegisteredProviderFound /
  // InvalidApiVersionParameter (arm/api_versions.h), Key Vault with BadParameter.
  bool strict_api_versions = false;
  // Long-running operation policies in the flag form "[TYPE[:OPERATION]=]MODE[:ARG]"
  // (arm::parse_lro_policy_flag), applied after the fixtures' lroPolicies.
  std::vector<std::string> lro_policies;
  // Key Vault keys: RSA keys kept ready per pooled size (2048, 3072; 0 = generate every key on
  // request; the pool fills from the first data-plane request on).
  size_t rsa_key_pool_size = 4;
  // Customer-managed keys: how often (virtual time) a CMK cluster re-checks its key.
  std::chrono::seconds key_refresh{60};
  // Endpoint mode at https://localhost:<port>/keys/...: the vault those requests speak to
  // ("" = the only live vault; docs/clients.md, "Endpoint mode for Key Vault").
  std::string localhost_vault;
  // Request journal (GET /_emulator/requests): records kept (0 = none), and whether (redacted)
  // bodies are kept too.
  size_t journal_size = 10000;
  bool journal_bodies = false;
  // Fault rule files (faults/fault_rules.h JSON: a rule or an array), loaded after the
  // fixtures' "faults" sections.
  std::vector<std::filesystem::path> fault_files;
  // Deterministic runs (--seed): every id the emulator mints (resource and operation GUIDs,
  // principal and client ids, key versions, ETags) comes from one generator seeded with this, so
  // the same fixtures and the same requests in the same order give the same ids. Unset: ids
  // from the OS. Key bytes and request ids stay random (docs/fixtures-and-state.md: give key
  // material in the fixture to repeat wrapped bytes).
  std::optional<uint64_t> seed;
  // Durable state (state/persistence.h): "" keeps the state in memory only. With a directory,
  // every acknowledged write is on disk before its response leaves; a directory that holds a
  // saved state is resumed (the fixtures are then not applied: they were, when it was new, and
  // POST /_emulator/reset goes back to them).
  std::filesystem::path state_dir;
  // What an acknowledged write survives with state_dir (state::Durability).
  state::Durability state_durability = state::Durability::PowerLoss;
};

class Emulator {
 public:
  explicit Emulator(EmulatorOptions options);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Loads certificates and fixtures, binds the listeners and starts serving. On error nothing
  // is left listening.
  Status start();
  void stop();

  int https_port() const { return listeners_.https_port(); }
  int http_port() const { return listeners_.http_port(); }
  const std::string& ca_pem() const { return tls_.ca_cert_pem; }
  const std::filesystem::path& ca_file() const { return tls_.ca_file; }
  const EmulatorOptions& options() const { return options_; }

  VirtualClock& clock() { return clock_; }
  entra::Directory& directory() { return directory_; }
  arm::SubscriptionRegistry& subscriptions() { return subscriptions_; }
  arm::ResourceGroupStore& resource_groups() { return resource_groups_; }
  arm::LroPolicyTable& lro_policies() { return lro_policies_; }
  arm::OperationEngine& operations() { return operations_; }
  arm::ResourceStore& resources() { return resources_; }
  journal::Journal& journal() { return journal_; }
  faults::FaultSet& faults() { return faults_; }
  keyvault_mgmt::VaultProvider& vaults() { return *vaults_; }
  kusto::ClusterKeys& cluster_keys() { return *cluster_keys_; }
  keyvault_data::KeyStore& keys() { return keys_; }
  keyvault_data::SecretStore& secrets() { return secrets_; }
  keyvault_data::CertificateStore& certificates() { return certificates_; }
  authorization::RoleAssignmentStore& role_assignments() { return role_assignments_; }
  keyvault_data::RsaKeyPool& key_pool() { return key_pool_; }
  // Available once start() succeeded.
  entra::TokenService& token_service() { return *token_service_; }
  // The host identity of the managed-identity endpoints (also GET/PUT /_emulator/msi).
  msi::MsiSettings& msi_settings() { return msi_settings_; }
  Logger& logger() { return log_; }
  // The token the browser console at /_emulator/portal/ sends with its calls (made at
  // construction, random; portal/console_guard.h).
  const std::string& console_token() const { return console_guard_.token(); }

  // Environment variables that point clients at this emulator in proxy mode.
  std::vector<std::pair<std::string, std::string>> client_environment() const;
  // The variables that point managed-identity clients at the MSI endpoints, one set per flavour
  // (docs/identity.md): IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service), MSI_ENDPOINT (Cloud
  // Shell, az), AZURE_POD_IDENTITY_AUTHORITY_HOST (IMDS). Set one flavour, not all.
  std::vector<std::pair<std::string, std::string>> msi_environment() const;

  // Handles one request exactly as the listeners would (pipeline, routing, error mapping, and
  // with --state-dir the commit of what it changed before returning).
  http::Response handle(http::Request& req);

  // The state as a fixture (state/snapshot.h); key material and secrets only when asked.
  nlohmann::json export_state(bool include_secrets);
  // Replaces the whole state with a fixture document (an export, typically). On error the state
  // is as it was and the message names the JSON path.
  Status import_state(const nlohmann::json& fixture);
  // Back to the fixtures (and --faults / --lro-policy flags) the emulator started with.
  Status reset_state();
  // Every store the state lives in.
  state::StateStores state_stores();
  // The state directory, when --state-dir was given and start() succeeded.
  state::StateDirectory* state_directory() { return state_dir_.get(); }
  // Completes the long-running operations that are due, as ARM finishes work nobody is watching,
  // and saves the result with --state-dir; returns how many. A background thread calls it every
  // 50 ms while the emulator runs, so that an operation finishes when it is due, not when it is
  // next read, and a restart finds it finished rather than interrupted.
  size_t settle_operations();

 private:
  http::Router& router(http::Surface s) { return routers_[static_cast<size_t>(s)]; }
  // The pipeline and routes without the state lock or commit: for requests the emulator sends
  // itself while serving one (a CMK cluster's Key Vault calls, a deployment's resources).
  http::Response dispatch(http::Request& req);
  // Loads fixtures into empty stores, then the LRO policy flags and fault files (the start
  // sequence, also reset's).
  // `with_flags` false: only what the fixtures say (an import, or a resumed state directory).
  Status load_fixtures(const std::vector<state::Fixture>& fixtures, bool with_flags);
  // Empties the stores and loads `fixtures`; on error, puts `fallback` (an export) back. Saves
  // the result with --state-dir. Called with state_mu_ held alone.
  Status replace_state(const std::vector<state::Fixture>& fixtures, bool with_flags,
                       const nlohmann::json& fallback);
  void register_routes();
  void register_default_host_identity();
  // The location of an ARM resource, or of the resource group it is in ("" when neither exists).
  std::string location_of(const std::string& resource_id) const;
  // Counts an api-version served in lenient mode that `service` does not list; logs a value the
  // first time it is seen.
  void note_unlisted_api_version(const std::string& version, const std::string& service);

  EmulatorOptions options_;
  Logger log_;
  VirtualClock clock_;
  IdGenerator ids_{options_.seed};
  arm::ResourceGroupStore resource_groups_;
  arm::LroPolicyTable lro_policies_;
  arm::OperationEngine operations_{clock_, ids_};
  arm::ResourceStore resources_{clock_, ids_};
  journal::Journal journal_{options_.journal_size};
  faults::FaultSet faults_{clock_};
  // Lenient mode: api-versions served though the emulated service does not list them (ARM and
  // Key Vault); each value is logged once, all are counted (/_emulator/info).
  Sightings unlisted_api_versions_;
  std::unique_ptr<keyvault_mgmt::VaultProvider> vaults_;
  std::unique_ptr<kusto::ClusterKeys> cluster_keys_;
  keyvault_data::RsaKeyPool key_pool_{
      keyvault_data::RsaKeyPoolOptions{options_.rsa_key_pool_size, {2048, 3072}}};
  keyvault_data::KeyStore keys_{clock_, ids_, key_pool_};
  // Secret backups are sealed with the keys' backup key: one key for the state to save.
  keyvault_data::SecretStore secrets_{clock_, ids_, [this] { return keys_.backup_sealing_key(); }};
  // A certificate's key and secret live in keys_ and secrets_; its pending create completes as
  // the LRO policy for Microsoft.KeyVault/vaults/certificates says.
  keyvault_data::CertificateStore certificates_{
      clock_, ids_, key_pool_, keys_, secrets_,
      [this] { return lro_policies_.get("Microsoft.KeyVault/vaults/certificates", "write"); }};
  authorization::RoleAssignmentStore role_assignments_{clock_};
  entra::Directory directory_;
  arm::SubscriptionRegistry subscriptions_;
  http::TlsMaterial tls_;
  RealClock token_clock_;  // tokens live on real time, never on the virtual clock
  std::unique_ptr<entra::TokenService> token_service_;
  msi::MsiSettings msi_settings_;
  portal::ConsoleGuard console_guard_;
  arm::ArmContext arm_ctx_;  // the ARM core as the providers see it (also fixtures')
  std::array<http::Router, 5> routers_;
  http::Pipeline pipeline_;
  http::Listeners listeners_;
  std::chrono::steady_clock::time_point started_at_;
  bool running_ = false;
  // Requests hold it shared while they are handled; a state import or reset holds it alone, so
  // no request sees half of the old state and half of the new.
  std::shared_mutex state_mu_;
  std::vector<state::Fixture> start_fixtures_;  // what reset goes back to
  std::unique_ptr<state::StateDirectory> state_dir_;
  // The thread that calls settle_operations() while running.
  std::thread settler_;
  std::mutex settler_mu_;
  std::condition_variable settler_wake_;
  bool settler_stop_ = false;
};

// The proxy-mode environment for given ports and CA path (also `cmk-emulator env`).
std::vector<std::pair<std::string, std::string>> proxy_environment(const std::string& host,
                                                                   int http_port,
                                                                   const std::string& ca_file);

}  // namespace cmk
