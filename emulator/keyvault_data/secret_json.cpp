#include "keyvault_data/secret_json.h"

#include <cmath>

namespace cmk::keyvault_data {

using nlohmann::json;

namespace {

json attributes_json(const SecretView& s, const AttributeSet& set) {
  const SecretAttributes& a = s.attributes;
  json j = {{"enabled", a.enabled}};
  if (a.nbf) j["nbf"] = *a.nbf;
  if (a.exp) j["exp"] = *a.exp;
  j["created"] = a.created;
  j["updated"] = a.updated;
  j["recoveryLevel"] = s.recovery_level;
  if (set.recoverable_days) j["recoverableDays"] = s.recoverable_days;
  return j;
}

json common_json(const SecretView& s, const std::string& vault_url, bool with_version,
                 const AttributeSet& set) {
  json j = json::object();
  if (s.value) j["value"] = *s.value;
  if (s.content_type) j["contentType"] = *s.content_type;
  j["id"] = vault_url + "/secrets/" + s.name + (with_version ? "/" + s.version : "");
  j["attributes"] = attributes_json(s, set);
  if (!s.tags.empty()) j["tags"] = s.tags;
  if (s.kid) j["kid"] = *s.kid;
  if (s.managed) j["managed"] = true;
  return j;
}

void add_recovery(json& j, const SecretView& s, const std::string& vault_url) {
  j["recoveryId"] = vault_url + "/deletedsecrets/" + s.name;
  if (s.deleted_date) j["deletedDate"] = *s.deleted_date;
  if (s.scheduled_purge_date) j["scheduledPurgeDate"] = *s.scheduled_purge_date;
}

SecretError wrong_type(const std::string& name, const char* what) {
  return {SecretErrorKind::BadParameter, "The property '" + name + "' must be " + what + "."};
}

// An integer member: JSON integers, and numbers with no fraction (JavaScript clients).
SecretResult<std::optional<int64_t>> read_int(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15)
      return std::optional<int64_t>(static_cast<int64_t>(d));
  }
  return wrong_type(name, "an integer");
}

SecretResult<std::optional<std::string>> read_opt_string(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return wrong_type(name, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

SecretResult<SecretAttributesInput> read_attributes(const json& body) {
  SecretAttributesInput in;
  auto it = body.find("attributes");
  if (it == body.end() || it->is_null()) return in;
  if (!it->is_object()) return wrong_type("attributes", "an object");
  if (auto e = it->find("enabled"); e != it->end() && !e->is_null()) {
    if (!e->is_boolean()) return wrong_type("attributes.enabled", "a boolean");
    in.enabled = e->get<bool>();
  }
  auto nbf = read_int(*it, "nbf");
  if (!nbf) return wrong_type("attributes.nbf", "an integer (Unix seconds)");
  auto exp = read_int(*it, "exp");
  if (!exp) return wrong_type("attributes.exp", "an integer (Unix seconds)");
  in.nbf = *nbf;
  in.exp = *exp;
  return in;
}

SecretResult<std::optional<json>> read_tags(const json& body) {
  auto it = body.find("tags");
  if (it == body.end() || it->is_null()) return std::optional<json>();
  if (!it->is_object()) return wrong_type("tags", "an object of strings");
  return std::optional<json>(*it);
}

}  // namespace

json secret_bundle_json(const SecretView& s, const std::string& vault_url, const AttributeSet& a) {
  return common_json(s, vault_url, true, a);
}

json deleted_secret_bundle_json(const SecretView& s, const std::string& vault_url,
                                const AttributeSet& a) {
  json j = common_json(s, vault_url, true, a);
  add_recovery(j, s, vault_url);
  return j;
}

json secret_item_json(const SecretView& s, const std::string& vault_url, bool with_version,
                      const AttributeSet& a) {
  SecretView item = s;
  item.value.reset();  // lists never carry values
  return common_json(item, vault_url, with_version, a);
}

json deleted_secret_item_json(const SecretView& s, const std::string& vault_url,
                              const AttributeSet& a) {
  json j = secret_item_json(s, vault_url, false, a);
  add_recovery(j, s, vault_url);
  return j;
}

SecretResult<SetSecretRequest> read_set_secret_request(const json& body) {
  SetSecretRequest r;
  auto v = body.find("value");
  if (v == body.end() || !v->is_string())
    return SecretError{SecretErrorKind::BadParameter,
                       "The property 'value' is required and must be a string."};
  r.value = v->get<std::string>();
  auto ct = read_opt_string(body, "contentType");
  if (!ct) return ct.error();
  r.content_type = *ct;
  auto attrs = read_attributes(body);
  if (!attrs) return attrs.error();
  r.attributes = *attrs;
  auto tags = read_tags(body);
  if (!tags) return tags.error();
  r.tags = *tags;
  return r;
}

SecretResult<UpdateSecretRequest> read_update_secret_request(const json& body) {
  UpdateSecretRequest r;
  auto ct = read_opt_string(body, "contentType");
  if (!ct) return ct.error();
  r.content_type = *ct;
  auto attrs = read_attributes(body);
  if (!attrs) return attrs.error();
  r.attributes = *attrs;
  auto tags = read_tags(body);
  if (!tags) return tags.error();
  r.tags = *tags;
  return r;
}

}  // namespace cmk::keyvault_data
