#include "arm/api_versions.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "arm/resource_id.h"
#include "http/error_bodies.h"

namespace cmk::arm {

using http::iequals;

namespace {

const ProviderType* find_type(const Provider& p, const std::string& type) {
  for (const auto& t : p.types)
    if (iequals(t.resource_type, type)) return &t;
  return nullptr;
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += separator;
    out += s;
  }
  return out;
}

bool is_listed(const std::vector<std::string>& versions, const std::string& v) {
  return std::any_of(versions.begin(), versions.end(),
                     [&](const std::string& x) { return iequals(x, v); });
}

const std::vector<std::string>& core_api_versions() {
  static const std::vector<std::string> none;
  const Provider* core = find_provider("Microsoft.Resources");
  const ProviderType* groups = core ? find_type(*core, "resourceGroups") : nullptr;
  return groups ? groups->api_versions : none;
}

std::string location_named_by(const http::Request& req, const ProviderTarget& target,
                              const std::function<std::string(const std::string&)>& location_of) {
  if (!req.body.empty()) {
    auto body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object() && body.contains("location") && body["location"].is_string())
      return normalize_location(body["location"].get<std::string>());
  }
  // Subscription-level types under a region: .../providers/{ns}/locations/{region}/...
  for (size_t i = 1; i + 1 < req.segments.size(); ++i)
    if (iequals(req.segments[i - 1], target.name_space) && iequals(req.segments[i], "locations"))
      return normalize_location(req.segments[i + 1]);
  return location_of ? location_of(target.resource_id) : std::string();
}

std::string regions_list() {
  std::vector<std::string> names;
  for (const auto& r : regions()) names.push_back(r.display_name);
  return joined(names, ", ");
}

}  // namespace

std::optional<ProviderTarget> provider_target(const std::vector<std::string>& segments) {
  size_t i = 0;
  if (i < segments.size() && iequals(segments[i], "subscriptions")) {
    i += 2;
    if (i < segments.size() && iequals(segments[i], "resourceGroups")) i += 2;
  }
  if (i + 2 >= segments.size() || !iequals(segments[i], "providers")) return std::nullopt;
  ProviderTarget t;
  t.name_space = segments[i + 1];
  t.provider = find_provider(t.name_space);
  const size_t first_type = i + 2;
  // A lone "register" after the namespace is the core's provider registration.
  if (first_type + 1 == segments.size() && iequals(segments[first_type], "register"))
    return std::nullopt;

  std::string chain;
  size_t resolved_end = first_type;  // one past the last segment of the resolved type's path
  for (size_t k = first_type; k < segments.size(); k += 2) {
    chain += (chain.empty() ? "" : "/") + segments[k];
    if (t.provider) {
      if (const ProviderType* pt = find_type(*t.provider, chain)) {
        t.type = pt;
        resolved_end = std::min(k + 2, segments.size());
      }
    }
  }
  t.requested_type = chain;
  // The id of the resolved resource (or of its parent when the path is a collection).
  size_t id_end = resolved_end;
  if ((id_end - first_type) % 2 != 0) id_end -= 1;
  for (size_t k = 0; k < id_end; ++k) t.resource_id += "/" + segments[k];
  if (id_end <= first_type) t.resource_id.clear();
  // Remember how much of the path the resolved type covers: a type/name pair beyond it names
  // a type the provider does not have.
  if (t.type) {
    const size_t rest = segments.size() - resolved_end;
    if (rest >= 2) t.type = nullptr;  // e.g. clusters/c/principalAssignments/p
  }
  return t;
}

std::optional<http::Response> unknown_provider_error(const http::Request& req) {
  auto target = provider_target(req.segments);
  if (!target) return std::nullopt;
  if (!target->provider)
    return http::arm_error(400, "InvalidResourceNamespace",
                           "The resource namespace '" + target->name_space + "' is invalid.");
  if (!target->type) {
    const std::string version = req.query_param("api-version").value_or("");
    return http::arm_error(
        404, "InvalidResourceType",
        "The resource type '" + target->requested_type + "' could not be found in the namespace '" +
            target->provider->name_space + "' for api version '" + version + "'.");
  }
  return std::nullopt;
}

std::optional<http::Response> ApiVersionFilter::before(http::Request& req) {
  if (req.surface != http::Surface::Arm) return std::nullopt;
  if (req.segments.size() == 2 && iequals(req.segments[0], "metadata") &&
      iequals(req.segments[1], "endpoints"))
    return std::nullopt;  // cloud discovery has its own versions (2022-09-01, 2019-05-01, ...)
  const auto version = req.query_param("api-version");
  if (!version || version->empty()) return std::nullopt;
  const auto target = provider_target(req.segments);
  if (target && (!target->provider || !target->type)) return std::nullopt;  // the routes' 400/404
  const std::vector<std::string>& listed =
      target ? target->type->api_versions : core_api_versions();
  if (is_listed(listed, *version)) return std::nullopt;
  if (!strict_) {
    if (on_unlisted_)
      on_unlisted_(*version, target
                                 ? target->provider->name_space + "/" + target->type->resource_type
                                 : std::string("Microsoft.Resources"));
    return std::nullopt;
  }
  if (!target || !target->type->located)
    return http::arm_error(400, "InvalidApiVersionParameter",
                           "The api-version '" + *version +
                               "' is invalid. The supported versions are '" + joined(listed, ",") +
                               "'.");
  const std::string location = location_named_by(req, *target, location_of_);
  std::string message = "No registered resource provider found for ";
  if (!location.empty()) message += "location '" + location + "' and ";
  message += "API version '" + *version + "' for type '" + target->type->resource_type +
             "'. The supported api-versions are '" + joined(listed, ", ") +
             "'. The supported locations are '" + regions_list() + "'.";
  return http::arm_error(400, "NoRegisteredProviderFound", message);
}

}  // namespace cmk::arm
