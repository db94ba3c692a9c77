#include "emulator.h"

#include <sys/stat.h>

#include <cstdio>

#include "admin/admin_api.h"
#include "arm/api_versions.h"
#include "arm/arm_api.h"
#include "authorization/authorization_api.h"
#include "common/files.h"
#include "common/heap_trim.h"
#include "common/json_input.h"
#include "common/utf8.h"
#include "deployments/deployments_api.h"
#include "entra/bearer_auth.h"
#include "entra/login_api.h"
#include "faults/fault_filter.h"
#include "http/error_bodies.h"
#include "journal/journal_filter.h"
#include "keyvault_data/certificates_api.h"
#include "keyvault_data/keys_api.h"
#include "keyvault_data/secrets_api.h"
#include "kusto/clusters.h"
#include "msi/user_assigned_identities.h"
#include "portal/console_calls.h"
#include "portal/portal_api.h"
#include "runtime/proxy_environment.h"
#include "state/fixture.h"

namespace cmk {

using http::Request;
using http::Response;
using http::Surface;

// One definition for GET /_emulator/info, `cmk-emulator env` and the test helpers.
std::vector<std::pair<std::string, std::string>> proxy_environment(const std::string& host,
                                                                   int http_port,
                                                                   const std::string& ca_file) {
  return runtime::proxy_environment(host, http_port, ca_file);
}

Emulator::Emulator(EmulatorOptions options)
    : options_(std::move(options)),
      log_(options_.log_level, options_.log_sink),
      pipeline_(log_),
      listeners_(log_, [this](Request& req) { return handle(req); }) {
  pipeline_.add(std::make_shared<http::RequestIdFilter>());
  pipeline_.add(std::make_shared<http::AccessLogFilter>(log_));
  // A web page in the user's browser must not drive the admin API (portal/console_guard.h).
  pipeline_.add(std::make_shared<portal::CrossSiteGuardFilter>());
  pipeline_.add(
      std::make_shared<journal::JournalFilter>(journal_, clock_, options_.journal_bodies));
  // After the id, log and journal filters, so a 401 carries request ids, is logged and journaled.
  pipeline_.add(std::make_shared<entra::BearerAuthFilter>(
      [this]() -> const entra::TokenService* { return token_service_.get(); }));
  // After authentication, so rules can match the caller.
  pipeline_.add(std::make_shared<faults::FaultFilter>(faults_));
  operations_.set_fault_source([] { return faults::FaultFilter::take_pending_lro_fault(); });
  operations_.set_on_faulted(
      [this](const arm::Operation& op) { arm::mark_faulted(resources_, op); });
  // A failed operation reaches az only as "The operation failed": the log says why.
  operations_.set_on_ended([this](const arm::Operation& op) {
    if (op.status != arm::OperationStatus::Failed) return;
    const arm::OperationError error = op.error.value_or(arm::OperationError{"Failed", ""});
    log_.warn("operation " + op.kind + " " + op.id + " on " + utf8_prefix(op.resource_key, 512) +
              " failed" + (op.fault ? " (injected by a fault rule)" : "") + ": " +
              utf8_prefix(error.code, 128) + ": " + utf8_prefix(error.message, 1024) +
              " (GET /_emulator/operations?status=Failed lists failed operations)");
  });
  pipeline_.add(std::make_shared<arm::ApiVersionFilter>(
      options_.strict_api_versions, [this](const std::string& id) { return location_of(id); },
      [this](const std::string& version, const std::string& type) {
        note_unlisted_api_version(version, type);
      }));
  pipeline_.add(std::make_shared<arm::ArmHeadersFilter>());
  msi_settings_.set_host_identity(options_.msi_identity);
  msi_settings_.set_identity_header(options_.msi_identity_header);
  register_routes();
}

Emulator::~Emulator() {
  stop();
}

void Emulator::register_routes() {
  // A CMK cluster reaches Key Vault the way clients do: through this emulator's endpoints, with
  // a token its managed identity gets from the token service.
  kusto::KeyVaultLink link;
  link.send = [this](Request& r) { return dispatch(r); };
  link.vault_token = [this](const entra::ManagedIdentity& mi) -> Result<std::string> {
    if (!token_service_) return Status::error("the token service is not running");
    auto issued = token_service_->issue_managed_identity_token(mi, "https://vault.azure.net");
    if (!issued) return Status::error(issued.error().description);
    return issued.value().access_token;
  };
  link.find_vault = [this](const std::string& name) { return vaults_->find_vault_by_name(name); };
  cluster_keys_ = std::make_unique<kusto::ClusterKeys>(std::move(link), directory_, clock_,
                                                       options_.key_refresh);
  admin::AdminContext ctx;
  ctx.clock = &clock_;
  ctx.ca_pem = [this] { return tls_.ca_cert_pem; };
  ctx.info = [this] {
    nlohmann::json env = nlohmann::json::object();
    for (const auto& [k, v] : client_environment()) env[k] = v;
    nlohmann::json msi_env = nlohmann::json::object();
    for (const auto& [k, v] : msi_environment()) msi_env[k] = v;
    return nlohmann::json{{"host", options_.host},
                          {"https_port", https_port()},
                          {"http_port", http_port()},
                          {"ca_file", tls_.ca_file.string()},
                          {"environment", env},
                          {"msi_environment", msi_env},
                          {"unlistedApiVersions", unlisted_api_versions_.to_json()}};
  };
  ctx.front_door = &listeners_.front_door();
  ctx.started_at = &started_at_;
  ctx.token_service = [this] { return token_service_.get(); };
  ctx.directory = &directory_;
  ctx.msi = &msi_settings_;
  ctx.lro_policies = &lro_policies_;
  ctx.cluster_keys = cluster_keys_.get();
  ctx.journal = &journal_;
  ctx.faults = &faults_;
  ctx.operations = &operations_;
  admin::register_admin_routes(router(Surface::Admin), std::move(ctx));
  admin::register_state_routes(router(Surface::Admin),
                               {[this](bool secrets) { return export_state(secrets); },
                                [this](const nlohmann::json& doc) { return import_state(doc); },
                                [this] { return reset_state(); }});

  auto service = [this]() -> const entra::TokenService* { return token_service_.get(); };
  entra::register_login_routes(router(Surface::Login), {service, [this] { return https_port(); }});
  msi::register_msi_routes(router(Surface::Msi), {service, &msi_settings_});
  portal::register_portal_routes(router(Surface::Admin), {&console_guard_, &directory_, service});

  arm::ArmContext arm_ctx;
  arm_ctx.directory = &directory_;
  arm_ctx.subscriptions = &subscriptions_;
  arm_ctx.groups = &resource_groups_;
  arm_ctx.operations = &operations_;
  arm_ctx.lro_policies = &lro_policies_;
  arm_ctx.resources = &resources_;
  arm_ctx.on_cascade_delete = [this](const arm::TrackedResource& r) {
    if (http::iequals(r.type, msi::kUserAssignedIdentityType))
      directory_.remove_managed_identity(r.id.str());
    if (http::iequals(r.type, keyvault_mgmt::kVaultType)) vaults_->retain_deleted(r);
    if (kusto::is_cluster_type(r.type)) kusto::release_cluster(directory_, r, cluster_keys_.get());
  };
  arm_ctx_ = arm_ctx;
  arm::register_arm_routes(router(Surface::Arm), arm_ctx);
  msi::register_user_assigned_identity_routes(router(Surface::Arm), {arm_ctx, &resources_, &ids_});
  vaults_ = std::make_unique<keyvault_mgmt::VaultProvider>(arm_ctx, resources_, clock_);
  vaults_->register_routes(router(Surface::Arm));
  vaults_->set_on_purged([this](const std::string& name) {
    keys_.drop_vault(name);
    secrets_.drop_vault(name);
    certificates_.drop_vault(name);
  });
  keyvault_data::KeysApiContext keys_ctx;
  keys_ctx.store = &keys_;
  keys_ctx.pool = &key_pool_;
  keys_ctx.find_vault = [this](const std::string& name) {
    return vaults_->find_vault_snapshot(name);
  };
  keys_ctx.list_vaults = [this] { return vaults_->all_vaults(); };
  keys_ctx.localhost_vault = options_.localhost_vault;
  keys_ctx.token_service = service;
  keys_ctx.strict_api_versions = options_.strict_api_versions;
  keys_ctx.on_unlisted_api_version = [this](const std::string& version) {
    note_unlisted_api_version(version, "the Key Vault data plane");
  };
  keys_ctx.rbac = [this](const keyvault_data::Caller& caller, const std::string& scope,
                         const std::string& action) {
    return role_assignments_.allows(caller.object_id, scope, action);
  };
  keys_ctx.object_handlers.push_back(keyvault_data::secrets_handler({&secrets_, keys_ctx.rbac}));
  keys_ctx.object_handlers.push_back(
      keyvault_data::certificates_handler({&certificates_, keys_ctx.rbac}));
  keyvault_data::register_keys_routes(router(Surface::KeyVault), std::move(keys_ctx));
  kusto::register_kusto_routes(router(Surface::Arm), {arm_ctx, &ids_, cluster_keys_.get()});
  authorization::register_authorization_routes(router(Surface::Arm), arm_ctx, role_assignments_);
  // Template deployments apply each resource through this emulator's own routes (Emulator::handle).
  deployments::register_deployment_routes(
      router(Surface::Arm), {arm_ctx, &ids_, &clock_, [this](Request& r) { return dispatch(r); }});
}

Status Emulator::start() {
  if (running_) return Status::error("the emulator is already running");
  started_at_ = std::chrono::steady_clock::now();

  auto tls = http::ensure_certificates(options_.certs_dir);
  if (!tls) return tls.status();
  tls_ = std::move(tls.value());

  auto signing_key = entra::SigningKey::load_or_create(options_.certs_dir);
  if (!signing_key) return signing_key.status();
  entra::TokenServiceOptions token_options;
  token_options.strict_auth = options_.strict_auth;
  token_options.lifetime = options_.token_lifetime;
  token_options.clock_skew = options_.token_clock_skew;
  token_service_ = std::make_unique<entra::TokenService>(directory_, std::move(signing_key.value()),
                                                         token_clock_, token_options);

  start_fixtures_.clear();
  if (options_.fixtures.empty()) {
    auto f =
        state::parse_fixture(state::builtin_default_fixture_text(), "built-in default fixture");
    if (!f) return f.status();
    start_fixtures_.push_back(std::move(f.value()));
  }
  for (const auto& path : options_.fixtures) {
    auto f = state::load_fixture_file(path);
    if (!f) return f.status();
    start_fixtures_.push_back(std::move(f.value()));
  }
  if (!options_.state_dir.empty()) {
    // The folder holds private keys and secrets: one that others may read or enter is narrowed
    // to the owner, and the user told so.
    struct stat st;
    if (::stat(options_.state_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      if (::chmod(options_.state_dir.c_str(), st.st_mode & 07700) == 0)
        log_.warn("--state-dir " + options_.state_dir.string() + " had mode " + mode +
                  "; narrowed to owner-only, since it holds private keys and secrets");
    }
    auto dir = state::StateDirectory::open(options_.state_dir, options_.state_durability);
    if (!dir) return dir.status();
    state_dir_ = std::move(dir.value());
  }
  if (state_dir_ && state_dir_->has_state()) {
    // Resume: the saved state is the world; the fixtures were applied when it was new.
    auto saved = state_dir_->load();
    if (!saved) return saved.status();
    const std::string source = (state_dir_->path() / "state.db").string();
    auto f = state::read_fixture(saved.value(), source);
    if (!f) return f.status();
    if (auto s = load_fixtures({f.value()}, /*with_flags=*/false); !s) return s;
    log_.info("resumed the state saved in " + source);
    if (int from = state_dir_->upgraded_from())
      log_.info(source + " was upgraded from state format " + std::to_string(from) + " to " +
                std::to_string(state::kStateFormat));
    if (!options_.fixtures.empty() || !options_.fault_files.empty() ||
        !options_.lro_policies.empty())
      log_.warn(
          "--fixture, --faults and --lro-policy shape a new state directory (and POST "
          "/_emulator/reset); the state resumed from " +
          source +
          " already holds its fixtures, fault rules and policies, so they are not applied "
          "again now");
  } else if (auto s = load_fixtures(start_fixtures_, /*with_flags=*/true); !s) {
    return s;
  }
  if (state_dir_)
    if (auto s = state_dir_->commit(state_stores(), /*force=*/true); !s) return s;

  http::ListenerOptions lo;
  lo.host = options_.host;
  lo.https_port = options_.https_port;
  lo.http_port = options_.http_port;
  if (auto s = listeners_.start(lo, tls_); !s) {
    listeners_.stop();
    return s;
  }
  running_ = true;
  settler_stop_ = false;
  settler_ = std::thread([this] {
    // The settler also gives free heap pages back once a minute (common/heap_trim.h).
    HeapTrimmer heap_trimmer(std::chrono::minutes(1));
    std::unique_lock lock(settler_mu_);
    while (!settler_wake_.wait_for(lock, std::chrono::milliseconds(50),
                                   [this] { return settler_stop_; })) {
      lock.unlock();
      settle_operations();
      heap_trimmer.maybe_trim(std::chrono::steady_clock::now());
      lock.lock();
    }
  });
  log_.info("listening: https://" + options_.host + ":" + std::to_string(https_port()) +
            " (ARM, login, vaults, admin), http://" + options_.host + ":" +
            std::to_string(http_port()) + " (proxy, managed identity, admin)");
  return Status::ok();
}

Status Emulator::load_fixtures(const std::vector<state::Fixture>& fixtures, bool with_flags) {
  // Before the fixtures' LRO policies and fault rules are loaded: a fixture's resources are
  // stored as they are, and a CMK cluster's key calls meet no injected fault.
  state::FixtureTargets targets;
  targets.stores = state_stores();
  targets.kusto = {arm_ctx_, &ids_, cluster_keys_.get()};
  targets.ids = &ids_;
  if (auto s = state::apply_fixtures(fixtures, targets); !s) return s;
  register_default_host_identity();
  // Long-running operation policies: fixtures in order, then --lro-policy flags on top.
  for (const auto& f : fixtures)
    if (f.lro_policies) lro_policies_.apply(*f.lro_policies);
  if (with_flags)
    for (const auto& spec : options_.lro_policies) {
      auto set = arm::parse_lro_policy_flag(spec);
      if (!set) return set.status();
      lro_policies_.apply(set.value());
    }
  // Fault rules: the fixtures' sections in order, then --faults files.
  for (const auto& f : fixtures) {
    if (!f.faults) continue;
    auto rules = faults::parse_rules(*f.faults, clock_.now(), "$.faults", faults_.size() + 1);
    if (!rules) return Status::error(f.source + ": " + rules.status().message());
    faults_.append(std::move(rules.value()));
  }
  if (!with_flags) return Status::ok();
  for (const auto& path : options_.fault_files) {
    auto text = read_file(path, 16 << 20);
    if (!text) return Status::error(path.string() + ": " + text.status().message());
    if (!text.value()) return Status::error(path.string() + ": no such file");
    const auto doc = parse_json_input(*text.value());
    if (!doc) return Status::error(path.string() + ": " + doc.error());
    auto rules = faults::parse_rules(doc.value(), clock_.now(), "$", faults_.size() + 1);
    if (!rules) return Status::error(path.string() + ": " + rules.status().message());
    faults_.append(std::move(rules.value()));
  }
  return Status::ok();
}

state::StateStores Emulator::state_stores() {
  state::StateStores s;
  s.clock = &clock_;
  s.directory = &directory_;
  s.subscriptions = &subscriptions_;
  s.groups = &resource_groups_;
  s.resources = &resources_;
  s.vaults = vaults_.get();
  s.keys = &keys_;
  s.secrets = &secrets_;
  s.certificates = &certificates_;
  s.role_assignments = &role_assignments_;
  s.operations = &operations_;
  s.cluster_keys = cluster_keys_.get();
  s.lro_policies = &lro_policies_;
  s.faults = &faults_;
  return s;
}

nlohmann::json Emulator::export_state(bool include_secrets) {
  std::shared_lock lock(state_mu_);
  return state::export_state(state_stores(), include_secrets);
}

Status Emulator::replace_state(const std::vector<state::Fixture>& fixtures, bool with_flags,
                               const nlohmann::json& fallback) {
  state::clear_state(state_stores());
  Status s = load_fixtures(fixtures, with_flags);
  if (!s) {
    // Back to what it was: the export of a moment ago loads (it is the stores' own rendering).
    state::clear_state(state_stores());
    auto previous = state::read_fixture(fallback, "the previous state");
    if (previous) load_fixtures({previous.value()}, /*with_flags=*/false);
    return s;
  }
  if (state_dir_) return state_dir_->commit(state_stores(), /*force=*/true);
  return Status::ok();
}

Status Emulator::import_state(const nlohmann::json& fixture) {
  auto f = state::read_fixture(fixture, "PUT /_emulator/state");
  if (!f) return f.status();
  // A document with no tenant or no service principal would leave an emulator that refuses every
  // token: an empty body or `{}` is a mistake, never a request to empty the world.
  if (f.value().tenants.empty() || f.value().service_principals.empty())
    return Status::error(
        "PUT /_emulator/state: $: the document has no tenants or no servicePrincipals; an import "
        "replaces the whole state, so it must carry them (export with GET "
        "/_emulator/state?include=secrets). POST /_emulator/reset returns to the start state");
  std::unique_lock lock(state_mu_);
  const nlohmann::json fallback = state::export_state(state_stores(), true);
  return replace_state({f.value()}, /*with_flags=*/false, fallback);
}

Status Emulator::reset_state() {
  std::unique_lock lock(state_mu_);
  const nlohmann::json fallback = state::export_state(state_stores(), true);
  return replace_state(start_fixtures_, /*with_flags=*/true, fallback);
}

// The identity the MSI endpoints speak for by default: the system-assigned identity of a VM in
// the first subscription (docs/identity.md), so MSI clients work with no set-up.
void Emulator::register_default_host_identity() {
  std::string subscription = "00000000-0000-0000-0000-000000000000";
  std::string tenant;
  if (auto subs = subscriptions_.all(); !subs.empty()) {
    subscription = subs.front().id;
    tenant = subs.front().tenant_id;
  }
  if (tenant.empty())
    if (auto tenants = directory_.tenants(); !tenants.empty()) tenant = tenants.front().id;
  entra::ManagedIdentity host = msi::default_host_identity(tenant, subscription);
  msi_settings_.set_default_host_identity(host.resource_id);
  directory_.put_managed_identity(std::move(host));
  const std::string configured = msi_settings_.host_identity();
  if (!configured.empty() && !msi::find_identity(directory_, configured))
    log_.warn("--msi-identity '" + configured +
              "' names no managed identity yet; the MSI endpoints answer 'Identity not found' "
              "to requests without a selector until it exists");
}

void Emulator::stop() {
  if (!running_) return;
  running_ = false;
  {
    std::lock_guard lock(settler_mu_);
    settler_stop_ = true;
  }
  settler_wake_.notify_all();
  if (settler_.joinable()) settler_.join();
  listeners_.stop();
}

size_t Emulator::settle_operations() {
  std::shared_lock lock(state_mu_);
  const size_t completed = operations_.settle_due();
  if (completed && state_dir_)
    if (auto s = state_dir_->commit(state_stores()); !s) log_.error(s.message());
  return completed;
}

std::vector<std::pair<std::string, std::string>> Emulator::msi_environment() const {
  const std::string base = runtime::http_listener_url(options_.host, http_port());
  std::string header = msi_settings_.identity_header();
  if (header.empty()) header = "cmk-emulator";
  return {{"IDENTITY_ENDPOINT", base + "/msi/token"},
          {"IDENTITY_HEADER", header},
          {"MSI_ENDPOINT", base + "/msi/token"},
          {"AZURE_POD_IDENTITY_AUTHORITY_HOST", base}};
}

std::vector<std::pair<std::string, std::string>> Emulator::client_environment() const {
  return proxy_environment(options_.host, http_port(), tls_.ca_file.string());
}

std::string Emulator::location_of(const std::string& resource_id) const {
  auto id = arm::ResourceId::parse(resource_id);
  if (!id) return {};
  if (auto r = resources_.get(*id)) return r->location;
  if (auto g = resource_groups_.get(id->subscription, id->resource_group)) return g->location;
  return {};
}

void Emulator::note_unlisted_api_version(const std::string& version, const std::string& service) {
  const std::string value = utf8_prefix(version, 64);
  if (unlisted_api_versions_.note(value))
    log_.warn("api-version '" + value + "' is not one " + service +
              " lists; served anyway (lenient mode: --strict-api-versions refuses it). Further "
              "requests with it are counted in GET /_emulator/info, not logged");
}

Response Emulator::handle(Request& req) {
  // The browser console's ARM and Key Vault calls become the requests any client sends.
  portal::rewrite_console_call(req, console_guard_);
  // Admin requests run unlocked: a state import or reset takes the lock alone (state_admin.cpp).
  std::shared_lock lock(state_mu_, std::defer_lock);
  if (req.surface != Surface::Admin) lock.lock();
  Response res = dispatch(req);
  if (!state_dir_) return res;
  // Before the response leaves: an acknowledged write is a saved write.
  if (!lock.owns_lock()) lock.lock();
  if (auto s = state_dir_->commit(state_stores()); !s) {
    log_.error(s.message());
    return http::surface_error(req, 503, "StateNotSaved",
                               "The emulator could not save its state, so the outcome of this "
                               "request is not durable: " +
                                   s.message());
  }
  return res;
}

Response Emulator::dispatch(Request& req) {
  return pipeline_.handle(req, [this](Request& r) {
    Response res;
    std::string allowed;
    switch (router(r.surface).dispatch(r, res, &allowed)) {
      case http::Router::Outcome::Handled:
        return res;
      case http::Router::Outcome::MethodNotAllowed: {
        Response err = http::surface_error(r, 405, "MethodNotAllowed",
                                           "The method '" + r.method + "' is not allowed on '" +
                                               r.path + "'. Allowed: " + allowed + ".");
        err.set_header("Allow", allowed);
        return err;
      }
      case http::Router::Outcome::NotFound:
        break;
    }
    if (r.surface == Surface::Arm)
      if (auto e = arm::unknown_provider_error(r)) return *e;
    return http::surface_error(r, 404, "NotFound",
                               std::string("No ") + http::surface_name(r.surface) +
                                   " endpoint of cmk-emulator serves '" + r.method + " " + r.path +
                                   "'.");
  });
}

}  // namespace cmk
