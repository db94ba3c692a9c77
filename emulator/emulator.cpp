#include "emulator.h"

#include "admin/admin_api.h"
#include "http/error_bodies.h"
#include "state/fixture.h"

namespace cmk {

using http::Request;
using http::Response;
using http::Surface;

std::vector<std::pair<std::string, std::string>> proxy_environment(const std::string& host,
                                                                   int http_port,
                                                                   const std::string& ca_file) {
  std::string proxy_host = host;
  if (proxy_host == "0.0.0.0" || proxy_host.empty()) proxy_host = "127.0.0.1";
  if (proxy_host == "::") proxy_host = "::1";
  if (proxy_host.find(':') != std::string::npos) proxy_host = "[" + proxy_host + "]";
  const std::string proxy = "http://" + proxy_host + ":" + std::to_string(http_port);
  return {{"HTTPS_PROXY", proxy},
          {"NO_PROXY", "localhost,127.0.0.1,::1"},
          {"REQUESTS_CA_BUNDLE", ca_file},
          {"NODE_EXTRA_CA_CERTS", ca_file},
          {"SSL_CERT_FILE", ca_file}};
}

Emulator::Emulator(EmulatorOptions options)
    : options_(std::move(options)),
      log_(options_.log_level, options_.log_sink),
      pipeline_(log_),
      listeners_(log_, [this](Request& req) { return handle(req); }) {
  pipeline_.add(std::make_shared<http::RequestIdFilter>());
  pipeline_.add(std::make_shared<http::AccessLogFilter>(log_));
  register_routes();
}

Emulator::~Emulator() { stop(); }

void Emulator::register_routes() {
  admin::AdminContext ctx;
  ctx.clock = &clock_;
  ctx.ca_pem = [this] { return tls_.ca_cert_pem; };
  ctx.info = [this] {
    nlohmann::json env = nlohmann::json::object();
    for (const auto& [k, v] : client_environment()) env[k] = v;
    return nlohmann::json{{"host", options_.host},
                          {"https_port", https_port()},
                          {"http_port", http_port()},
                          {"ca_file", tls_.ca_file.string()},
                          {"environment", env}};
  };
  ctx.front_door = &listeners_.front_door();
  ctx.started_at = &started_at_;
  admin::register_admin_routes(router(Surface::Admin), std::move(ctx));
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
  token_service_ = std::make_unique<entra::TokenService>(directory_, std::move(signing_key.value()),
                                                         token_clock_, token_options);

  std::vector<state::Fixture> fixtures;
  if (options_.fixtures.empty()) {
    auto f = state::parse_fixture(state::builtin_default_fixture_text(), "built-in default fixture");
    if (!f) return f.status();
    fixtures.push_back(std::move(f.value()));
  }
  for (const auto& path : options_.fixtures) {
    auto f = state::load_fixture_file(path);
    if (!f) return f.status();
    fixtures.push_back(std::move(f.value()));
  }
  if (auto s = state::apply_fixtures(fixtures, directory_, subscriptions_); !s) return s;

  http::ListenerOptions lo;
  lo.host = options_.host;
  lo.https_port = options_.https_port;
  lo.http_port = options_.http_port;
  if (auto s = listeners_.start(lo, tls_); !s) {
    listeners_.stop();
    return s;
  }
  running_ = true;
  log_.info("listening: https://" + options_.host + ":" + std::to_string(https_port()) +
            " (ARM, login, vaults, admin), http://" + options_.host + ":" +
            std::to_string(http_port()) + " (proxy, managed identity, admin)");
  return Status::ok();
}

void Emulator::stop() {
  if (!running_) return;
  running_ = false;
  listeners_.stop();
}

std::vector<std::pair<std::string, std::string>> Emulator::client_environment() const {
  return proxy_environment(options_.host, http_port(), tls_.ca_file.string());
}

Response Emulator::handle(Request& req) {
  return pipeline_.handle(req, [this](Request& r) {
    Response res;
    std::string allowed;
    switch (router(r.surface).dispatch(r, res, &allowed)) {
      case http::Router::Outcome::Handled:
        return res;
      case http::Router::Outcome::MethodNotAllowed: {
        Response err = http::surface_error(
            r, 405, "MethodNotAllowed",
            "The method '" + r.method + "' is not allowed on '" + r.path + "'. Allowed: " +
                allowed + ".");
        err.set_header("Allow", allowed);
        return err;
      }
      case http::Router::Outcome::NotFound:
        break;
    }
    return http::surface_error(r, 404, "NotFound",
                               std::string("No ") + http::surface_name(r.surface) +
                                   " endpoint of cmk-emulator serves '" + r.method + " " + r.path +
                                   "'.");
  });
}

}  // namespace cmk
