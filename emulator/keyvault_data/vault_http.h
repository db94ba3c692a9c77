// HTTP pieces the Key Vault data-plane adapters share (keys, secrets, and the other objects of
// a vault): JSON answers and bodies, list paging ($skiptoken, maxresults, nextLink), the 404 and
// 405 of unknown routes, and the hook through which the front door (keys_api: vault lookup,
// authentication, api-version) hands an authenticated request to another object kind.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/resource_store.h"
#include "http/router.h"
#include "keyvault_data/vault_access.h"

namespace cmk::keyvault_data {

// A request past steps 1-3 of keys_api.h: the vault exists, the caller is authenticated for it,
// the api-version is present (and accepted).
struct VaultRequest {
  const arm::TrackedResource& vault;
  const Caller& caller;
  const std::string& api_version;
};

// Serves the paths whose first segment (compared case-insensitively) is one of
// `first_segments` ("secrets", "deletedsecrets").
struct VaultObjectHandler {
  std::vector<std::string> first_segments;
  std::function<http::Response(http::Request&, const VaultRequest&)> serve;
};

http::Response kv_json_response(int status, const nlohmann::json& body);
http::Response kv_bad_parameter(const std::string& message);
// 405 with Allow, or (allowed empty) 404 NotFound naming the request.
http::Response kv_no_route(const http::Request& req, const std::string& allowed);

// The body as a JSON object ({} when empty), or false with the 400 to answer in `error`.
bool parse_kv_body(const http::Request& req, nlohmann::json& out, http::Response& error);

constexpr size_t kMaxListResults = 25;
// maxresults (1..25, default 25), or nullopt with the 400 to answer in `error`.
std::optional<size_t> read_maxresults(const http::Request& req, http::Response& error);
// The store's marker of the page asked for by $skiptoken ("" for the first page).
std::string marker_of_request(const http::Request& req);
// The nextLink of a page: "<base_url><path>?api-version=..&$skiptoken=..&maxresults=..", or
// null when there is no next page.
nlohmann::json next_link(const std::string& base_url, const std::string& path,
                         const std::string& api_version,
                         const std::optional<std::string>& next_marker, size_t max);

}  // namespace cmk::keyvault_data
