#include "keyvault_mgmt/vaults.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "arm/catalog.h"
#include "entra/directory.h"
#include "http/error_bodies.h"

namespace cmk::keyvault_mgmt {

using http::iequals;
using http::Request;
using http::Response;
using http::RouteParams;
using nlohmann::json;

namespace {

constexpr const char* kBase =
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults";

const std::set<std::string>& permission_names(const std::string& kind) {
  static const std::map<std::string, std::set<std::string>> names = {
      // clang-format off
      {"keys",
       {"all", "encrypt", "decrypt", "wrapkey", "unwrapkey", "sign", "verify", "get", "list",
        "create", "update", "import", "delete", "backup", "restore", "recover", "purge", "release",
        "rotate", "getrotationpolicy", "setrotationpolicy"}},
      // clang-format on
      {"secrets", {"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"}},
      {"certificates",
       {"all", "get", "list", "delete", "create", "import", "update", "managecontacts",
        "getissuers", "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover",
        "purge", "backup", "restore"}},
      {"storage",
       {"all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge",
        "backup", "restore", "setsas", "listsas", "getsas", "deletesas"}}};
  static const std::set<std::string> none;
  auto it = names.find(kind);
  return it == names.end() ? none : it->second;
}

Response bad_request(const std::string& message) {
  return http::arm_error(400, "BadRequest", message);
}

// Validates one access policy entry: what is wrong with it, nullopt when fine.
std::optional<std::string> policy_problem(const json& e, size_t i) {
  const std::string where = "accessPolicies[" + std::to_string(i) + "]";
  if (!e.is_object()) return std::string("The property '" + where + "' must be an object.");
  auto tenant = e.find("tenantId");
  if (tenant == e.end() || !tenant->is_string() || !entra::is_guid(tenant->get<std::string>()))
    return std::string("The property '" + where + ".tenantId' must be a GUID.");
  auto object = e.find("objectId");
  if (object == e.end() || !object->is_string() || object->get<std::string>().empty())
    return std::string("The property '" + where + ".objectId' is required.");
  if (auto app = e.find("applicationId");
      app != e.end() && !app->is_null() &&
      (!app->is_string() || !entra::is_guid(app->get<std::string>())))
    return std::string("The property '" + where + ".applicationId' must be a GUID.");
  auto perms = e.find("permissions");
  if (perms == e.end() || !perms->is_object())
    return std::string("The property '" + where + ".permissions' is required.");
  for (auto it = perms->begin(); it != perms->end(); ++it) {
    const auto& allowed = permission_names(it.key());
    if (allowed.empty())
      return std::string("The property '" + where + ".permissions." + it.key() +
                         "' is not one of keys, secrets, certificates, storage.");
    if (!it->is_array())
      return std::string("The property '" + where + ".permissions." + it.key() +
                         "' must be an array.");
    for (const auto& p : *it) {
      if (!p.is_string() || !allowed.count(http::to_lower(p.get<std::string>())))
        return std::string("The permission '" + (p.is_string() ? p.get<std::string>() : p.dump()) +
                           "' in '" + where + ".permissions." + it.key() + "' is not valid.");
    }
  }
  return std::nullopt;
}

std::optional<Response> check_policy(const json& e, size_t i) {
  if (auto problem = policy_problem(e, i)) return bad_request(*problem);
  return std::nullopt;
}

bool same_entry(const json& a, const json& b) {
  auto app = [](const json& e) {
    auto it = e.find("applicationId");
    return it == e.end() || it->is_null() ? std::string() : http::to_lower(it->get<std::string>());
  };
  return iequals(a.value("tenantId", ""), b.value("tenantId", "")) &&
         iequals(a.value("objectId", ""), b.value("objectId", "")) && app(a) == app(b);
}

// Permission lists merged (add), replaced, or subtracted (remove); case-insensitive.
json combine_permissions(const json& have, const json& change, const std::string& kind) {
  if (kind == "replace") return change;
  json out = have;
  for (auto it = change.begin(); it != change.end(); ++it) {
    json list = out.contains(it.key()) ? out[it.key()] : json::array();
    for (const auto& p : *it) {
      auto pos = std::find_if(list.begin(), list.end(), [&](const json& q) {
        return iequals(q.get<std::string>(), p.get<std::string>());
      });
      if (kind == "add" && pos == list.end()) list.push_back(p);
      if (kind == "remove" && pos != list.end()) list.erase(pos);
    }
    out[it.key()] = list;
  }
  return out;
}

bool has_permissions(const json& perms) {
  for (auto it = perms.begin(); it != perms.end(); ++it)
    if (it->is_array() && !it->empty()) return true;
  return false;
}

}  // namespace

json new_vault_properties() {
  // What Azure shows of a vault created with nothing else set: enabledForDiskEncryption,
  // enabledForTemplateDeployment, enableRbacAuthorization and enablePurgeProtection appear only
  // once they are set (azure-cli's recordings of `az keyvault create`).
  return {{"enabledForDeployment", false},
          {"enableSoftDelete", true},
          {"softDeleteRetentionInDays", 90},
          {"publicNetworkAccess", "Enabled"},
          {"accessPolicies", json::array()}};
}

namespace {

// networkAcls that change nothing (everything allowed, no rules): Azure does not keep them, so
// a vault created with them shows no networkAcls (azure-cli's recordings).
bool is_default_network_acls(const json& acls) {
  if (!acls.is_object()) return false;
  auto empty_or_absent = [&](const char* key) {
    auto it = acls.find(key);
    return it == acls.end() || it->is_null() || (it->is_array() && it->empty());
  };
  const auto action = acls.find("defaultAction");
  const auto bypass = acls.find("bypass");
  return action != acls.end() && action->is_string() &&
         iequals(action->get<std::string>(), "Allow") &&
         (bypass == acls.end() || bypass->is_null() ||
          (bypass->is_string() && iequals(bypass->get<std::string>(), "AzureServices"))) &&
         empty_or_absent("ipRules") && empty_or_absent("virtualNetworkRules");
}

}  // namespace

std::optional<arm::OperationError> merge_vault_properties(json& merged, const json& props,
                                                          bool existing, const std::string& name) {
  auto fail = [](std::string message) {
    return std::optional<arm::OperationError>(
        arm::OperationError{"BadRequest", std::move(message)});
  };
  const json before = merged;
  for (auto it = props.begin(); it != props.end(); ++it) {
    if (it.key() == "createMode" || it.key() == "vaultUri" || it.key() == "provisioningState" ||
        it.key() == "hsmPoolResourceId" || it.key() == "privateEndpointConnections")
      continue;  // read-only or request-only
    // null (and an empty publicNetworkAccess) means "not given": the template `az keyvault
    // create` deploys sends both for every option left unset, and Azure keeps the vault's value.
    if (it->is_null() || (it.key() == "publicNetworkAccess" && *it == "")) continue;
    merged[it.key()] = *it;
  }
  if (auto acls = merged.find("networkAcls");
      acls != merged.end() && is_default_network_acls(*acls))
    merged.erase(acls);

  // The rules that make soft delete and purge protection one-way.
  if (auto v = props.find("enablePurgeProtection"); v != props.end() && !v->is_null()) {
    if (!v->is_boolean()) return fail("The property 'enablePurgeProtection' must be a boolean.");
    if (!v->get<bool>())
      return fail(
          "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge "
          "protection for a vault is an irreversible action.");
  }
  if (before.value("enablePurgeProtection", false)) merged["enablePurgeProtection"] = true;
  if (auto v = props.find("enableSoftDelete"); v != props.end() && !v->is_null()) {
    if (!v->is_boolean()) return fail("The property 'enableSoftDelete' must be a boolean.");
    if (!v->get<bool>())
      return fail(
          "The property \"enableSoftDelete\" cannot be set to false. Enabling the soft delete "
          "for a vault is an irreversible action.");
  }
  if (auto v = merged.find("softDeleteRetentionInDays"); v != merged.end()) {
    if (!v->is_number_integer() || *v < 7 || *v > 90)
      return fail("The property 'softDeleteRetentionInDays' must be between 7 and 90.");
    if (existing && before.value("softDeleteRetentionInDays", 90) != v->get<int>())
      return fail(
          "The property 'softDeleteRetentionInDays' cannot be changed once soft delete is "
          "enabled.");
  }
  auto tenant = merged.find("tenantId");
  if (tenant == merged.end() || !tenant->is_string() || !entra::is_guid(tenant->get<std::string>()))
    return fail("The property 'tenantId' is required and must be a GUID.");
  merged["tenantId"] = http::to_lower(tenant->get<std::string>());
  auto sku = merged.find("sku");
  if (sku == merged.end() || !sku->is_object() || !sku->contains("name") ||
      !(*sku)["name"].is_string() ||
      !(iequals((*sku)["name"].get<std::string>(), "standard") ||
        iequals((*sku)["name"].get<std::string>(), "premium")))
    return fail(
        "The property 'sku' is required: {\"family\": \"A\", \"name\": "
        "\"standard\" | \"premium\"}.");
  (*sku)["family"] = "A";
  (*sku)["name"] = http::to_lower((*sku)["name"].get<std::string>());
  if (!merged["accessPolicies"].is_array())
    return fail("The property 'accessPolicies' must be an array.");
  if (!existing && !props.contains("accessPolicies") &&
      !merged.value("enableRbacAuthorization", false))
    return fail(
        "The property 'accessPolicies' is required unless "
        "'enableRbacAuthorization' is true.");
  if (merged["accessPolicies"].size() > 1024)
    return fail("A vault holds at most 1024 access policies.");
  for (size_t i = 0; i < merged["accessPolicies"].size(); ++i)
    if (auto e = policy_problem(merged["accessPolicies"][i], i)) return fail(*e);
  merged["vaultUri"] = "https://" + name + ".vault.azure.net/";
  merged["provisioningState"] = "Succeeded";
  return std::nullopt;
}

bool is_valid_vault_name(const std::string& name) {
  if (name.size() < 3 || name.size() > 24) return false;
  if (!std::isalpha(static_cast<unsigned char>(name.front()))) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.back()))) return false;
  if (name.find("--") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

namespace {

// Key Vault's dates of a deleted vault: whole seconds, "2023-07-04T09:00:30Z".
std::string whole_seconds(TimePoint t) {
  return to_iso8601(t).substr(0, 19) + "Z";
}

}  // namespace

json DeletedVault::to_json() const {
  const std::string name = vault.id.name();
  const json& props = vault.body["properties"];
  json j = {{"id", "/subscriptions/" + vault.id.subscription +
                       "/providers/Microsoft.KeyVault/locations/" + vault.location +
                       "/deletedVaults/" + name},
            {"name", name},
            {"type", "Microsoft.KeyVault/deletedVaults"},
            {"properties",
             {{"vaultId", vault.id.str()},
              {"location", vault.location},
              {"deletionDate", whole_seconds(deleted_at)},
              {"scheduledPurgeDate", whole_seconds(scheduled_purge_at)},
              {"tags", vault.tags.is_object() ? vault.tags : json::object()}}}};
  // Azure names purgeProtectionEnabled only for vaults that had it (deletedVaults lists in
  // azure-cli's recordings).
  if (props.value("enablePurgeProtection", false)) j["properties"]["purgeProtectionEnabled"] = true;
  return j;
}

json vault_json(const arm::TrackedResource& vault) {
  json j = vault.to_json();
  if (!j.contains("tags") || !j["tags"].is_object()) j["tags"] = json::object();
  return j;
}

VaultProvider::VaultProvider(arm::ArmContext arm, arm::ResourceStore& resources, const Clock& clock)
    : arm_(std::move(arm)), resources_(resources), clock_(clock) {}

std::optional<arm::TrackedResource> VaultProvider::find_vault_by_name(
    const std::string& name) const {
  // Indexed by the store: every Key Vault data-plane request looks its vault up by name.
  for (const auto& id : resources_.find_named(kVaultType, name))
    if (auto r = resources_.get(id)) return r;
  return std::nullopt;
}

std::shared_ptr<const arm::TrackedResource> VaultProvider::find_vault_snapshot(
    const std::string& name) const {
  return resources_.find_named_shared(kVaultType, name);
}

std::vector<arm::TrackedResource> VaultProvider::all_vaults() const {
  std::vector<arm::TrackedResource> out;
  for (const auto& sub : arm_.subscriptions->all())
    for (auto& r : resources_.list(sub.id, {}, kVaultType)) out.push_back(std::move(r));
  return out;
}

void VaultProvider::settle_purge(const std::string& name) {
  std::string deleted_id;
  {
    std::lock_guard lock(mu_);
    auto it = deleted_.find(http::to_lower(name));
    if (it == deleted_.end()) return;
    deleted_id = http::to_lower(it->second.to_json()["id"].get<std::string>());
  }
  // Without mu_: a purge that falls due runs its completion, which takes mu_.
  arm_.operations->settle_resource(deleted_id);
}

std::optional<DeletedVault> VaultProvider::find_deleted(const std::string& name) {
  settle_purge(name);
  std::lock_guard lock(mu_);
  purge_expired();
  auto it = deleted_.find(http::to_lower(name));
  if (it == deleted_.end()) return std::nullopt;
  return it->second;
}

void VaultProvider::purge_expired() {
  const TimePoint now = clock_.now();
  std::erase_if(deleted_, [&](const auto& kv) {
    if (kv.second.scheduled_purge_at > now) return false;
    if (on_purged_) on_purged_(kv.second.vault.id.name());
    revision_.bump();
    return true;
  });
}

bool VaultProvider::name_taken_elsewhere(const std::string& name, const arm::ResourceId& id) const {
  auto other = find_vault_by_name(name);
  return other && !(other->id == id);
}

void VaultProvider::retain_deleted(const arm::TrackedResource& vault) {
  const json& props = vault.body["properties"];
  if (!props.value("enableSoftDelete", true)) return;
  std::lock_guard lock(mu_);
  DeletedVault d;
  d.vault = vault;
  d.deleted_at = clock_.now();
  d.scheduled_purge_at =
      d.deleted_at + std::chrono::hours(24) * props.value("softDeleteRetentionInDays", 90);
  deleted_[http::to_lower(vault.id.name())] = std::move(d);
  revision_.bump();
}

std::vector<DeletedVault> VaultProvider::deleted_vaults() {
  std::lock_guard lock(mu_);
  purge_expired();
  std::vector<DeletedVault> out;
  for (const auto& [name, d] : deleted_) out.push_back(d);
  return out;
}

void VaultProvider::replace_deleted(std::vector<DeletedVault> vaults) {
  std::lock_guard lock(mu_);
  deleted_.clear();
  for (auto& d : vaults) {
    std::string key = http::to_lower(d.vault.id.name());
    deleted_.insert_or_assign(std::move(key), std::move(d));
  }
  revision_.bump();
}

void VaultProvider::register_routes(http::Router& router) {
  const std::string one = std::string(kBase) + "/{name}";
  auto not_found = [](const RouteParams& p) {
    return http::arm_error(404, "ResourceNotFound",
                           "The Resource 'Microsoft.KeyVault/vaults/" + p.get("name") +
                               "' under resource group '" + p.get("rg") +
                               "' was not found. For more details please go to "
                               "https://aka.ms/ARMResourceNotFoundFix");
  };

  router.add("GET", one, [this, not_found](Request& req, const RouteParams& p) {
    if (auto e = arm::check_group_access(req, *arm_.subscriptions, *arm_.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    auto r = resources_.get(*arm::ResourceId::parse(req.path));
    if (!r) return not_found(p);
    return arm::arm_json(200, vault_json(*r));
  });

  auto write = [this, not_found](Request& req, const RouteParams& p, bool patch) -> Response {
    if (auto e = arm::check_group_access(req, *arm_.subscriptions, *arm_.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    const std::string name = p.get("name");
    if (!is_valid_vault_name(name))
      return http::arm_error(400, "VaultNameNotValid",
                             "The vault name '" + name +
                                 "' is invalid. A vault's name must be between 3-24 "
                                 "alphanumeric characters. The name must begin with a letter, "
                                 "end with a letter or digit, and not contain consecutive "
                                 "hyphens.");
    json body;
    if (auto e = arm::parse_json_object(req, body)) return *e;
    json props = body.contains("properties") ? body["properties"] : json();
    if (!props.is_null() && !props.is_object())
      return bad_request("The property 'properties' must be an object.");
    if (props.is_null()) {
      if (!patch) return bad_request("The property 'properties' is required.");
      props = json::object();
    }
    const auto id = *arm::ResourceId::parse(req.path);

    settle_purge(name);
    std::lock_guard lock(mu_);
    purge_expired();
    auto existing = resources_.get(id);
    if (patch && !existing) return not_found(p);
    const bool recover = props.value("createMode", "default") == "recover";

    arm::TrackedResource r;
    json merged;
    if (!existing) {
      auto deleted = deleted_.find(http::to_lower(name));
      if (recover) {
        if (deleted == deleted_.end())
          return bad_request("There is no deleted vault named '" + name + "' to recover.");
        if (!(deleted->second.vault.id == id))
          return http::arm_error(409, "ConflictError",
                                 "The deleted vault '" + name + "' belongs to '" +
                                     deleted->second.vault.id.str() + "'; recover it there.");
        r = deleted->second.vault;
        deleted_.erase(deleted);
        revision_.bump();
        resources_.put(r, arm::caller_of(req));
        return arm::arm_json(200, vault_json(*resources_.get(id)));
      }
      if (deleted != deleted_.end())
        return http::arm_error(409, "ConflictError",
                               "A vault with the same name already exists in deleted state. You "
                               "need to either recover or purge existing key vault. Follow this "
                               "link https://go.microsoft.com/fwlink/?linkid=2149745 for more "
                               "information on soft delete.");
      if (name_taken_elsewhere(name, id))
        return http::arm_error(409, "VaultAlreadyExists",
                               "The vault name '" + name +
                                   "' is already in use. Vault names are globally unique so it "
                                   "is possible that the name is already taken.");
      merged = new_vault_properties();
      r.id = id;
      r.type = kVaultType;
    } else {
      r = *existing;
      merged = existing->body["properties"];
    }
    if (auto e = merge_vault_properties(merged, props, existing.has_value(), name))
      return http::arm_error(400, e->code, e->message);

    if (auto e = arm::read_location_and_tags(body, patch, existing.has_value(), r)) return *e;
    r.body = {{"properties", merged}};
    const bool created = resources_.put(r, arm::caller_of(req));
    json answer = vault_json(*resources_.get(id));
    // A new vault answers 200 while its DNS name is being registered; the SDKs' pollers read it
    // back until Succeeded, which the emulator's vault is at once (azure-cli's recordings of a
    // vault PUT: 200 with "RegisteringDns", then a GET with "Succeeded").
    if (created) answer["properties"]["provisioningState"] = "RegisteringDns";
    return arm::arm_json(200, answer);
  };
  router.add("PUT", one,
             [write](Request& req, const RouteParams& p) { return write(req, p, false); });
  router.add("PATCH", one,
             [write](Request& req, const RouteParams& p) { return write(req, p, true); });

  router.add("DELETE", one, [this](Request& req, const RouteParams& p) {
    if (auto e = arm::check_group_access(req, *arm_.subscriptions, *arm_.groups, p.get("sub"),
                                         p.get("rg")))
      return *e;
    const auto id = *arm::ResourceId::parse(req.path);
    Response res;
    res.status = 204;
    auto r = resources_.get(id);
    if (!r) return res;
    retain_deleted(*r);
    resources_.remove(id);
    res.status = 200;
    return res;
  });

  auto list = [this](Request& req, const RouteParams& p) {
    const std::string rg = p.get("rg");
    if (auto e = rg.empty() ? arm::check_subscription_access(req, *arm_.subscriptions, p.get("sub"))
                            : arm::check_group_access(req, *arm_.subscriptions, *arm_.groups,
                                                      p.get("sub"), rg))
      return *e;
    std::vector<json> items;
    for (const auto& r : resources_.list(p.get("sub"), rg, kVaultType))
      items.push_back(vault_json(r));
    return arm::arm_json(200, arm::list_page(req, items));
  };
  router.add("GET", kBase, list);
  router.add("GET", "/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults", list);

  router.add(
      "PUT", one + "/accessPolicies/{kind}", [this, not_found](Request& req, const RouteParams& p) {
        if (auto e = arm::check_group_access(req, *arm_.subscriptions, *arm_.groups, p.get("sub"),
                                             p.get("rg")))
          return *e;
        const std::string kind = http::to_lower(p.get("kind"));
        if (kind != "add" && kind != "replace" && kind != "remove")
          return bad_request("The access policy operation '" + p.get("kind") +
                             "' is not one of add, replace, remove.");
        json body;
        if (auto e = arm::parse_json_object(req, body)) return *e;
        const json changes = body.contains("properties") && body["properties"].is_object()
                                 ? body["properties"].value("accessPolicies", json())
                                 : json();
        if (!changes.is_array())
          return bad_request("The property 'properties.accessPolicies' is required.");
        for (size_t i = 0; i < changes.size(); ++i)
          if (auto e = check_policy(changes[i], i)) return *e;
        json result;
        const auto vault_path = req.path.substr(0, req.path.rfind("/accessPolicies"));
        const auto id = *arm::ResourceId::parse(vault_path);
        const bool found = resources_.update(id, arm::caller_of(req), [&](arm::TrackedResource& v) {
          json& policies = v.body["properties"]["accessPolicies"];
          for (const auto& change : changes) {
            auto it = std::find_if(policies.begin(), policies.end(),
                                   [&](const json& e) { return same_entry(e, change); });
            if (it == policies.end()) {
              if (kind != "remove") policies.push_back(change);
              continue;
            }
            (*it)["permissions"] =
                combine_permissions((*it)["permissions"], change["permissions"], kind);
            if (!has_permissions((*it)["permissions"])) policies.erase(it);
          }
          result = policies;
          return true;
        });
        if (!found) return not_found(p);
        return arm::arm_json(200, {{"id", id.str() + "/accessPolicies/"},
                                   {"type", "Microsoft.KeyVault/vaults/accessPolicies"},
                                   {"properties", {{"accessPolicies", result}}}});
      });

  router.add("POST", "/subscriptions/{sub}/providers/Microsoft.KeyVault/checkNameAvailability",
             [this](Request& req, const RouteParams& p) {
               if (auto e = arm::check_subscription_access(req, *arm_.subscriptions, p.get("sub")))
                 return *e;
               json body;
               if (auto e = arm::parse_json_object(req, body)) return *e;
               const std::string name = body.value("name", "");
               if (!is_valid_vault_name(name))
                 return arm::arm_json(200, {{"nameAvailable", false},
                                            {"reason", "AccountNameInvalid"},
                                            {"message", "Vault name '" + name + "' is invalid."}});
               const bool taken = find_vault_by_name(name).has_value() || find_deleted(name);
               if (taken)
                 return arm::arm_json(
                     200, {{"nameAvailable", false},
                           {"reason", "AlreadyExists"},
                           {"message", "The vault name '" + name + "' is already in use."}});
               return arm::arm_json(200, {{"nameAvailable", true}});
             });

  router.add("GET", "/subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults",
             [this](Request& req, const RouteParams& p) {
               if (auto e = arm::check_subscription_access(req, *arm_.subscriptions, p.get("sub")))
                 return *e;
               for (const auto& d : deleted_vaults()) settle_purge(d.vault.id.name());
               std::lock_guard lock(mu_);
               purge_expired();
               json value = json::array();
               for (const auto& [name, d] : deleted_)
                 if (iequals(d.vault.id.subscription, p.get("sub"))) value.push_back(d.to_json());
               return arm::arm_json(200, {{"value", value}});
             });

  // Managed HSMs are not emulated; `az keyvault list-deleted` asks for them beside vaults.
  router.add("GET", "/subscriptions/{sub}/providers/Microsoft.KeyVault/deletedManagedHSMs",
             [this](Request& req, const RouteParams& p) {
               if (auto e = arm::check_subscription_access(req, *arm_.subscriptions, p.get("sub")))
                 return *e;
               return arm::arm_json(200, {{"value", json::array()}});
             });

  const std::string deleted_one =
      "/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{loc}/deletedVaults/{name}";
  auto deleted_not_found = [](const RouteParams& p) {
    return http::arm_error(404, "ResourceNotFound",
                           "The deleted vault '" + p.get("name") + "' was not found in location '" +
                               p.get("loc") + "'.");
  };
  router.add("GET", deleted_one, [this, deleted_not_found](Request& req, const RouteParams& p) {
    if (auto e = arm::check_subscription_access(req, *arm_.subscriptions, p.get("sub"))) return *e;
    auto d = find_deleted(p.get("name"));
    if (!d || !iequals(d->vault.id.subscription, p.get("sub")) ||
        d->vault.location != arm::normalize_location(p.get("loc")))
      return deleted_not_found(p);
    return arm::arm_json(200, d->to_json());
  });
  // Purge is a long-running operation: 202 with a Location under the vault's region, which
  // answers 202 {"status": "NotStarted"} until the vault is gone and then 200 {"status":
  // "Succeeded"} (azure-cli's recording of `az keyvault purge`, api-version 2023-02-01).
  router.add(
      "POST", deleted_one + "/purge",
      [this, deleted_not_found](Request& req, const RouteParams& p) {
        if (auto e = arm::check_subscription_access(req, *arm_.subscriptions, p.get("sub")))
          return *e;
        std::string key, location, deleted_id;
        TimePoint deleted_at{};
        settle_purge(p.get("name"));
        {
          std::lock_guard lock(mu_);
          purge_expired();
          auto it = deleted_.find(http::to_lower(p.get("name")));
          if (it == deleted_.end() || !iequals(it->second.vault.id.subscription, p.get("sub")) ||
              it->second.vault.location != arm::normalize_location(p.get("loc")))
            return deleted_not_found(p);
          if (it->second.vault.body["properties"].value("enablePurgeProtection", false))
            return http::arm_error(409, "ConflictError",
                                   "The vault '" + p.get("name") +
                                       "' has purge protection enabled; it cannot be purged before "
                                       "its scheduled purge date " +
                                       to_iso8601(it->second.scheduled_purge_at) + ".");
          key = it->first;
          location = it->second.vault.location;
          deleted_at = it->second.deleted_at;
          deleted_id = http::to_lower(it->second.to_json()["id"].get<std::string>());
        }
        // Started without mu_ held: an immediate policy runs the completion inside start().
        const std::string op = arm_.operations->start(
            deleted_id, "VaultPurge", location,
            arm_.lro_policies->get("Microsoft.KeyVault/deletedVaults", "action"),
            [this, key, deleted_at]() -> std::optional<arm::OperationError> {
              std::string purged;
              {
                std::lock_guard lock(mu_);
                // Recovered meanwhile, or deleted again since: nothing of this purge's left to do.
                auto it = deleted_.find(key);
                if (it == deleted_.end() || it->second.deleted_at != deleted_at)
                  return std::nullopt;
                purged = it->second.vault.id.name();
                deleted_.erase(it);
                revision_.bump();
              }
              if (on_purged_) on_purged_(purged);
              return std::nullopt;
            });
        Response r;
        r.status = 202;
        r.set_header("Location",
                     req.base_url() + "/subscriptions/" + p.get("sub") +
                         "/providers/Microsoft.KeyVault/locations/" + location +
                         "/operationResults/" + op + "?api-version=" +
                         http::percent_encode(req.query_param("api-version").value_or("")));
        r.set_header("Retry-After", "1");
        return r;
      });

  router.add(
      "GET",
      "/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{loc}/operationResults/{op}",
      [this](Request& req, const RouteParams& p) {
        if (auto e = arm::check_subscription_access(req, *arm_.subscriptions, p.get("sub")))
          return *e;
        auto op = arm_.operations->poll(p.get("op"));
        if (!op)
          return http::arm_error(404, "OperationNotFound",
                                 "The operation '" + p.get("op") + "' could not be found.");
        // Key Vault's own time format here: "2023-07-04 09:00:41Z".
        auto when = [](TimePoint t) {
          std::string s = to_iso8601(t);
          s[10] = ' ';
          return s.substr(0, 19) + "Z";
        };
        json j = {{"createdDateTime", when(op->started_at)}};
        if (op->status == arm::OperationStatus::Running) {
          j["status"] = "NotStarted";
          Response r = arm::arm_json(202, j);
          r.set_header("Location", req.base_url() + req.raw_target);
          r.set_header("Retry-After", "1");
          return r;
        }
        if (op->ended_at) j["lastActionDateTime"] = when(*op->ended_at);
        j["status"] = arm::operation_status_name(op->status);
        if (op->error) j["error"] = {{"code", op->error->code}, {"message", op->error->message}};
        return arm::arm_json(200, j);
      });
}

}  // namespace cmk::keyvault_mgmt
