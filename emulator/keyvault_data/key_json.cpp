#include "keyvault_data/key_json.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "common/base64.h"
#include "common/openssl_util.h"

namespace cmk::keyvault_data {

using nlohmann::json;

namespace {

json attributes_json(const KeyView& k, const AttributeSet& set) {
  const KeyAttributes& a = k.attributes;
  json j = {{"enabled", a.enabled}};
  if (a.nbf) j["nbf"] = *a.nbf;
  if (a.exp) j["exp"] = *a.exp;
  j["created"] = a.created;
  j["updated"] = a.updated;
  j["recoveryLevel"] = k.recovery_level;
  if (set.recoverable_days) j["recoverableDays"] = k.recoverable_days;
  if (set.exportable) j["exportable"] = a.exportable;
  if (set.hsm_platform) {
    const bool hsm = k.kty.size() > 4 && k.kty.compare(k.kty.size() - 4, 4, "-HSM") == 0;
    j["hsmPlatform"] = hsm ? "2" : "0";
  }
  return j;
}

std::string key_url(const std::string& vault_url, const KeyView& k, bool with_version) {
  std::string url = vault_url + "/keys/" + k.name;
  if (with_version) url += "/" + k.version;
  return url;
}

void add_recovery(json& j, const KeyView& k, const std::string& vault_url) {
  j["recoveryId"] = vault_url + "/deletedkeys/" + k.name;
  if (k.deleted_date) j["deletedDate"] = *k.deleted_date;
  if (k.scheduled_purge_date) j["scheduledPurgeDate"] = *k.scheduled_purge_date;
}

KeyError wrong_type(const std::string& name, const char* what) {
  return bad_parameter("The property '" + name + "' must be " + what + ".");
}

// An integer member: JSON integers, and numbers with no fraction (JavaScript clients).
KeyResult<std::optional<int64_t>> read_int(const json& body, const char* name) {
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

KeyResult<std::optional<bool>> read_bool(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return wrong_type(name, "a boolean");
  return std::optional<bool>(it->get<bool>());
}

KeyResult<std::optional<std::string>> read_opt_string(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return wrong_type(name, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

KeyResult<std::optional<std::vector<std::string>>> read_ops(const json& body) {
  auto it = body.find("key_ops");
  if (it == body.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) return wrong_type("key_ops", "an array of strings");
  std::vector<std::string> ops;
  for (const auto& op : *it) {
    if (!op.is_string()) return wrong_type("key_ops", "an array of strings");
    ops.push_back(op.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(ops));
}

KeyResult<AttributesInput> read_attributes(const json& body) {
  AttributesInput a;
  auto it = body.find("attributes");
  if (it == body.end() || it->is_null()) return a;
  if (!it->is_object()) return wrong_type("attributes", "an object");
  auto enabled = read_bool(*it, "enabled");
  if (!enabled) return enabled.error();
  auto nbf = read_int(*it, "nbf");
  if (!nbf) return nbf.error();
  auto exp = read_int(*it, "exp");
  if (!exp) return exp.error();
  auto exportable = read_bool(*it, "exportable");
  if (!exportable) return exportable.error();
  a.enabled = *enabled;
  a.nbf = *nbf;
  a.exp = *exp;
  a.exportable = *exportable;
  return a;
}

std::optional<json> member_or_null(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  return *it;
}

}  // namespace

AttributeSet attribute_set_for(const std::string& api_version) {
  AttributeSet set;
  if (api_version == "2015-06-01" || api_version == "2016-10-01") return {false, false, false};
  // "7.<minor>" with an optional "-preview..." suffix.
  if (api_version.size() >= 3 && api_version.compare(0, 2, "7.") == 0 &&
      std::isdigit(static_cast<unsigned char>(api_version[2]))) {
    const int minor = std::atoi(api_version.c_str() + 2);
    set.recoverable_days = minor >= 1;
    set.exportable = minor >= 4;
    set.hsm_platform = minor >= 5;
  }
  return set;
}

json key_bundle_json(const KeyView& k, const std::string& vault_url, const AttributeSet& a) {
  json key = {{"kid", key_url(vault_url, k, true)}, {"kty", k.kty}, {"key_ops", k.key_ops}};
  for (auto it = k.public_jwk.begin(); it != k.public_jwk.end(); ++it) key[it.key()] = it.value();
  json j = {{"key", key}, {"attributes", attributes_json(k, a)}};
  if (!k.tags.empty()) j["tags"] = k.tags;
  if (k.release_policy) j["release_policy"] = *k.release_policy;
  return j;
}

json deleted_key_bundle_json(const KeyView& k, const std::string& vault_url,
                             const AttributeSet& a) {
  json j = key_bundle_json(k, vault_url, a);
  if (k.deleted_date) add_recovery(j, k, vault_url);
  return j;
}

json key_item_json(const KeyView& k, const std::string& vault_url, bool with_version,
                   const AttributeSet& a) {
  json j = {{"kid", key_url(vault_url, k, with_version)}, {"attributes", attributes_json(k, a)}};
  if (!k.tags.empty()) j["tags"] = k.tags;
  return j;
}

json deleted_key_item_json(const KeyView& k, const std::string& vault_url, const AttributeSet& a) {
  json j = key_item_json(k, vault_url, false, a);
  add_recovery(j, k, vault_url);
  return j;
}

json rotation_policy_json(const RotationPolicy& p, const std::string& vault_url,
                          const std::string& key_name) {
  json actions = json::array();
  for (const auto& a : p.lifetime_actions) {
    json trigger = json::object();
    if (a.time_after_create) trigger["timeAfterCreate"] = *a.time_after_create;
    if (a.time_before_expiry) trigger["timeBeforeExpiry"] = *a.time_before_expiry;
    actions.push_back({{"trigger", trigger}, {"action", {{"type", a.type}}}});
  }
  if (!p.created) return {{"lifetimeActions", actions}, {"attributes", nullptr}};
  json attributes = json::object();
  if (p.expiry_time) attributes["expiryTime"] = *p.expiry_time;
  if (p.created) attributes["created"] = *p.created;
  if (p.updated) attributes["updated"] = *p.updated;
  return {{"id", vault_url + "/keys/" + key_name + "/rotationpolicy"},
          {"lifetimeActions", actions},
          {"attributes", attributes}};
}

void wipe_private_members(json& jwk) {
  if (!jwk.is_object()) return;
  for (const char* name : {"d", "p", "q", "dp", "dq", "qi", "k"})
    if (auto it = jwk.find(name); it != jwk.end() && it->is_string())
      wipe(it->get_ref<std::string&>());
}

KeyResult<std::string> read_string(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null())
    return bad_parameter(std::string("The property '") + name + "' is required.");
  if (!it->is_string()) return wrong_type(name, "a string");
  return it->get<std::string>();
}

KeyResult<std::optional<std::string>> read_optional_binary(const json& body, const char* name) {
  auto text = read_opt_string(body, name);
  if (!text) return text.error();
  if (!*text) return std::optional<std::string>();
  auto decoded = base64url_decode(**text);
  if (!decoded)
    return bad_parameter(std::string("The property '") + name + "' is not valid base64url.");
  return std::optional<std::string>(std::move(decoded.value()));
}

KeyResult<std::string> read_binary(const json& body, const char* name) {
  auto v = read_optional_binary(body, name);
  if (!v) return v.error();
  if (!*v) return bad_parameter(std::string("The property '") + name + "' is required.");
  return std::move(**v);
}

KeyResult<CreateKeyRequest> read_create_request(const json& body) {
  CreateKeyRequest r;
  auto kty = read_string(body, "kty");
  if (!kty) return kty.error();
  r.kty = *kty;
  auto size = read_int(body, "key_size");
  if (!size) return size.error();
  if (*size) {
    if (**size < 0 || **size > 65536) return wrong_type("key_size", "a key size in bits");
    r.key_size = static_cast<int>(**size);
  }
  auto exponent = read_int(body, "public_exponent");
  if (!exponent) return exponent.error();
  if (*exponent) {
    if (**exponent < 0) return wrong_type("public_exponent", "a positive integer");
    r.public_exponent = static_cast<unsigned long>(**exponent);
  }
  auto crv = read_opt_string(body, "crv");
  if (!crv) return crv.error();
  r.crv = *crv;
  auto ops = read_ops(body);
  if (!ops) return ops.error();
  r.key_ops = *ops;
  auto attributes = read_attributes(body);
  if (!attributes) return attributes.error();
  r.attributes = *attributes;
  r.tags = member_or_null(body, "tags");
  r.release_policy = member_or_null(body, "release_policy");
  return r;
}

KeyResult<ImportKeyRequest> read_import_request(const json& body) {
  ImportKeyRequest r;
  auto key = body.find("key");
  if (key == body.end() || key->is_null()) return bad_parameter("The property 'key' is required.");
  if (!key->is_object()) return wrong_type("key", "a JSON Web Key object");
  r.jwk = *key;
  auto hsm = read_bool(body, "Hsm");
  if (!hsm) return hsm.error();
  r.hsm = hsm->value_or(false);
  auto attributes = read_attributes(body);
  if (!attributes) return attributes.error();
  r.attributes = *attributes;
  r.tags = member_or_null(body, "tags");
  r.release_policy = member_or_null(body, "release_policy");
  return r;
}

KeyResult<UpdateKeyRequest> read_update_request(const json& body) {
  UpdateKeyRequest r;
  auto ops = read_ops(body);
  if (!ops) return ops.error();
  r.key_ops = *ops;
  auto attributes = read_attributes(body);
  if (!attributes) return attributes.error();
  r.attributes = *attributes;
  r.tags = member_or_null(body, "tags");
  r.release_policy = member_or_null(body, "release_policy");
  return r;
}

KeyResult<RotationPolicy> read_rotation_policy(const json& body) {
  RotationPolicy p;
  if (auto it = body.find("lifetimeActions"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return wrong_type("lifetimeActions", "an array");
    for (const auto& a : *it) {
      if (!a.is_object()) return wrong_type("lifetimeActions", "an array of objects");
      LifetimeAction la;
      auto action = a.find("action");
      if (action == a.end() || !action->is_object())
        return bad_parameter("Each lifetime action needs an 'action' object with a 'type'.");
      auto type = read_string(*action, "type");
      if (!type) return type.error();
      la.type = *type;
      if (auto trigger = a.find("trigger"); trigger != a.end() && !trigger->is_null()) {
        if (!trigger->is_object()) return wrong_type("trigger", "an object");
        auto after = read_opt_string(*trigger, "timeAfterCreate");
        if (!after) return after.error();
        auto before = read_opt_string(*trigger, "timeBeforeExpiry");
        if (!before) return before.error();
        la.time_after_create = *after;
        la.time_before_expiry = *before;
      }
      p.lifetime_actions.push_back(std::move(la));
    }
  }
  if (auto it = body.find("attributes"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return wrong_type("attributes", "an object");
    auto expiry = read_opt_string(*it, "expiryTime");
    if (!expiry) return expiry.error();
    p.expiry_time = *expiry;
  }
  return p;
}

}  // namespace cmk::keyvault_data
