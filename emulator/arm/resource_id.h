// ARM resource ids, parsed and compared the way ARM does: case-insensitively
// (`resourcegroups` = `resourceGroups`, `Clusters` = `clusters`), keeping the caller's spelling
// of names for display.
//
//   /subscriptions/{sub}
//   /subscriptions/{sub}/resourceGroups/{rg}
//   /subscriptions/{sub}[/resourceGroups/{rg}]/providers/{Namespace}/{type}/{name}[/{type}/{name}]...
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cmk::arm {

struct ResourceId {
  std::string subscription;
  std::string resource_group;  // empty for subscription-level resources
  std::string provider;        // "Microsoft.Kusto"; empty for a subscription or resource group
  std::vector<std::pair<std::string, std::string>> types_and_names;  // {"clusters","kc1"}, ...

  // Parses an id or a request path; nullopt when it is not a well-formed ARM id.
  static std::optional<ResourceId> parse(std::string_view id);

  // "Microsoft.Kusto/clusters/databases" (resource groups: "Microsoft.Resources/resourceGroups").
  std::string type() const;
  // The last name ("kc1"), the resource group's or the subscription's for those.
  std::string name() const;
  // The id as written, with the given spelling of types ("/subscriptions/s/resourceGroups/...").
  std::string str() const;
  // Lower-case str(): the key for maps and the basis of equality.
  std::string key() const;
  // The parent resource (drops the last type/name pair), nullopt at a top-level resource.
  std::optional<ResourceId> parent() const;

  bool operator==(const ResourceId& other) const { return key() == other.key(); }
};

// Lower-case, no spaces: "West Europe" -> "westeurope" (ARM compares locations this way).
std::string normalize_location(std::string_view location);

}  // namespace cmk::arm
