#include "state/fixture.h"

#include "faults/fault_rules.h"

#include <fstream>
#include <set>
#include <sstream>

#include "http/message.h"

namespace cmk::state {

using nlohmann::json;

namespace {

// Walks a parsed document, remembering where it is so every complaint can say so.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status fail(const std::string& path, const std::string& problem) const {
    return Status::error(source_ + ": " + path + ": " + problem);
  }

  Status check_keys(const json& obj, const std::string& path,
                    const std::set<std::string>& allowed) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (!allowed.count(it.key())) {
        std::string list;
        for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
        return fail(path + "." + it.key(), "unknown key (expected one of: " + list + ")");
      }
    }
    return Status::ok();
  }

  // Reads an optional string member; `required` makes absence an error.
  Status string(const json& obj, const std::string& path, const char* key, std::string& out,
                bool required) const {
    auto it = obj.find(key);
    if (it == obj.end()) return required ? fail(path + "." + key, "is required") : Status::ok();
    if (!it->is_string()) return fail(path + "." + key, "must be a string");
    out = it->get<std::string>();
    return Status::ok();
  }

  Status guid(const json& obj, const std::string& path, const char* key, std::string& out,
              bool required) const {
    if (auto s = string(obj, path, key, out, required); !s) return s;
    if (out.empty() && !required) return Status::ok();
    if (!entra::is_guid(out)) return fail(path + "." + key, "must be a GUID (got \"" + out + "\")");
    out = http::to_lower(out);
    return Status::ok();
  }

  Status string_list(const json& obj, const std::string& path, const char* key,
                     std::vector<std::string>& out) const {
    auto it = obj.find(key);
    if (it == obj.end()) return Status::ok();
    if (!it->is_array()) return fail(path + "." + key, "must be an array of strings");
    for (size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_string())
        return fail(path + "." + key + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back((*it)[i].get<std::string>());
    }
    return Status::ok();
  }

 private:
  std::string source_;
};

std::string describe_parse_error(const std::string& text, const json::parse_error& e) {
  // nlohmann reports a byte offset; people want a line and a column.
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  std::string what = e.what();
  if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
  return "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) +
         " (" + what + ")";
}

}  // namespace

Result<Fixture> parse_fixture(const std::string& text, const std::string& source) {
  Reader r(source);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return r.fail("$", describe_parse_error(text, e));
  }
  if (!doc.is_object()) return r.fail("$", "a fixture must be a JSON object");
  if (auto s = r.check_keys(doc, "$",
                            {"$schema", "version", "description", "tenants", "subscriptions",
                             "servicePrincipals", "lroPolicies", "faults"});
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
    if (auto c = r.check_keys(o, p, {"appId", "objectId", "tenantId", "displayName", "secrets",
                                     "certificates"});
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
        return r.fail(p + ".certificates[" + std::to_string(i) + "]",
                      "must be a PEM certificate");
    if (sp.display_name.empty()) sp.display_name = "app-" + sp.app_id.substr(0, 8);
    f.service_principals.push_back(std::move(sp));
    return Status::ok();
  });
  if (!s) return s;
  return f;
}

Result<Fixture> load_fixture_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path.string() + ": cannot be read (missing or not permitted)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_fixture(ss.str(), path.string());
}

Status apply_fixtures(const std::vector<Fixture>& fixtures, entra::Directory& directory,
                      arm::SubscriptionRegistry& subscriptions) {
  for (const auto& f : fixtures) {
    for (const auto& t : f.tenants) directory.put_tenant(t);
    // Principals without a tenant belong to the first tenant known at this point.
    std::string first_tenant;
    if (auto all = directory.tenants(); !all.empty()) first_tenant = all.front().id;
    for (size_t i = 0; i < f.subscriptions.size(); ++i) {
      const auto& sub = f.subscriptions[i];
      if (!directory.find_tenant(sub.tenant_id))
        return Status::error(f.source + ": $.subscriptions[" + std::to_string(i) +
                             "].tenantId: no tenant '" + sub.tenant_id +
                             "' is defined (add it under $.tenants)");
      subscriptions.put(sub);
    }
    for (size_t i = 0; i < f.service_principals.size(); ++i) {
      auto sp = f.service_principals[i];
      if (sp.tenant_id.empty()) sp.tenant_id = first_tenant;
      if (sp.tenant_id.empty() || !directory.find_tenant(sp.tenant_id))
        return Status::error(f.source + ": $.servicePrincipals[" + std::to_string(i) +
                             "].tenantId: no tenant '" + sp.tenant_id +
                             "' is defined (add it under $.tenants)");
      directory.put_service_principal(std::move(sp));
    }
  }
  return Status::ok();
}

}  // namespace cmk::state
