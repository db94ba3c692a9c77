#include "state/snapshot.h"

#include <functional>
#include <set>

#include "http/message.h"
#include "state/json_reader.h"

namespace cmk::state {

using nlohmann::json;

namespace {

constexpr const char* kInterruptedCode = "OperationInterrupted";

std::shared_ptr<const std::string> text_of(const json& j) {
  return std::make_shared<const std::string>(j.dump());
}

std::string lower(const std::string& s) {
  return http::to_lower(s);
}

// Where a section's rows go in the export document.
enum class Placement {
  TopArray,     // doc[section] = [row...]
  TopSingle,    // doc[section] = row
  StateArray,   // doc.state[section] = [row...]
  StateSingle,  // doc.state[section] = row
  // doc.state[section][vault]["keys" or, for a row with deletedDate, "deletedKeys"] += row, for
  // rows keyed "<vault>/<key>"; a row keyed "<vault>" is the whole vault (state format 1). The
  // list names are the section's (SectionDef::live_list, deleted_list).
  StateVaultKeys,
};

struct SectionDef {
  const char* name;
  Placement placement;
  bool secret;  // only exported with secrets
  std::function<uint64_t(const StateStores&)> revision;
  // Appends every row.
  std::function<void(const StateStores&, bool secrets, std::vector<StateRow>&)> rows;
  // Sections with many rows say which rows changed (common/revision.h) and read one row by
  // key (nullopt: gone), so persistence writes a change without listing the section.
  std::function<ChangeLog&(const StateStores&)> changes = nullptr;
  std::function<std::optional<StateRow>(const StateStores&, bool secrets, const std::string&)> row =
      nullptr;
  // StateVaultKeys: the lists of a vault's live and deleted objects.
  const char* live_list = "keys";
  const char* deleted_list = "deletedKeys";
  // Whether the emulator has the section's store (null: always).
  bool (*present)(const StateStores&) = nullptr;
};

bool has(const SectionDef& def, const StateStores& s) {
  return !def.present || def.present(s);
}

json service_principal_json(const entra::ServicePrincipal& sp, bool secrets) {
  json j = {{"appId", sp.app_id},
            {"objectId", sp.object_id},
            {"tenantId", sp.tenant_id},
            {"displayName", sp.display_name}};
  if (secrets && !sp.secrets.empty()) j["secrets"] = sp.secrets;
  if (!sp.certificate_pems.empty()) j["certificates"] = sp.certificate_pems;
  if (sp.registered_on_the_fly) j["registeredOnTheFly"] = true;
  return j;
}

json clock_json(const VirtualClock::State& s) {
  if (s.frozen) return {{"frozen", true}, {"at", to_iso8601(s.frozen_at)}};
  return {{"frozen", false},
          {"offsetNanoseconds",
           std::chrono::duration_cast<std::chrono::nanoseconds>(s.offset).count()}};
}

json group_json(const arm::ResourceGroup& g) {
  json j = {{"subscriptionId", g.subscription},
            {"name", g.name},
            {"location", g.location},
            {"provisioningState", g.provisioning_state}};
  if (!g.tags.empty()) j["tags"] = g.tags;
  if (!g.managed_by.empty()) j["managedBy"] = g.managed_by;
  return j;
}

json identity_json(const entra::ManagedIdentity& m) {
  return {
      {"resourceId", m.resource_id},
      {"principalId", m.principal_id},
      {"clientId", m.client_id},
      {"tenantId", m.tenant_id},
      {"kind", m.kind == entra::IdentityKind::SystemAssigned ? "SystemAssigned" : "UserAssigned"}};
}

json assignment_json(const authorization::RoleAssignment& a) {
  return {{"name", a.name},
          {"scope", a.scope},
          {"roleDefinitionId", a.role_definition_id},
          {"principalId", a.principal_id},
          {"principalType", a.principal_type},
          {"createdBy", a.created_by},
          {"createdOn", to_iso8601(a.created_on)}};
}

json operation_json(const arm::Operation& op) {
  json j = {{"id", op.id},
            {"resourceId", op.resource_key},
            {"kind", op.kind},
            {"location", op.location},
            {"startedAt", to_iso8601(op.started_at)},
            {"status", arm::operation_status_name(op.status)}};
  if (op.ended_at) j["endedAt"] = to_iso8601(*op.ended_at);
  if (op.error) j["error"] = {{"code", op.error->code}, {"message", op.error->message}};
  return j;
}

const std::vector<SectionDef>& sections() {
  using Rows = std::vector<StateRow>;
  static const std::vector<SectionDef> defs = {
      {"tenants", Placement::TopArray, false,
       [](const StateStores& s) { return s.directory->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         for (const auto& t : s.directory->tenants())
           out.push_back({lower(t.id), text_of({{"id", t.id},
                                                {"displayName", t.display_name},
                                                {"defaultDomain", t.default_domain}})});
       }},
      {"subscriptions", Placement::TopArray, false,
       [](const StateStores& s) { return s.subscriptions->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         for (const auto& sub : s.subscriptions->all())
           out.push_back({lower(sub.id), text_of({{"id", sub.id},
                                                  {"tenantId", sub.tenant_id},
                                                  {"displayName", sub.display_name},
                                                  {"state", sub.state}})});
       }},
      {"servicePrincipals", Placement::TopArray, false,
       [](const StateStores& s) { return s.directory->revision(); },
       [](const StateStores& s, bool secrets, Rows& out) {
         for (const auto& sp : s.directory->service_principals())
           out.push_back({lower(sp.app_id), text_of(service_principal_json(sp, secrets))});
       }},
      {"lroPolicies", Placement::TopSingle, false,
       [](const StateStores& s) { return s.lro_policies->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         out.push_back({"", text_of(s.lro_policies->to_json())});
       }},
      {"faults", Placement::TopSingle, false,
       [](const StateStores& s) { return s.faults->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         out.push_back({"", text_of(s.faults->definitions())});
       }},
      {"clock", Placement::StateSingle, false,
       [](const StateStores& s) { return s.clock->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         out.push_back({"", text_of(clock_json(s.clock->state()))});
       }},
      {"managedIdentities", Placement::StateArray, false,
       [](const StateStores& s) { return s.directory->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         for (const auto& m : s.directory->managed_identities())
           out.push_back({lower(m.resource_id), text_of(identity_json(m))});
       }},
      {"resourceGroups", Placement::StateArray, false,
       [](const StateStores& s) { return s.groups->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         for (const auto& g : s.groups->all())
           out.push_back({lower(g.subscription) + "/" + lower(g.name), text_of(group_json(g))});
       }},
      {"resources", Placement::StateArray, false,
       [](const StateStores& s) { return s.resources->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         // The store caches each resource's rendering per ETag: nothing is rendered twice.
         for (auto& [key, rendered] : s.resources->all_rendered())
           out.push_back({key, rendered.json});
       },
       [](const StateStores& s) -> ChangeLog& { return s.resources->changes(); },
       [](const StateStores& s, bool, const std::string& key) -> std::optional<StateRow> {
         auto rendered = s.resources->get_rendered(key);
         if (!rendered) return std::nullopt;
         return StateRow{key, rendered->json};
       }},
      {"deletedVaults", Placement::StateArray, false,
       [](const StateStores& s) { return s.vaults->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         for (const auto& d : s.vaults->deleted_vaults())
           out.push_back({lower(d.vault.id.name()),
                          text_of({{"vault", d.vault.to_json()},
                                   {"deletedAt", to_iso8601(d.deleted_at)},
                                   {"scheduledPurgeAt", to_iso8601(d.scheduled_purge_at)}})});
       }},
      {"keys", Placement::StateVaultKeys, false,
       [](const StateStores& s) { return s.keys->revision(); },
       [](const StateStores& s, bool secrets, Rows& out) {
         // One row per key: a write rewrites its key, not its vault.
         for (auto& [row, text] : s.keys->key_rows(secrets))
           out.push_back({row, std::make_shared<const std::string>(std::move(text))});
       },
       [](const StateStores& s) -> ChangeLog& { return s.keys->changes(); },
       [](const StateStores& s, bool secrets, const std::string& key) -> std::optional<StateRow> {
         auto text = s.keys->key_row(key, secrets);
         if (!text) return std::nullopt;
         return StateRow{key, std::make_shared<const std::string>(std::move(*text))};
       }},
      {"vaultSecrets", Placement::StateVaultKeys, false,
       [](const StateStores& s) -> uint64_t { return s.secrets ? s.secrets->revision() : 0; },
       [](const StateStores& s, bool secrets, Rows& out) {
         if (!s.secrets) return;
         for (auto& [row, text] : s.secrets->secret_rows(secrets))
           out.push_back({row, std::make_shared<const std::string>(std::move(text))});
       },
       [](const StateStores& s) -> ChangeLog& { return s.secrets->changes(); },
       [](const StateStores& s, bool secrets, const std::string& key) -> std::optional<StateRow> {
         auto text = s.secrets->secret_row(key, secrets);
         if (!text) return std::nullopt;
         return StateRow{key, std::make_shared<const std::string>(std::move(*text))};
       },
       "secrets", "deletedSecrets", [](const StateStores& s) { return s.secrets != nullptr; }},
      {"vaultCertificates", Placement::StateVaultKeys, false,
       [](const StateStores& s) -> uint64_t {
         return s.certificates ? s.certificates->revision() : 0;
       },
       [](const StateStores& s, bool secrets, Rows& out) {
         if (!s.certificates) return;
         for (auto& [row, text] : s.certificates->certificate_rows(secrets))
           out.push_back({row, std::make_shared<const std::string>(std::move(text))});
       },
       [](const StateStores& s) -> ChangeLog& { return s.certificates->changes(); },
       [](const StateStores& s, bool secrets, const std::string& key) -> std::optional<StateRow> {
         auto text = s.certificates->certificate_row(key, secrets);
         if (!text) return std::nullopt;
         return StateRow{key, std::make_shared<const std::string>(std::move(*text))};
       },
       "certificates", "deletedCertificates",
       [](const StateStores& s) { return s.certificates != nullptr; }},
      {"keyBackupKey", Placement::StateSingle, true,
       [](const StateStores& s) { return s.keys->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         out.push_back({"", text_of(s.keys->export_backup_key())});
       }},
      {"roleAssignments", Placement::StateArray, false,
       [](const StateStores& s) { return s.role_assignments->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         for (const auto& a : s.role_assignments->all())
           out.push_back({lower(a.scope) + "|" + lower(a.name), text_of(assignment_json(a))});
       }},
      {"operations", Placement::StateArray, false,
       [](const StateStores& s) { return s.operations->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         for (const auto& op : s.operations->all())
           out.push_back({op.id, text_of(operation_json(op))});
       },
       [](const StateStores& s) -> ChangeLog& { return s.operations->changes(); },
       [](const StateStores& s, bool, const std::string& id) -> std::optional<StateRow> {
         auto op = s.operations->get(id);
         if (!op) return std::nullopt;
         return StateRow{id, text_of(operation_json(*op))};
       }},
      {"clusterKeys", Placement::StateSingle, false,
       [](const StateStores& s) { return s.cluster_keys->revision(); },
       [](const StateStores& s, bool, Rows& out) {
         out.push_back({"", text_of(s.cluster_keys->snapshot())});
       }},
  };
  return defs;
}

}  // namespace

void track_changes(const StateStores& stores) {
  for (const auto& def : sections())
    if (def.changes && has(def, stores)) def.changes(stores).track();
}

std::vector<SectionRows> collect_sections(const StateStores& stores, bool include_secrets,
                                          const SeenState& seen, bool changes_only) {
  std::vector<SectionRows> out;
  for (const auto& def : sections()) {
    if (def.secret && !include_secrets) continue;
    const uint64_t revision = def.revision(stores);  // before take(): common/revision.h
    if (auto it = seen.revisions.find(def.name);
        it != seen.revisions.end() && it->second == revision)
      continue;
    SectionRows s;
    s.section = def.name;
    s.revision = revision;
    if (changes_only && def.changes && has(def, stores)) {
      ChangeLog::Changes changed = def.changes(stores).take();
      if (!changed.all) {
        s.partial = true;
        for (const auto& key : changed.keys) {
          if (auto row = def.row(stores, include_secrets, key))
            s.rows.push_back(std::move(*row));
          else
            s.removed.push_back(key);
        }
        out.push_back(std::move(s));
        continue;
      }
    }
    def.rows(stores, include_secrets, s.rows);
    std::sort(s.rows.begin(), s.rows.end(),
              [](const StateRow& a, const StateRow& b) { return a.key < b.key; });
    out.push_back(std::move(s));
  }
  return out;
}

uint64_t state_signature(const StateStores& stores) {
  uint64_t sum = 0;
  for (const auto& def : sections()) sum += def.revision(stores);
  return sum;
}

json assemble(const std::vector<SectionRows>& sections_in, bool include_secrets) {
  json doc = {{"version", 1},
              {"description", "cmk-emulator state (GET /_emulator/state)"},
              {"state", {{"secrets", include_secrets}}}};
  std::map<std::string, const SectionDef*> defs;
  for (const auto& d : sections()) defs[d.name] = &d;
  for (const auto& s : sections_in) {
    auto d = defs.find(s.section);
    if (d == defs.end()) continue;
    const Placement where = d->second->placement;
    json& parent =
        (where == Placement::TopArray || where == Placement::TopSingle) ? doc : doc["state"];
    for (const auto& row : s.rows) {
      if (!row.text) continue;
      json value = json::parse(*row.text, nullptr, false);
      if (value.is_discarded()) continue;
      switch (where) {
        case Placement::StateVaultKeys: {
          const size_t slash = row.key.find('/');
          json& vault = parent[s.section][row.key.substr(0, slash)];
          // A row keyed "<vault>" holds the vault's own members (or the whole vault, keys'
          // format 1); rows come ordered by key, but merging does not depend on it.
          if (slash == std::string::npos && vault.is_object() && value.is_object())
            vault.update(value);
          else if (slash == std::string::npos)
            vault = std::move(value);
          else
            vault[value.contains("deletedDate") ? d->second->deleted_list : d->second->live_list]
                .push_back(std::move(value));
          break;
        }
        case Placement::TopArray:
        case Placement::StateArray:
          parent[s.section].push_back(std::move(value));
          break;
        case Placement::TopSingle:
        case Placement::StateSingle:
          parent[s.section] = std::move(value);
          break;
      }
    }
    if ((where == Placement::TopArray || where == Placement::StateArray) &&
        !parent.contains(s.section))
      parent[s.section] = json::array();
    if (where == Placement::StateVaultKeys) {
      if (!parent.contains(s.section)) parent[s.section] = json::object();
      for (auto& [_, vault] : parent[s.section].items())
        for (const char* list : {d->second->live_list, d->second->deleted_list})
          if (vault.is_object() && !vault.contains(list)) vault[list] = json::array();
    }
  }
  return doc;
}

json export_state(const StateStores& stores, bool include_secrets) {
  return assemble(collect_sections(stores, include_secrets), include_secrets);
}

namespace {

// Reads the "state" section into values before anything is applied, naming paths on errors.
class StateReader : public JsonReader {
 public:
  StateReader(const json& state, std::string source)
      : JsonReader(std::move(source)), state_(state) {}

  // Calls `fn(item, path)` for each element of the array `state[name]` (absent = none).
  template <typename Fn>
  Status each(const char* name, Fn&& fn) const {
    auto it = state_.find(name);
    if (it == state_.end()) return Status::ok();
    const std::string base = std::string("$.state.") + name;
    if (!it->is_array()) return fail(base, "must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string path = base + "[" + std::to_string(i) + "]";
      if (!(*it)[i].is_object()) return fail(path, "must be an object");
      if (auto s = fn((*it)[i], path); !s) return s;
    }
    return Status::ok();
  }

  // A string member; a required one must not be empty either (an export never writes "").
  Status text(const json& o, const std::string& path, const char* key, std::string& out,
              bool required = true) const {
    if (auto s = string(o, path, key, out, required); !s) return s;
    if (required && out.empty()) return fail(path + "." + key, "must not be empty");
    return Status::ok();
  }

  Status time(const json& o, const std::string& path, const char* key, TimePoint& out) const {
    std::string t;
    if (auto s = text(o, path, key, t); !s) return s;
    auto parsed = parse_iso8601(t);
    if (!parsed) return fail(path + "." + key, "must be an ISO-8601 time (got \"" + t + "\")");
    out = *parsed;
    return Status::ok();
  }

 private:
  const json& state_;
};

struct ParsedState {
  std::optional<VirtualClock::State> clock;
  std::vector<entra::ManagedIdentity> identities;
  std::vector<arm::ResourceGroup> groups;
  std::vector<arm::TrackedResource> resources;
  std::vector<keyvault_mgmt::DeletedVault> deleted_vaults;
  std::optional<json> keys;
  std::optional<json> secrets;
  std::optional<json> certificates;
  std::optional<std::string> backup_key;
  std::vector<authorization::RoleAssignment> assignments;
  std::vector<arm::Operation> operations;
  std::optional<json> cluster_keys;
};

Result<ParsedState> read_state(const json& state, const std::string& source) {
  StateReader r(state, source);
  if (!state.is_object()) return r.fail("$.state", "must be an object");
  if (auto s = r.check_keys(state, "$.state",
                            {"secrets", "clock", "managedIdentities", "resourceGroups", "resources",
                             "deletedVaults", "keys", "keyBackupKey", "vaultSecrets",
                             "vaultCertificates", "roleAssignments", "operations", "clusterKeys"});
      !s)
    return s;
  ParsedState p;
  if (auto it = state.find("secrets"); it != state.end() && !it->is_boolean())
    return r.fail("$.state.secrets", "must be a boolean");

  if (auto c = state.find("clock"); c != state.end()) {
    const std::string path = "$.state.clock";
    if (!c->is_object()) return r.fail(path, "must be an object");
    if (auto s = r.check_keys(*c, path, {"frozen", "at", "offsetNanoseconds"}); !s) return s;
    auto frozen = c->find("frozen");
    if (frozen == c->end() || !frozen->is_boolean())
      return r.fail(path + ".frozen", "must be a boolean");
    VirtualClock::State cs;
    cs.frozen = frozen->get<bool>();
    if (cs.frozen) {
      if (auto s = r.time(*c, path, "at", cs.frozen_at); !s) return s;
    } else {
      auto off = c->find("offsetNanoseconds");
      if (off == c->end() || !off->is_number_integer())
        return r.fail(path + ".offsetNanoseconds", "must be an integer");
      cs.offset =
          std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(off->get<int64_t>()));
    }
    p.clock = cs;
  }

  Status s = r.each("managedIdentities", [&](const json& o, const std::string& path) -> Status {
    if (auto c =
            r.check_keys(o, path, {"resourceId", "principalId", "clientId", "tenantId", "kind"});
        !c)
      return c;
    entra::ManagedIdentity m;
    for (auto [key, out] :
         {std::pair{"resourceId", &m.resource_id}, std::pair{"principalId", &m.principal_id},
          std::pair{"clientId", &m.client_id}, std::pair{"tenantId", &m.tenant_id}})
      if (auto c = r.text(o, path, key, *out); !c) return c;
    for (auto [key, value] :
         {std::pair{"principalId", m.principal_id}, std::pair{"clientId", m.client_id},
          std::pair{"tenantId", m.tenant_id}})
      if (!entra::is_guid(value)) return r.fail(path + "." + key, "must be a GUID");
    std::string kind;
    if (auto c = r.text(o, path, "kind", kind); !c) return c;
    if (kind != "UserAssigned" && kind != "SystemAssigned")
      return r.fail(path + ".kind", "must be UserAssigned or SystemAssigned");
    m.kind = kind == "SystemAssigned" ? entra::IdentityKind::SystemAssigned
                                      : entra::IdentityKind::UserAssigned;
    p.identities.push_back(std::move(m));
    return Status::ok();
  });
  if (!s) return s;

  s = r.each("resourceGroups", [&](const json& o, const std::string& path) -> Status {
    if (auto c = r.check_keys(
            o, path,
            {"subscriptionId", "name", "location", "tags", "managedBy", "provisioningState"});
        !c)
      return c;
    arm::ResourceGroup g;
    if (auto c = r.text(o, path, "subscriptionId", g.subscription); !c) return c;
    if (auto c = r.text(o, path, "name", g.name); !c) return c;
    if (!arm::is_valid_resource_group_name(g.name))
      return r.fail(path + ".name", "is not a valid resource group name");
    if (auto c = r.text(o, path, "location", g.location); !c) return c;
    if (auto c = r.text(o, path, "managedBy", g.managed_by, false); !c) return c;
    if (auto c = r.text(o, path, "provisioningState", g.provisioning_state); !c) return c;
    if (auto t = o.find("tags"); t != o.end()) {
      if (!t->is_object()) return r.fail(path + ".tags", "must be an object");
      g.tags = *t;
    }
    p.groups.push_back(std::move(g));
    return Status::ok();
  });
  if (!s) return s;

  s = r.each("resources", [&](const json& o, const std::string& path) -> Status {
    auto res = arm::TrackedResource::from_json(o);
    if (!res) return r.fail(path, res.status().message());
    p.resources.push_back(std::move(res.value()));
    return Status::ok();
  });
  if (!s) return s;

  s = r.each("deletedVaults", [&](const json& o, const std::string& path) -> Status {
    if (auto c = r.check_keys(o, path, {"vault", "deletedAt", "scheduledPurgeAt"}); !c) return c;
    keyvault_mgmt::DeletedVault d;
    auto v = arm::TrackedResource::from_json(o.value("vault", json()));
    if (!v) return r.fail(path + ".vault", v.status().message());
    d.vault = std::move(v.value());
    if (auto c = r.time(o, path, "deletedAt", d.deleted_at); !c) return c;
    if (auto c = r.time(o, path, "scheduledPurgeAt", d.scheduled_purge_at); !c) return c;
    p.deleted_vaults.push_back(std::move(d));
    return Status::ok();
  });
  if (!s) return s;

  if (auto k = state.find("keys"); k != state.end()) {
    if (!k->is_object()) return r.fail("$.state.keys", "must be an object");
    p.keys = *k;
  }
  if (auto k = state.find("vaultSecrets"); k != state.end()) {
    if (!k->is_object()) return r.fail("$.state.vaultSecrets", "must be an object");
    p.secrets = *k;
  }
  if (auto k = state.find("vaultCertificates"); k != state.end()) {
    if (!k->is_object()) return r.fail("$.state.vaultCertificates", "must be an object");
    p.certificates = *k;
  }
  if (auto b = state.find("keyBackupKey"); b != state.end()) {
    if (!b->is_string()) return r.fail("$.state.keyBackupKey", "must be a string");
    p.backup_key = b->get<std::string>();
  }

  s = r.each("roleAssignments", [&](const json& o, const std::string& path) -> Status {
    if (auto c = r.check_keys(o, path,
                              {"name", "scope", "roleDefinitionId", "principalId", "principalType",
                               "createdBy", "createdOn"});
        !c)
      return c;
    authorization::RoleAssignment a;
    if (auto c = r.text(o, path, "name", a.name); !c) return c;
    if (auto c = r.text(o, path, "scope", a.scope); !c) return c;
    if (auto c = r.text(o, path, "roleDefinitionId", a.role_definition_id); !c) return c;
    if (auto c = r.text(o, path, "principalId", a.principal_id); !c) return c;
    if (auto c = r.text(o, path, "principalType", a.principal_type, false); !c) return c;
    if (auto c = r.text(o, path, "createdBy", a.created_by, false); !c) return c;
    if (auto c = r.time(o, path, "createdOn", a.created_on); !c) return c;
    if (!authorization::find_role_definition(a.role_definition_id))
      return r.fail(path + ".roleDefinitionId", "names no built-in role");
    p.assignments.push_back(std::move(a));
    return Status::ok();
  });
  if (!s) return s;

  s = r.each("operations", [&](const json& o, const std::string& path) -> Status {
    if (auto c = r.check_keys(
            o, path,
            {"id", "resourceId", "kind", "location", "startedAt", "endedAt", "status", "error"});
        !c)
      return c;
    arm::Operation op;
    if (auto c = r.text(o, path, "id", op.id); !c) return c;
    if (auto c = r.text(o, path, "resourceId", op.resource_key); !c) return c;
    op.resource_key = lower(op.resource_key);
    if (auto c = r.text(o, path, "kind", op.kind); !c) return c;
    if (auto c = r.text(o, path, "location", op.location, false); !c) return c;
    if (auto c = r.time(o, path, "startedAt", op.started_at); !c) return c;
    if (o.contains("endedAt")) {
      TimePoint ended;
      if (auto c = r.time(o, path, "endedAt", ended); !c) return c;
      op.ended_at = ended;
    }
    std::string status;
    if (auto c = r.text(o, path, "status", status); !c) return c;
    static const std::map<std::string, arm::OperationStatus> statuses = {
        {"Running", arm::OperationStatus::Running},
        {"Succeeded", arm::OperationStatus::Succeeded},
        {"Failed", arm::OperationStatus::Failed},
        {"Canceled", arm::OperationStatus::Canceled}};
    auto st = statuses.find(status);
    if (st == statuses.end())
      return r.fail(path + ".status", "must be Running, Succeeded, Failed or Canceled");
    op.status = st->second;
    if (auto e = o.find("error"); e != o.end()) {
      if (!e->is_object()) return r.fail(path + ".error", "must be an object");
      arm::OperationError err;
      if (auto c = r.text(*e, path + ".error", "code", err.code); !c) return c;
      if (auto c = r.text(*e, path + ".error", "message", err.message, false); !c) return c;
      op.error = err;
    }
    p.operations.push_back(std::move(op));
    return Status::ok();
  });
  if (!s) return s;

  if (auto c = state.find("clusterKeys"); c != state.end()) p.cluster_keys = *c;
  return p;
}

// `current` overlaid with `incoming` by `key`: what "adds to or replaces (by key)" means.
template <typename T, typename KeyFn>
std::vector<T> overlay(std::vector<T> current, std::vector<T> incoming, KeyFn key) {
  std::map<std::string, T> by_key;
  for (auto& c : current) {
    std::string k = key(c);
    by_key.insert_or_assign(std::move(k), std::move(c));
  }
  for (auto& i : incoming) {
    std::string k = key(i);
    by_key.insert_or_assign(std::move(k), std::move(i));
  }
  std::vector<T> out;
  out.reserve(by_key.size());
  for (auto& [k, v] : by_key) out.push_back(std::move(v));
  return out;
}

}  // namespace

Status apply_state_section(const json& state, const StateStores& stores,
                           const std::string& source) {
  auto parsed = read_state(state, source);
  if (!parsed) return parsed.status();
  ParsedState& p = parsed.value();

  // Secrets and keys first: their imports check everything (values and material included) and
  // change nothing when they refuse, so a refusal leaves every store as it was. The secrets are
  // checked before the keys change and replaced after.
  json merged_secrets;
  if (p.secrets) {
    if (!stores.secrets)
      return Status::error(source + ": $.state.vaultSecrets: this emulator keeps no secrets");
    merged_secrets = json::object();
    for (const auto& name : stores.secrets->vault_names())
      if (!p.secrets->contains(name))
        merged_secrets[name] = stores.secrets->export_vault(name, true);
    for (auto it = p.secrets->begin(); it != p.secrets->end(); ++it)
      merged_secrets[it.key()] = it.value();
    if (auto s = stores.secrets->check_all(merged_secrets, "$.state.vaultSecrets"); !s)
      return Status::error(source + ": " + s.message());
  }
  if (p.certificates) {
    if (!stores.certificates)
      return Status::error(source +
                           ": $.state.vaultCertificates: this emulator keeps no certificates");
    if (auto s = stores.certificates->check_vaults(*p.certificates, "$.state.vaultCertificates");
        !s)
      return Status::error(source + ": " + s.message());
  }
  if (p.keys) {
    json merged = json::object();
    for (const auto& name : stores.keys->vault_names())
      if (!p.keys->contains(name)) merged[name] = stores.keys->export_vault(name, true);
    for (auto it = p.keys->begin(); it != p.keys->end(); ++it) merged[it.key()] = it.value();
    if (auto s = stores.keys->replace_all(merged, "$.state.keys"); !s)
      return Status::error(source + ": " + s.message());
  }
  if (p.secrets)
    if (auto s = stores.secrets->replace_all(merged_secrets, "$.state.vaultSecrets"); !s)
      return Status::error(source + ": " + s.message());
  // The certificates carry their own keys (the keys and secrets sections hold the copies their
  // kid and sid name), so they go in after both, vault by vault.
  if (p.certificates)
    if (auto s = stores.certificates->replace_vaults(*p.certificates, "$.state.vaultCertificates");
        !s)
      return Status::error(source + ": " + s.message());
  if (p.backup_key)
    if (auto s = stores.keys->import_backup_key(*p.backup_key); !s)
      return Status::error(source + ": $.state.keyBackupKey: " + s.message());
  if (p.cluster_keys) {
    // Overlaid on the clusters already tracked.
    json current = stores.cluster_keys->snapshot();
    json incoming = *p.cluster_keys;
    if (incoming.is_object()) {
      json merged = current;
      if (incoming.contains("defaultRefreshSeconds"))
        merged["defaultRefreshSeconds"] = incoming["defaultRefreshSeconds"];
      if (incoming.contains("refreshSeconds") && incoming["refreshSeconds"].is_object())
        for (auto it = incoming["refreshSeconds"].begin(); it != incoming["refreshSeconds"].end();
             ++it)
          merged["refreshSeconds"][it.key()] = it.value();
      else if (incoming.contains("refreshSeconds"))
        merged["refreshSeconds"] = incoming["refreshSeconds"];
      if (incoming.contains("clusters")) {
        if (!incoming["clusters"].is_array()) {
          merged["clusters"] = incoming["clusters"];
        } else {
          std::set<std::string> replaced;
          for (const auto& c : incoming["clusters"])
            if (c.is_object()) replaced.insert(lower(c.value("cluster", "")));
          json kept = json::array();
          for (const auto& c : current["clusters"])
            if (!replaced.count(lower(c.value("cluster", "")))) kept.push_back(c);
          for (const auto& c : incoming["clusters"]) kept.push_back(c);
          merged["clusters"] = kept;
        }
      }
      incoming = merged;
    }
    if (auto s = stores.cluster_keys->restore(incoming, "$.state.clusterKeys"); !s)
      return Status::error(source + ": " + s.message());
  }

  for (auto& m : p.identities) stores.directory->put_managed_identity(std::move(m));
  stores.groups->replace_all(overlay(
      stores.groups->all(), std::move(p.groups),
      [](const arm::ResourceGroup& g) { return lower(g.subscription) + "/" + lower(g.name); }));
  stores.resources->replace_all(overlay(stores.resources->all(), std::move(p.resources),
                                        [](const arm::TrackedResource& r) { return r.id.key(); }));
  stores.vaults->replace_deleted(
      overlay(stores.vaults->deleted_vaults(), std::move(p.deleted_vaults),
              [](const keyvault_mgmt::DeletedVault& d) { return lower(d.vault.id.name()); }));
  stores.role_assignments->replace_all(overlay(
      stores.role_assignments->all(), std::move(p.assignments),
      [](const authorization::RoleAssignment& a) { return lower(a.scope) + "|" + lower(a.name); }));

  // Operations that were running cannot resume here (their work lived in the process that
  // started them): they end, and their resources show it.
  std::vector<arm::Operation> interrupted;
  const TimePoint now = stores.clock->now();
  for (auto& op : p.operations) {
    op.id = lower(op.id);
    if (arm::is_terminal(op.status)) continue;
    op.status = arm::OperationStatus::Failed;
    op.ended_at = now;
    op.error = arm::OperationError{
        kInterruptedCode,
        "The emulator's state was saved while this operation was running, and reloaded (a "
        "restart or PUT /_emulator/state): its work was not completed. Retry the request."};
    interrupted.push_back(op);
  }
  stores.operations->replace_all(overlay(stores.operations->all(), std::move(p.operations),
                                         [](const arm::Operation& op) { return lower(op.id); }));
  for (const auto& op : interrupted) arm::mark_faulted(*stores.resources, op);
  if (p.clock) stores.clock->set_state(*p.clock);
  return Status::ok();
}

void clear_state(const StateStores& stores) {
  stores.directory->replace_all({}, {}, {});
  stores.subscriptions->replace_all({});
  stores.groups->replace_all({});
  stores.resources->replace_all({});
  stores.vaults->replace_deleted({});
  stores.keys->replace_all(json::object());
  if (stores.secrets) stores.secrets->replace_all(json::object());
  if (stores.certificates) stores.certificates->clear();
  stores.role_assignments->replace_all({});
  stores.operations->replace_all({});
  stores.cluster_keys->restore(json::object(), "$");
  stores.lro_policies->replace({});
  stores.faults->clear();
  stores.clock->set_state({});
}

}  // namespace cmk::state
