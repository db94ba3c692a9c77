#include "arm/catalog.h"

#include "arm/resource_id.h"
#include "http/message.h"

namespace cmk::arm {

const std::vector<Region>& regions() {
  // Each region's metadata as ARM's locations list answers it (geography group, place,
  // coordinates as strings, and its pair).
  static const std::vector<Region> list = {
      {"eastus", "East US", "US", "Virginia", "37.3719", "-79.8164", "westus"},
      {"eastus2", "East US 2", "US", "Virginia", "36.6681", "-78.3889", "centralus"},
      {"westus", "West US", "US", "California", "37.783", "-122.417", "eastus"},
      {"westus2", "West US 2", "US", "Washington", "47.233", "-119.852", "westcentralus"},
      {"westus3", "West US 3", "US", "Phoenix", "33.448376", "-112.074036", "eastus"},
      {"centralus", "Central US", "US", "Iowa", "41.5908", "-93.6208", "eastus2"},
      {"northeurope", "North Europe", "Europe", "Ireland", "53.3478", "-6.2597", "westeurope"},
      {"westeurope", "West Europe", "Europe", "Netherlands", "52.3667", "4.9", "northeurope"},
      {"uksouth", "UK South", "Europe", "London", "50.941", "-0.799", "ukwest"},
      {"francecentral", "France Central", "Europe", "Paris", "46.3772", "2.3730", "francesouth"},
      {"germanywestcentral", "Germany West Central", "Europe", "Frankfurt", "50.110924", "8.682127",
       "germanynorth"},
      {"swedencentral", "Sweden Central", "Europe", "G\u00e4vle", "60.67488", "17.14127",
       "swedensouth"},
      {"japaneast", "Japan East", "Asia Pacific", "Tokyo, Saitama", "35.68", "139.77", "japanwest"},
      {"southeastasia", "Southeast Asia", "Asia Pacific", "Singapore", "1.283", "103.833",
       "eastasia"},
      {"australiaeast", "Australia East", "Asia Pacific", "New South Wales", "-33.86", "151.2094",
       "australiasoutheast"},
      {"canadacentral", "Canada Central", "Canada", "Toronto", "43.653", "-79.383", "canadaeast"},
  };
  return list;
}

const Region* find_region(const std::string& name_or_display) {
  const std::string wanted = normalize_location(name_or_display);
  for (const auto& r : regions())
    if (r.name == wanted) return &r;
  return nullptr;
}

const std::vector<Provider>& providers() {
  // Stable versions newest first, then previews.
  static const std::vector<std::string> kusto = {"2025-02-14",
                                                 "2024-04-13",
                                                 "2023-08-15",
                                                 "2023-05-02",
                                                 "2022-12-29",
                                                 "2022-11-11",
                                                 "2022-07-07",
                                                 "2022-02-01",
                                                 "2021-08-27",
                                                 "2021-01-01",
                                                 "2020-09-18",
                                                 "2020-06-14",
                                                 "2020-02-15",
                                                 "2019-11-09",
                                                 "2019-09-07",
                                                 "2019-05-15",
                                                 "2019-01-21",
                                                 "2018-09-07-preview",
                                                 "2017-09-07-privatepreview"};
  static const std::vector<std::string> keyvault = {
      "2026-04-01",         "2026-02-01",         "2025-05-01",         "2024-11-01",
      "2023-07-01",         "2023-02-01",         "2022-07-01",         "2021-10-01",
      "2019-09-01",         "2018-02-14",         "2016-10-01",         "2015-06-01",
      "2026-04-01-preview", "2026-03-01-preview", "2024-12-01-preview", "2024-04-01-preview",
      "2022-02-01-preview", "2021-11-01-preview", "2021-06-01-preview", "2021-04-01-preview",
      "2020-04-01-preview", "2018-02-14-preview"};
  static const std::vector<std::string> msi = {
      "2026-05-31",         "2026-04-30",         "2024-11-30",         "2023-01-31",
      "2018-11-30",         "2025-05-31-preview", "2025-01-31-preview", "2023-07-31-preview",
      "2022-01-31-preview", "2021-09-30-preview", "2015-08-31-preview"};
  static const std::vector<std::string> resources = {
      "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-12-01", "2022-09-01",
      "2022-01-01", "2021-04-01", "2021-01-01", "2020-10-01", "2020-06-01", "2020-01-01",
      "2019-11-01", "2019-10-01", "2019-08-01", "2019-07-01", "2019-06-01", "2019-05-10",
      "2019-05-01", "2019-03-01", "2018-06-01", "2018-05-01", "2018-02-01", "2017-08-01",
      "2017-05-10", "2016-09-01", "2016-07-01", "2016-06-01", "2016-02-01", "2015-11-01",
      "2015-01-01"};
  static const std::vector<Provider> list = {
      {"Microsoft.Kusto",
       {{"clusters", kusto},
        {"clusters/databases", kusto},
        {"clusters/attachedDatabaseConfigurations", kusto},
        {"clusters/principalAssignments", kusto},
        {"clusters/databases/principalAssignments", kusto},
        {"locations/operationResults", kusto},
        {"locations/checkNameAvailability", kusto},
        {"locations/skus", kusto},
        {"skus", kusto, false},
        {"operations", kusto, false}}},
      {"Microsoft.KeyVault",
       {{"vaults", keyvault},
        {"vaults/accessPolicies", keyvault},
        {"deletedVaults", keyvault},
        {"deletedManagedHSMs", keyvault},
        {"locations/deletedVaults", keyvault},
        {"locations/operationResults", keyvault},
        {"checkNameAvailability", keyvault, false},
        {"operations", keyvault, false}}},
      {"Microsoft.ManagedIdentity",
       {{"userAssignedIdentities", msi}, {"identities", msi}, {"operations", msi, false}}},
      {"Microsoft.Resources",
       {{"resourceGroups", resources},
        {"deployments", resources},
        {"deployments/operations", resources},
        {"subscriptions", resources, false},
        {"tenants", resources, false},
        {"operations", resources, false}}},
  };
  return list;
}

const Provider* find_provider(const std::string& name_space) {
  for (const auto& p : providers())
    if (http::iequals(p.name_space, name_space)) return &p;
  return nullptr;
}

nlohmann::json provider_json(const Provider& p, const std::string& subscription) {
  nlohmann::json locations = nlohmann::json::array();
  for (const auto& r : regions()) locations.push_back(r.display_name);
  nlohmann::json types = nlohmann::json::array();
  for (const auto& t : p.types) {
    nlohmann::json j = {{"resourceType", t.resource_type},
                        {"locations", t.located ? locations : nlohmann::json::array()},
                        {"apiVersions", t.api_versions}};
    if (t.resource_type == "clusters" || t.resource_type == "vaults")
      j["capabilities"] = "SystemAssignedResourceIdentity, SupportsTags, SupportsLocation";
    types.push_back(std::move(j));
  }
  nlohmann::json out = {{"namespace", p.name_space},
                        {"registrationState", "Registered"},
                        {"registrationPolicy", "RegistrationRequired"},
                        {"resourceTypes", types}};
  out["id"] = subscription.empty()
                  ? "/providers/" + p.name_space
                  : "/subscriptions/" + subscription + "/providers/" + p.name_space;
  return out;
}

}  // namespace cmk::arm
