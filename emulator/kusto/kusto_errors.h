// The Microsoft.Kusto provider's error answers and the small readers its three route files
// (clusters, databases, principal assignments) share: one builder per error, in ARM's shape.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/error_bodies.h"
#include "http/message.h"

namespace cmk::kusto {

inline http::Response bad(std::string_view code, const std::string& message) {
  return http::arm_error(400, code, message);
}

// A nested resource (database, assignment, attached configuration) whose parent is missing.
inline http::Response parent_not_found(const std::string& parent) {
  return http::arm_error(
      404, "ParentResourceNotFound",
      "Can not perform requested operation on nested resource. Parent resource '" + parent +
          "' not found.");
}

inline http::Response cluster_not_found(const std::string& rg, const std::string& name) {
  return http::arm_error(404, "ResourceNotFound",
                         "The Resource 'Microsoft.Kusto/clusters/" + name +
                             "' under resource group '" + rg +
                             "' was not found. For more details please go to "
                             "https://aka.ms/ARMResourceNotFoundFix");
}

inline http::Response no_content() {
  http::Response r;
  r.status = 204;
  return r;
}

// A provisioningState no operation is still working on.
inline bool is_terminal_state(const std::string& s) {
  return s == "Succeeded" || s == "Failed" || s == "Canceled";
}

// The string member `name` of `o`, or "" when it is absent or not a string.
inline std::string string_member(const nlohmann::json& o, const char* name) {
  auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace cmk::kusto
