// What the emulated ARM reports about itself: regions and resource providers with their
// resource types and api-versions (newest stable first: `az resource` takes the first).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmk::arm {

struct Region {
  std::string name;               // "westeurope"
  std::string display_name;       // "West Europe"
  std::string geography_group;    // "Europe"
  std::string physical_location;  // "Netherlands"
  std::string latitude, longitude;
  std::string paired_region;  // "northeurope"
};
const std::vector<Region>& regions();
// "West Europe" or "westeurope" -> the region; nullptr when unknown.
const Region* find_region(const std::string& name_or_display);

struct ProviderType {
  std::string resource_type;  // "clusters", "locations/operationResults"
  std::vector<std::string> api_versions;
  bool located = true;  // lists regions in `locations`
};
struct Provider {
  std::string name_space;  // "Microsoft.Kusto"
  std::vector<ProviderType> types;
};
const std::vector<Provider>& providers();
const Provider* find_provider(const std::string& name_space);  // case-insensitive

// The provider document ARM returns for GET .../providers/{ns} (subscription or tenant level).
nlohmann::json provider_json(const Provider& p, const std::string& subscription);

}  // namespace cmk::arm
