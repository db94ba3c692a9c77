#include "keyvault_data/vault_http.h"

#include "common/base64.h"
#include "common/json_input.h"
#include "common/utf8.h"
#include "http/error_bodies.h"
#include "http/host_routing.h"

namespace cmk::keyvault_data {

using nlohmann::json;

http::Response kv_json_response(int status, const json& body) {
  http::Response r;
  r.set_json(status, json_text(body));
  return r;
}

http::Response kv_bad_parameter(const std::string& message) {
  return http::keyvault_error(400, "BadParameter", message);
}

http::Response kv_no_route(const http::Request& req, const std::string& allowed) {
  if (!allowed.empty()) {
    http::Response r = http::keyvault_error(405, "MethodNotAllowed",
                                            "The method '" + req.method + "' is not allowed on '" +
                                                req.path + "'. Allowed: " + allowed + ".");
    r.set_header("Allow", allowed);
    return r;
  }
  return http::keyvault_error(
      404, "NotFound",
      "No Key Vault endpoint of cmk-emulator serves '" + req.method + " " + req.path + "'.");
}

bool parse_kv_body(const http::Request& req, json& out, http::Response& error) {
  if (req.body.empty()) {
    out = json::object();
    return true;
  }
  auto parsed = parse_json_input(req.body);  // nesting limit, numbers out of range
  if (!parsed || !parsed.value().is_object()) {
    error = kv_bad_parameter("The request body is not a valid JSON object" +
                             (parsed ? std::string(".") : ": " + parsed.error() + "."));
    return false;
  }
  out = std::move(parsed.value());
  return true;
}

std::optional<size_t> read_maxresults(const http::Request& req, http::Response& error) {
  auto m = req.query_param("maxresults");
  if (!m || m->empty()) return kMaxListResults;
  int n = 0;
  try {
    size_t used = 0;
    n = std::stoi(*m, &used);
    if (used != m->size()) n = 0;
  } catch (...) {
    n = 0;
  }
  if (n < 1 || n > static_cast<int>(kMaxListResults)) {
    error = kv_bad_parameter("The value of 'maxresults' must be between 1 and 25.");
    return std::nullopt;
  }
  return static_cast<size_t>(n);
}

std::string marker_of_request(const http::Request& req) {
  auto decoded = base64url_decode(req.query_param("$skiptoken").value_or(""));
  if (!decoded) return {};
  json j = json::parse(*decoded, nullptr, false);
  if (!j.is_object() || !j.contains("NextMarker") || !j["NextMarker"].is_string()) return {};
  return j["NextMarker"].get<std::string>();
}

json next_link(const std::string& base_url, const std::string& path, const std::string& api_version,
               const std::optional<std::string>& next_marker, size_t max) {
  if (!next_marker) return nullptr;
  const std::string token =
      base64url_encode(json({{"NextMarker", *next_marker}, {"TargetLocation", 0}}).dump());
  return base_url + path + "?api-version=" + http::percent_encode(api_version) +
         "&$skiptoken=" + token + "&maxresults=" + std::to_string(max);
}

}  // namespace cmk::keyvault_data
