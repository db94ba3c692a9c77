// cmk-emulator: the binary. Parses flags, starts an Emulator, prints one ready line on stdout
// (and writes it to --ready-file), registers itself for `cmk-emulator env` and runs until
// SIGINT/SIGTERM. Logs go to stderr.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/heap_trim.h"
#include "emulator.h"
#include "runtime/env_command.h"
#include "runtime/instance_registry.h"

namespace {

// A file this process writes for others to wait on (--pid-file, --ready-file) and removes when
// it stops cleanly. Owner-only: same-user scripts and CI steps read it.
class RunFile {
 public:
  explicit RunFile(std::string path) : path_(std::move(path)) {}
  RunFile(const RunFile&) = delete;
  RunFile& operator=(const RunFile&) = delete;
  ~RunFile() { remove(); }

  // Written to a temporary file and renamed, so a reader sees all of it or nothing.
  cmk::Status write(const std::string& content) {
    if (path_.empty()) return cmk::Status::ok();
    cmk::Status s = cmk::write_file_atomically(path_, content, 0600);
    written_ = s.is_ok();
    return s;
  }
  // A leftover from a killed run would tell a waiting script "ready" before this one is.
  void remove_leftover() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void remove() {
    if (written_) ::unlink(path_.c_str());
    written_ = false;
  }

 private:
  std::string path_;
  bool written_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  cmk::limit_malloc_arenas(2);
  cmk::EmulatorOptions opts;
  std::string log_level = "info";
  std::vector<std::string> fixtures;

  CLI::App app{
      "cmk-emulator: Azure Resource Manager (Kusto, Key Vault, managed identity), Key Vault "
      "keys and Entra ID on localhost"};
  app.set_version_flag("--version", CMK_VERSION);
  app.add_option("--host", opts.host, "Address both listeners bind (loopback by default)")
      ->capture_default_str();
  app.add_option("--https-port", opts.https_port, "HTTPS port: ARM, login, vaults (0 = any free)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--http-port", opts.http_port,
                 "HTTP port: proxy (CONNECT), managed identity, admin (0 = any free)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--certs-dir", opts.certs_dir,
                 "Folder of the CA, server certificate and keys (made on first start)")
      ->capture_default_str();
  std::string ready_file;
  app.add_option("--ready-file", ready_file,
                 "Once the listeners accept, write the ready line's JSON (event, https_port, "
                 "http_port, ca_file) to FILE atomically: a reader sees all of it or nothing. A "
                 "leftover FILE is removed at start, FILE itself on a clean stop. Scripts wait "
                 "until FILE is non-empty (docs/test-helpers.md)");
  std::string pid_file;
  app.add_option("--pid-file", pid_file,
                 "Write the process id to FILE (owner-only) at start; removed on a clean stop");
  app.add_option("--fixture", fixtures,
                 "Fixture file to load; repeatable, applied in order (default: the built-in "
                 "copy of fixtures/default.json)");
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error", "off"}));
  app.add_flag("--strict-auth", opts.strict_auth,
               "Only registered principals may sign in (default: unknown clients are admitted "
               "and registered on the fly)");
  app.add_flag("--strict-api-versions", opts.strict_api_versions,
               "Refuse api-versions the emulated services do not list (ARM: "
               "NoRegisteredProviderFound, InvalidApiVersionParameter; Key Vault: BadParameter) "
               "instead of serving any");
  app.add_option("--lro-policy", opts.lro_policies,
                 "Long-running operation policy, [TYPE[:OPERATION]=]MODE[:ARG]: 'immediate' "
                 "(default for all), 'Microsoft.Kusto/clusters=polls:3', "
                 "'Microsoft.Kusto/clusters:delete=duration:30'; repeatable")
      ->check([](const std::string& spec) {
        auto set = cmk::arm::parse_lro_policy_flag(spec);
        return set ? std::string() : set.status().message();
      });
  int64_t key_refresh = opts.key_refresh.count();
  app.add_option("--key-refresh", key_refresh,
                 "Seconds of virtual time between a CMK cluster's checks of its key (rotation "
                 "followed, suspension and resumption)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{366} * 86400));
  int64_t token_lifetime = opts.token_lifetime.count();
  app.add_option("--token-lifetime", token_lifetime, "Access-token lifetime in seconds")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{366} * 86400));
  app.add_option("--msi-identity", opts.msi_identity,
                 "Managed identity the MSI endpoints speak for when a request names none: a "
                 "client id, principal id or ARM resource id (default: the built-in host "
                 "identity)");
  app.add_option("--msi-identity-header", opts.msi_identity_header,
                 "Value X-IDENTITY-HEADER (or the legacy `secret` header) must carry (default: "
                 "any value)");

  app.add_option("--key-pool-size", opts.rsa_key_pool_size,
                 "RSA keys (2048 and 3072 bits) kept ready for key creation; 0 generates every "
                 "key on request")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));

  app.add_option("--localhost-vault", opts.localhost_vault,
                 "Vault that Key Vault requests to https://localhost:<port>/keys/... speak to "
                 "(default: the only vault, if exactly one exists)");

  std::vector<std::string> fault_files;
  app.add_option("--faults", fault_files,
                 "Fault rules to load at start (JSON: a rule or an array; docs/faults.md); "
                 "repeatable, applied after the fixtures' faults")
      ->check(CLI::ExistingFile);
  app.add_option("--journal-size", opts.journal_size,
                 "Requests the journal keeps (GET /_emulator/requests); 0 keeps none")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
  app.add_flag("--journal-bodies", opts.journal_bodies,
               "Keep request and response bodies in the journal too (secrets, tokens and key "
               "material redacted)");

  uint64_t seed = 0;
  auto* seed_opt = app.add_option(
      "--seed", seed,
      "Make every generated id repeatable (resource, operation, principal and client ids, key "
      "versions, ETags): the same fixtures and requests give the same ids");

  std::string state_dir;
  auto* state_dir_opt = app.add_option(
      "--state-dir", state_dir,
      "Keep the state in this directory (SQLite, owner-only) so that every "
      "acknowledged write survives kill -9 and a power loss (see --state-durability); a "
      "directory with a saved state is resumed (docs/fixtures-and-state.md). One emulator per "
      "directory");
  std::string state_durability = "power-loss";
  app.add_option("--state-durability", state_durability,
                 "With --state-dir, what an acknowledged write survives: power-loss (fsynced "
                 "before the response) or kill (kill -9 and emulator crashes, not a machine "
                 "crash; faster: the OS writes it to disk in its own time)")
      ->check(CLI::IsMember({"power-loss", "kill"}))
      ->needs(state_dir_opt)
      ->capture_default_str();

  const cmk::EmulatorOptions defaults;
  const std::filesystem::path registry = cmk::runtime::registry_folder();
  CLI::App* env = app.add_subcommand(
      "env",
      "Print the shell exports that point clients at a running emulator in proxy mode "
      "(HTTPS_PROXY, NO_PROXY and the CA for Python, curl, Node and OpenSSL): eval "
      "\"$(cmk-emulator "
      "env)\". It looks for running emulators in " +
          registry.string() +
          " and takes the newest, preferring one whose CA is certs/ca.pem under the current "
          "folder; the flags pick one. With none, the flags and defaults say; a CA file that "
          "does not exist is warned about on stderr");
  std::string env_host;
  int env_http_port = 0;
  int env_https_port = 0;
  std::string env_certs_dir;
  auto* env_host_opt = env->add_option(
      "--host", env_host,
      "Address the emulator listens on (default: the running one's, else " + defaults.host + ")");
  auto* env_http_opt =
      env->add_option("--http-port", env_http_port,
                      "The running emulator with this HTTP port; with none, the proxy port "
                      "(default: the running one's, else " +
                          std::to_string(defaults.http_port) + ")")
          ->check(CLI::Range(1, 65535));
  auto* env_https_opt =
      env->add_option("--https-port", env_https_port, "The running emulator with this HTTPS port")
          ->check(CLI::Range(1, 65535));
  auto* env_certs_opt =
      env->add_option("--certs-dir", env_certs_dir,
                      "The running emulator with this certificates folder; with none, the CA in "
                      "it (default: the running one's, else " +
                          defaults.certs_dir.string() + " under the current folder)");

  CLI11_PARSE(app, argc, argv);

  if (env->parsed()) {
    cmk::runtime::EnvRequest request;
    if (env_host_opt->count() > 0) request.host = env_host;
    if (env_http_opt->count() > 0) request.http_port = env_http_port;
    if (env_https_opt->count() > 0) request.https_port = env_https_port;
    if (env_certs_opt->count() > 0) request.certs_dir = env_certs_dir;
    request.default_host = defaults.host;
    request.default_http_port = defaults.http_port;
    request.default_certs_dir = defaults.certs_dir;
    request.registry_folder = registry;
    return cmk::runtime::print_env(request, std::cout, std::cerr);
  }

  opts.log_level = *cmk::parse_log_level(log_level);
  opts.token_lifetime = std::chrono::seconds(token_lifetime);
  opts.key_refresh = std::chrono::seconds(key_refresh);
  for (const auto& f : fixtures) opts.fixtures.emplace_back(f);
  for (const auto& f : fault_files) opts.fault_files.emplace_back(f);
  if (seed_opt->count() > 0) opts.seed = seed;
  opts.state_dir = state_dir;
  opts.state_durability = *cmk::state::parse_durability(state_durability);

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RunFile ready_out(ready_file);
  ready_out.remove_leftover();
  RunFile pid_out(pid_file);
  if (auto s = pid_out.write(std::to_string(::getpid()) + "\n"); !s) {
    std::cerr << "cmk-emulator: --pid-file: " << s.message() << std::endl;
    return 1;
  }

  cmk::Emulator emulator(opts);
  if (auto s = emulator.start(); !s) {
    std::cerr << "cmk-emulator: " << s.message() << std::endl;
    return 1;
  }
  // ordered_json: the keys in the documented order, "event" first.
  nlohmann::ordered_json ready = {{"event", "ready"},
                                  {"https_port", emulator.https_port()},
                                  {"http_port", emulator.http_port()},
                                  {"ca_file", emulator.ca_file().string()}};
  if (auto s = ready_out.write(ready.dump() + "\n"); !s) {
    std::cerr << "cmk-emulator: --ready-file: " << s.message() << std::endl;
    emulator.stop();
    return 1;
  }
  // For `cmk-emulator env` in another shell. Without the entry env falls back to its flags, so
  // a failure is worth a warning, not a refusal to run.
  cmk::runtime::InstanceRegistry instances(registry);
  const int pid = static_cast<int>(::getpid());
  const cmk::Status registered = instances.add(cmk::runtime::this_process(
      opts.host, emulator.https_port(), emulator.http_port(), emulator.ca_file().string()));
  if (!registered)
    emulator.logger().warn("not registered for `cmk-emulator env`: " + registered.message());
  std::cout << ready.dump() << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  emulator.logger().info(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  // Nobody should find a stopping emulator: the registry entry and the ready file go first,
  // the pid file last (as main returns).
  if (registered) instances.remove(pid);
  ready_out.remove();
  emulator.stop();
  return 0;
}
