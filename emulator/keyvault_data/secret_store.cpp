#include "keyvault_data/secret_store.h"

#include <algorithm>
#include <cctype>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "keyvault_data/backup_seal.h"

namespace cmk::keyvault_data {

using nlohmann::json;

struct SecretStore::Version {
  Version() = default;
  Version(const Version&) = default;
  Version(Version&&) = default;
  Version& operator=(const Version&) = default;
  Version& operator=(Version&&) = default;
  ~Version() { wipe(value); }

  std::string id;
  std::string value;
  std::optional<std::string> content_type;
  SecretAttributes attributes;
  json tags = json::object();
  bool managed = false;
  std::optional<std::string> kid;
};

struct SecretStore::StoredSecret {
  std::string name;
  std::vector<Version> versions;  // in creation order; back() is the latest
};

struct SecretStore::DeletedSecret {
  StoredSecret secret;
  int64_t deleted_date = 0;
  int64_t scheduled_purge_date = 0;
};

struct SecretStore::VaultSecrets {
  std::string name;  // lower case
  std::mutex mu;
  std::map<std::string, StoredSecret> live;      // by lower-case name
  std::map<std::string, DeletedSecret> deleted;  // by lower-case name
};

namespace {

constexpr int64_t kDay = 24 * 3600;
constexpr BlobKind kSecretBlob{"CMKS", "cmk-emulator secret backup v1"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

SecretError bad(std::string message) {
  return {SecretErrorKind::BadParameter, std::move(message)};
}

SecretError not_found(const std::string& name, const std::string& version = {}) {
  return {SecretErrorKind::SecretNotFound,
          "A secret with (name/id) " + name + (version.empty() ? "" : "/" + version) +
              " was not found in this key vault. If you recently deleted this secret you may be "
              "able to recover it using the correct recovery command. For help resolving this "
              "issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"};
}

// Key Vault's recorded answer for a deleted secret that is not there is the live one's.
SecretError deleted_not_found(const std::string& name) {
  return not_found(name);
}

SecretError deleted_but_recoverable(const std::string& name) {
  return {SecretErrorKind::DeletedButRecoverable,
          "Secret " + name +
              " is currently in a deleted but recoverable state, and its name cannot be reused; "
              "in this state, the secret can only be recovered or purged."};
}

SecretError managed_refused(const char* op, const std::string& name) {
  return {SecretErrorKind::SecretManaged,
          std::string("Operation ") + op + " is not allowed on the managed secret '" + name +
              "': it belongs to the certificate of that name; use the certificate operations."};
}

size_t code_points(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::optional<SecretError> check_name(const std::string& name) {
  if (is_valid_secret_name(name)) return std::nullopt;
  return bad("The secret name '" + name +
             "' is invalid: a secret name is 1-127 characters of letters, digits and dashes.");
}

std::optional<SecretError> check_tags(const std::optional<json>& tags) {
  if (!tags) return std::nullopt;
  if (!tags->is_object()) return bad("The property 'tags' must be an object of strings.");
  if (tags->size() > 15) return bad("A secret can have at most 15 tags.");
  for (auto it = tags->begin(); it != tags->end(); ++it) {
    if (!it->is_string()) return bad("The tag '" + it.key() + "' must have a string value.");
    if (it.key().size() > 512 || it->get<std::string>().size() > 512)
      return bad("Tag names and values are at most 512 characters.");
  }
  return std::nullopt;
}

std::optional<SecretError> check_fixed(const FixedVersion& f) {
  if (!f.id) return std::nullopt;
  const bool hex =
      f.id->size() == 32 && std::all_of(f.id->begin(), f.id->end(), [](unsigned char c) {
        return std::isdigit(c) != 0 || (c >= 'a' && c <= 'f');
      });
  if (!hex)
    return bad("The secret version '" + *f.id + "' is not 32 lower-case hexadecimal digits.");
  return std::nullopt;
}

void apply(SecretAttributes& a, const SecretAttributesInput& in) {
  if (in.enabled) a.enabled = *in.enabled;
  if (in.nbf) a.nbf = *in.nbf;
  if (in.exp) a.exp = *in.exp;
}

SecretView view_of(const SecretStore::StoredSecret& s, const SecretStore::Version& ver,
                   const VaultSettings& v) {
  SecretView view;
  view.name = s.name;
  view.version = ver.id;
  view.content_type = ver.content_type;
  view.attributes = ver.attributes;
  view.tags = ver.tags;
  view.managed = ver.managed;
  view.kid = ver.kid;
  view.recovery_level = recovery_level(v);
  view.recoverable_days = recoverable_days(v);
  return view;
}

SecretView deleted_view(const SecretStore::DeletedSecret& d, const VaultSettings& v) {
  SecretView view = view_of(d.secret, d.secret.versions.back(), v);
  view.deleted_date = d.deleted_date;
  view.scheduled_purge_date = d.scheduled_purge_date;
  return view;
}

const SecretStore::Version* find_version(const SecretStore::StoredSecret& s,
                                         const std::string& version) {
  if (version.empty()) return &s.versions.back();
  const std::string want = lower(version);
  for (const auto& ver : s.versions)
    if (ver.id == want) return &ver;
  return nullptr;
}

// --- the one JSON form of a version: snapshot rows and backup documents ---------------------

json version_json(const SecretStore::Version& ver, bool include_value) {
  json attrs = {{"enabled", ver.attributes.enabled},
                {"created", ver.attributes.created},
                {"updated", ver.attributes.updated}};
  if (ver.attributes.nbf) attrs["nbf"] = *ver.attributes.nbf;
  if (ver.attributes.exp) attrs["exp"] = *ver.attributes.exp;
  json j = {{"version", ver.id}, {"attributes", attrs}};
  if (include_value) j["value"] = ver.value;
  if (ver.content_type) j["contentType"] = *ver.content_type;
  if (!ver.tags.empty()) j["tags"] = ver.tags;
  if (ver.managed) j["managed"] = true;
  if (ver.kid) j["kid"] = *ver.kid;
  return j;
}

json secret_json(const SecretStore::StoredSecret& s, bool include_value) {
  json versions = json::array();
  for (const auto& ver : s.versions) versions.push_back(version_json(ver, include_value));
  return {{"name", s.name}, {"versions", versions}};
}

// Overwrites every "value" of a secret document before it is freed.
void wipe_values(json& doc) {
  if (!doc.is_object()) return;
  auto it = doc.find("versions");
  if (it == doc.end() || !it->is_array()) return;
  for (auto& v : *it)
    if (v.is_object())
      if (auto val = v.find("value"); val != v.end() && val->is_string())
        wipe(val->get_ref<std::string&>());
}

struct WipeJson {
  json& doc;
  ~WipeJson() { wipe_values(doc); }
};
struct WipeString {
  std::string& s;
  ~WipeString() { wipe(s); }
};

// Reads one secret document (a snapshot row or a backup) into `out`; an error names the path.
std::optional<std::string> read_secret(const json& j, const std::string& path, bool deleted_row,
                                       SecretStore::StoredSecret& out, int64_t* deleted_date,
                                       int64_t* purge_date) {
  if (!j.is_object()) return path + ": must be an object";
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k != "name" && k != "versions" &&
        !(deleted_row && (k == "deletedDate" || k == "scheduledPurgeDate")))
      return path + "." + k + ": unknown member";
  }
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() || !is_valid_secret_name(name->get<std::string>()))
    return path + ".name: must be a secret name (1-127 letters, digits and dashes)";
  out.name = name->get<std::string>();
  if (deleted_row) {
    for (auto [key, slot] :
         {std::pair{"deletedDate", deleted_date}, std::pair{"scheduledPurgeDate", purge_date}}) {
      auto d = j.find(key);
      if (d == j.end() || !d->is_number_integer())
        return path + "." + key + ": must be an integer (Unix seconds)";
      *slot = d->get<int64_t>();
    }
  }
  auto versions = j.find("versions");
  if (versions == j.end() || !versions->is_array() || versions->empty())
    return path + ".versions: must be a non-empty array";
  for (size_t i = 0; i < versions->size(); ++i) {
    const json& vj = (*versions)[i];
    const std::string vp = path + ".versions[" + std::to_string(i) + "]";
    if (!vj.is_object()) return vp + ": must be an object";
    for (auto it = vj.begin(); it != vj.end(); ++it) {
      static const std::vector<std::string> known = {
          "version", "value", "contentType", "attributes", "tags", "managed", "kid"};
      if (std::find(known.begin(), known.end(), it.key()) == known.end())
        return vp + "." + it.key() + ": unknown member";
    }
    SecretStore::Version ver;
    auto id = vj.find("version");
    if (id == vj.end() || !id->is_string()) return vp + ".version: must be 32 hex digits";
    FixedVersion f;
    f.id = id->get<std::string>();
    if (check_fixed(f)) return vp + ".version: must be 32 lower-case hex digits";
    for (const auto& earlier : out.versions)
      if (earlier.id == *f.id) return vp + ".version: repeats an earlier version";
    ver.id = *f.id;
    auto value = vj.find("value");
    if (value == vj.end())
      return vp + ": carries no secret value: export with ?include=secrets to import";
    if (!value->is_string()) return vp + ".value: must be a string";
    ver.value = value->get<std::string>();
    if (code_points(ver.value) > kMaxSecretChars)
      return vp + ".value: longer than 25600 characters";
    if (auto ct = vj.find("contentType"); ct != vj.end()) {
      if (!ct->is_string()) return vp + ".contentType: must be a string";
      ver.content_type = ct->get<std::string>();
    }
    auto attrs = vj.find("attributes");
    if (attrs == vj.end() || !attrs->is_object()) return vp + ".attributes: must be an object";
    for (auto it = attrs->begin(); it != attrs->end(); ++it) {
      const std::string& k = it.key();
      if (k == "enabled") {
        if (!it->is_boolean()) return vp + ".attributes.enabled: must be a boolean";
        ver.attributes.enabled = it->get<bool>();
      } else if (k == "nbf" || k == "exp" || k == "created" || k == "updated") {
        if (!it->is_number_integer()) return vp + ".attributes." + k + ": must be an integer";
        const int64_t t = it->get<int64_t>();
        if (k == "nbf") ver.attributes.nbf = t;
        if (k == "exp") ver.attributes.exp = t;
        if (k == "created") ver.attributes.created = t;
        if (k == "updated") ver.attributes.updated = t;
      } else {
        return vp + ".attributes." + k + ": unknown member";
      }
    }
    if (auto tags = vj.find("tags"); tags != vj.end()) {
      if (auto e = check_tags(*tags)) return vp + ".tags: " + e->message;
      ver.tags = *tags;
    }
    if (auto m = vj.find("managed"); m != vj.end()) {
      if (!m->is_boolean()) return vp + ".managed: must be a boolean";
      ver.managed = m->get<bool>();
    }
    if (auto kid = vj.find("kid"); kid != vj.end()) {
      if (!kid->is_string()) return vp + ".kid: must be a string";
      ver.kid = kid->get<std::string>();
    }
    out.versions.push_back(std::move(ver));
  }
  return std::nullopt;
}

}  // namespace

bool is_valid_secret_name(const std::string& name) {
  return is_valid_key_name(name);  // the same rule in Key Vault
}

SecretStore::SecretStore(const Clock& clock, IdGenerator& ids, SealingKey sealing_key)
    : clock_(clock), ids_(ids), sealing_key_(std::move(sealing_key)) {}

SecretStore::~SecretStore() = default;

int64_t SecretStore::now() const {
  return to_unix_seconds(clock_.now());
}

void SecretStore::touch(VaultSecrets& vs, const std::string& secret_lower) const {
  changes_.record(vs.name + "/" + secret_lower);  // first: see common/revision.h
  ++revision_;
}

std::shared_ptr<SecretStore::VaultSecrets> SecretStore::find_vault(
    const std::string& lower_name) const {
  std::lock_guard lock(mu_);
  auto it = vaults_.find(lower_name);
  return it == vaults_.end() ? nullptr : it->second;
}

std::shared_ptr<SecretStore::VaultSecrets> SecretStore::vault(const VaultSettings& v) {
  std::lock_guard lock(mu_);
  const std::string name = lower(v.name);
  auto& slot = vaults_[name];
  if (!slot) {
    slot = std::make_shared<VaultSecrets>();
    slot->name = name;
  }
  return slot;
}

void SecretStore::sweep(VaultSecrets& vs, int64_t t) const {
  for (auto it = vs.deleted.begin(); it != vs.deleted.end();) {
    if (it->second.scheduled_purge_date > t) {
      ++it;
      continue;
    }
    touch(vs, it->first);
    it = vs.deleted.erase(it);
  }
}

void SecretStore::drop_vault(const std::string& vault_name) {
  std::shared_ptr<VaultSecrets> gone;
  {
    std::lock_guard lock(mu_);
    auto it = vaults_.find(lower(vault_name));
    if (it == vaults_.end()) return;
    gone = std::move(it->second);
    vaults_.erase(it);
  }
  std::lock_guard lock(gone->mu);
  for (const auto& [name, _] : gone->live) touch(*gone, name);
  for (const auto& [name, _] : gone->deleted) touch(*gone, name);
}

SecretResult<SecretView> SecretStore::set(const VaultSettings& v, const std::string& name,
                                          const SetSecretRequest& r, Actor who) {
  if (auto e = check_name(name)) return *e;
  if (code_points(r.value) > kMaxSecretChars)
    return bad("Secret is beyond the maximum permitted length of 25600 characters.");
  if (auto e = check_tags(r.tags)) return *e;
  if (auto e = check_fixed(r.fixed)) return *e;
  if (r.content_type && r.content_type->size() > 255)
    return bad("The content type is at most 255 characters.");
  const int64_t t = now();
  Version ver;
  ver.id = r.fixed.id.value_or(ids_.hex32());
  ver.value = r.value;
  ver.content_type = r.content_type;
  apply(ver.attributes, r.attributes);
  ver.attributes.created = ver.attributes.updated = r.fixed.created.value_or(t);
  if (r.tags) ver.tags = *r.tags;
  ver.managed = who == Actor::Certificate && r.managed;
  if (who == Actor::Certificate) ver.kid = r.kid;

  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  sweep(*vs, t);
  const std::string key = lower(name);
  if (auto d = vs->deleted.find(key); d != vs->deleted.end())
    return deleted_but_recoverable(d->second.secret.name);
  auto existing = vs->live.find(key);
  if (existing != vs->live.end() && who == Actor::Client &&
      existing->second.versions.back().managed)
    return managed_refused("set", existing->second.name);
  auto& stored = vs->live[key];
  if (stored.name.empty()) stored.name = name;
  for (const auto& earlier : stored.versions)
    if (earlier.id == ver.id)
      return SecretError{SecretErrorKind::Conflict,
                         "Secret '" + stored.name + "' already has a version '" + ver.id + "'."};
  stored.versions.push_back(std::move(ver));
  touch(*vs, key);
  SecretView view = view_of(stored, stored.versions.back(), v);
  view.value = stored.versions.back().value;
  return view;
}

SecretResult<SecretView> SecretStore::get(const VaultSettings& v, const std::string& name,
                                          const std::string& version) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  auto it = vs->live.find(lower(name));
  if (it == vs->live.end()) return not_found(name, version);
  const Version* ver = find_version(it->second, version);
  if (!ver) return not_found(name, version);
  if (!ver->attributes.enabled)
    return SecretError{SecretErrorKind::SecretDisabled,
                       "Operation get is not allowed on a disabled secret."};
  SecretView view = view_of(it->second, *ver, v);
  view.value = ver->value;
  return view;
}

SecretResult<SecretView> SecretStore::update(const VaultSettings& v, const std::string& name,
                                             const std::string& version,
                                             const UpdateSecretRequest& r) {
  if (auto e = check_tags(r.tags)) return *e;
  if (r.content_type && r.content_type->size() > 255)
    return bad("The content type is at most 255 characters.");
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  auto it = vs->live.find(lower(name));
  if (it == vs->live.end()) return not_found(name, version);
  Version* ver = const_cast<Version*>(find_version(it->second, version));
  if (!ver) return not_found(name, version);
  apply(ver->attributes, r.attributes);
  if (r.content_type) ver->content_type = *r.content_type;
  if (r.tags) ver->tags = *r.tags;
  ver->attributes.updated = now();
  touch(*vs, it->first);
  return view_of(it->second, *ver, v);
}

SecretPage SecretStore::list_secrets(const VaultSettings& v, const std::string& marker,
                                     size_t max) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  return page_after<SecretView>(vs->live, lower(marker), max, [&](const StoredSecret& s) {
    SecretView view = view_of(s, s.versions.back(), v);
    view.version.clear();  // list items name the secret, not a version
    return view;
  });
}

SecretResult<SecretPage> SecretStore::list_versions(const VaultSettings& v, const std::string& name,
                                                    const std::string& marker, size_t max) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  auto it = vs->live.find(lower(name));
  if (it == vs->live.end()) return not_found(name);
  const StoredSecret& s = it->second;
  return page_of_sequence<SecretView>(
      s.versions, marker, max, [](const Version& x) { return x.id; },
      [&](const Version& x) { return view_of(s, x, v); });
}

SecretResult<SecretView> SecretStore::remove(const VaultSettings& v, const std::string& name,
                                             Actor who) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  const int64_t t = now();
  sweep(*vs, t);
  auto it = vs->live.find(lower(name));
  if (it == vs->live.end()) return not_found(name);
  if (who == Actor::Client && it->second.versions.back().managed)
    return managed_refused("delete", it->second.name);
  DeletedSecret d;
  d.secret = std::move(it->second);
  touch(*vs, it->first);
  const std::string key = it->first;
  vs->live.erase(it);
  d.deleted_date = t;
  d.scheduled_purge_date = t + static_cast<int64_t>(recoverable_days(v)) * kDay;
  if (!v.soft_delete) return view_of(d.secret, d.secret.versions.back(), v);
  SecretView view = deleted_view(d, v);
  vs->deleted[key] = std::move(d);
  return view;
}

SecretResult<SecretView> SecretStore::get_deleted(const VaultSettings& v, const std::string& name) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  sweep(*vs, now());
  auto it = vs->deleted.find(lower(name));
  if (it == vs->deleted.end()) return deleted_not_found(name);
  return deleted_view(it->second, v);
}

SecretPage SecretStore::list_deleted(const VaultSettings& v, const std::string& marker,
                                     size_t max) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  sweep(*vs, now());
  return page_after<SecretView>(vs->deleted, lower(marker), max, [&](const DeletedSecret& d) {
    SecretView view = deleted_view(d, v);
    view.version.clear();
    return view;
  });
}

SecretResult<SecretView> SecretStore::recover(const VaultSettings& v, const std::string& name,
                                              Actor who) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  sweep(*vs, now());
  auto it = vs->deleted.find(lower(name));
  if (it == vs->deleted.end()) return deleted_not_found(name);
  if (who == Actor::Client && it->second.secret.versions.back().managed)
    return managed_refused("recover", it->second.secret.name);
  const std::string key = it->first;
  StoredSecret s = std::move(it->second.secret);
  vs->deleted.erase(it);
  auto& slot = vs->live[key];
  slot = std::move(s);
  touch(*vs, key);
  return view_of(slot, slot.versions.back(), v);
}

SecretResult<Done> SecretStore::purge(const VaultSettings& v, const std::string& name, Actor who) {
  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  sweep(*vs, now());
  auto it = vs->deleted.find(lower(name));
  if (it == vs->deleted.end()) return deleted_not_found(name);
  if (who == Actor::Client && it->second.secret.versions.back().managed)
    return managed_refused("purge", it->second.secret.name);
  if (v.purge_protection)
    return SecretError{SecretErrorKind::PurgeProtected,
                       "Operation \"purge\" is not allowed because purge protection is enabled "
                       "for this vault. Key Vault service will automatically purge it after the "
                       "retention period has passed."};
  touch(*vs, it->first);
  vs->deleted.erase(it);
  return Done{};
}

SecretResult<std::string> SecretStore::backup(const VaultSettings& v, const std::string& name) {
  const auto sealing = sealing_key_ ? sealing_key_() : nullptr;
  if (!sealing) return SecretError{SecretErrorKind::Internal, "The backup key is missing."};
  json doc;
  WipeJson wipe_doc{doc};
  {
    auto vs = vault(v);
    std::lock_guard lock(vs->mu);
    auto it = vs->live.find(lower(name));
    if (it == vs->live.end()) return not_found(name);
    doc = secret_json(it->second, true);
  }
  std::string plain = doc.dump();
  WipeString wipe_plain{plain};
  auto sealed = seal_backup(*sealing, kSecretBlob, plain);
  if (!sealed) return SecretError{SecretErrorKind::Internal, sealed.error().message};
  return std::move(sealed.value());
}

SecretResult<SecretView> SecretStore::restore(const VaultSettings& v, const std::string& blob) {
  const SecretError unreadable{SecretErrorKind::MalformedBackup, "Backup blob is corrupt."};
  const auto sealing = sealing_key_ ? sealing_key_() : nullptr;
  if (!sealing) return SecretError{SecretErrorKind::Internal, "The backup key is missing."};
  auto plain = open_backup(*sealing, kSecretBlob, blob);
  if (!plain) return unreadable;
  WipeString wipe_plain{*plain};
  json doc = json::parse(*plain, nullptr, false);
  WipeJson wipe_doc{doc};
  StoredSecret s;
  if (read_secret(doc, "$", false, s, nullptr, nullptr)) return unreadable;

  auto vs = vault(v);
  std::lock_guard lock(vs->mu);
  sweep(*vs, now());
  const std::string key = lower(s.name);
  if (auto d = vs->deleted.find(key); d != vs->deleted.end())
    return deleted_but_recoverable(d->second.secret.name);
  if (vs->live.count(key))
    return SecretError{SecretErrorKind::Conflict,
                       "There was a conflict restoring the secret '" + s.name +
                           "': a secret with that name already exists in this vault. Delete and "
                           "purge it, or restore into another vault."};
  auto& slot = vs->live[key];
  slot = std::move(s);
  touch(*vs, key);
  return view_of(slot, slot.versions.back(), v);
}

// --- snapshot -------------------------------------------------------------------------------

namespace {
std::string deleted_row_text(const SecretStore::DeletedSecret& d, bool include_values) {
  json j = secret_json(d.secret, include_values);
  j["deletedDate"] = d.deleted_date;
  j["scheduledPurgeDate"] = d.scheduled_purge_date;
  std::string text = j.dump();
  if (include_values) wipe_values(j);
  return text;
}
std::string live_row_text(const SecretStore::StoredSecret& s, bool include_values) {
  json j = secret_json(s, include_values);
  std::string text = j.dump();
  if (include_values) wipe_values(j);
  return text;
}
}  // namespace

std::vector<std::string> SecretStore::vault_names() const {
  std::vector<std::shared_ptr<VaultSecrets>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [_, vs] : vaults_) all.push_back(vs);
  }
  std::vector<std::string> names;
  const int64_t t = now();
  for (const auto& vs : all) {
    std::lock_guard lock(vs->mu);
    sweep(*vs, t);
    if (!vs->live.empty() || !vs->deleted.empty()) names.push_back(vs->name);
  }
  return names;
}

std::vector<std::pair<std::string, std::string>> SecretStore::secret_rows(
    bool include_values) const {
  std::vector<std::shared_ptr<VaultSecrets>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [_, vs] : vaults_) all.push_back(vs);
  }
  std::vector<std::pair<std::string, std::string>> rows;
  const int64_t t = now();
  for (const auto& vs : all) {
    std::lock_guard lock(vs->mu);
    sweep(*vs, t);
    for (const auto& [key, s] : vs->live)
      rows.emplace_back(vs->name + "/" + key, live_row_text(s, include_values));
    for (const auto& [key, d] : vs->deleted)
      rows.emplace_back(vs->name + "/" + key, deleted_row_text(d, include_values));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::optional<std::string> SecretStore::secret_row(const std::string& row,
                                                   bool include_values) const {
  const size_t slash = row.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto vs = find_vault(row.substr(0, slash));
  if (!vs) return std::nullopt;
  const std::string key = row.substr(slash + 1);
  std::lock_guard lock(vs->mu);
  if (auto it = vs->live.find(key); it != vs->live.end())
    return live_row_text(it->second, include_values);
  if (auto it = vs->deleted.find(key); it != vs->deleted.end())
    return deleted_row_text(it->second, include_values);
  return std::nullopt;
}

json SecretStore::export_vault(const std::string& vault_name, bool include_values) const {
  auto vs = find_vault(lower(vault_name));
  if (!vs) return nullptr;
  std::lock_guard lock(vs->mu);
  sweep(*vs, now());
  if (vs->live.empty() && vs->deleted.empty()) return nullptr;
  json out = {{"secrets", json::array()}, {"deletedSecrets", json::array()}};
  for (const auto& [_, s] : vs->live) out["secrets"].push_back(secret_json(s, include_values));
  for (const auto& [_, d] : vs->deleted) {
    json j = secret_json(d.secret, include_values);
    j["deletedDate"] = d.deleted_date;
    j["scheduledPurgeDate"] = d.scheduled_purge_date;
    out["deletedSecrets"].push_back(std::move(j));
  }
  return out;
}

Status SecretStore::parse_all(const json& vaults, const std::string& path, VaultMap& next) {
  if (!vaults.is_object()) return Status::error(path + ": must be an object");
  for (auto it = vaults.begin(); it != vaults.end(); ++it) {
    const std::string vp = path + "." + it.key();
    if (it->is_null()) continue;
    if (!it->is_object()) return Status::error(vp + ": must be an object");
    const std::string vname = lower(it.key());
    if (vname.empty() || next.count(vname))
      return Status::error(vp + ": names a vault twice (names compare case-insensitively)");
    auto vs = std::make_shared<VaultSecrets>();
    vs->name = vname;
    for (auto m = it->begin(); m != it->end(); ++m)
      if (m.key() != "secrets" && m.key() != "deletedSecrets")
        return Status::error(vp + "." + m.key() + ": unknown member");
    for (const char* list : {"secrets", "deletedSecrets"}) {
      auto l = it->find(list);
      if (l == it->end()) continue;
      if (!l->is_array()) return Status::error(vp + "." + list + ": must be an array");
      const bool deleted = std::string(list) == "deletedSecrets";
      for (size_t i = 0; i < l->size(); ++i) {
        const std::string ip = vp + "." + list + "[" + std::to_string(i) + "]";
        StoredSecret s;
        int64_t deleted_date = 0, purge_date = 0;
        if (auto e = read_secret((*l)[i], ip, deleted, s, &deleted_date, &purge_date))
          return Status::error(*e);
        const std::string key = lower(s.name);
        if (vs->live.count(key) || vs->deleted.count(key))
          return Status::error(ip + ".name: names the secret '" + s.name +
                               "' twice (live or deleted; names compare case-insensitively)");
        if (deleted)
          vs->deleted[key] = DeletedSecret{std::move(s), deleted_date, purge_date};
        else
          vs->live[key] = std::move(s);
      }
    }
    next[vname] = std::move(vs);
  }
  return Status::ok();
}

Status SecretStore::check_all(const json& vaults, const std::string& path) const {
  VaultMap next;
  return parse_all(vaults, path, next);
}

Status SecretStore::replace_all(const json& vaults, const std::string& path) {
  VaultMap next;
  if (auto s = parse_all(vaults, path, next); !s) return s;
  VaultMap old;
  {
    std::lock_guard lock(mu_);
    old.swap(vaults_);
    vaults_ = std::move(next);
  }
  changes_.record_all();
  ++revision_;
  return Status::ok();
}

uint64_t SecretStore::revision() const {
  return revision_.load();
}

}  // namespace cmk::keyvault_data
