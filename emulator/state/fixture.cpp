#include "state/fixture.h"

#include "faults/fault_rules.h"

#include <fstream>
#include <set>
#include <sstream>

#include "arm/catalog.h"
#include "common/json_input.h"
#include "common/openssl_util.h"
#include "http/message.h"
#include "keyvault_data/certificate_json.h"
#include "kusto/cluster_keys.h"
#include "msi/user_assigned_identities.h"
#include "state/json_reader.h"

namespace cmk::state {

using nlohmann::json;

Result<Fixture> parse_fixture(const std::string& text, const std::string& source) {
  auto doc = parse_json_input(text);
  if (!doc) return JsonReader(source).fail("$", doc.error());
  return read_fixture(doc.value(), source);
}

Result<Fixture> read_fixture(const json& doc, const std::string& source) {
  JsonReader r(source);
  if (!doc.is_object()) return r.fail("$", "a fixture must be a JSON object");
  if (auto s =
          r.check_keys(doc, "$",
                       {"$schema", "version", "description", "tenants", "subscriptions",
                        "servicePrincipals", "resourceGroups", "userAssignedIdentities", "vaults",
                        "roleAssignments", "clusters", "lroPolicies", "faults", "state"});
      !s)
    return s;
  if (auto v = doc.find("version"); v != doc.end() && (!v->is_number_integer() || *v != 1))
    return r.fail("$.version", "only version 1 is understood");

  Fixture f;
  f.source = source;
  if (auto lro = doc.find("lroPolicies"); lro != doc.end()) {
    auto set = arm::LroPolicySet::from_json(*lro);
    if (!set) {
      // from_json names paths from its own root ("$.rules[0]..."): re-root them here.
      std::string message = set.status().message();
      if (message.rfind("$", 0) == 0) message = "$.lroPolicies" + message.substr(1);
      return Status::error(source + ": " + message);
    }
    f.lro_policies = set.value();
  }
  if (auto faults = doc.find("faults"); faults != doc.end()) {
    // Checked now, so a bad rule stops the start naming the file; loaded by the emulator.
    auto rules = faults::parse_rules(*faults, std::chrono::system_clock::now(), "$.faults");
    if (!rules) return Status::error(source + ": " + rules.status().message());
    f.faults = *faults;
  }
  auto each = [&](const char* section, auto&& fn) -> Status {
    auto it = doc.find(section);
    if (it == doc.end()) return Status::ok();
    const std::string base = std::string("$.") + section;
    if (!it->is_array()) return r.fail(base, "must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string path = base + "[" + std::to_string(i) + "]";
      if (!(*it)[i].is_object()) return r.fail(path, "must be an object");
      if (auto s = fn((*it)[i], path); !s) return s;
    }
    return Status::ok();
  };

  Status s = each("tenants", [&](const json& o, const std::string& p) -> Status {
    entra::Tenant t;
    if (auto c = r.check_keys(o, p, {"id", "displayName", "defaultDomain"}); !c) return c;
    if (auto c = r.guid(o, p, "id", t.id, true); !c) return c;
    if (auto c = r.string(o, p, "displayName", t.display_name, false); !c) return c;
    if (auto c = r.string(o, p, "defaultDomain", t.default_domain, false); !c) return c;
    if (t.display_name.empty()) t.display_name = "Emulated tenant";
    if (t.default_domain.empty()) t.default_domain = "emulator.onmicrosoft.com";
    f.tenants.push_back(std::move(t));
    return Status::ok();
  });
  if (!s) return s;

  s = each("subscriptions", [&](const json& o, const std::string& p) -> Status {
    arm::Subscription sub;
    if (auto c = r.check_keys(o, p, {"id", "tenantId", "displayName", "state"}); !c) return c;
    if (auto c = r.guid(o, p, "id", sub.id, true); !c) return c;
    if (auto c = r.guid(o, p, "tenantId", sub.tenant_id, true); !c) return c;
    if (auto c = r.string(o, p, "displayName", sub.display_name, false); !c) return c;
    if (auto c = r.string(o, p, "state", sub.state, false); !c) return c;
    static const std::set<std::string> states = {"Enabled", "Disabled", "Warned", "PastDue",
                                                 "Deleted"};
    if (!states.count(sub.state))
      return r.fail(p + ".state", "must be one of Enabled, Disabled, Warned, PastDue, Deleted");
    if (sub.display_name.empty()) sub.display_name = "Emulated subscription";
    f.subscriptions.push_back(std::move(sub));
    return Status::ok();
  });
  if (!s) return s;

  s = each("servicePrincipals", [&](const json& o, const std::string& p) -> Status {
    entra::ServicePrincipal sp;
    if (auto c = r.check_keys(o, p,
                              {"appId", "objectId", "tenantId", "displayName", "secrets",
                               "certificates", "registeredOnTheFly"});
        !c)
      return c;
    if (auto c = r.guid(o, p, "appId", sp.app_id, true); !c) return c;
    if (auto c = r.guid(o, p, "objectId", sp.object_id, true); !c) return c;
    if (auto c = r.guid(o, p, "tenantId", sp.tenant_id, false); !c) return c;
    if (auto c = r.string(o, p, "displayName", sp.display_name, false); !c) return c;
    if (auto c = r.string_list(o, p, "secrets", sp.secrets); !c) return c;
    if (auto c = r.string_list(o, p, "certificates", sp.certificate_pems); !c) return c;
    for (size_t i = 0; i < sp.secrets.size(); ++i)
      if (sp.secrets[i].empty())
        return r.fail(p + ".secrets[" + std::to_string(i) + "]", "must not be empty");
    for (size_t i = 0; i < sp.certificate_pems.size(); ++i)
      if (sp.certificate_pems[i].find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        return r.fail(p + ".certificates[" + std::to_string(i) + "]", "must be a PEM certificate");
    if (auto it = o.find("registeredOnTheFly"); it != o.end()) {
      if (!it->is_boolean()) return r.fail(p + ".registeredOnTheFly", "must be a boolean");
      sp.registered_on_the_fly = it->get<bool>();
    }
    if (sp.display_name.empty()) sp.display_name = "app-" + sp.app_id.substr(0, 8);
    f.service_principals.push_back(std::move(sp));
    return Status::ok();
  });
  if (!s) return s;

  // Resource sections: the shape of each entry now (so a typo stops the start before anything
  // is applied); members and references when applied.
  struct Section {
    const char* name;
    json Fixture::*member;
    std::set<std::string> keys;
  };
  const std::set<std::string> arm_read_only = {"name", "type", "etag", "systemData"};
  const Section sections[] = {
      {"resourceGroups",
       &Fixture::resource_groups,
       {"id", "subscriptionId", "name", "type", "location", "tags", "managedBy", "properties"}},
      {"userAssignedIdentities",
       &Fixture::user_assigned_identities,
       {"id", "location", "tags", "properties"}},
      {"vaults",
       &Fixture::vaults,
       {"id", "location", "tags", "properties", "keys", "secrets", "certificates"}},
      {"roleAssignments", &Fixture::role_assignments, {"id", "name", "type", "properties"}},
      {"clusters",
       &Fixture::clusters,
       {"id", "location", "tags", "sku", "zones", "identity", "properties"}},
  };
  for (const auto& section : sections) {
    std::set<std::string> allowed = section.keys;
    allowed.insert(arm_read_only.begin(), arm_read_only.end());
    s = each(section.name, [&](const json& o, const std::string& p) -> Status {
      return r.check_keys(o, p, allowed);
    });
    if (!s) return s;
    if (auto it = doc.find(section.name); it != doc.end()) f.*section.member = *it;
  }
  if (auto st = doc.find("state"); st != doc.end()) {
    if (!st->is_object()) return r.fail("$.state", "must be an object");
    f.state = *st;  // checked as a whole when applied (state/snapshot.h), before any change
  }
  return f;
}

bool Fixture::has_resources() const {
  return !resource_groups.is_null() || !user_assigned_identities.is_null() || !vaults.is_null() ||
         !role_assignments.is_null() || !clusters.is_null() || !state.is_null();
}

Result<Fixture> load_fixture_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path.string() + ": cannot be read (missing or not permitted)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_fixture(ss.str(), path.string());
}

namespace {

// Who fixtures act as in systemData (createdBy / lastModifiedBy).
constexpr const char* kFixtureCaller = "cmk-emulator-fixture";

std::string at(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Applies one fixture's resource sections. Every failure names the file, the JSON path and the
// problem; the providers' own messages keep their ARM code ("BadRequest: ...").
class Applier {
 public:
  Applier(const Fixture& f, FixtureTargets& t) : f_(f), t_(t) {}

  Status run() {
    if (auto s = sections("resourceGroups", f_.resource_groups, &Applier::resource_group); !s)
      return s;
    if (auto s =
            sections("userAssignedIdentities", f_.user_assigned_identities, &Applier::identity);
        !s)
      return s;
    if (auto s = sections("vaults", f_.vaults, &Applier::vault); !s) return s;
    if (auto s = sections("roleAssignments", f_.role_assignments, &Applier::role_assignment); !s)
      return s;
    return sections("clusters", f_.clusters, &Applier::cluster);
  }

 private:
  using Handler = Status (Applier::*)(const json&, const std::string&);

  Status fail(const std::string& path, const std::string& problem) const {
    return Status::error(f_.source + ": " + path + ": " + problem);
  }

  Status sections(const char* name, const json& items, Handler h) {
    if (items.is_null()) return Status::ok();
    if (!t_.stores.groups || !t_.stores.resources || !t_.stores.vaults || !t_.stores.keys ||
        !t_.stores.role_assignments || !t_.stores.clock || !t_.ids)
      return fail(std::string("$.") + name, "resource sections need a full emulator to apply to");
    for (size_t i = 0; i < items.size(); ++i)
      if (auto s = (this->*h)(items[i], at(std::string("$.") + name, i)); !s) return s;
    return Status::ok();
  }

  // --- members ---

  Status string_member(const json& o, const std::string& path, const char* key, std::string& out,
                       bool required) const {
    auto it = o.find(key);
    if (it == o.end() || it->is_null())
      return required ? fail(path + "." + key, "is required") : Status::ok();
    if (!it->is_string()) return fail(path + "." + key, "must be a string");
    out = it->get<std::string>();
    if (required && out.empty()) return fail(path + "." + key, "must not be empty");
    return Status::ok();
  }

  Status guid_member(const json& o, const std::string& path, const char* key,
                     std::string& out) const {
    if (auto s = string_member(o, path, key, out, false); !s) return s;
    if (out.empty()) return Status::ok();
    if (!entra::is_guid(out)) return fail(path + "." + key, "must be a GUID (got \"" + out + "\")");
    out = http::to_lower(out);
    return Status::ok();
  }

  Status object_member(const json& o, const std::string& path, const char* key, json& out,
                       const std::set<std::string>& allowed = {}) const {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return Status::ok();
    if (!it->is_object()) return fail(path + "." + key, "must be an object");
    if (!allowed.empty())
      for (const auto& [k, v] : it->items())
        if (!allowed.count(k)) {
          std::string list;
          for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
          return fail(path + "." + key + "." + k, "unknown key (expected one of: " + list + ")");
        }
    out = *it;
    return Status::ok();
  }

  // The ARM error a provider helper answered, as "Code: message".
  static std::string arm_problem(const http::Response& res) {
    const json e = json::parse(res.body, nullptr, false);
    if (e.is_object() && e.contains("error") && e["error"].is_object())
      return e["error"].value("code", "Error") + ": " + e["error"].value("message", "");
    return res.body;
  }

  // "id": an ARM id of `type` in a defined subscription and resource group.
  Status resource_id(const json& o, const std::string& path, const char* type,
                     arm::ResourceId& out) const {
    std::string text;
    if (auto s = string_member(o, path, "id", text, true); !s) return s;
    auto id = arm::ResourceId::parse(text);
    if (!id || id->resource_group.empty() || id->types_and_names.size() != 1 ||
        !http::iequals(id->type(), type))
      return fail(path + ".id", "must be the ARM id of a " + std::string(type) +
                                    " resource (/subscriptions/{id}/resourceGroups/{name}/"
                                    "providers/" +
                                    type + "/{name}); got \"" + text + "\"");
    if (!t_.stores.subscriptions->find(id->subscription))
      return fail(path + ".id", "no subscription '" + id->subscription +
                                    "' is defined (add it under $.subscriptions)");
    if (!t_.stores.groups->get(id->subscription, id->resource_group))
      return fail(path + ".id", "no resource group '" + id->resource_group +
                                    "' is defined in subscription '" + id->subscription +
                                    "' (add it under $.resourceGroups)");
    out = *id;
    return Status::ok();
  }

  bool principal_known(const std::string& object_id) const {
    for (const auto& sp : t_.stores.directory->service_principals())
      if (http::iequals(sp.object_id, object_id)) return true;
    return t_.stores.directory->find_managed_identity_by_principal_id(object_id).has_value();
  }

  Status check_principal(const std::string& object_id, const std::string& path) const {
    if (principal_known(object_id)) return Status::ok();
    return fail(path, "no principal with object id '" + object_id +
                          "' is defined (add it under $.servicePrincipals, or give a "
                          "userAssignedIdentity that properties.principalId)");
  }

  // An attribute time: ISO-8601, "now", "now+30d" (s, m, h, d) on the virtual clock, or Unix
  // seconds.
  Status time_member(const json& o, const std::string& path, const char* key,
                     std::optional<int64_t>& out) const {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return Status::ok();
    if (it->is_number_integer()) {
      out = it->get<int64_t>();
      return Status::ok();
    }
    if (it->is_string())
      if (auto t = parse_time_spec(it->get<std::string>(), t_.stores.clock->now())) {
        out = to_unix_seconds(*t);
        return Status::ok();
      }
    return fail(path + "." + key,
                "must be an ISO-8601 time (\"2030-01-01T00:00:00Z\"), a time relative to now "
                "(\"now+30d\", units s, m, h, d) or Unix seconds");
  }

  // --- sections ---

  Status resource_group(const json& o, const std::string& path) {
    arm::ResourceGroup rg;
    if (o.contains("id")) {
      std::string text;
      if (auto s = string_member(o, path, "id", text, true); !s) return s;
      auto id = arm::ResourceId::parse(text);
      if (!id || id->resource_group.empty() || !id->provider.empty())
        return fail(path + ".id",
                    "must be a resource group id (/subscriptions/{id}/"
                    "resourceGroups/{name}); got \"" +
                        text + "\"");
      rg.subscription = http::to_lower(id->subscription);
      rg.name = id->resource_group;
    } else {
      if (auto s = string_member(o, path, "name", rg.name, true); !s) return s;
      if (auto s = guid_member(o, path, "subscriptionId", rg.subscription); !s) return s;
      if (rg.subscription.empty()) {
        auto all = t_.stores.subscriptions->all();
        if (all.empty())
          return fail(path + ".subscriptionId",
                      "no subscription is defined (add one under "
                      "$.subscriptions)");
        rg.subscription = all.front().id;
      }
    }
    const std::string where = o.contains("id") ? ".id" : ".subscriptionId";
    if (!arm::is_valid_resource_group_name(rg.name))
      return fail(path + (o.contains("id") ? ".id" : ".name"),
                  "'" + rg.name +
                      "' is not a valid resource group name (1-90 letters, digits, "
                      "'_', '-', '.', '(' and ')', not ending in '.')");
    if (!t_.stores.subscriptions->find(rg.subscription))
      return fail(path + where, "no subscription '" + rg.subscription +
                                    "' is defined (add it under $.subscriptions)");
    if (auto s = string_member(o, path, "location", rg.location, true); !s) return s;
    if (!arm::find_region(rg.location))
      return fail(path + ".location", "'" + rg.location + "' is not a region ARM knows");
    rg.location = arm::normalize_location(arm::find_region(rg.location)->name);
    if (auto s = object_member(o, path, "tags", rg.tags); !s) return s;
    if (auto s = string_member(o, path, "managedBy", rg.managed_by, false); !s) return s;
    t_.stores.groups->put(std::move(rg));
    return Status::ok();
  }

  Status identity(const json& o, const std::string& path) {
    arm::ResourceId id;
    if (auto s = resource_id(o, path, msi::kUserAssignedIdentityType, id); !s) return s;
    if (!msi::is_valid_identity_name(id.name()))
      return fail(path + ".id",
                  "'" + id.name() +
                      "' is not a valid identity name (3-128 "
                      "letters, digits, '-' and '_', starting with a letter or digit)");
    arm::TrackedResource r;
    r.id = id;
    if (auto e = arm::read_location_and_tags(o, false, false, r))
      return fail(path, arm_problem(*e));
    json props = json::object();
    if (auto s = object_member(o, path, "properties", props,
                               {"principalId", "clientId", "tenantId", "isolationScope"});
        !s)
      return s;
    const std::string ppath = path + ".properties";
    entra::ManagedIdentity mi;
    mi.resource_id = id.str();
    mi.tenant_id = t_.stores.subscriptions->find(id.subscription)->tenant_id;
    std::string tenant;
    if (auto s = guid_member(props, ppath, "tenantId", tenant); !s) return s;
    if (!tenant.empty() && tenant != http::to_lower(mi.tenant_id))
      return fail(ppath + ".tenantId", "must be the subscription's tenant '" + mi.tenant_id + "'");
    if (auto s = guid_member(props, ppath, "principalId", mi.principal_id); !s) return s;
    if (auto s = guid_member(props, ppath, "clientId", mi.client_id); !s) return s;
    // Minted in the order a PUT mints them, so a seeded run gives the same ids either way.
    if (mi.principal_id.empty()) mi.principal_id = t_.ids->guid();
    if (mi.client_id.empty()) mi.client_id = t_.ids->guid();
    if (auto other = t_.stores.directory->find_managed_identity_by_principal_id(mi.principal_id);
        other && !http::iequals(other->resource_id, mi.resource_id))
      return fail(
          ppath + ".principalId",
          "'" + mi.principal_id + "' is already the principal id of '" + other->resource_id + "'");
    if (auto other = t_.stores.directory->find_managed_identity_by_client_id(mi.client_id);
        other && !http::iequals(other->resource_id, mi.resource_id))
      return fail(ppath + ".clientId", "'" + mi.client_id + "' is already the client id of '" +
                                           other->resource_id + "'");
    msi::create_user_assigned_identity(*t_.stores.resources, *t_.stores.directory, std::move(r),
                                       std::move(mi), kFixtureCaller);
    return Status::ok();
  }

  Status vault(const json& o, const std::string& path) {
    arm::ResourceId id;
    if (auto s = resource_id(o, path, keyvault_mgmt::kVaultType, id); !s) return s;
    const std::string name = id.name();
    if (!keyvault_mgmt::is_valid_vault_name(name))
      return fail(path + ".id", "'" + name +
                                    "' is not a valid vault name (3-24 letters, digits "
                                    "and '-', starting with a letter, ending with a letter or "
                                    "digit, no \"--\")");
    if (auto other = t_.stores.vaults->find_vault_by_name(name); other && !(other->id == id))
      return fail(path + ".id", "the vault name '" + name + "' is already used by '" +
                                    other->id.str() + "' (vault names are global)");
    if (t_.stores.vaults->find_deleted(name))
      return fail(path + ".id", "a deleted vault is named '" + name + "'");
    json props;
    if (auto s = object_member(o, path, "properties", props); !s) return s;
    if (props.is_null()) return fail(path + ".properties", "is required");
    if (!props.contains("tenantId"))
      props["tenantId"] = t_.stores.subscriptions->find(id.subscription)->tenant_id;
    if (auto policies = props.find("accessPolicies");
        policies != props.end() && policies->is_array())
      for (size_t i = 0; i < policies->size(); ++i) {
        const json& e = (*policies)[i];
        if (e.is_object() && e.contains("objectId") && e["objectId"].is_string())
          if (auto s = check_principal(e["objectId"].get<std::string>(),
                                       at(path + ".properties.accessPolicies", i) + ".objectId");
              !s)
            return s;
      }
    json merged = keyvault_mgmt::new_vault_properties();
    if (auto e = keyvault_mgmt::merge_vault_properties(merged, props, false, name))
      return fail(path + ".properties", e->code + ": " + e->message);
    arm::TrackedResource r;
    r.id = id;
    r.type = keyvault_mgmt::kVaultType;
    if (auto e = arm::read_location_and_tags(o, false, false, r))
      return fail(path, arm_problem(*e));
    r.body = {{"properties", merged}};
    t_.stores.resources->put(r, kFixtureCaller);

    const auto settings = keyvault_data::vault_settings(name, merged);
    auto keys = o.find("keys");
    if (keys != o.end() && !keys->is_null()) {
      if (!keys->is_array()) return fail(path + ".keys", "must be an array");
      for (size_t i = 0; i < keys->size(); ++i)
        if (auto s = key((*keys)[i], at(path + ".keys", i), settings); !s) return s;
    }
    auto secrets = o.find("secrets");
    if (secrets != o.end() && !secrets->is_null()) {
      if (!secrets->is_array()) return fail(path + ".secrets", "must be an array");
      if (!t_.stores.secrets)
        return fail(path + ".secrets", "secrets need a full emulator to apply to");
      for (size_t i = 0; i < secrets->size(); ++i)
        if (auto s = secret((*secrets)[i], at(path + ".secrets", i), settings); !s) return s;
    }
    auto certificates = o.find("certificates");
    if (certificates != o.end() && !certificates->is_null()) {
      if (!certificates->is_array()) return fail(path + ".certificates", "must be an array");
      if (!t_.stores.certificates)
        return fail(path + ".certificates", "certificates need a full emulator to apply to");
      for (size_t i = 0; i < certificates->size(); ++i)
        if (auto s = certificate((*certificates)[i], at(path + ".certificates", i), settings); !s)
          return s;
    }
    return Status::ok();
  }

  // The frame a vault's secret and certificate share: {"name", "versions": [...]}, the name
  // checked by `valid_name`; each version is the caller's to read.
  Status named_versions(const json& o, const std::string& path, const char* what,
                        bool (*valid_name)(const std::string&), std::string& name,
                        const json*& versions) {
    if (!o.is_object()) return fail(path, "must be an object");
    for (const auto& [k, v] : o.items())
      if (k != "name" && k != "versions")
        return fail(path + "." + k, "unknown key (expected one of: name, versions)");
    if (auto s = string_member(o, path, "name", name, true); !s) return s;
    if (!valid_name(name))
      return fail(path + ".name", "'" + name + "' is not a valid " + what +
                                      " name (1-127 letters, digits and '-')");
    auto it = o.find("versions");
    if (it == o.end() || !it->is_array() || it->empty())
      return fail(path + ".versions", "must be a non-empty array (oldest version first)");
    versions = &*it;
    return Status::ok();
  }

  // A certificate: each version imported as POST .../certificates/{name}/import takes it (PEM
  // text with its private key, or a base64 PKCS #12), writing its key and managed secret too.
  Status certificate(const json& o, const std::string& path,
                     const keyvault_data::VaultSettings& vault) {
    std::string name;
    const json* versions = nullptr;
    if (auto s = named_versions(o, path, "certificate", keyvault_data::is_valid_certificate_name,
                                name, versions);
        !s)
      return s;
    for (size_t i = 0; i < versions->size(); ++i) {
      const json& v = (*versions)[i];
      const std::string vp = at(path + ".versions", i);
      if (!v.is_object()) return fail(vp, "must be an object");
      for (const auto& [k, _] : v.items())
        if (k != "version" && k != "value" && k != "password" && k != "policy" && k != "tags" &&
            k != "attributes")
          return fail(vp + "." + k,
                      "unknown key (expected one of: attributes, password, policy, tags, value, "
                      "version)");
      if (auto it = v.find("value"); it == v.end() || !it->is_string())
        return fail(vp + ".value",
                    "is required: the certificate with its private key, as PEM text or base64 "
                    "PKCS #12");
      std::string version, password;
      if (auto s = string_member(v, vp, "version", version, false); !s) return s;
      if (!version.empty() && (version.size() != 32 ||
                               version.find_first_not_of("0123456789abcdef") != std::string::npos))
        return fail(vp + ".version", "must be 32 lower-case hex characters");
      if (auto s = string_member(v, vp, "password", password, false); !s) return s;
      json a;
      if (auto s = object_member(v, vp, "attributes", a, {"enabled", "created"}); !s) return s;
      // The import API's body, so the checks and their words are the API's.
      json body = {{"value", v["value"]}, {"pwd", password}};
      if (auto p = v.find("policy"); p != v.end()) body["policy"] = *p;
      if (auto t = v.find("tags"); t != v.end()) body["tags"] = *t;
      std::optional<int64_t> created;
      if (a.is_object()) {
        if (auto e = a.find("enabled"); e != a.end()) {
          if (!e->is_boolean()) return fail(vp + ".attributes.enabled", "must be true or false");
          body["attributes"] = {{"enabled", *e}};
        }
        if (auto s = time_member(a, vp + ".attributes", "created", created); !s) return s;
      }
      auto request = keyvault_data::read_import_certificate_request(body);
      if (!request) return fail(vp, request.error().message);
      if (!version.empty()) request->fixed.id = version;
      request->fixed.created = created;
      auto made = t_.stores.certificates->import(vault, name, *request);
      wipe(request->value);
      wipe(request->password);
      if (!made) return fail(vp, made.error().message);
    }
    return Status::ok();
  }

  Status secret(const json& o, const std::string& path, const keyvault_data::VaultSettings& vault) {
    std::string name;
    const json* versions = nullptr;
    if (auto s =
            named_versions(o, path, "secret", keyvault_data::is_valid_secret_name, name, versions);
        !s)
      return s;
    for (size_t i = 0; i < versions->size(); ++i) {
      const json& v = (*versions)[i];
      const std::string vp = at(path + ".versions", i);
      if (!v.is_object()) return fail(vp, "must be an object");
      for (const auto& [k, _] : v.items())
        if (k != "version" && k != "value" && k != "contentType" && k != "tags" &&
            k != "attributes")
          return fail(vp + "." + k,
                      "unknown key (expected one of: attributes, contentType, tags, value, "
                      "version)");
      keyvault_data::SetSecretRequest r;
      std::string version, content_type;
      if (auto s = string_member(v, vp, "version", version, false); !s) return s;
      if (!version.empty()) r.fixed.id = version;
      if (auto it = v.find("value"); it == v.end() || !it->is_string())
        return fail(vp + ".value", "is required and must be a string");
      r.value = v["value"].get<std::string>();
      if (auto s = string_member(v, vp, "contentType", content_type, false); !s) return s;
      if (!content_type.empty()) r.content_type = content_type;
      if (auto it = v.find("tags"); it != v.end() && !it->is_null()) r.tags = *it;
      json a;
      if (auto s = object_member(
              v, vp, "attributes", a,
              {"enabled", "nbf", "exp", "created", "updated", "recoveryLevel", "recoverableDays"});
          !s)
        return s;
      if (a.is_object()) {
        if (auto e = a.find("enabled"); e != a.end()) {
          if (!e->is_boolean()) return fail(vp + ".attributes.enabled", "must be true or false");
          r.attributes.enabled = e->get<bool>();
        }
        if (auto s = time_member(a, vp + ".attributes", "nbf", r.attributes.nbf); !s) return s;
        if (auto s = time_member(a, vp + ".attributes", "exp", r.attributes.exp); !s) return s;
        if (auto s = time_member(a, vp + ".attributes", "created", r.fixed.created); !s) return s;
      }
      auto made = t_.stores.secrets->set(vault, name, r);
      if (!made) return fail(vp, made.error().message);
    }
    return Status::ok();
  }

  Status key(const json& o, const std::string& path, const keyvault_data::VaultSettings& vault) {
    if (!o.is_object()) return fail(path, "must be an object");
    for (const auto& [k, v] : o.items())
      if (k != "name" && k != "versions")
        return fail(path + "." + k, "unknown key (expected one of: name, versions)");
    std::string name;
    if (auto s = string_member(o, path, "name", name, true); !s) return s;
    if (!keyvault_data::is_valid_key_name(name))
      return fail(path + ".name", "'" + name +
                                      "' is not a valid key name (1-127 letters, "
                                      "digits and '-')");
    auto versions = o.find("versions");
    if (versions == o.end() || !versions->is_array() || versions->empty())
      return fail(path + ".versions", "must be a non-empty array (oldest version first)");
    for (size_t i = 0; i < versions->size(); ++i)
      if (auto s = key_version((*versions)[i], at(path + ".versions", i), vault, name); !s)
        return s;
    return Status::ok();
  }

  Status key_version(const json& o, const std::string& path,
                     const keyvault_data::VaultSettings& vault, const std::string& name) {
    if (!o.is_object()) return fail(path, "must be an object");
    static const std::set<std::string> allowed = {
        "version", "kty", "key_size", "crv", "jwk", "pem", "hsm", "key_ops", "tags", "attributes"};
    for (const auto& [k, v] : o.items())
      if (!allowed.count(k))
        return fail(path + "." + k,
                    "unknown key (expected one of: attributes, crv, hsm, jwk, "
                    "key_ops, key_size, kty, pem, tags, version)");
    keyvault_data::FixedVersion fixed;
    std::string version;
    if (auto s = string_member(o, path, "version", version, false); !s) return s;
    if (!version.empty()) fixed.id = version;

    keyvault_data::AttributesInput attrs;
    json a;
    if (auto s = object_member(o, path, "attributes", a,
                               {"enabled", "nbf", "exp", "created", "updated", "exportable",
                                "recoveryLevel", "recoverableDays"});
        !s)
      return s;
    if (a.is_object()) {
      if (auto e = a.find("enabled"); e != a.end()) {
        if (!e->is_boolean()) return fail(path + ".attributes.enabled", "must be true or false");
        attrs.enabled = e->get<bool>();
      }
      if (auto s = time_member(a, path + ".attributes", "nbf", attrs.nbf); !s) return s;
      if (auto s = time_member(a, path + ".attributes", "exp", attrs.exp); !s) return s;
      if (auto s = time_member(a, path + ".attributes", "created", fixed.created); !s) return s;
    }
    std::optional<json> tags;
    if (auto it = o.find("tags"); it != o.end() && !it->is_null()) tags = *it;
    std::optional<std::vector<std::string>> key_ops;
    if (auto it = o.find("key_ops"); it != o.end() && !it->is_null()) {
      key_ops.emplace();
      if (!it->is_array()) return fail(path + ".key_ops", "must be an array of strings");
      for (size_t i = 0; i < it->size(); ++i) {
        if (!(*it)[i].is_string()) return fail(at(path + ".key_ops", i), "must be a string");
        key_ops->push_back((*it)[i].get<std::string>());
      }
    }
    const bool has_jwk = o.contains("jwk"), has_pem = o.contains("pem");
    if (has_jwk && has_pem) return fail(path, "give key material as \"jwk\" or \"pem\", not both");
    keyvault_data::KeyResult<keyvault_data::KeyView> made = keyvault_data::KeyError{};
    if (has_jwk || has_pem) {
      for (const char* gen : {"kty", "key_size", "crv"})
        if (o.contains(gen))
          return fail(path + "." + gen, std::string("applies to generated keys only; the ") +
                                            (has_jwk ? "JWK" : "PEM") + " gives the key");
      keyvault_data::ImportKeyRequest r;
      if (has_jwk) {
        if (!o["jwk"].is_object()) return fail(path + ".jwk", "must be a JSON Web Key object");
        r.jwk = o["jwk"];
        if (key_ops) r.jwk["key_ops"] = *key_ops;
      } else {
        if (!o["pem"].is_string()) return fail(path + ".pem", "must be a PEM string");
        r.pem = o["pem"].get<std::string>();
        r.key_ops = key_ops;
      }
      if (auto h = o.find("hsm"); h != o.end()) {
        if (!h->is_boolean()) return fail(path + ".hsm", "must be true or false");
        r.hsm = h->get<bool>();
      }
      r.attributes = attrs;
      r.tags = tags;
      r.fixed = fixed;
      made = t_.stores.keys->import(vault, name, r);
    } else {
      if (o.contains("hsm"))
        return fail(path + ".hsm",
                    "applies to given key material only; "
                    "use kty \"RSA-HSM\" or \"EC-HSM\"");
      keyvault_data::CreateKeyRequest r;
      r.kty = "RSA";
      if (auto s = string_member(o, path, "kty", r.kty, false); !s) return s;
      if (r.kty.empty()) r.kty = "RSA";
      if (auto it = o.find("key_size"); it != o.end() && !it->is_null()) {
        if (!it->is_number_integer()) return fail(path + ".key_size", "must be an integer");
        r.key_size = it->get<int>();
      }
      std::string crv;
      if (auto s = string_member(o, path, "crv", crv, false); !s) return s;
      if (!crv.empty()) r.crv = crv;
      r.key_ops = key_ops;
      r.attributes = attrs;
      r.tags = tags;
      r.fixed = fixed;
      made = t_.stores.keys->create(vault, name, r);
    }
    if (!made) return fail(path, made.error().message);
    return Status::ok();
  }

  // A role assignment's scope: "/", a defined subscription, resource group or resource (or a
  // child of one, such as a vault's key).
  Status check_scope(const std::string& scope, const std::string& path) const {
    if (scope == "/") return Status::ok();
    auto id = arm::ResourceId::parse(scope);
    if (!id)
      return fail(path, "'" + scope +
                            "' is not an ARM scope (a subscription, resource "
                            "group or resource id)");
    if (!t_.stores.subscriptions->find(id->subscription))
      return fail(path, "no subscription '" + id->subscription +
                            "' is defined (add it under $.subscriptions)");
    if (id->resource_group.empty()) return Status::ok();
    if (!t_.stores.groups->get(id->subscription, id->resource_group))
      return fail(path, "no resource group '" + id->resource_group +
                            "' is defined (add it under $.resourceGroups)");
    if (id->types_and_names.empty()) return Status::ok();
    arm::ResourceId top = *id;
    top.types_and_names.resize(1);
    if (!t_.stores.resources->get(top))
      return fail(path, "no resource '" + top.str() +
                            "' is defined (define it in an earlier "
                            "section or fixture)");
    return Status::ok();
  }

  Status role_assignment(const json& o, const std::string& path) {
    authorization::RoleAssignment a;
    if (auto s = guid_member(o, path, "name", a.name); !s) return s;
    if (a.name.empty()) a.name = t_.ids->guid();
    json props;
    if (auto s = object_member(o, path, "properties", props,
                               {"scope", "roleDefinitionId", "principalId", "principalType",
                                "createdOn", "createdBy", "updatedOn", "updatedBy"});
        !s)
      return s;
    if (props.is_null()) return fail(path + ".properties", "is required");
    const std::string ppath = path + ".properties";
    if (auto s = string_member(props, ppath, "scope", a.scope, true); !s) return s;
    if (auto s = check_scope(a.scope, ppath + ".scope"); !s) return s;
    std::string role;
    if (auto s = string_member(props, ppath, "roleDefinitionId", role, true); !s) return s;
    const authorization::RoleDefinition* def = authorization::find_role_definition(role);
    if (!def)
      for (const auto& d : authorization::builtin_role_definitions())
        if (http::iequals(d.role_name, role)) def = &d;
    if (!def) {
      std::string names;
      for (const auto& d : authorization::builtin_role_definitions())
        names += (names.empty() ? "" : ", ") + d.role_name;
      return fail(ppath + ".roleDefinitionId",
                  "no built-in role '" + role +
                      "' (a GUID, a roleDefinitions id or one of: " + names + ")");
    }
    if (role.find('/') != std::string::npos) {
      a.role_definition_id = role;
    } else {
      auto id = arm::ResourceId::parse(a.scope);
      a.role_definition_id = (id ? "/subscriptions/" + id->subscription : std::string()) +
                             "/providers/Microsoft.Authorization/roleDefinitions/" + def->guid;
    }
    if (props.value("principalId", json()).is_null())
      return fail(ppath + ".principalId", "is required");
    if (auto s = guid_member(props, ppath, "principalId", a.principal_id); !s) return s;
    if (auto s = check_principal(a.principal_id, ppath + ".principalId"); !s) return s;
    a.principal_type = "ServicePrincipal";
    if (auto s = string_member(props, ppath, "principalType", a.principal_type, false); !s)
      return s;
    a.created_by = kFixtureCaller;
    switch (t_.stores.role_assignments->put(a)) {
      case authorization::RoleAssignmentStore::PutOutcome::Created:
      case authorization::RoleAssignmentStore::PutOutcome::Unchanged:
        return Status::ok();
      case authorization::RoleAssignmentStore::PutOutcome::Conflict:
        return fail(path + ".name", "another role assignment is named '" + a.name +
                                        "' at this scope (assignments cannot be changed)");
      case authorization::RoleAssignmentStore::PutOutcome::Exists:
        return fail(path,
                    "the principal already has this role at this scope under another "
                    "name");
    }
    return Status::ok();
  }

  Status cluster(const json& o, const std::string& path) {
    arm::ResourceId id;
    if (auto s = resource_id(o, path, kusto::kClusterType, id); !s) return s;
    // References first, so a missing identity, vault, key or version is named by its path.
    if (auto ident = o.find("identity"); ident != o.end() && ident->is_object())
      if (auto u = ident->find("userAssignedIdentities"); u != ident->end() && u->is_object())
        for (const auto& [k, v] : u->items()) {
          auto uid = arm::ResourceId::parse(k);
          if (!uid || !t_.stores.resources->get(*uid))
            return fail(path + ".identity.userAssignedIdentities['" + k + "']",
                        "no user-assigned identity '" + k +
                            "' is defined (add it under $.userAssignedIdentities)");
        }
    // The system identity's fixed ids are GUIDs, as everywhere else in the state (an export
    // holding another string would not import again).
    if (auto ident = o.find("identity"); ident != o.end() && ident->is_object())
      for (const char* key : {"principalId", "clientId"}) {
        std::string fixed;
        if (auto s = guid_member(*ident, path + ".identity", key, fixed); !s) return s;
      }
    json props = json::object();
    if (auto s = object_member(o, path, "properties", props); !s) return s;
    std::string state = "Running";
    if (auto s = string_member(props, path + ".properties", "state", state, false); !s) return s;
    if (state != "Running" && state != "Stopped")
      return fail(path + ".properties.state", "must be Running or Stopped (got \"" + state + "\")");
    const std::string kvpath = path + ".properties.keyVaultProperties";
    auto kv = kusto::read_key_vault_properties(props);
    if (!kv) return fail(kvpath, kv.error().code + ": " + kv.error().message);
    if (kv.value()) {
      const auto& k = *kv.value();
      auto vault = t_.stores.vaults->find_vault_by_name(k.vault_name);
      if (!vault)
        return fail(kvpath + ".keyVaultUri",
                    "no vault '" + k.vault_name + "' is defined (add it under $.vaults)");
      const auto settings =
          keyvault_data::vault_settings(vault->id.name(), vault->body["properties"]);
      auto found = t_.stores.keys->get(settings, k.key_name, "");
      if (!found && found.error().kind == keyvault_data::KeyErrorKind::KeyNotFound)
        return fail(kvpath + ".keyName", "vault '" + k.vault_name + "' has no key '" + k.key_name +
                                             "' (add it under the vault's keys)");
      if (!k.key_version.empty()) {
        auto ver = t_.stores.keys->get(settings, k.key_name, k.key_version);
        if (!ver && ver.error().kind == keyvault_data::KeyErrorKind::KeyNotFound)
          return fail(kvpath + ".keyVersion", "key '" + k.key_name + "' has no version '" +
                                                  k.key_version +
                                                  "' (give the versions a "
                                                  "fixed \"version\" to refer to them)");
      }
    }
    auto built = kusto::build_cluster(t_.kusto, id, o, state, kFixtureCaller);
    if (!built) return fail(path, built.error().code + ": " + built.error().message);
    if (!kv.value() && t_.kusto.keys) t_.kusto.keys->forget(built.value().id.key());  // replaced
    if (kv.value()) {
      if (!t_.kusto.keys)
        return fail(kvpath, "customer-managed keys need the emulator's Key Vault endpoints");
      if (auto e = t_.kusto.keys->activate(built.value()))
        return fail(kvpath, "the cluster cannot use its customer-managed key: " + e->code + ": " +
                                e->message);
    }
    return Status::ok();
  }

  const Fixture& f_;
  FixtureTargets& t_;
};

}  // namespace

Status apply_fixtures(const std::vector<Fixture>& fixtures, FixtureTargets& targets) {
  for (const auto& f : fixtures) {
    for (const auto& t : f.tenants) targets.stores.directory->put_tenant(t);
    for (size_t i = 0; i < f.subscriptions.size(); ++i) {
      const auto& sub = f.subscriptions[i];
      if (!targets.stores.directory->find_tenant(sub.tenant_id))
        return Status::error(f.source + ": $.subscriptions[" + std::to_string(i) +
                             "].tenantId: no tenant '" + sub.tenant_id +
                             "' is defined (add it under $.tenants)");
      targets.stores.subscriptions->put(sub);
    }
    // Principals without a tenant belong to the first tenant known at this point.
    std::string first_tenant;
    if (auto all = targets.stores.directory->tenants(); !all.empty()) first_tenant = all.front().id;
    for (size_t i = 0; i < f.service_principals.size(); ++i) {
      auto sp = f.service_principals[i];
      if (sp.tenant_id.empty()) sp.tenant_id = first_tenant;
      if (sp.tenant_id.empty() || !targets.stores.directory->find_tenant(sp.tenant_id))
        return Status::error(f.source + ": $.servicePrincipals[" + std::to_string(i) +
                             "].tenantId: no tenant '" + sp.tenant_id +
                             "' is defined (add it under $.tenants)");
      targets.stores.directory->put_service_principal(std::move(sp));
    }
    if (auto s = Applier(f, targets).run(); !s) return s;
    if (!f.state.is_null()) {
      if (!targets.stores.operations)
        return Status::error(f.source + ": $.state: a state section needs the whole emulator");
      if (auto s = apply_state_section(f.state, targets.stores, f.source); !s) return s;
    }
  }
  return Status::ok();
}

Status apply_fixtures(const std::vector<Fixture>& fixtures, entra::Directory& directory,
                      arm::SubscriptionRegistry& subscriptions) {
  FixtureTargets targets;
  targets.stores.directory = &directory;
  targets.stores.subscriptions = &subscriptions;
  return apply_fixtures(fixtures, targets);
}

}  // namespace cmk::state
