#include "kusto/cluster_keys.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

#include "arm/resource_id.h"
#include "common/base64.h"
#include "http/host_routing.h"
#include "http/server.h"

namespace cmk::kusto {

using arm::OperationError;
using nlohmann::json;

namespace {

constexpr const char* kKeyVaultApiVersion = "7.4";

OperationError error(std::string code, std::string message) {
  return {std::move(code), std::move(message)};
}

bool is_hex32(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isxdigit(c) != 0;
         });
}

bool is_key_name(const std::string& s) {
  return !s.empty() && s.size() <= 127 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-';
  });
}

std::string string_field(const json& o, const char* name) {
  auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "https://kv1.vault.azure.net[/]" -> host; "" when it is not a vault URI.
std::string vault_host_of(const std::string& uri) {
  const std::string scheme = "https://";
  if (uri.size() <= scheme.size() || !http::iequals(uri.substr(0, scheme.size()), scheme)) return {};
  std::string host = http::to_lower(uri.substr(scheme.size()));
  if (!host.empty() && host.back() == '/') host.pop_back();
  if (host.find('/') != std::string::npos || host.find(':') != std::string::npos) return {};
  for (const std::string suffix : {".vault.azure.net", ".vault.localhost"})
    if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0)
      return host;
  return {};
}

std::string error_code_of(const http::Response& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return {};
  const json& e = body["error"];
  if (e.contains("innererror") && e["innererror"].is_object())
    return string_field(e["innererror"], "code");
  return string_field(e, "code");
}

std::string error_message_of(const http::Response& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object())
    return string_field(body["error"], "message");
  return "HTTP " + std::to_string(r.status);
}

}  // namespace

Outcome<std::optional<KeyVaultProperties>, OperationError> read_key_vault_properties(
    const json& properties) {
  auto it = properties.find("keyVaultProperties");
  if (it == properties.end() || it->is_null() || (it->is_object() && it->empty()))
    return std::optional<KeyVaultProperties>{};
  const json& v = *it;
  KeyVaultProperties kv;
  kv.vault_uri = string_field(v, "keyVaultUri");
  kv.key_name = string_field(v, "keyName");
  kv.key_version = string_field(v, "keyVersion");
  kv.user_identity = string_field(v, "userIdentity");
  // Only empty values (what some SDKs send for "none") are no key at all, like {}.
  if (kv.vault_uri.empty() && kv.key_name.empty() && kv.key_version.empty() &&
      kv.user_identity.empty())
    return std::optional<KeyVaultProperties>{};
  kv.vault_host = vault_host_of(kv.vault_uri);
  if (kv.vault_host.empty())
    return error("InvalidKeyVaultProperties",
                 "keyVaultProperties.keyVaultUri '" + kv.vault_uri +
                     "' is not a key vault URI: use the vault's vaultUri, "
                     "https://<vault name>.vault.azure.net/.");
  kv.vault_name = kv.vault_host.substr(0, kv.vault_host.find('.'));
  if (!is_key_name(kv.key_name))
    return error("InvalidKeyVaultProperties",
                 "keyVaultProperties.keyName '" + kv.key_name +
                     "' is not a key name: 1-127 letters, digits and '-'.");
  if (!kv.key_version.empty() && !is_hex32(kv.key_version))
    return error("InvalidKeyVaultProperties",
                 "keyVaultProperties.keyVersion '" + kv.key_version +
                     "' is not a key version (32 hexadecimal digits); leave it empty to always "
                     "use the newest version.");
  if (!kv.user_identity.empty() && !arm::ResourceId::parse(kv.user_identity))
    return error("InvalidKeyVaultProperties",
                 "keyVaultProperties.userIdentity '" + kv.user_identity +
                     "' is not the resource id of a user-assigned identity; leave it empty to "
                     "use the cluster's system-assigned identity.");
  return std::optional<KeyVaultProperties>(kv);
}

std::optional<OperationError> check_key_identity(const KeyVaultProperties& kv,
                                                 const json& identity) {
  const std::string type = identity.is_object() ? string_field(identity, "type") : "";
  if (kv.user_identity.empty()) {
    if (type.find("SystemAssigned") == std::string::npos)
      return error("SystemIdentityRequired",
                   "keyVaultProperties.userIdentity is empty, so the cluster's system-assigned "
                   "identity would use the key, but the cluster has none: set identity.type to "
                   "'SystemAssigned' or name a user-assigned identity in userIdentity.");
    return std::nullopt;
  }
  if (identity.is_object() && identity.contains("userAssignedIdentities") &&
      identity["userAssignedIdentities"].is_object())
    for (const auto& [id, value] : identity["userAssignedIdentities"].items())
      if (http::iequals(id, kv.user_identity)) return std::nullopt;
  return error("KeyVaultIdentityNotAssigned",
               "keyVaultProperties.userIdentity '" + kv.user_identity +
                   "' is not assigned to the cluster: add it to identity.userAssignedIdentities "
                   "in the same request or before.");
}

ClusterKeys::ClusterKeys(KeyVaultLink link, entra::Directory& directory, const Clock& clock,
                         std::chrono::seconds refresh_interval)
    : link_(std::move(link)),
      directory_(directory),
      clock_(clock),
      default_interval_(refresh_interval) {}

http::Response ClusterKeys::call(const arm::TrackedResource& cluster, const KeyVaultProperties& kv,
                                 const std::string& method, const std::string& path,
                                 const std::string& token, const json& body) {
  http::Request req;
  req.method = method;
  req.listener = http::Listener::Https;
  http::parse_target(req, path + "?api-version=" + kKeyVaultApiVersion, kv.vault_host, 443);
  http::classify(req);
  req.headers.emplace("Authorization", "Bearer " + token);
  req.headers.emplace(http::kEmulatorCallerHeader, cluster.id.str());
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.emplace("Content-Type", "application/json");
  }
  return link_.send(req);
}

Outcome<KeyInUse, OperationError> ClusterKeys::use_key(const arm::TrackedResource& cluster,
                                                       const KeyVaultProperties& kv,
                                                       bool full_checks) {
  const std::string where = "key '" + kv.key_name + "' in vault '" + kv.vault_name + "'";
  auto vault = link_.find_vault(kv.vault_name);
  if (!vault)
    return error("KeyVaultNotFound", "The key vault '" + kv.vault_name + "' (" + kv.vault_uri +
                                         ") does not exist: create it or fix keyVaultUri.");
  if (full_checks) {
    if (arm::normalize_location(vault->location) != arm::normalize_location(cluster.location))
      return error("KeyVaultLocationMismatch",
                   "The key vault '" + kv.vault_name + "' is in '" + vault->location +
                       "' and the cluster in '" + cluster.location +
                       "': use a vault in the cluster's region.");
    const json vp = vault->body.value("properties", json::object());
    if (!vp.value("enableSoftDelete", true))
      return error("KeyVaultSoftDeleteRequired",
                   "The key vault '" + kv.vault_name +
                       "' does not have soft delete enabled: enable soft delete and purge "
                       "protection on the vault.");
    if (!vp.value("enablePurgeProtection", false))
      return error("KeyVaultPurgeProtectionRequired",
                   "The key vault '" + kv.vault_name +
                       "' does not have purge protection enabled: enable it "
                       "(az keyvault update --enable-purge-protection true).");
  }

  const std::string identity_id = kv.user_identity.empty() ? cluster.id.str() : kv.user_identity;
  auto identity = directory_.find_managed_identity_by_resource_id(identity_id);
  if (!identity)
    return error("KeyVaultAccessDenied",
                 "The cluster's " +
                     std::string(kv.user_identity.empty() ? "system-assigned identity"
                                                          : "identity '" + kv.user_identity + "'") +
                     " does not exist, so it cannot reach the " + where + ".");
  auto token = link_.vault_token(*identity);
  if (!token)
    return error("KeyVaultAccessDenied", "The cluster's identity could not get a token for Key "
                                         "Vault: " + token.status().message());

  // The failure of a Key Vault call, in the cluster's words.
  auto failed = [&](const http::Response& r, const std::string& what) {
    const std::string code = error_code_of(r);
    const std::string detail = " (Key Vault: " + error_message_of(r) + ")";
    if (r.status == 401 || (r.status == 403 && code != "KeyDisabled" && code != "KeyExpired" &&
                            code != "KeyNotYetValid" && code != "KeyOperationForbidden"))
      return error("KeyVaultAccessDenied",
                   "The cluster's identity (object id " + identity->principal_id + ") may not " +
                       what + " the " + where +
                       ": grant it get, wrapKey and unwrapKey on keys (access policy) or the "
                       "Key Vault Crypto Service Encryption User role." + detail);
    if (r.status == 404)
      return error("KeyNotFound", "The " + where +
                                      (kv.key_version.empty() ? "" : " (version " + kv.key_version + ")") +
                                      " was not found: create it or fix keyName/keyVersion." + detail);
    if (code == "KeyDisabled")
      return error("KeyDisabled", "The " + where + " is disabled: enable it." + detail);
    if (code == "KeyExpired" || code == "KeyNotYetValid")
      return error("KeyExpired", "The " + where +
                                     " is outside its validity period (nbf/exp): extend it or "
                                     "rotate the key." + detail);
    if (code == "KeyOperationForbidden")
      return error("KeyOperationNotPermitted",
                   "The " + where + " does not allow wrapKey and unwrapKey in its key_ops." + detail);
    return error("KeyVaultError", "Key Vault refused to " + what + " the " + where + "." + detail);
  };

  std::string path = "/keys/" + kv.key_name;
  if (!kv.key_version.empty()) path += "/" + kv.key_version;
  const http::Response got = call(cluster, kv, "GET", path, *token, nullptr);
  if (got.status != 200) return failed(got, "read");
  const json key_bundle = json::parse(got.body, nullptr, false);
  const json key = key_bundle.is_object() ? key_bundle.value("key", json::object()) : json::object();
  const std::string kty = string_field(key, "kty");
  auto modulus = base64url_decode(string_field(key, "n"));
  if ((kty != "RSA" && kty != "RSA-HSM") || !modulus || modulus.value().size() != 256)
    return error("UnsupportedKeyType",
                 "The " + where + " is " + (kty.empty() ? "not an RSA key" : kty) +
                     (modulus && kty.rfind("RSA", 0) == 0
                          ? " of " + std::to_string(modulus.value().size() * 8) + " bits"
                          : std::string()) +
                     ": Azure Data Explorer needs an RSA 2048-bit key.");
  const json attributes = key_bundle.value("attributes", json::object());
  if (!attributes.value("enabled", true))
    return error("KeyDisabled", "The " + where + " is disabled: enable it.");
  const std::string kid = string_field(key, "kid");
  const size_t keys_at = kid.find("/keys/");
  if (keys_at == std::string::npos)
    return error("KeyVaultError", "Key Vault answered the " + where + " without a key id.");
  const std::string versioned = kid.substr(keys_at);  // /keys/<name>/<version>

  std::string dek(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(dek.data()), static_cast<int>(dek.size())) != 1)
    return error("KeyVaultError", "No random bytes for the data-encryption key.");
  const http::Response wrapped =
      call(cluster, kv, "POST", versioned + "/wrapkey", *token,
           {{"alg", "RSA-OAEP"}, {"value", base64url_encode(dek)}});
  if (wrapped.status != 200) return failed(wrapped, "wrap a key with");
  const std::string wrapped_value = string_field(json::parse(wrapped.body, nullptr, false), "value");
  const http::Response unwrapped = call(cluster, kv, "POST", versioned + "/unwrapkey", *token,
                                        {{"alg", "RSA-OAEP"}, {"value", wrapped_value}});
  if (unwrapped.status != 200) return failed(unwrapped, "unwrap a key with");
  auto back = base64url_decode(string_field(json::parse(unwrapped.body, nullptr, false), "value"));
  if (!back || back.value() != dek)
    return error("KeyVaultError", "Unwrapping with the " + where + " did not give back the key.");
  std::fill(dek.begin(), dek.end(), '\0');
  return KeyInUse{kid, wrapped_value, clock_.now()};
}

std::optional<OperationError> ClusterKeys::activate(const arm::TrackedResource& cluster) {
  auto kv = read_key_vault_properties(cluster.body.value("properties", json::object()));
  if (!kv) return kv.error();
  if (!kv.value()) {
    forget(cluster.id.key());
    return std::nullopt;
  }
  auto used = use_key(cluster, *kv.value(), /*full_checks=*/true);
  if (!used) return used.error();
  std::lock_guard lock(mu_);
  Tracked& t = tracked_[cluster.id.key()];
  t.cluster_id = cluster.id.str();
  t.key = used.value();
  t.usable = true;
  auto it = intervals_.find(cluster.id.key());
  t.next_check = clock_.now() + (it != intervals_.end() ? it->second : default_interval_);
  revision_.bump();
  return std::nullopt;
}

void ClusterKeys::forget(const std::string& cluster_key) {
  std::lock_guard lock(mu_);
  if (tracked_.erase(cluster_key)) revision_.bump();
}

void ClusterKeys::drop_cluster(const std::string& cluster_key) {
  std::lock_guard lock(mu_);
  const size_t n = tracked_.erase(cluster_key) + intervals_.erase(cluster_key);
  if (n) revision_.bump();
}

std::optional<ClusterKeys::Health> ClusterKeys::refresh_if_due(const arm::TrackedResource& cluster) {
  const std::string key = cluster.id.key();
  const TimePoint now = clock_.now();
  {
    std::lock_guard lock(mu_);
    auto it = tracked_.find(key);
    if (it == tracked_.end() || now < it->second.next_check) return std::nullopt;
    // Claimed: concurrent readers see the old state instead of refreshing twice.
    auto interval = intervals_.find(key);
    it->second.next_check = now + (interval != intervals_.end() ? interval->second : default_interval_);
    revision_.bump();
  }
  Health health;
  auto kv = read_key_vault_properties(cluster.body.value("properties", json::object()));
  if (!kv || !kv.value()) {
    forget(key);
    return std::nullopt;
  }
  auto used = use_key(cluster, *kv.value(), /*full_checks=*/false);
  std::lock_guard lock(mu_);
  auto it = tracked_.find(key);
  if (it == tracked_.end()) return std::nullopt;  // forgotten meanwhile
  if (used) {
    it->second.key = used.value();
  } else {
    health.usable = false;
    health.reason = used.error().code + ": " + used.error().message;
  }
  it->second.usable = health.usable;
  it->second.key.checked_at = now;
  revision_.bump();
  return health;
}

std::optional<KeyInUse> ClusterKeys::key_in_use(const std::string& cluster_key) const {
  std::lock_guard lock(mu_);
  auto it = tracked_.find(cluster_key);
  if (it == tracked_.end()) return std::nullopt;
  return it->second.key;
}

json ClusterKeys::to_json() const {
  std::lock_guard lock(mu_);
  json out = json::array();
  for (const auto& [key, t] : tracked_) {
    auto interval = intervals_.find(key);
    out.push_back({{"cluster", t.cluster_id},
                   {"kid", t.key.kid},
                   {"usable", t.usable},
                   {"checkedAt", to_iso8601(t.key.checked_at)},
                   {"nextCheck", to_iso8601(t.next_check)},
                   {"refreshSeconds",
                    (interval != intervals_.end() ? interval->second : default_interval_).count()}});
  }
  return out;
}

void ClusterKeys::set_refresh_interval(std::chrono::seconds interval) {
  std::lock_guard lock(mu_);
  default_interval_ = interval;
  revision_.bump();
}

void ClusterKeys::set_refresh_interval(const std::string& cluster_key, std::chrono::seconds interval) {
  std::lock_guard lock(mu_);
  intervals_[http::to_lower(cluster_key)] = interval;
  revision_.bump();
}

std::chrono::seconds ClusterKeys::refresh_interval(const std::string& cluster_key) const {
  std::lock_guard lock(mu_);
  auto it = intervals_.find(http::to_lower(cluster_key));
  return it != intervals_.end() ? it->second : default_interval_;
}

json ClusterKeys::snapshot() const {
  std::lock_guard lock(mu_);
  json intervals = json::object();
  for (const auto& [key, s] : intervals_) intervals[key] = s.count();
  json tracked = json::array();
  for (const auto& [key, t] : tracked_)
    tracked.push_back({{"cluster", t.cluster_id},
                       {"kid", t.key.kid},
                       {"wrappedKey", t.key.wrapped_dek},
                       {"checkedAt", to_iso8601(t.key.checked_at)},
                       {"nextCheck", to_iso8601(t.next_check)},
                       {"usable", t.usable}});
  return {{"defaultRefreshSeconds", default_interval_.count()},
          {"refreshSeconds", intervals},
          {"clusters", tracked}};
}

Status ClusterKeys::restore(const json& j, const std::string& path) {
  auto fail = [&](const std::string& where, const std::string& what) {
    return Status::error(path + where + ": " + what);
  };
  if (!j.is_object()) return fail("", "must be an object");
  std::chrono::seconds default_interval = default_interval_;
  if (auto d = j.find("defaultRefreshSeconds"); d != j.end()) {
    if (!d->is_number_integer() || d->get<int64_t>() < 0)
      return fail(".defaultRefreshSeconds", "must be a non-negative integer");
    default_interval = std::chrono::seconds(d->get<int64_t>());
  }
  std::map<std::string, std::chrono::seconds> intervals;
  if (auto r = j.find("refreshSeconds"); r != j.end()) {
    if (!r->is_object()) return fail(".refreshSeconds", "must be an object");
    for (auto it = r->begin(); it != r->end(); ++it) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0)
        return fail(".refreshSeconds." + it.key(), "must be a non-negative integer");
      intervals[http::to_lower(it.key())] = std::chrono::seconds(it->get<int64_t>());
    }
  }
  std::map<std::string, Tracked> tracked;
  if (auto c = j.find("clusters"); c != j.end()) {
    if (!c->is_array()) return fail(".clusters", "must be an array");
    for (size_t i = 0; i < c->size(); ++i) {
      const json& e = (*c)[i];
      const std::string at = ".clusters[" + std::to_string(i) + "]";
      if (!e.is_object()) return fail(at, "must be an object");
      auto str = [&](const char* k) {
        auto it = e.find(k);
        return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      Tracked t;
      t.cluster_id = str("cluster");
      auto id = arm::ResourceId::parse(t.cluster_id);
      if (!id) return fail(at + ".cluster", "must be a cluster's ARM id");
      t.key.kid = str("kid");
      if (t.key.kid.empty()) return fail(at + ".kid", "must be a key identifier");
      t.key.wrapped_dek = str("wrappedKey");
      auto checked = parse_iso8601(str("checkedAt"));
      auto next = parse_iso8601(str("nextCheck"));
      if (!checked) return fail(at + ".checkedAt", "must be an ISO-8601 time");
      if (!next) return fail(at + ".nextCheck", "must be an ISO-8601 time");
      t.key.checked_at = *checked;
      t.next_check = *next;
      auto usable = e.find("usable");
      if (usable == e.end() || !usable->is_boolean()) return fail(at + ".usable", "must be a boolean");
      t.usable = usable->get<bool>();
      tracked[id->key()] = std::move(t);
    }
  }
  std::lock_guard lock(mu_);
  default_interval_ = default_interval;
  intervals_ = std::move(intervals);
  tracked_ = std::move(tracked);
  revision_.bump();
  return Status::ok();
}

}  // namespace cmk::kusto
