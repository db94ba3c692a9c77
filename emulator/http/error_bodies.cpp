#include "http/error_bodies.h"

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "http/host_routing.h"
#include "state/clock.h"

namespace cmk::http {

using nlohmann::json;

namespace {
Response json_response(int status, const json& body) {
  Response r;
  r.set_json(status, json_text(body));
  return r;
}
}  // namespace

Response arm_error(int status, std::string_view code, std::string_view message,
                   std::string_view target) {
  json err = {{"code", code}, {"message", message}};
  if (!target.empty()) err["target"] = target;
  return json_response(status, {{"error", err}});
}

Response arm_unauthorized(std::string_view code, std::string_view message,
                          std::string_view description) {
  std::string safe;
  for (char c : description) safe += c == '"' ? '\'' : (c >= 0x20 && c < 0x7f ? c : ' ');
  Response r = arm_error(401, code, message);
  r.set_header("WWW-Authenticate",
               "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", "
               "error_description=\"" + safe + "\"");
  return r;
}

std::string keyvault_challenge_resource(const Request& req) {
  // A loopback host (https://localhost:<port>) has no parent domain to name, and no resource
  // can pass the SDKs' check there (they run with it disabled): Key Vault's own resource, which
  // every data-plane token may carry.
  if (vault_name_of(req.host).empty()) return "https://vault.azure.net";
  const size_t dot = req.host.find('.');
  std::string resource = "https://" + req.host.substr(dot + 1);
  if (req.port != 443 && req.port != 0) resource += ":" + std::to_string(req.port);
  return resource;
}

Response keyvault_challenge(const Request& req, std::string_view tenant_id,
                            std::string_view message) {
  std::string resource = keyvault_challenge_resource(req);
  Response r = keyvault_error(401, "Unauthorized", message);
  r.set_header("WWW-Authenticate", "Bearer authorization=\"https://login.microsoftonline.com/" +
                                       std::string(tenant_id) + "\", resource=\"" + resource +
                                       "\"");
  return r;
}

Response keyvault_error(int status, std::string_view code, std::string_view message,
                        std::string_view inner_code) {
  json err = {{"code", code}, {"message", message}};
  if (!inner_code.empty()) err["innererror"] = {{"code", inner_code}};
  return json_response(status, {{"error", err}});
}

Response entra_error(int status, std::string_view error, int aadsts_code,
                     std::string_view description, std::string_view correlation_id) {
  const std::string now = to_iso8601(std::chrono::system_clock::now());
  // Entra's timestamp field reads "2024-01-02 03:04:05Z".
  std::string stamp = now.substr(0, 10) + " " + now.substr(11, 8) + "Z";
  std::string trace = std::string(correlation_id);
  json body = {{"error", error},
               {"error_description", "AADSTS" + std::to_string(aadsts_code) + ": " +
                                         std::string(description) + "\r\nTrace ID: " + trace +
                                         "\r\nCorrelation ID: " + std::string(correlation_id) +
                                         "\r\nTimestamp: " + stamp},
               {"error_codes", json::array({aadsts_code})},
               {"timestamp", stamp},
               {"trace_id", trace},
               {"correlation_id", correlation_id},
               {"error_uri", "https://login.microsoftonline.com/error?code=" +
                                 std::to_string(aadsts_code)}};
  return json_response(status, body);
}

Response msi_error(int status, std::string_view error, std::string_view description) {
  return json_response(status, {{"error", error}, {"error_description", description}});
}

Response admin_error(int status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

Response surface_error(const Request& req, int status, std::string_view code,
                       std::string_view message) {
  switch (req.surface) {
    case Surface::Arm:
      return arm_error(status, code, message);
    case Surface::KeyVault:
      return keyvault_error(status, code, message);
    case Surface::Login: {
      // AADSTS900561: endpoint only accepts POST; AADSTS90002 tenant/endpoint not found;
      // AADSTS90000 generic bad request; AADSTS50000 server error.
      const bool server = status >= 500;
      const int aadsts = server ? 50000 : (status == 405 ? 900561 : (status == 404 ? 90002 : 90000));
      return entra_error(status, server ? "temporarily_unavailable" : "invalid_request", aadsts,
                         message, req.correlation_id);
    }
    case Surface::Msi:
      return msi_error(status, status >= 500 ? "server_error" : "invalid_request", message);
    case Surface::Admin:
      return admin_error(status, code, message);
  }
  return admin_error(status, code, message);
}

}  // namespace cmk::http
