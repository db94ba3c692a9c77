#include "keyvault_data/key_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <string_view>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "keyvault_data/backup_seal.h"

namespace cmk::keyvault_data {

using nlohmann::json;

struct KeyStore::Version {
  std::string id;
  std::shared_ptr<const KeyMaterial> material;
  std::string kty;
  std::vector<std::string> key_ops;
  json public_jwk = json::object();
  KeyAttributes attributes;
  json tags = json::object();
  std::optional<json> release_policy;
  // Snapshot caches, made on first use under the vault lock; secret ones are wiped when the
  // last copy goes. private_b64: the material as export_vault() shows it (material never
  // changes); text_*: the version's export_vault() JSON, dumped, without and with the material
  // (reset when the version changes: update()).
  std::shared_ptr<const std::string> private_b64;
  std::shared_ptr<const std::string> text_public;
  std::shared_ptr<const std::string> text_private;
};

struct KeyStore::StoredKey {
  std::string name;
  std::vector<Version> versions;  // in creation order; back() is the latest
  std::optional<RotationPolicy> policy;
};

struct KeyStore::DeletedKey {
  StoredKey key;
  int64_t deleted_date = 0;
  int64_t scheduled_purge_date = 0;
};

struct KeyStore::VaultKeys {
  std::string name;  // lower case
  std::mutex mu;
  std::map<std::string, StoredKey> live;      // by lower-case name
  std::map<std::string, DeletedKey> deleted;  // by lower-case name
};

struct KeyStore::Resolved {
  std::string name;
  std::shared_ptr<const KeyMaterial> material;
  std::string version;
  std::optional<KeyView> view;
};

namespace {

constexpr int64_t kDay = 24 * 3600;
constexpr BlobKind kKeyBlob{"CMKB", "cmk-emulator key backup v1"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool iequal(const std::string& a, const std::string& b) {
  return lower(a) == lower(b);
}

KeyError not_found(const std::string& name, const std::string& version = {}) {
  return {KeyErrorKind::KeyNotFound,
          "A key with (name/id) " + name + (version.empty() ? "" : "/" + version) +
              " was not found in this key vault. If you recently deleted this key you may be "
              "able to recover it using the correct recovery command. For help resolving this "
              "issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"};
}

KeyError deleted_not_found(const std::string& name) {
  return {KeyErrorKind::KeyNotFound,
          "A deleted key with (name/id) " + name + " was not found in this key vault."};
}

KeyError deleted_but_recoverable(const std::string& name) {
  return {KeyErrorKind::DeletedButRecoverable,
          "Key " + name +
              " is currently in a deleted but recoverable state, and its name cannot be reused; "
              "in this state, the key can only be recovered or purged."};
}

struct KtyInfo {
  KeyFamily family;
  bool hsm;
  std::string canonical;
};

std::optional<KtyInfo> parse_kty(const std::string& kty) {
  const std::string l = lower(kty);
  if (l == "rsa") return KtyInfo{KeyFamily::Rsa, false, "RSA"};
  if (l == "rsa-hsm") return KtyInfo{KeyFamily::Rsa, true, "RSA-HSM"};
  if (l == "ec") return KtyInfo{KeyFamily::Ec, false, "EC"};
  if (l == "ec-hsm") return KtyInfo{KeyFamily::Ec, true, "EC-HSM"};
  if (l == "oct") return KtyInfo{KeyFamily::Oct, false, "oct"};
  if (l == "oct-hsm") return KtyInfo{KeyFamily::Oct, true, "oct-HSM"};
  return std::nullopt;
}

const std::vector<std::string>& ops_for(KeyFamily f) {
  static const std::vector<std::string> rsa = {"encrypt", "decrypt", "sign",
                                               "verify",  "wrapKey", "unwrapKey"};
  static const std::vector<std::string> ec = {"sign", "verify"};
  static const std::vector<std::string> oct = {"encrypt", "decrypt", "wrapKey", "unwrapKey"};
  return f == KeyFamily::Rsa ? rsa : f == KeyFamily::Ec ? ec : oct;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "\"" : ", \"") + i + "\"";
  return out;
}

// key_ops checked against the family and put in Key Vault's casing ("wrapkey" -> "wrapKey").
KeyResult<std::vector<std::string>> normalize_ops(
    KeyFamily f, const std::optional<std::vector<std::string>>& in) {
  const auto& allowed = ops_for(f);
  if (!in) return allowed;
  std::vector<std::string> out, bad;
  for (const auto& op : *in) {
    auto it = std::find_if(allowed.begin(), allowed.end(),
                           [&](const std::string& a) { return iequal(a, op); });
    if (it == allowed.end())
      bad.push_back(op);
    else if (std::find(out.begin(), out.end(), *it) == out.end())
      out.push_back(*it);
  }
  if (!bad.empty())
    return bad_parameter("Unsupported key operation(s): " + quoted_list(bad) +
                         ". Supported values are " + quoted_list(allowed) + ".");
  return out;
}

std::optional<KeyError> check_tags(const std::optional<json>& tags) {
  if (!tags) return std::nullopt;
  if (!tags->is_object()) return bad_parameter("The property 'tags' must be an object of strings.");
  if (tags->size() > 15) return bad_parameter("A key can have at most 15 tags.");
  for (auto it = tags->begin(); it != tags->end(); ++it) {
    if (!it->is_string())
      return bad_parameter("The tag '" + it.key() + "' must have a string value.");
    if (it.key().size() > 512 || it->get<std::string>().size() > 512)
      return bad_parameter("Tag names and values are at most 512 characters.");
  }
  return std::nullopt;
}

void apply(KeyAttributes& a, const AttributesInput& in) {
  if (in.enabled) a.enabled = *in.enabled;
  if (in.nbf) a.nbf = *in.nbf;
  if (in.exp) a.exp = *in.exp;
  if (in.exportable) a.exportable = *in.exportable;
}

std::optional<KeyError> check_release(const KeyAttributes& a, const std::optional<json>& policy) {
  if (policy && !policy->is_object())
    return bad_parameter("The property 'release_policy' must be an object.");
  if (a.exportable && !policy)
    return bad_parameter("An exportable key needs a release policy ('release_policy').");
  return std::nullopt;
}

std::optional<KeyError> check_fixed(const FixedVersion& f) {
  if (!f.id) return std::nullopt;
  const bool hex =
      f.id->size() == 32 && std::all_of(f.id->begin(), f.id->end(),
                                        [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (!hex) return bad_parameter("The key version '" + *f.id + "' is not 32 hexadecimal digits.");
  return std::nullopt;
}

std::optional<KeyError> check_name(const std::string& name) {
  if (is_valid_key_name(name)) return std::nullopt;
  return bad_parameter("The key name '" + name +
                       "' is invalid: a key name is 1-127 characters of letters, digits and "
                       "dashes.");
}

int64_t rsa_exponent(const json& jwk) {
  auto e = base64url_decode(jwk.value("e", "AQAB"));
  if (!e || e->empty() || e->size() > 4) return 65537;
  int64_t v = 0;
  for (unsigned char c : *e) v = (v << 8) | c;
  return v;
}

}  // namespace

std::string recovery_level(const VaultSettings& v) {
  if (!v.soft_delete) return "Purgeable";
  std::string level = v.retention_days >= 90 ? "Recoverable" : "CustomizedRecoverable";
  if (!v.purge_protection) level += "+Purgeable";
  return level;
}

int recoverable_days(const VaultSettings& v) {
  return v.soft_delete ? v.retention_days : 0;
}

bool is_valid_key_name(const std::string& name) {
  if (name.empty() || name.size() > 127) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

const char* operation_name(CipherOperation op) {
  switch (op) {
    case CipherOperation::Encrypt:
      return "encrypt";
    case CipherOperation::Decrypt:
      return "decrypt";
    case CipherOperation::WrapKey:
      return "wrapKey";
    case CipherOperation::UnwrapKey:
      return "unwrapKey";
  }
  return "encrypt";
}

RotationPolicy default_rotation_policy() {
  RotationPolicy p;
  p.lifetime_actions.push_back({"Notify", std::nullopt, std::string("P30D")});
  return p;
}

std::optional<int64_t> parse_iso8601_duration(const std::string& text) {
  if (text.size() < 3 || (text[0] != 'P' && text[0] != 'p')) return std::nullopt;
  int64_t total = 0;
  bool time = false, any = false;
  size_t i = 1;
  while (i < text.size()) {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    if (c == 'T') {
      if (time) return std::nullopt;
      time = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j - i > 9 || j == text.size()) return std::nullopt;
    const int64_t n = std::stoll(text.substr(i, j - i));
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text[j])));
    int64_t seconds = 0;
    if (!time) {
      seconds = unit == 'Y'   ? 365 * kDay
                : unit == 'M' ? 30 * kDay
                : unit == 'W' ? 7 * kDay
                : unit == 'D' ? kDay
                              : 0;
    } else {
      seconds = unit == 'H' ? 3600 : unit == 'M' ? 60 : unit == 'S' ? 1 : 0;
    }
    if (seconds == 0) return std::nullopt;
    total += n * seconds;
    any = true;
    i = j + 1;
  }
  if (!any) return std::nullopt;
  return total;
}

KeyStore::KeyStore(const Clock& clock, IdGenerator& ids, RsaKeyPool& pool)
    : clock_(clock), ids_(ids), pool_(pool) {
  auto key = KeyMaterial::generate_oct(256);
  if (key) backup_key_ = std::make_shared<const KeyMaterial>(std::move(key.value()));
}

VaultSettings vault_settings(const std::string& vault_name, const json& props) {
  VaultSettings settings;
  settings.name = vault_name;
  settings.soft_delete = props.value("enableSoftDelete", true);
  settings.retention_days = props.value("softDeleteRetentionInDays", 90);
  settings.purge_protection = props.value("enablePurgeProtection", false);
  settings.premium = props.contains("sku") && props["sku"].is_object() &&
                     lower(props["sku"].value("name", "")) == "premium";
  return settings;
}

int64_t KeyStore::now() const {
  return to_unix_seconds(clock_.now());
}

std::string KeyStore::row_of(const std::string& vault_lower, const std::string& key_lower) {
  return vault_lower + "/" + key_lower;
}

void KeyStore::touch(VaultKeys& vk, const std::string& key_lower) const {
  changes_.record(row_of(vk.name, key_lower));  // first: see common/revision.h
  ++revision_;
}

std::shared_ptr<KeyStore::VaultKeys> KeyStore::find_vault(const std::string& lower_name) const {
  std::lock_guard lock(mu_);
  auto it = vaults_.find(lower_name);
  return it == vaults_.end() ? nullptr : it->second;
}

std::shared_ptr<const KeyMaterial> KeyStore::backup_key() const {
  std::lock_guard lock(mu_);
  return backup_key_;
}

std::shared_ptr<KeyStore::VaultKeys> KeyStore::vault(const VaultSettings& v) {
  std::lock_guard lock(mu_);
  const std::string name = lower(v.name);
  auto& slot = vaults_[name];
  if (!slot) {
    slot = std::make_shared<VaultKeys>();
    slot->name = name;
  }
  return slot;
}

void KeyStore::drop_vault(const std::string& vault_name) {
  std::shared_ptr<VaultKeys> gone;  // freed (and its secrets wiped) outside the lock
  {
    std::lock_guard lock(mu_);
    auto it = vaults_.find(lower(vault_name));
    if (it == vaults_.end()) return;
    gone = std::move(it->second);
    vaults_.erase(it);
  }
  // Not under mu_: a vault lock is never taken inside it. Requests that found the vault before
  // it went may still change `gone`; what they change is gone too.
  std::lock_guard lock(gone->mu);
  for (const auto& [key, _] : gone->live) touch(*gone, key);
  for (const auto& [key, _] : gone->deleted) touch(*gone, key);
}

namespace {

KeyView view_of(const KeyStore::StoredKey& key, const KeyStore::Version& ver,
                const VaultSettings& v) {
  KeyView view;
  view.name = key.name;
  view.version = ver.id;
  view.kty = ver.kty;
  view.key_ops = ver.key_ops;
  view.public_jwk = ver.public_jwk;
  view.attributes = ver.attributes;
  view.tags = ver.tags;
  view.release_policy = ver.release_policy;
  view.recovery_level = recovery_level(v);
  view.recoverable_days = recoverable_days(v);
  return view;
}

KeyView deleted_view(const KeyStore::DeletedKey& d, const VaultSettings& v) {
  KeyView view = view_of(d.key, d.key.versions.back(), v);
  view.deleted_date = d.deleted_date;
  view.scheduled_purge_date = d.scheduled_purge_date;
  return view;
}

}  // namespace

void KeyStore::sweep(VaultKeys& vk, int64_t t) const {
  for (auto it = vk.deleted.begin(); it != vk.deleted.end();) {
    if (it->second.scheduled_purge_date > t) {
      ++it;
      continue;
    }
    touch(vk, it->first);
    it = vk.deleted.erase(it);
  }
}

KeyResult<KeyMaterial> KeyStore::make_material(const VaultSettings& v, const std::string& kty,
                                               std::optional<int> size,
                                               std::optional<std::string> crv,
                                               std::optional<unsigned long> exponent) {
  auto info = parse_kty(kty);
  if (!info)
    return bad_parameter("The key type '" + kty +
                         "' is not supported. Supported types are RSA, RSA-HSM, EC, EC-HSM, oct, "
                         "oct-HSM.");
  if ((info->hsm || info->family == KeyFamily::Oct) && !v.premium)
    return bad_parameter("The key type '" + info->canonical + "' needs a premium vault; vault '" +
                         v.name + "' is standard.");
  switch (info->family) {
    case KeyFamily::Rsa:
      if (crv) return bad_parameter("The property 'crv' applies to EC keys only.");
      return pool_.take(size.value_or(2048), exponent.value_or(65537));
    case KeyFamily::Ec: {
      std::string name = crv.value_or("");
      if (!crv && size) {
        name = *size == 256 ? "P-256" : *size == 384 ? "P-384" : *size == 521 ? "P-521" : "";
        if (name.empty())
          return bad_parameter("Unsupported key size (" + std::to_string(*size) +
                               "). Supported sizes are [256, 384, 521].");
      }
      if (name.empty()) name = "P-256";
      auto curve = parse_curve(name);
      if (!curve)
        return bad_parameter(
            "The curve '" + name +
            "' is not supported. Supported curves are P-256, P-384, P-521, P-256K.");
      return KeyMaterial::generate_ec(*curve);
    }
    case KeyFamily::Oct:
      if (crv) return bad_parameter("The property 'crv' applies to EC keys only.");
      return KeyMaterial::generate_oct(size.value_or(256));
  }
  return bad_parameter("The key type '" + kty + "' is not supported.");
}

KeyResult<KeyView> KeyStore::add_version(const VaultSettings& v, const std::string& name,
                                         Version version) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  const std::string key = lower(name);
  sweep(*vk, now());
  if (vk->deleted.count(key)) return deleted_but_recoverable(vk->deleted[key].key.name);
  auto& stored = vk->live[key];
  if (stored.name.empty()) stored.name = name;
  for (const auto& existing : stored.versions)
    if (existing.id == version.id)
      return KeyError{KeyErrorKind::Conflict,
                      "Key '" + stored.name + "' already has a version '" + version.id + "'."};
  stored.versions.push_back(std::move(version));
  touch(*vk, key);
  return view_of(stored, stored.versions.back(), v);
}

KeyResult<KeyView> KeyStore::create(const VaultSettings& v, const std::string& name,
                                    const CreateKeyRequest& r) {
  if (auto e = check_name(name)) return *e;
  auto info = parse_kty(r.kty);
  if (!info)
    return bad_parameter("The key type '" + r.kty +
                         "' is not supported. Supported types are RSA, RSA-HSM, EC, EC-HSM, oct, "
                         "oct-HSM.");
  auto ops = normalize_ops(info->family, r.key_ops);
  if (!ops) return ops.error();
  if (auto e = check_tags(r.tags)) return *e;
  if (auto e = check_fixed(r.fixed)) return *e;
  const int64_t t = now();
  Version ver;
  ver.attributes.created = ver.attributes.updated = r.fixed.created.value_or(t);
  apply(ver.attributes, r.attributes);
  if (auto e = check_release(ver.attributes, r.release_policy)) return *e;
  {
    // Refuse a soft-deleted name before spending a key generation on it.
    auto vk = vault(v);
    std::lock_guard lock(vk->mu);
    sweep(*vk, t);
    auto d = vk->deleted.find(lower(name));
    if (d != vk->deleted.end()) return deleted_but_recoverable(d->second.key.name);
  }
  auto material = make_material(v, r.kty, r.key_size, r.crv, r.public_exponent);
  if (!material) return material.error();
  ver.id = r.fixed.id ? lower(*r.fixed.id) : ids_.hex32();
  ver.kty = info->canonical;
  ver.key_ops = std::move(ops.value());
  ver.public_jwk = material->public_jwk();
  ver.material = std::make_shared<const KeyMaterial>(std::move(material.value()));
  if (r.tags) ver.tags = *r.tags;
  ver.release_policy = r.release_policy;
  return add_version(v, name, std::move(ver));
}

KeyResult<KeyView> KeyStore::import(const VaultSettings& v, const std::string& name,
                                    const ImportKeyRequest& r) {
  if (auto e = check_name(name)) return *e;
  if (auto e = check_fixed(r.fixed)) return *e;
  std::optional<KeyMaterial> from_pem;
  std::string kty;
  if (auto it = r.jwk.is_object() ? r.jwk.find("kty") : r.jwk.end();
      it != r.jwk.end() && !it->is_null()) {
    // json::value() would throw for another type: a number as kty is the client's mistake.
    if (!it->is_string()) return bad_parameter("The JWK member 'kty' must be a string.");
    kty = it->get<std::string>();
  }
  if (r.material) {
    kty = family_name(r.material->family());
    from_pem.emplace(*r.material);
  } else if (r.pem) {
    auto m = KeyMaterial::from_pem(*r.pem);
    if (!m) return m.error();
    kty = family_name(m.value().family());
    from_pem.emplace(std::move(m.value()));
  } else if (!r.jwk.is_object()) {
    return bad_parameter("The property 'key' must be a JSON Web Key object.");
  }
  auto info = parse_kty(kty);
  if (!info)
    return bad_parameter("The key type '" + kty +
                         "' is not supported. Supported types are RSA, RSA-HSM, EC, EC-HSM, oct, "
                         "oct-HSM.");
  const bool hsm = info->hsm || r.hsm;
  if ((hsm || info->family == KeyFamily::Oct) && !v.premium)
    return bad_parameter("The key type '" + info->canonical + (hsm && !info->hsm ? "-HSM" : "") +
                         "' needs a premium vault; vault '" + v.name + "' is standard.");
  std::optional<std::vector<std::string>> requested_ops = r.key_ops;
  if (auto it = r.jwk.find("key_ops");
      !r.pem && !r.material && it != r.jwk.end() && !it->is_null()) {
    if (!it->is_array())
      return bad_parameter("The JWK member 'key_ops' must be an array of strings.");
    requested_ops.emplace();
    for (const auto& op : *it) {
      if (!op.is_string())
        return bad_parameter("The JWK member 'key_ops' must be an array of strings.");
      requested_ops->push_back(op.get<std::string>());
    }
  }
  auto ops = normalize_ops(info->family, requested_ops);
  if (!ops) return ops.error();
  if (auto e = check_tags(r.tags)) return *e;
  Version ver;
  ver.attributes.created = ver.attributes.updated = r.fixed.created.value_or(now());
  apply(ver.attributes, r.attributes);
  if (auto e = check_release(ver.attributes, r.release_policy)) return *e;
  auto material =
      from_pem ? KeyResult<KeyMaterial>(std::move(*from_pem)) : KeyMaterial::from_jwk(r.jwk);
  if (!material) return material.error();
  ver.id = r.fixed.id ? lower(*r.fixed.id) : ids_.hex32();
  ver.kty = info->family == KeyFamily::Rsa  ? (hsm ? "RSA-HSM" : "RSA")
            : info->family == KeyFamily::Ec ? (hsm ? "EC-HSM" : "EC")
                                            : (hsm ? "oct-HSM" : "oct");
  ver.key_ops = std::move(ops.value());
  ver.public_jwk = material->public_jwk();
  ver.material = std::make_shared<const KeyMaterial>(std::move(material.value()));
  if (r.tags) ver.tags = *r.tags;
  ver.release_policy = r.release_policy;
  return add_version(v, name, std::move(ver));
}

KeyResult<KeyStore::Resolved> KeyStore::resolve(const VaultSettings& v, const std::string& name,
                                                const std::string& version, const char* op,
                                                const char* key_op, bool needs_window,
                                                bool want_view) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  auto it = vk->live.find(lower(name));
  if (it == vk->live.end()) return not_found(name, version);
  const int64_t t = now();
  settle_rotation(*vk, it->second, t);
  const StoredKey& key = it->second;
  const Version* ver = &key.versions.back();
  if (!version.empty()) {
    const std::string want = lower(version);
    auto found = std::find_if(key.versions.begin(), key.versions.end(),
                              [&](const Version& x) { return x.id == want; });
    if (found == key.versions.end()) return not_found(name, version);
    ver = &*found;
  }
  // A disabled version still reads (Key Vault answers GET with "enabled": false); only its use
  // (key_op) is refused.
  if (key_op != nullptr && !ver->attributes.enabled)
    return KeyError{KeyErrorKind::KeyDisabled,
                    std::string("Operation ") + op + " is not allowed on a disabled key."};
  if (key_op != nullptr &&
      std::find(ver->key_ops.begin(), ver->key_ops.end(), key_op) == ver->key_ops.end())
    return KeyError{KeyErrorKind::KeyOperationForbidden,
                    std::string("Operation ") + op + " is not permitted on this key."};
  if (needs_window) {
    if (ver->attributes.nbf && t < *ver->attributes.nbf)
      return KeyError{
          KeyErrorKind::KeyNotYetValid,
          std::string("Operation ") + op + " is not allowed on a key that is not yet valid."};
    if (ver->attributes.exp && t >= *ver->attributes.exp)
      return KeyError{KeyErrorKind::KeyExpired,
                      std::string("Operation ") + op + " is not allowed on an expired key."};
  }
  Resolved r{key.name, ver->material, ver->id, std::nullopt};
  if (want_view) r.view = view_of(key, *ver, v);
  return r;
}

KeyResult<KeyView> KeyStore::get(const VaultSettings& v, const std::string& name,
                                 const std::string& version) {
  auto r = resolve(v, name, version, "get", nullptr, false, true);
  if (!r) return r.error();
  return std::move(*r->view);
}

KeyResult<KeyView> KeyStore::update(const VaultSettings& v, const std::string& name,
                                    const std::string& version, const UpdateKeyRequest& r) {
  if (auto e = check_tags(r.tags)) return *e;
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  auto it = vk->live.find(lower(name));
  if (it == vk->live.end()) return not_found(name, version);
  const int64_t t = now();
  settle_rotation(*vk, it->second, t);
  StoredKey& key = it->second;
  Version* ver = &key.versions.back();
  if (!version.empty()) {
    auto found = std::find_if(key.versions.begin(), key.versions.end(),
                              [&](const Version& x) { return x.id == lower(version); });
    if (found == key.versions.end()) return not_found(name, version);
    ver = &*found;
  }
  Version next = *ver;
  if (r.key_ops) {
    auto ops = normalize_ops(next.material->family(), r.key_ops);
    if (!ops) return ops.error();
    next.key_ops = std::move(ops.value());
  }
  apply(next.attributes, r.attributes);
  if (r.tags) next.tags = *r.tags;
  if (r.release_policy) next.release_policy = r.release_policy;
  if (auto e = check_release(next.attributes, next.release_policy)) return *e;
  next.attributes.updated = t;
  next.text_public.reset();
  next.text_private.reset();
  *ver = std::move(next);
  touch(*vk, it->first);
  return view_of(key, *ver, v);
}

KeyPage KeyStore::list_keys(const VaultSettings& v, const std::string& marker, size_t max) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  const int64_t t = now();
  return page_after<KeyView>(vk->live, lower(marker), max, [&](StoredKey& k) {
    settle_rotation(*vk, k, t);
    KeyView view = view_of(k, k.versions.back(), v);
    view.version.clear();  // list items name the key, not a version
    return view;
  });
}

KeyResult<KeyPage> KeyStore::list_versions(const VaultSettings& v, const std::string& name,
                                           const std::string& marker, size_t max) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  auto it = vk->live.find(lower(name));
  if (it == vk->live.end()) return not_found(name);
  settle_rotation(*vk, it->second, now());
  const StoredKey& key = it->second;
  return page_of_sequence<KeyView>(
      key.versions, marker, max, [](const Version& x) { return x.id; },
      [&](const Version& x) { return view_of(key, x, v); });
}

KeyResult<KeyView> KeyStore::remove(const VaultSettings& v, const std::string& name) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  const int64_t t = now();
  sweep(*vk, t);
  auto it = vk->live.find(lower(name));
  if (it == vk->live.end()) return not_found(name);
  settle_rotation(*vk, it->second, t);
  DeletedKey d;
  d.key = std::move(it->second);
  touch(*vk, it->first);
  vk->live.erase(it);
  d.deleted_date = t;
  d.scheduled_purge_date = t + static_cast<int64_t>(recoverable_days(v)) * kDay;
  if (!v.soft_delete) return view_of(d.key, d.key.versions.back(), v);
  KeyView view = deleted_view(d, v);
  vk->deleted[lower(name)] = std::move(d);
  return view;
}

KeyResult<KeyView> KeyStore::get_deleted(const VaultSettings& v, const std::string& name) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  sweep(*vk, now());
  auto it = vk->deleted.find(lower(name));
  if (it == vk->deleted.end()) return deleted_not_found(name);
  return deleted_view(it->second, v);
}

KeyPage KeyStore::list_deleted(const VaultSettings& v, const std::string& marker, size_t max) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  sweep(*vk, now());
  return page_after<KeyView>(vk->deleted, lower(marker), max, [&](DeletedKey& d) {
    KeyView view = deleted_view(d, v);
    view.version.clear();
    return view;
  });
}

KeyResult<KeyView> KeyStore::recover(const VaultSettings& v, const std::string& name) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  sweep(*vk, now());
  auto it = vk->deleted.find(lower(name));
  if (it == vk->deleted.end()) return deleted_not_found(name);
  StoredKey key = std::move(it->second.key);
  vk->deleted.erase(it);
  auto& slot = vk->live[lower(name)];
  slot = std::move(key);
  touch(*vk, lower(name));
  return view_of(slot, slot.versions.back(), v);
}

KeyResult<Done> KeyStore::purge(const VaultSettings& v, const std::string& name) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  sweep(*vk, now());
  auto it = vk->deleted.find(lower(name));
  if (it == vk->deleted.end()) return deleted_not_found(name);
  if (v.purge_protection)
    return KeyError{KeyErrorKind::PurgeProtected,
                    "Operation \"purge\" is not allowed because purge protection is enabled for "
                    "this vault. Key Vault service will automatically purge it after the "
                    "retention period has passed."};
  touch(*vk, it->first);
  vk->deleted.erase(it);
  return Done{};
}

// --- rotation -----------------------------------------------------------------------------

KeyResult<KeyMaterial> KeyStore::regenerate(const Version& like) const {
  const KeyMaterial& m = *like.material;
  switch (m.family()) {
    case KeyFamily::Rsa:
      return pool_.take(m.size_bits(), static_cast<unsigned long>(rsa_exponent(like.public_jwk)));
    case KeyFamily::Ec:
      return KeyMaterial::generate_ec(*m.curve());
    case KeyFamily::Oct:
      return KeyMaterial::generate_oct(m.size_bits());
  }
  return bad_parameter("The key cannot be rotated.");
}

KeyStore::Version KeyStore::next_version(const StoredKey& key, KeyMaterial material,
                                         int64_t created) const {
  const Version& latest = key.versions.back();
  Version ver;
  ver.id = ids_.hex32();
  ver.kty = latest.kty;
  ver.key_ops = latest.key_ops;
  ver.tags = latest.tags;
  ver.release_policy = latest.release_policy;
  ver.attributes.exportable = latest.attributes.exportable;
  ver.attributes.created = ver.attributes.updated = created;
  if (key.policy && key.policy->expiry_time)
    if (auto d = parse_iso8601_duration(*key.policy->expiry_time))
      ver.attributes.exp = created + *d;
  ver.public_jwk = material.public_jwk();
  ver.material = std::make_shared<const KeyMaterial>(std::move(material));
  return ver;
}

void KeyStore::settle_rotation(VaultKeys& vk, StoredKey& key, int64_t t) const {
  if (!key.policy) return;
  std::optional<int64_t> after_create, before_expiry;
  for (const auto& a : key.policy->lifetime_actions) {
    if (a.type != "Rotate") continue;
    if (a.time_after_create) after_create = parse_iso8601_duration(*a.time_after_create);
    if (a.time_before_expiry) before_expiry = parse_iso8601_duration(*a.time_before_expiry);
  }
  if (!after_create && !before_expiry) return;
  // Bounded: a policy is at least 7 days, so even years of virtual time stay small.
  for (int i = 0; i < 10000; ++i) {
    const Version& latest = key.versions.back();
    std::optional<int64_t> due;
    if (after_create) due = latest.attributes.created + *after_create;
    if (before_expiry && latest.attributes.exp) {
      const int64_t d = *latest.attributes.exp - *before_expiry;
      due = due ? std::min(*due, d) : d;
    }
    if (!due || *due > t) return;
    auto material = regenerate(latest);
    if (!material) return;
    key.versions.push_back(next_version(key, std::move(material.value()), *due));
    touch(vk, lower(key.name));
  }
}

KeyResult<KeyView> KeyStore::rotate(const VaultSettings& v, const std::string& name) {
  std::optional<Version> like;
  {
    auto vk = vault(v);
    std::lock_guard lock(vk->mu);
    auto it = vk->live.find(lower(name));
    if (it == vk->live.end()) return not_found(name);
    settle_rotation(*vk, it->second, now());
    like = it->second.versions.back();
  }
  auto material = regenerate(*like);  // outside the lock: RSA generation may take a while
  if (!material) return material.error();
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  auto it = vk->live.find(lower(name));
  if (it == vk->live.end()) return not_found(name);
  it->second.versions.push_back(next_version(it->second, std::move(material.value()), now()));
  touch(*vk, it->first);
  return view_of(it->second, it->second.versions.back(), v);
}

KeyResult<RotationPolicy> KeyStore::get_rotation_policy(const VaultSettings& v,
                                                        const std::string& name) {
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  auto it = vk->live.find(lower(name));
  if (it == vk->live.end()) return not_found(name);
  settle_rotation(*vk, it->second, now());
  return it->second.policy ? *it->second.policy : default_rotation_policy();
}

namespace {
// A rotation policy as set_rotation_policy takes it: checked, types in canonical casing, no
// actions meaning the default ones. created/updated are left empty.
KeyResult<RotationPolicy> checked_policy(const RotationPolicy& in) {
  RotationPolicy p;
  std::optional<int64_t> expiry;
  if (in.expiry_time) {
    expiry = parse_iso8601_duration(*in.expiry_time);
    if (!expiry)
      return bad_parameter("The expiryTime '" + *in.expiry_time +
                           "' is not an ISO 8601 duration (for example P90D or P1Y).");
    if (*expiry < 28 * kDay)
      return bad_parameter("The expiryTime must be at least 28 days (P28D).");
    p.expiry_time = in.expiry_time;
  }
  bool rotate_seen = false, notify_seen = false;
  for (const auto& a : in.lifetime_actions) {
    LifetimeAction out;
    if (iequal(a.type, "rotate"))
      out.type = "Rotate";
    else if (iequal(a.type, "notify"))
      out.type = "Notify";
    else
      return bad_parameter("The lifetime action type '" + a.type +
                           "' is not one of Rotate, Notify.");
    bool& seen = out.type == "Rotate" ? rotate_seen : notify_seen;
    if (seen) return bad_parameter("A rotation policy has at most one '" + out.type + "' action.");
    seen = true;
    if (a.time_after_create.has_value() == a.time_before_expiry.has_value())
      return bad_parameter(
          "Each lifetime action needs exactly one trigger: timeAfterCreate or "
          "timeBeforeExpiry.");
    const std::string text = a.time_after_create ? *a.time_after_create : *a.time_before_expiry;
    auto d = parse_iso8601_duration(text);
    if (!d)
      return bad_parameter("The trigger '" + text +
                           "' is not an ISO 8601 duration (for example P30D).");
    if (*d < 7 * kDay)
      return bad_parameter("A lifetime action's trigger must be at least 7 days (P7D).");
    if (out.type == "Notify" && a.time_after_create)
      return bad_parameter("A 'Notify' action takes timeBeforeExpiry only.");
    if (a.time_before_expiry && expiry && *d >= *expiry)
      return bad_parameter("timeBeforeExpiry must be shorter than the policy's expiryTime.");
    out.time_after_create = a.time_after_create;
    out.time_before_expiry = a.time_before_expiry;
    p.lifetime_actions.push_back(std::move(out));
  }
  // No actions means "back to the default actions" (the SDKs document it so).
  if (p.lifetime_actions.empty()) p.lifetime_actions = default_rotation_policy().lifetime_actions;

  return p;
}
}  // namespace

KeyResult<RotationPolicy> KeyStore::set_rotation_policy(const VaultSettings& v,
                                                        const std::string& name,
                                                        const RotationPolicy& in) {
  auto checked = checked_policy(in);
  if (!checked) return checked.error();
  RotationPolicy p = std::move(checked.value());
  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  auto it = vk->live.find(lower(name));
  if (it == vk->live.end()) return not_found(name);
  const int64_t t = now();
  settle_rotation(*vk, it->second, t);
  p.created = it->second.policy && it->second.policy->created ? it->second.policy->created : t;
  p.updated = t;
  it->second.policy = p;
  touch(*vk, it->first);
  return p;
}

// --- cryptography ---------------------------------------------------------------------------

KeyResult<CipherResult> KeyStore::cipher(const VaultSettings& v, const std::string& name,
                                         const std::string& version, CipherOperation op,
                                         const std::string& alg_name, const CipherInput& in) {
  const char* op_name = operation_name(op);
  auto alg = parse_encryption_algorithm(alg_name);
  if (!alg)
    return bad_parameter("The algorithm '" + alg_name + "' is not a supported " +
                         (op == CipherOperation::WrapKey || op == CipherOperation::UnwrapKey
                              ? "key wrap"
                              : "encryption") +
                         " algorithm.");
  const bool wrap = op == CipherOperation::WrapKey || op == CipherOperation::UnwrapKey;
  using K = EncryptionAlgorithm::Kind;
  const bool fits = alg->is_rsa() || (wrap ? alg->kind == K::AesKw : alg->kind != K::AesKw);
  if (!fits)
    return bad_parameter("The algorithm '" + alg_name + "' cannot be used for " + op_name + ".");
  const bool forward = op == CipherOperation::Encrypt || op == CipherOperation::WrapKey;
  auto r = resolve(v, name, version, op_name, op_name, forward, false);
  if (!r) return r.error();
  CipherResult out;
  out.name = r->name;
  out.version = r->version;
  if (forward) {
    auto res = r->material->encrypt(*alg, in);
    if (!res) return res.error();
    out.output = std::move(res.value());
  } else {
    auto res = r->material->decrypt(*alg, in);
    if (!res) return res.error();
    out.output.value = std::move(res.value());
  }
  return out;
}

KeyResult<SignResult> KeyStore::sign(const VaultSettings& v, const std::string& name,
                                     const std::string& version, const std::string& alg_name,
                                     const std::string& digest) {
  auto alg = parse_signature_algorithm(alg_name);
  if (!alg)
    return bad_parameter("The algorithm '" + alg_name +
                         "' is not a supported signature algorithm.");
  auto r = resolve(v, name, version, "sign", "sign", true, false);
  if (!r) return r.error();
  auto sig = r->material->sign(*alg, digest);
  if (!sig) return sig.error();
  return SignResult{r->name, r->version, std::move(sig.value())};
}

KeyResult<VerifyResult> KeyStore::verify(const VaultSettings& v, const std::string& name,
                                         const std::string& version, const std::string& alg_name,
                                         const std::string& digest, const std::string& signature) {
  auto alg = parse_signature_algorithm(alg_name);
  if (!alg)
    return bad_parameter("The algorithm '" + alg_name +
                         "' is not a supported signature algorithm.");
  auto r = resolve(v, name, version, "verify", "verify", false, false);
  if (!r) return r.error();
  auto ok = r->material->verify(*alg, digest, signature);
  if (!ok) return ok.error();
  return VerifyResult{r->name, r->version, *ok};
}

KeyResult<std::string> KeyStore::random_bytes(int count) {
  if (count < 1 || count > 128) return bad_parameter("The count must be between 1 and 128.");
  std::string out(static_cast<size_t>(count), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), count) != 1)
    return KeyError{KeyErrorKind::Internal, "The random generator failed."};
  return out;
}

// --- backup and restore ---------------------------------------------------------------------

namespace {
json attributes_json(const KeyAttributes& a) {
  json j = {{"enabled", a.enabled},
            {"created", a.created},
            {"updated", a.updated},
            {"exportable", a.exportable}};
  if (a.nbf) j["nbf"] = *a.nbf;
  if (a.exp) j["exp"] = *a.exp;
  return j;
}

KeyAttributes attributes_from(const json& j) {
  KeyAttributes a;
  a.enabled = j.value("enabled", true);
  a.created = j.value("created", int64_t{0});
  a.updated = j.value("updated", int64_t{0});
  a.exportable = j.value("exportable", false);
  if (j.contains("nbf")) a.nbf = j["nbf"].get<int64_t>();
  if (j.contains("exp")) a.exp = j["exp"].get<int64_t>();
  return a;
}

json policy_json(const RotationPolicy& p) {
  json actions = json::array();
  for (const auto& a : p.lifetime_actions) {
    json j = {{"type", a.type}};
    if (a.time_after_create) j["timeAfterCreate"] = *a.time_after_create;
    if (a.time_before_expiry) j["timeBeforeExpiry"] = *a.time_before_expiry;
    actions.push_back(j);
  }
  json j = {{"actions", actions}};
  if (p.expiry_time) j["expiryTime"] = *p.expiry_time;
  if (p.created) j["created"] = *p.created;
  if (p.updated) j["updated"] = *p.updated;
  return j;
}

RotationPolicy policy_from(const json& j) {
  RotationPolicy p;
  for (const auto& a : j.at("actions")) {
    LifetimeAction la;
    la.type = a.at("type").get<std::string>();
    if (a.contains("timeAfterCreate"))
      la.time_after_create = a["timeAfterCreate"].get<std::string>();
    if (a.contains("timeBeforeExpiry"))
      la.time_before_expiry = a["timeBeforeExpiry"].get<std::string>();
    p.lifetime_actions.push_back(std::move(la));
  }
  if (j.contains("expiryTime")) p.expiry_time = j["expiryTime"].get<std::string>();
  if (j.contains("created")) p.created = j["created"].get<int64_t>();
  if (j.contains("updated")) p.updated = j["updated"].get<int64_t>();
  return p;
}

// Overwrites every "material" string in the backup document before it is freed.
void wipe_materials(json& doc) {
  if (!doc.is_object() || !doc.contains("versions") || !doc["versions"].is_array()) return;
  for (auto& v : doc["versions"])
    if (v.is_object() && v.contains("material") && v["material"].is_string())
      wipe(v["material"].get_ref<std::string&>());
}

struct WipeJson {
  json& doc;
  ~WipeJson() { wipe_materials(doc); }
};
struct WipeString {
  std::string& s;
  ~WipeString() { wipe(s); }
};
}  // namespace

KeyResult<std::string> KeyStore::backup(const VaultSettings& v, const std::string& name) {
  const auto sealing = backup_key();
  if (!sealing) return KeyError{KeyErrorKind::Internal, "The backup key is missing."};
  json doc;
  WipeJson wipe_doc{doc};
  {
    auto vk = vault(v);
    std::lock_guard lock(vk->mu);
    auto it = vk->live.find(lower(name));
    if (it == vk->live.end()) return not_found(name);
    settle_rotation(*vk, it->second, now());
    const StoredKey& key = it->second;
    doc = {{"format", 1}, {"name", key.name}, {"versions", json::array()}};
    if (key.policy) doc["policy"] = policy_json(*key.policy);
    for (const auto& ver : key.versions) {
      std::string material;
      WipeString wipe_material{material};
      ver.material->export_private(material);
      json j = {{"id", ver.id},
                {"kty", ver.kty},
                {"family", family_name(ver.material->family())},
                {"key_ops", ver.key_ops},
                {"attributes", attributes_json(ver.attributes)},
                {"tags", ver.tags},
                {"material", base64url_encode(material)}};
      if (ver.release_policy) j["release_policy"] = *ver.release_policy;
      doc["versions"].push_back(std::move(j));
    }
  }
  std::string plain = doc.dump();
  WipeString wipe_plain{plain};
  return seal_backup(*sealing, kKeyBlob, plain);
}

KeyResult<KeyView> KeyStore::restore(const VaultSettings& v, const std::string& blob) {
  const KeyError unreadable = bad_parameter(
      "The backup blob cannot be read: it was not made by "
      "this emulator instance, or it was altered.");
  const auto sealing = backup_key();
  if (!sealing) return KeyError{KeyErrorKind::Internal, "The backup key is missing."};
  auto plain = open_backup(*sealing, kKeyBlob, blob);
  if (!plain) return unreadable;
  WipeString wipe_plain{plain.value()};
  json doc = json::parse(*plain, nullptr, false);
  WipeJson wipe_doc{doc};
  StoredKey key;
  try {
    if (!doc.is_object() || doc.value("format", 0) != 1) return unreadable;
    key.name = doc.at("name").get<std::string>();
    if (doc.contains("policy")) key.policy = policy_from(doc["policy"]);
    for (const auto& j : doc.at("versions")) {
      const std::string family_text = j.at("family").get<std::string>();
      const KeyFamily family = family_text == "EC"    ? KeyFamily::Ec
                               : family_text == "oct" ? KeyFamily::Oct
                                                      : KeyFamily::Rsa;
      auto raw = base64url_decode(j.at("material").get<std::string>());
      if (!raw) return unreadable;
      WipeString wipe_raw{raw.value()};
      auto material = KeyMaterial::restore_private(family, *raw);
      if (!material) return unreadable;
      Version ver;
      ver.id = j.at("id").get<std::string>();
      ver.kty = j.at("kty").get<std::string>();
      ver.key_ops = j.at("key_ops").get<std::vector<std::string>>();
      ver.attributes = attributes_from(j.at("attributes"));
      ver.tags = j.at("tags");
      if (j.contains("release_policy")) ver.release_policy = j["release_policy"];
      ver.public_jwk = material->public_jwk();
      ver.material = std::make_shared<const KeyMaterial>(std::move(material.value()));
      key.versions.push_back(std::move(ver));
    }
  } catch (const json::exception&) {
    return unreadable;
  }
  if (key.versions.empty() || !is_valid_key_name(key.name)) return unreadable;
  auto info = parse_kty(key.versions.back().kty);
  if (info && (info->hsm || info->family == KeyFamily::Oct) && !v.premium)
    return bad_parameter("The key type '" + info->canonical + "' needs a premium vault; vault '" +
                         v.name + "' is standard.");

  auto vk = vault(v);
  std::lock_guard lock(vk->mu);
  sweep(*vk, now());
  const std::string k = lower(key.name);
  if (vk->deleted.count(k)) return deleted_but_recoverable(vk->deleted[k].key.name);
  if (vk->live.count(k))
    return KeyError{KeyErrorKind::Conflict,
                    "There was a conflict restoring the key '" + key.name +
                        "': a key with that name already exists in this vault. Delete and purge "
                        "it, or restore into another vault."};
  auto& slot = vk->live[k];
  slot = std::move(key);
  touch(*vk, k);
  return view_of(slot, slot.versions.back(), v);
}

// --- snapshot -------------------------------------------------------------------------------

namespace {

// Secret text, wiped when the last reference goes.
std::shared_ptr<const std::string> secret_string(std::string text) {
  return std::shared_ptr<const std::string>(new std::string(std::move(text)),
                                            [](const std::string* s) {
                                              wipe(const_cast<std::string&>(*s));
                                              delete s;
                                            });
}

json snapshot_policy_json(const RotationPolicy& p) {
  json actions = json::array();
  for (const auto& a : p.lifetime_actions) {
    json j = json::object();
    j["type"] = a.type;
    if (a.time_after_create) j["timeAfterCreate"] = *a.time_after_create;
    if (a.time_before_expiry) j["timeBeforeExpiry"] = *a.time_before_expiry;
    actions.push_back(std::move(j));
  }
  json j = json::object();
  j["lifetimeActions"] = std::move(actions);
  if (p.expiry_time) j["expiryTime"] = *p.expiry_time;
  if (p.created) j["created"] = *p.created;
  if (p.updated) j["updated"] = *p.updated;
  return j;
}

// The public JWK as a snapshot shows it: the material's public members and the version's kty.
json snapshot_jwk(const KeyStore::Version& ver) {
  json jwk = ver.public_jwk;
  jwk["kty"] = ver.kty;
  return jwk;
}

// Called under the vault lock: fills the version's private_b64 cache.
json snapshot_version(KeyStore::Version& ver, bool include_private) {
  json j = json::object();
  j["version"] = ver.id;
  j["kty"] = ver.kty;
  j["key_ops"] = ver.key_ops;
  j["attributes"] = attributes_json(ver.attributes);
  j["tags"] = ver.tags;
  if (ver.release_policy) j["release_policy"] = *ver.release_policy;
  j["jwk"] = snapshot_jwk(ver);
  if (include_private) {
    if (!ver.private_b64) {
      std::string raw;
      WipeString wipe_raw{raw};
      ver.material->export_private(raw);
      ver.private_b64 = secret_string(base64url_encode(raw));
    }
    j["material"] = *ver.private_b64;
  }
  return j;
}

json snapshot_key(KeyStore::StoredKey& key, bool include_private) {
  json versions = json::array();
  for (auto& ver : key.versions) versions.push_back(snapshot_version(ver, include_private));
  json j = json::object();
  j["name"] = key.name;
  j["versions"] = std::move(versions);
  if (key.policy) j["rotationPolicy"] = snapshot_policy_json(*key.policy);
  return j;
}

// The version's snapshot_version() JSON, dumped: cached. Called under the vault lock.
const std::string& version_text(KeyStore::Version& ver, bool include_private) {
  auto& text = include_private ? ver.text_private : ver.text_public;
  if (!text) {
    json j = snapshot_version(ver, include_private);
    std::string dumped = j.dump();
    if (include_private) {
      wipe(j["material"].get_ref<std::string&>());
      text = secret_string(std::move(dumped));
    } else {
      text = std::make_shared<const std::string>(std::move(dumped));
    }
  }
  return *text;
}

// snapshot_key(key, ...).dump() up to its versions ("{...,\"versions\":["); `deleted` adds
// its dates. Members in the order json objects keep them (sorted).
std::string key_text_head(const KeyStore::StoredKey& key, const KeyStore::DeletedKey* deleted) {
  std::string out = "{";
  if (deleted) out += "\"deletedDate\":" + std::to_string(deleted->deleted_date) + ',';
  out += "\"name\":" + json(key.name).dump();
  if (key.policy) out += ",\"rotationPolicy\":" + snapshot_policy_json(*key.policy).dump();
  if (deleted) out += ",\"scheduledPurgeDate\":" + std::to_string(deleted->scheduled_purge_date);
  out += ",\"versions\":[";
  return out;
}

// --- reading a snapshot: every error names the JSON path ---

Status at(const std::string& path, const std::string& what) {
  return Status::error(path + ": " + what);
}

Status only_members(const json& j, const std::string& path,
                    std::initializer_list<const char*> allowed) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return it.key() == a; }))
      return at(path + "." + it.key(), "unknown member");
  return Status::ok();
}

std::optional<int64_t> as_int(const json& j) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (j.is_number_integer()) return j.get<int64_t>();
  return std::nullopt;
}

Status read_int(const json& obj, const std::string& path, const char* name, bool required,
                std::optional<int64_t>& out) {
  auto it = obj.find(name);
  if (it == obj.end()) return required ? at(path + "." + name, "missing") : Status::ok();
  out = as_int(*it);
  if (!out) return at(path + "." + name, "must be an integer (Unix seconds)");
  return Status::ok();
}

Status read_required_int(const json& obj, const std::string& path, const char* name, int64_t& out) {
  std::optional<int64_t> v;
  if (auto s = read_int(obj, path, name, true, v); !s) return s;
  out = *v;
  return Status::ok();
}

Status read_bool(const json& obj, const std::string& path, const char* name, bool& out) {
  auto it = obj.find(name);
  if (it == obj.end()) return Status::ok();
  if (!it->is_boolean()) return at(path + "." + name, "must be true or false");
  out = it->get<bool>();
  return Status::ok();
}

Status read_string(const json& obj, const std::string& path, const char* name, bool required,
                   std::optional<std::string>& out) {
  auto it = obj.find(name);
  if (it == obj.end()) return required ? at(path + "." + name, "missing") : Status::ok();
  if (!it->is_string()) return at(path + "." + name, "must be a string");
  out = it->get<std::string>();
  return Status::ok();
}

Status read_attributes(const json& j, const std::string& path, KeyAttributes& a) {
  if (!j.is_object()) return at(path, "must be an object");
  if (auto s = only_members(j, path, {"enabled", "nbf", "exp", "created", "updated", "exportable"});
      !s)
    return s;
  if (auto s = read_bool(j, path, "enabled", a.enabled); !s) return s;
  if (auto s = read_bool(j, path, "exportable", a.exportable); !s) return s;
  if (auto s = read_int(j, path, "nbf", false, a.nbf); !s) return s;
  if (auto s = read_int(j, path, "exp", false, a.exp); !s) return s;
  if (auto s = read_required_int(j, path, "created", a.created); !s) return s;
  return read_required_int(j, path, "updated", a.updated);
}

Status read_policy(const json& j, const std::string& path, RotationPolicy& out) {
  if (!j.is_object()) return at(path, "must be an object");
  if (auto s = only_members(j, path, {"lifetimeActions", "expiryTime", "created", "updated"}); !s)
    return s;
  auto actions = j.find("lifetimeActions");
  if (actions == j.end()) return at(path + ".lifetimeActions", "missing");
  if (!actions->is_array()) return at(path + ".lifetimeActions", "must be an array");
  RotationPolicy p;
  for (size_t i = 0; i < actions->size(); ++i) {
    const json& a = (*actions)[i];
    const std::string apath = path + ".lifetimeActions[" + std::to_string(i) + "]";
    if (!a.is_object()) return at(apath, "must be an object");
    if (auto s = only_members(a, apath, {"type", "timeAfterCreate", "timeBeforeExpiry"}); !s)
      return s;
    std::optional<std::string> type;
    LifetimeAction la;
    if (auto s = read_string(a, apath, "type", true, type); !s) return s;
    if (auto s = read_string(a, apath, "timeAfterCreate", false, la.time_after_create); !s)
      return s;
    if (auto s = read_string(a, apath, "timeBeforeExpiry", false, la.time_before_expiry); !s)
      return s;
    la.type = *type;
    p.lifetime_actions.push_back(std::move(la));
  }
  if (auto s = read_string(j, path, "expiryTime", false, p.expiry_time); !s) return s;
  auto checked = checked_policy(p);
  if (!checked) return at(path, checked.error().message);
  out = std::move(checked.value());
  if (auto s = read_int(j, path, "created", false, out.created); !s) return s;
  return read_int(j, path, "updated", false, out.updated);
}

Status read_version(const json& j, const std::string& path, KeyStore::Version& ver) {
  if (!j.is_object()) return at(path, "must be an object");
  if (auto s = only_members(
          j, path,
          {"version", "kty", "key_ops", "attributes", "tags", "release_policy", "jwk", "material"});
      !s)
    return s;
  std::optional<std::string> id, kty;
  if (auto s = read_string(j, path, "version", true, id); !s) return s;
  if (check_fixed(FixedVersion{id, std::nullopt}))
    return at(path + ".version", "'" + *id + "' is not 32 hexadecimal digits");
  ver.id = lower(*id);
  if (auto s = read_string(j, path, "kty", true, kty); !s) return s;
  auto info = parse_kty(*kty);
  if (!info)
    return at(path + ".kty",
              "the key type '" + *kty + "' is not one of RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM");
  ver.kty = info->canonical;

  auto ops_json = j.find("key_ops");
  if (ops_json == j.end()) return at(path + ".key_ops", "missing");
  if (!ops_json->is_array()) return at(path + ".key_ops", "must be an array of strings");
  std::vector<std::string> ops;
  for (const auto& op : *ops_json) {
    if (!op.is_string()) return at(path + ".key_ops", "must be an array of strings");
    ops.push_back(op.get<std::string>());
  }
  auto normalized = normalize_ops(info->family, ops);
  if (!normalized) return at(path + ".key_ops", normalized.error().message);
  ver.key_ops = std::move(normalized.value());

  auto attributes = j.find("attributes");
  if (attributes == j.end()) return at(path + ".attributes", "missing");
  if (auto s = read_attributes(*attributes, path + ".attributes", ver.attributes); !s) return s;
  if (auto tags = j.find("tags"); tags != j.end()) {
    if (auto e = check_tags(*tags)) return at(path + ".tags", e->message);
    ver.tags = *tags;
  }
  if (auto policy = j.find("release_policy"); policy != j.end()) {
    if (!policy->is_object()) return at(path + ".release_policy", "must be an object");
    ver.release_policy = *policy;
  }
  if (auto e = check_release(ver.attributes, ver.release_policy)) return at(path, e->message);

  auto text = j.find("material");
  if (text == j.end())
    return at(path, "carries no private key material: export with ?include=secrets to import");
  const std::string mpath = path + ".material";
  if (!text->is_string()) return at(mpath, "must be a base64url string");
  auto raw = base64url_decode(text->get_ref<const std::string&>());
  if (!raw) return at(mpath, "is not base64url (" + raw.error() + ")");
  WipeString wipe_raw{raw.value()};
  auto material = KeyMaterial::restore_private(info->family, *raw);
  if (!material)
    return at(mpath, std::string("is not a private ") + family_name(info->family) +
                         " key as this emulator exports it (kty " + ver.kty + ")");
  if (info->family == KeyFamily::Rsa &&
      (material->size_bits() < 2048 || material->size_bits() > 4096))
    return at(mpath, "an RSA key of " + std::to_string(material->size_bits()) +
                         " bits: Key Vault keys have 2048 to 4096");
  ver.public_jwk = material->public_jwk();
  if (auto jwk = j.find("jwk"); jwk != j.end() && *jwk != snapshot_jwk(ver))
    return at(path + ".jwk", "is not the public key of the version's material");
  // The bytes as given: restore_private() read them, so they restore again.
  ver.private_b64 = secret_string(base64url_encode(*raw));
  ver.material = std::make_shared<const KeyMaterial>(std::move(material.value()));
  return Status::ok();
}

Status read_key(const json& j, const std::string& path, bool deleted, KeyStore::DeletedKey& out) {
  if (!j.is_object()) return at(path, "must be an object");
  auto members = deleted ? only_members(j, path,
                                        {"name", "versions", "rotationPolicy", "deletedDate",
                                         "scheduledPurgeDate"})
                         : only_members(j, path, {"name", "versions", "rotationPolicy"});
  if (!members) return members;
  std::optional<std::string> name;
  if (auto s = read_string(j, path, "name", true, name); !s) return s;
  if (!is_valid_key_name(*name))
    return at(path + ".name",
              "'" + *name + "' is not a key name (1-127 letters, digits and dashes)");
  out.key.name = *name;
  auto versions = j.find("versions");
  if (versions == j.end()) return at(path + ".versions", "missing");
  if (!versions->is_array() || versions->empty())
    return at(path + ".versions", "must be a non-empty array");
  for (size_t i = 0; i < versions->size(); ++i) {
    const std::string vpath = path + ".versions[" + std::to_string(i) + "]";
    KeyStore::Version ver;
    if (auto s = read_version((*versions)[i], vpath, ver); !s) return s;
    for (const auto& earlier : out.key.versions)
      if (earlier.id == ver.id)
        return at(vpath + ".version", "'" + ver.id + "' appears twice in the key");
    out.key.versions.push_back(std::move(ver));
  }
  if (auto policy = j.find("rotationPolicy"); policy != j.end()) {
    RotationPolicy p;
    if (auto s = read_policy(*policy, path + ".rotationPolicy", p); !s) return s;
    out.key.policy = std::move(p);
  }
  if (!deleted) return Status::ok();
  if (auto s = read_required_int(j, path, "deletedDate", out.deleted_date); !s) return s;
  return read_required_int(j, path, "scheduledPurgeDate", out.scheduled_purge_date);
}

Status read_vault(const json& j, const std::string& path, KeyStore::VaultKeys& vk) {
  if (!j.is_object()) return at(path, "must be an object with 'keys' and 'deletedKeys' (or null)");
  if (auto s = only_members(j, path, {"keys", "deletedKeys"}); !s) return s;
  std::map<std::string, std::string> seen;  // lower-case name -> path of its key
  for (const bool deleted : {false, true}) {
    const char* member = deleted ? "deletedKeys" : "keys";
    auto list = j.find(member);
    if (list == j.end()) continue;
    if (!list->is_array()) return at(path + "." + member, "must be an array");
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string kpath = path + "." + member + "[" + std::to_string(i) + "]";
      KeyStore::DeletedKey d;
      if (auto s = read_key((*list)[i], kpath, deleted, d); !s) return s;
      const std::string k = lower(d.key.name);
      if (auto [it, fresh] = seen.emplace(k, kpath); !fresh)
        return at(kpath + ".name", "the key '" + d.key.name + "' is also at " + it->second +
                                       " (names compare case-insensitively)");
      if (deleted)
        vk.deleted.emplace(k, std::move(d));
      else
        vk.live.emplace(k, std::move(d.key));
    }
  }
  return Status::ok();
}

}  // namespace

void KeyStore::settle(VaultKeys& vk) const {
  const int64_t t = now();
  sweep(vk, t);
  for (auto& [_, key] : vk.live) settle_rotation(vk, key, t);
}

json KeyStore::export_vault(const std::string& vault_name, bool include_private) const {
  auto vk = find_vault(lower(vault_name));
  if (!vk) return nullptr;
  std::lock_guard lock(vk->mu);
  settle(*vk);
  if (vk->live.empty() && vk->deleted.empty()) return nullptr;
  json keys = json::array();
  for (auto& [_, key] : vk->live) keys.push_back(snapshot_key(key, include_private));
  json deleted = json::array();
  for (auto& [_, d] : vk->deleted) {
    json j = snapshot_key(d.key, include_private);
    j["deletedDate"] = d.deleted_date;
    j["scheduledPurgeDate"] = d.scheduled_purge_date;
    deleted.push_back(std::move(j));
  }
  json out = json::object();
  out["keys"] = std::move(keys);
  out["deletedKeys"] = std::move(deleted);
  return out;
}

namespace {

// The text of one key as export_vault() renders it, written once at its exact size (it holds
// secrets with include_private: no reallocation leaves a copy behind).
std::string key_text(KeyStore::StoredKey& key, const KeyStore::DeletedKey* deleted,
                     bool include_private) {
  const std::string head = key_text_head(key, deleted);
  size_t size = head.size() + 2;  // "]}"
  for (auto& ver : key.versions) size += version_text(ver, include_private).size() + 1;
  std::string out;
  out.reserve(size);
  out += head;
  for (size_t v = 0; v < key.versions.size(); ++v) {
    if (v > 0) out += ',';
    out += version_text(key.versions[v], include_private);
  }
  out += "]}";
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> KeyStore::key_rows(bool include_private) const {
  std::vector<std::shared_ptr<VaultKeys>> vaults;
  {
    std::lock_guard lock(mu_);
    for (const auto& [_, vk] : vaults_) vaults.push_back(vk);
  }
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& vk : vaults) {
    std::lock_guard lock(vk->mu);
    settle(*vk);
    // Live and deleted names never overlap: one ordered merge of the two maps.
    auto live = vk->live.begin();
    auto deleted = vk->deleted.begin();
    while (live != vk->live.end() || deleted != vk->deleted.end()) {
      if (deleted == vk->deleted.end() ||
          (live != vk->live.end() && live->first < deleted->first)) {
        rows.emplace_back(row_of(vk->name, live->first),
                          key_text(live->second, nullptr, include_private));
        ++live;
      } else {
        rows.emplace_back(row_of(vk->name, deleted->first),
                          key_text(deleted->second.key, &deleted->second, include_private));
        ++deleted;
      }
    }
  }
  return rows;  // ordered: vaults by name, then keys by name
}

std::optional<std::string> KeyStore::key_row(const std::string& row, bool include_private) const {
  const size_t slash = row.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto vk = find_vault(row.substr(0, slash));
  if (!vk) return std::nullopt;
  const std::string key = row.substr(slash + 1);
  std::lock_guard lock(vk->mu);
  if (auto it = vk->live.find(key); it != vk->live.end())
    return key_text(it->second, nullptr, include_private);
  if (auto it = vk->deleted.find(key); it != vk->deleted.end())
    return key_text(it->second.key, &it->second, include_private);
  return std::nullopt;
}

std::vector<std::string> KeyStore::vault_names() const {
  std::vector<std::pair<std::string, std::shared_ptr<VaultKeys>>> all;
  {
    std::lock_guard lock(mu_);
    all.assign(vaults_.begin(), vaults_.end());
  }
  const int64_t t = now();
  std::vector<std::string> names;
  for (const auto& [name, vk] : all) {
    std::lock_guard lock(vk->mu);
    if (!vk->live.empty() ||
        std::any_of(vk->deleted.begin(), vk->deleted.end(),
                    [&](const auto& kv) { return kv.second.scheduled_purge_date > t; }))
      names.push_back(name);
  }
  return names;  // sorted: from the map
}

std::string KeyStore::export_backup_key() const {
  const auto key = backup_key();
  if (!key) return {};
  std::string raw;
  WipeString wipe_raw{raw};
  key->export_private(raw);
  return base64url_encode(raw);
}

Status KeyStore::import_backup_key(const std::string& b64url) {
  auto raw = base64url_decode(b64url);
  if (!raw) return Status::error("The backup key is not base64url: " + raw.error());
  WipeString wipe_raw{raw.value()};
  if (raw->size() != 32)
    return Status::error("The backup key must be 32 bytes (AES-256), not " +
                         std::to_string(raw->size()) + ".");
  auto key = KeyMaterial::restore_private(KeyFamily::Oct, *raw);
  if (!key) return Status::error(key.error().message);
  auto held = std::make_shared<const KeyMaterial>(std::move(key.value()));
  {
    std::lock_guard lock(mu_);
    backup_key_.swap(held);
    ++revision_;
  }
  return Status::ok();  // the previous key goes with `held`, outside the lock
}

Status KeyStore::replace_all(const json& vaults, const std::string& path) {
  if (!vaults.is_object()) return at(path, "must be an object of vault name -> keys");
  std::map<std::string, std::shared_ptr<VaultKeys>> next;
  std::map<std::string, std::string> seen;  // lower-case vault name -> as given
  for (auto it = vaults.begin(); it != vaults.end(); ++it) {
    const std::string vpath = path + "." + it.key();
    if (!is_valid_key_name(it.key()))
      return at(vpath, "'" + it.key() + "' is not a vault name (letters, digits and dashes)");
    const std::string name = lower(it.key());
    if (auto [first, fresh] = seen.emplace(name, it.key()); !fresh)
      return at(vpath, "the vault '" + it.key() + "' is also given as '" + first->second +
                           "' (names compare case-insensitively)");
    if (it->is_null()) continue;
    auto vk = std::make_shared<VaultKeys>();
    if (auto s = read_vault(*it, vpath, *vk); !s) return s;
    if (!vk->live.empty() || !vk->deleted.empty()) next.emplace(name, std::move(vk));
  }
  for (auto& [name, vk] : next) vk->name = name;
  {
    std::lock_guard lock(mu_);
    changes_.record_all();
    ++revision_;
    vaults_.swap(next);
  }
  return Status::ok();  // the previous state goes with `next`, outside the lock
}

uint64_t KeyStore::revision() const {
  return revision_.load();
}

}  // namespace cmk::keyvault_data
