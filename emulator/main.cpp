// cmk-emulator: the binary. Parses flags, starts an Emulator, prints one ready line on stdout
// and runs until SIGINT/SIGTERM. Logs go to stderr.
#include <signal.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "emulator.h"

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

}  // namespace

int main(int argc, char** argv) {
  cmk::EmulatorOptions opts;
  std::string log_level = "info";
  std::vector<std::string> fixtures;

  CLI::App app{
      "cmk-emulator: Azure Resource Manager (Kusto, Key Vault, managed identity), Key Vault "
      "keys and Entra ID on localhost"};
  app.set_version_flag("--version", CMK_VERSION);
  auto add_common = [&](CLI::App& a) {
    a.add_option("--host", opts.host, "Address both listeners bind (loopback by default)")
        ->capture_default_str();
    a.add_option("--https-port", opts.https_port, "HTTPS port: ARM, login, vaults (0 = any free)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    a.add_option("--http-port", opts.http_port,
                 "HTTP port: proxy (CONNECT), managed identity, admin (0 = any free)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    a.add_option("--certs-dir", opts.certs_dir, "Folder of the CA, server certificate and keys")
        ->capture_default_str();
  };
  add_common(app);
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

  CLI::App* env = app.add_subcommand(
      "env", "Print the shell exports that point clients at the emulator (proxy mode)");
  add_common(*env);

  CLI11_PARSE(app, argc, argv);

  if (env->parsed()) {
    const auto ca = std::filesystem::absolute(opts.certs_dir / "ca.pem").lexically_normal();
    for (const auto& [k, v] : cmk::proxy_environment(opts.host, opts.http_port, ca.string()))
      std::cout << "export " << k << "=" << shell_quote(v) << "\n";
    return 0;
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
  std::cout << ready.dump() << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  emulator.logger().info(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  emulator.stop();
  return 0;
}
