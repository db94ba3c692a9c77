// CertificateStore's snapshot form (state export/import, --state-dir persistence).
//
// Row "<vault>/<certificate>" (lower case), a certificate as the store keeps it:
//   {"name": "Web",                                    first casing used
//    "policy": {"kty": "RSA", "keySize": 2048, "crv": .., "exportable": true, "reuseKey": false,
//               "contentType": "application/x-pkcs12", "subject": "CN=web",
//               "sans": {"dnsNames": [], "emails": [], "upns": []}, "ekus": [..],
//               "keyUsage": [..], "validityMonths": 12, "issuerName": "Self",
//               "certificateType": .., "certificateTransparency": ..,
//               "lifetimeActions": [{"actionType": "AutoRenew", "lifetimePercentage": 80 |
//                                    "daysBeforeExpiry": 30}],
//               "enabled": true, "created": 1, "updated": 2},    optional members when set
//    "versions": [{"version": "<32 hex>", "tags": {},
//                  "attributes": {"enabled": true, "nbf": 1, "exp": 2, "created": 3,
//                                 "updated": 4},
//                  "x5c": ["<base64 DER>", ...],       leaf first; absent while it has none
//                  "keyFamily": "RSA" | "EC", "material": "<base64url>"}],   with x5c, private
//    "pending": {"requestId", "version", "policy": {...}, "csr": "<base64 DER>",
//                "started": ISO-8601, "polls": n, "lro": {LRO policy}, "status": "inProgress" |
//                "completed" | "cancelled" | "failed", "cancellationRequested": bool,
//                "error": {"kind", "message"}, "enabled": bool,   when set
//                "issued": ["<base64 DER>"...],                    Self: made at create
//                "keyFamily", "material"},                         in progress only, private
//    "deletedDate": 5, "scheduledPurgeDate": 6}        deleted certificates only
// "material" is KeyMaterial::export_private() in base64url, as the keys section writes it: the
// certificate carries its own key so that it never depends on a key a client may have deleted
// through the keys API; the key and the managed secret of each version are in the keys and
// vaultSecrets sections as well, with the same names and versions (kid and sid).
// Row "<vault>": {"contacts": [{"email", "name", "phone"}],   only when set
//                 "issuers": [{"name", "provider", "accountId", "orgDetails", "enabled",
//                              "created", "updated", "password" (private)}]}
// A pending operation survives as it is: its key is in the row, its completion is settled
// lazily as always (on the virtual clock or by reads), so none is interrupted.
#include <algorithm>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "keyvault_data/certificate_records.h"

namespace cmk::keyvault_data {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr const char* kNoPrivate =
    ": carries no private key material: export with ?include=secrets to import";

const std::vector<std::pair<CertErrorKind, const char*>>& error_kinds() {
  static const std::vector<std::pair<CertErrorKind, const char*>> kinds = {
      {CertErrorKind::BadParameter, "BadParameter"},
      {CertErrorKind::CertificateNotFound, "CertificateNotFound"},
      {CertErrorKind::PendingNotFound, "PendingNotFound"},
      {CertErrorKind::IssuerNotFound, "IssuerNotFound"},
      {CertErrorKind::ContactsNotFound, "ContactsNotFound"},
      {CertErrorKind::Forbidden, "Forbidden"},
      {CertErrorKind::PurgeProtected, "PurgeProtected"},
      {CertErrorKind::DeletedButRecoverable, "DeletedButRecoverable"},
      {CertErrorKind::Conflict, "Conflict"},
      {CertErrorKind::Internal, "Internal"},
  };
  return kinds;
}

json policy_json(const CertificatePolicy& p) {
  json j = {
      {"kty", p.kty},
      {"contentType", p.content_type},
      {"subject", p.subject},
      {"sans", {{"dnsNames", p.sans.dns_names}, {"emails", p.sans.emails}, {"upns", p.sans.upns}}},
      {"issuerName", p.issuer_name},
      {"enabled", p.enabled},
      {"created", p.created},
      {"updated", p.updated}};
  if (p.key_size) j["keySize"] = *p.key_size;
  if (p.crv) j["crv"] = *p.crv;
  if (p.exportable) j["exportable"] = *p.exportable;
  if (p.reuse_key) j["reuseKey"] = *p.reuse_key;
  if (p.ekus) j["ekus"] = *p.ekus;
  if (p.key_usage) j["keyUsage"] = *p.key_usage;
  if (p.validity_months) j["validityMonths"] = *p.validity_months;
  if (p.certificate_type) j["certificateType"] = *p.certificate_type;
  if (p.cert_transparency) j["certificateTransparency"] = *p.cert_transparency;
  if (p.lifetime_actions) {
    j["lifetimeActions"] = json::array();
    for (const auto& a : *p.lifetime_actions) {
      json aj = {{"actionType", a.action_type}};
      if (a.lifetime_percentage) aj["lifetimePercentage"] = *a.lifetime_percentage;
      if (a.days_before_expiry) aj["daysBeforeExpiry"] = *a.days_before_expiry;
      j["lifetimeActions"].push_back(std::move(aj));
    }
  }
  return j;
}

json chain_json(const CertificateMaterial& m) {
  json x5c = json::array();
  for (const auto& der : m.der_chain()) x5c.push_back(base64_encode(der));
  return x5c;
}

void put_key(json& j, const KeyMaterial& key) {
  std::string bytes;
  key.export_private(bytes);
  j["keyFamily"] = family_name(key.family());
  j["material"] = base64url_encode(bytes);
  wipe(bytes);
}

json version_json(const CertificateStore::Version& v, bool include_private) {
  json attributes = {{"enabled", v.attributes.enabled},
                     {"created", v.attributes.created},
                     {"updated", v.attributes.updated}};
  if (v.attributes.nbf) attributes["nbf"] = *v.attributes.nbf;
  if (v.attributes.exp) attributes["exp"] = *v.attributes.exp;
  json j = {{"version", v.id}, {"attributes", attributes}, {"tags", v.tags}};
  if (v.material) {
    j["x5c"] = chain_json(*v.material);
    if (include_private) put_key(j, v.material->key());
  }
  return j;
}

json pending_json(const CertificateStore::Pending& p, bool include_private) {
  json j = {{"requestId", p.request_id},
            {"version", p.version},
            {"policy", policy_json(p.policy)},
            {"csr", base64_encode(p.csr)},
            {"started", to_iso8601(p.started)},
            {"polls", p.polls},
            {"lro", p.lro.to_json()},
            {"status", p.status},
            {"cancellationRequested", p.cancellation_requested}};
  if (p.error) {
    const char* kind = "Internal";
    for (const auto& [k, name] : error_kinds())
      if (k == p.error->kind) kind = name;
    j["error"] = {{"kind", kind}, {"message", p.error->message}};
  }
  if (p.attributes.enabled) j["enabled"] = *p.attributes.enabled;
  // The key and the certificate made ahead are needed only until the operation ends.
  if (p.status == "inProgress") {
    if (p.issued) j["issued"] = chain_json(*p.issued);
    if (include_private && p.key) put_key(j, *p.key);
  }
  return j;
}

json certificate_json(const CertificateStore::Stored& c, bool include_private) {
  json versions = json::array();
  for (const auto& v : c.versions) versions.push_back(version_json(v, include_private));
  json j = {{"name", c.name}, {"policy", policy_json(c.policy)}, {"versions", versions}};
  if (c.pending) j["pending"] = pending_json(*c.pending, include_private);
  return j;
}

// Dumps and wipes the JSON's private members.
std::string dump_wiped(json& j) {
  std::string text = j.dump();
  std::function<void(json&)> wipe_all = [&](json& x) {
    if (x.is_object()) {
      for (auto it = x.begin(); it != x.end(); ++it) {
        if ((it.key() == "material" || it.key() == "password") && it->is_string())
          wipe(it->get_ref<std::string&>());
        else
          wipe_all(*it);
      }
    } else if (x.is_array()) {
      for (auto& e : x) wipe_all(e);
    }
  };
  wipe_all(j);
  return text;
}

std::string live_text(const CertificateStore::Stored& c, bool include_private) {
  json j = certificate_json(c, include_private);
  return dump_wiped(j);
}

std::string deleted_text(const CertificateStore::Deleted& d, bool include_private) {
  json j = certificate_json(d.cert, include_private);
  j["deletedDate"] = d.deleted_date;
  j["scheduledPurgeDate"] = d.scheduled_purge_date;
  return dump_wiped(j);
}

// The vault row, or nullopt when the vault has neither contacts nor issuers.
std::optional<std::string> vault_text(const CertificateStore::VaultCertificates& vc,
                                      bool include_private) {
  if (!vc.contacts && vc.issuers.empty()) return std::nullopt;
  json j = {{"issuers", json::array()}};
  if (vc.contacts) {
    j["contacts"] = json::array();
    for (const auto& c : *vc.contacts) {
      json cj = json::object();
      if (c.email) cj["email"] = *c.email;
      if (c.name) cj["name"] = *c.name;
      if (c.phone) cj["phone"] = *c.phone;
      j["contacts"].push_back(std::move(cj));
    }
  }
  for (const auto& [_, i] : vc.issuers) {
    json ij = {{"name", i.name},
               {"provider", i.provider},
               {"enabled", i.enabled},
               {"created", i.created},
               {"updated", i.updated}};
    if (i.account_id) ij["accountId"] = *i.account_id;
    if (!i.org_details.is_null()) ij["orgDetails"] = i.org_details;
    if (include_private && i.password) ij["password"] = *i.password;
    j["issuers"].push_back(std::move(ij));
  }
  return dump_wiped(j);
}

// --- reading ---------------------------------------------------------------------------------

using Error = std::optional<std::string>;

Error only_members(const json& j, const std::string& path,
                   std::initializer_list<const char*> known) {
  if (!j.is_object()) return path + ": must be an object";
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return it.key() == k; }))
      return path + "." + it.key() + ": unknown member";
  return std::nullopt;
}

Error read_int(const json& j, const std::string& path, const char* key, int64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return path + "." + key + ": must be an integer";
  out = it->get<int64_t>();
  return std::nullopt;
}

template <typename T>
Error read_opt_int(const json& j, const std::string& path, const char* key, std::optional<T>& out) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (!it->is_number_integer()) return path + "." + key + ": must be an integer";
  out = it->get<T>();
  return std::nullopt;
}

Error read_text(const json& j, const std::string& path, const char* key, std::string& out,
                bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return path + "." + key + ": must be a string";
    return std::nullopt;
  }
  if (!it->is_string()) return path + "." + key + ": must be a string";
  out = it->get<std::string>();
  return std::nullopt;
}

Error read_bool(const json& j, const std::string& path, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return path + "." + key + ": must be a boolean";
  out = it->get<bool>();
  return std::nullopt;
}

Error read_strings(const json& j, const std::string& path, const char* key,
                   std::vector<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return path + "." + key + ": must be an array of strings";
  out.clear();
  for (const auto& e : *it) {
    if (!e.is_string()) return path + "." + key + ": must be an array of strings";
    out.push_back(e.get<std::string>());
  }
  return std::nullopt;
}

Error read_policy(const json& j, const std::string& path, CertificatePolicy& p) {
  if (auto e = only_members(
          j, path,
          {"kty", "keySize", "crv", "exportable", "reuseKey", "contentType", "subject", "sans",
           "ekus", "keyUsage", "validityMonths", "issuerName", "certificateType",
           "certificateTransparency", "lifetimeActions", "enabled", "created", "updated"}))
    return e;
  if (auto e = read_text(j, path, "kty", p.kty)) return e;
  if (auto e = read_opt_int(j, path, "keySize", p.key_size)) return e;
  if (j.contains("crv")) {
    std::string crv;
    if (auto e = read_text(j, path, "crv", crv)) return e;
    p.crv = crv;
  }
  for (auto [key, slot] :
       {std::pair{"exportable", &p.exportable}, std::pair{"reuseKey", &p.reuse_key},
        std::pair{"certificateTransparency", &p.cert_transparency}}) {
    if (!j.contains(key)) continue;
    bool b = false;
    if (auto e = read_bool(j, path, key, b)) return e;
    *slot = b;
  }
  if (auto e = read_text(j, path, "contentType", p.content_type)) return e;
  if (auto e = read_text(j, path, "subject", p.subject)) return e;
  const std::string sp = path + ".sans";
  auto sans = j.find("sans");
  if (sans == j.end()) return sp + ": must be an object";
  if (auto e = only_members(*sans, sp, {"dnsNames", "emails", "upns"})) return e;
  if (auto e = read_strings(*sans, sp, "dnsNames", p.sans.dns_names)) return e;
  if (auto e = read_strings(*sans, sp, "emails", p.sans.emails)) return e;
  if (auto e = read_strings(*sans, sp, "upns", p.sans.upns)) return e;
  for (auto [key, slot] : {std::pair{"ekus", &p.ekus}, std::pair{"keyUsage", &p.key_usage}}) {
    if (!j.contains(key)) continue;
    std::vector<std::string> list;
    if (auto e = read_strings(j, path, key, list)) return e;
    *slot = list;
  }
  if (auto e = read_opt_int(j, path, "validityMonths", p.validity_months)) return e;
  if (auto e = read_text(j, path, "issuerName", p.issuer_name)) return e;
  if (j.contains("certificateType")) {
    std::string type;
    if (auto e = read_text(j, path, "certificateType", type)) return e;
    p.certificate_type = type;
  }
  if (auto a = j.find("lifetimeActions"); a != j.end()) {
    if (!a->is_array()) return path + ".lifetimeActions: must be an array";
    p.lifetime_actions.emplace();
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string ap = path + ".lifetimeActions[" + std::to_string(i) + "]";
      const json& aj = (*a)[i];
      if (auto e = only_members(aj, ap, {"actionType", "lifetimePercentage", "daysBeforeExpiry"}))
        return e;
      CertificateLifetimeAction action;
      if (auto e = read_text(aj, ap, "actionType", action.action_type)) return e;
      if (auto e = read_opt_int(aj, ap, "lifetimePercentage", action.lifetime_percentage)) return e;
      if (auto e = read_opt_int(aj, ap, "daysBeforeExpiry", action.days_before_expiry)) return e;
      p.lifetime_actions->push_back(std::move(action));
    }
  }
  if (auto e = read_bool(j, path, "enabled", p.enabled)) return e;
  if (auto e = read_int(j, path, "created", p.created)) return e;
  if (auto e = read_int(j, path, "updated", p.updated)) return e;
  if (auto e = check_policy(p)) return path + ": " + e->message;
  return std::nullopt;
}

Error read_chain(const json& j, const std::string& path, const char* key,
                 std::vector<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->empty())
    return path + "." + key + ": must be a non-empty array of base64 DER certificates";
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string ip = path + "." + key + "[" + std::to_string(i) + "]";
    if (!(*it)[i].is_string()) return ip + ": must be a string";
    auto der = base64_decode((*it)[i].get<std::string>());
    if (!der) return ip + ": is not base64";
    out.push_back(std::move(*der));
  }
  return std::nullopt;
}

// The private key of `j` ("keyFamily" + "material"); null with an error when absent or broken.
Error read_key(const json& j, const std::string& path, std::shared_ptr<const KeyMaterial>& out) {
  if (!j.contains("material")) return path + kNoPrivate;
  std::string family, material;
  if (auto e = read_text(j, path, "keyFamily", family)) return e;
  if (family != "RSA" && family != "EC") return path + ".keyFamily: must be RSA or EC";
  if (auto e = read_text(j, path, "material", material)) return e;
  auto bytes = base64url_decode(material);
  if (!bytes) return path + ".material: is not base64url";
  auto key = KeyMaterial::restore_private(family == "EC" ? KeyFamily::Ec : KeyFamily::Rsa, *bytes);
  wipe(*bytes);
  if (!key) return path + ".material: " + key.error().message;
  out = std::make_shared<const KeyMaterial>(std::move(*key));
  return std::nullopt;
}

bool is_version_id(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Error read_version(const json& j, const std::string& path, CertificateStore::Version& v) {
  if (auto e =
          only_members(j, path, {"version", "attributes", "tags", "x5c", "keyFamily", "material"}))
    return e;
  if (auto e = read_text(j, path, "version", v.id)) return e;
  if (!is_version_id(v.id)) return path + ".version: must be 32 lower-case hex characters";
  const std::string ap = path + ".attributes";
  auto a = j.find("attributes");
  if (a == j.end()) return ap + ": must be an object";
  if (auto e = only_members(*a, ap, {"enabled", "nbf", "exp", "created", "updated"})) return e;
  if (auto e = read_bool(*a, ap, "enabled", v.attributes.enabled)) return e;
  if (auto e = read_opt_int(*a, ap, "nbf", v.attributes.nbf)) return e;
  if (auto e = read_opt_int(*a, ap, "exp", v.attributes.exp)) return e;
  if (auto e = read_int(*a, ap, "created", v.attributes.created)) return e;
  if (auto e = read_int(*a, ap, "updated", v.attributes.updated)) return e;
  auto tags = j.find("tags");
  if (tags == j.end() || !tags->is_object()) return path + ".tags: must be an object of strings";
  for (const auto& t : *tags)
    if (!t.is_string()) return path + ".tags: must be an object of strings";
  v.tags = *tags;
  if (!j.contains("x5c")) {
    if (j.contains("material")) return path + ".material: a version without x5c has no key";
    return std::nullopt;
  }
  std::vector<std::string> chain;
  if (auto e = read_chain(j, path, "x5c", chain)) return e;
  std::shared_ptr<const KeyMaterial> key;
  if (auto e = read_key(j, path, key)) return e;
  auto m = CertificateMaterial::from_parts(*key, chain);
  if (!m) return path + ".x5c: " + m.error().message;
  v.material = std::make_shared<const CertificateMaterial>(std::move(*m));
  return std::nullopt;
}

Error read_pending(const json& j, const std::string& path, const CertificateStore::Stored& c,
                   CertificateStore::Pending& p) {
  if (auto e = only_members(
          j, path,
          {"requestId", "version", "policy", "csr", "started", "polls", "lro", "status",
           "cancellationRequested", "error", "enabled", "issued", "keyFamily", "material"}))
    return e;
  if (auto e = read_text(j, path, "requestId", p.request_id)) return e;
  if (auto e = read_text(j, path, "version", p.version)) return e;
  if (std::none_of(c.versions.begin(), c.versions.end(),
                   [&](const CertificateStore::Version& v) { return v.id == p.version; }))
    return path + ".version: names no version of the certificate";
  auto policy = j.find("policy");
  if (policy == j.end()) return path + ".policy: must be an object";
  if (auto e = read_policy(*policy, path + ".policy", p.policy)) return e;
  std::string csr, started;
  if (auto e = read_text(j, path, "csr", csr)) return e;
  auto der = base64_decode(csr);
  if (!der) return path + ".csr: is not base64";
  p.csr = std::move(*der);
  if (auto e = read_text(j, path, "started", started)) return e;
  auto t = parse_iso8601(started);
  if (!t) return path + ".started: must be an ISO-8601 time";
  p.started = *t;
  int64_t polls = 0;
  if (auto e = read_int(j, path, "polls", polls)) return e;
  if (polls < 0 || polls > 1000000000) return path + ".polls: must be 0 or more";
  p.polls = static_cast<int>(polls);
  auto lro = j.find("lro");
  if (lro == j.end()) return path + ".lro: must be an object";
  auto policy_read = arm::LroPolicy::from_json(*lro);
  if (!policy_read) return path + ".lro: " + policy_read.status().message();
  p.lro = policy_read.value();
  if (auto e = read_text(j, path, "status", p.status)) return e;
  static const std::vector<std::string> statuses = {"inProgress", "completed", "cancelled",
                                                    "failed"};
  if (std::find(statuses.begin(), statuses.end(), p.status) == statuses.end())
    return path + ".status: must be inProgress, completed, cancelled or failed";
  if (auto e = read_bool(j, path, "cancellationRequested", p.cancellation_requested)) return e;
  if (auto err = j.find("error"); err != j.end()) {
    const std::string ep = path + ".error";
    if (auto e = only_members(*err, ep, {"kind", "message"})) return e;
    std::string kind;
    CertError ce;
    if (auto e = read_text(*err, ep, "kind", kind)) return e;
    if (auto e = read_text(*err, ep, "message", ce.message)) return e;
    auto k = std::find_if(error_kinds().begin(), error_kinds().end(),
                          [&](const auto& x) { return kind == x.second; });
    if (k == error_kinds().end()) return ep + ".kind: is not an error kind of certificates";
    ce.kind = k->first;
    p.error = ce;
  }
  if (j.contains("enabled")) {
    bool enabled = true;
    if (auto e = read_bool(j, path, "enabled", enabled)) return e;
    p.attributes.enabled = enabled;
  }
  if (p.status != "inProgress") {
    if (j.contains("issued") || j.contains("material"))
      return path + ": an operation that ended keeps no key or issued certificate";
    return std::nullopt;
  }
  if (auto e = read_key(j, path, p.key)) return e;
  if (j.contains("issued")) {
    std::vector<std::string> chain;
    if (auto e = read_chain(j, path, "issued", chain)) return e;
    auto m = CertificateMaterial::from_parts(*p.key, chain);
    if (!m) return path + ".issued: " + m.error().message;
    p.issued = std::make_shared<const CertificateMaterial>(std::move(*m));
  }
  return std::nullopt;
}

Error read_certificate(const json& j, const std::string& path, bool deleted,
                       CertificateStore::Deleted& out) {
  CertificateStore::Stored& c = out.cert;
  if (deleted) {
    if (auto e = only_members(
            j, path,
            {"name", "policy", "versions", "pending", "deletedDate", "scheduledPurgeDate"}))
      return e;
  } else if (auto e = only_members(j, path, {"name", "policy", "versions", "pending"})) {
    return e;
  }
  if (auto e = read_text(j, path, "name", c.name)) return e;
  if (!is_valid_certificate_name(c.name))
    return path + ".name: must be a certificate name (1-127 letters, digits and dashes)";
  auto policy = j.find("policy");
  if (policy == j.end()) return path + ".policy: must be an object";
  if (auto e = read_policy(*policy, path + ".policy", c.policy)) return e;
  auto versions = j.find("versions");
  if (versions == j.end() || !versions->is_array() || versions->empty())
    return path + ".versions: must be a non-empty array";
  for (size_t i = 0; i < versions->size(); ++i) {
    const std::string vp = path + ".versions[" + std::to_string(i) + "]";
    CertificateStore::Version v;
    if (auto e = read_version((*versions)[i], vp, v)) return e;
    for (const auto& other : c.versions)
      if (other.id == v.id) return vp + ".version: names a version twice";
    c.versions.push_back(std::move(v));
  }
  if (auto p = j.find("pending"); p != j.end()) {
    if (deleted) return path + ".pending: a deleted certificate has no pending operation";
    CertificateStore::Pending pending;
    if (auto e = read_pending(*p, path + ".pending", c, pending)) return e;
    c.pending = std::move(pending);
  }
  if (deleted) {
    if (auto e = read_int(j, path, "deletedDate", out.deleted_date)) return e;
    if (auto e = read_int(j, path, "scheduledPurgeDate", out.scheduled_purge_date)) return e;
  }
  return std::nullopt;
}

Error read_vault_settings(const json& vj, const std::string& vp,
                          CertificateStore::VaultCertificates& vc) {
  if (auto c = vj.find("contacts"); c != vj.end()) {
    if (!c->is_array()) return vp + ".contacts: must be an array";
    vc.contacts.emplace();
    for (size_t i = 0; i < c->size(); ++i) {
      const std::string cp = vp + ".contacts[" + std::to_string(i) + "]";
      if (auto e = only_members((*c)[i], cp, {"email", "name", "phone"})) return e;
      CertificateContact contact;
      for (auto [key, slot] : {std::pair{"email", &contact.email}, std::pair{"name", &contact.name},
                               std::pair{"phone", &contact.phone}}) {
        if (!(*c)[i].contains(key)) continue;
        std::string text;
        if (auto e = read_text((*c)[i], cp, key, text)) return e;
        *slot = text;
      }
      if (!contact.email && !contact.name && !contact.phone)
        return cp + ": must give at least one of email, name and phone";
      vc.contacts->push_back(std::move(contact));
    }
  }
  if (auto is = vj.find("issuers"); is != vj.end()) {
    if (!is->is_array()) return vp + ".issuers: must be an array";
    for (size_t i = 0; i < is->size(); ++i) {
      const std::string ip = vp + ".issuers[" + std::to_string(i) + "]";
      const json& ij = (*is)[i];
      if (auto e = only_members(ij, ip,
                                {"name", "provider", "accountId", "password", "orgDetails",
                                 "enabled", "created", "updated"}))
        return e;
      CertificateIssuer issuer;
      if (auto e = read_text(ij, ip, "name", issuer.name)) return e;
      const std::string key = lower(issuer.name);
      if (!is_valid_certificate_name(issuer.name) || key == "self" || key == "unknown")
        return ip +
               ".name: must be an issuer name (1-127 letters, digits and '-', neither Self "
               "nor Unknown)";
      if (vc.issuers.count(key)) return ip + ".name: names an issuer twice";
      if (auto e = read_text(ij, ip, "provider", issuer.provider)) return e;
      for (auto [k, slot] :
           {std::pair{"accountId", &issuer.account_id}, std::pair{"password", &issuer.password}}) {
        if (!ij.contains(k)) continue;
        std::string text;
        if (auto e = read_text(ij, ip, k, text)) return e;
        *slot = text;
      }
      if (auto o = ij.find("orgDetails"); o != ij.end()) {
        if (!o->is_object()) return ip + ".orgDetails: must be an object";
        issuer.org_details = *o;
      }
      if (auto e = read_bool(ij, ip, "enabled", issuer.enabled)) return e;
      if (auto e = read_int(ij, ip, "created", issuer.created)) return e;
      if (auto e = read_int(ij, ip, "updated", issuer.updated)) return e;
      vc.issuers.emplace(key, std::move(issuer));
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> CertificateStore::certificate_rows(
    bool include_private) const {
  std::vector<std::pair<std::string, std::string>> rows;
  std::lock_guard lock(mu_);
  const int64_t t = now();
  for (const auto& [_, vc] : vaults_) {
    for (auto it = vc->deleted.begin(); it != vc->deleted.end();) {
      if (it->second.scheduled_purge_date > t) {
        ++it;
        continue;
      }
      touch(vc->name, it->first);
      it = vc->deleted.erase(it);
    }
    if (auto text = vault_text(*vc, include_private)) rows.emplace_back(vc->name, std::move(*text));
    for (const auto& [key, c] : vc->live)
      rows.emplace_back(vc->name + "/" + key, live_text(c, include_private));
    for (const auto& [key, d] : vc->deleted)
      rows.emplace_back(vc->name + "/" + key, deleted_text(d, include_private));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::optional<std::string> CertificateStore::certificate_row(const std::string& row,
                                                             bool include_private) const {
  const size_t slash = row.find('/');
  std::lock_guard lock(mu_);
  auto vit = vaults_.find(row.substr(0, slash));
  if (vit == vaults_.end()) return std::nullopt;
  const VaultCertificates& vc = *vit->second;
  if (slash == std::string::npos) return vault_text(vc, include_private);
  const std::string key = row.substr(slash + 1);
  if (auto it = vc.live.find(key); it != vc.live.end())
    return live_text(it->second, include_private);
  if (auto it = vc.deleted.find(key); it != vc.deleted.end())
    return deleted_text(it->second, include_private);
  return std::nullopt;
}

Status CertificateStore::parse_vaults(const json& vaults, const std::string& path,
                                      VaultMap& next) const {
  if (!vaults.is_object()) return Status::error(path + ": must be an object");
  const int64_t t = now();
  for (auto it = vaults.begin(); it != vaults.end(); ++it) {
    const std::string vp = path + "." + it.key();
    const std::string vname = lower(it.key());
    if (vname.empty() || vname.find('/') != std::string::npos)
      return Status::error(vp + ": must be a vault name");
    if (next.count(vname))
      return Status::error(vp + ": names a vault twice (names compare case-insensitively)");
    auto vc = std::make_shared<VaultCertificates>();
    vc->name = vname;
    next[vname] = vc;  // null: emptied
    if (it->is_null()) continue;
    if (auto e =
            only_members(*it, vp, {"certificates", "deletedCertificates", "contacts", "issuers"}))
      return Status::error(*e);
    for (const char* list : {"certificates", "deletedCertificates"}) {
      auto l = it->find(list);
      if (l == it->end()) continue;
      if (!l->is_array()) return Status::error(vp + "." + list + ": must be an array");
      const bool deleted = std::string(list) == "deletedCertificates";
      for (size_t i = 0; i < l->size(); ++i) {
        const std::string ip = vp + "." + list + "[" + std::to_string(i) + "]";
        Deleted d;
        if (auto e = read_certificate((*l)[i], ip, deleted, d)) return Status::error(*e);
        const std::string key = lower(d.cert.name);
        if (vc->live.count(key) || vc->deleted.count(key))
          return Status::error(ip + ".name: names the certificate '" + d.cert.name +
                               "' twice (live or deleted; names compare case-insensitively)");
        if (!deleted)
          vc->live[key] = std::move(d.cert);
        else if (d.scheduled_purge_date > t)  // else gone already, as a read would find it
          vc->deleted[key] = std::move(d);
      }
    }
    if (auto e = read_vault_settings(*it, vp, *vc)) return Status::error(*e);
  }
  return Status::ok();
}

Status CertificateStore::check_vaults(const json& vaults, const std::string& path) const {
  VaultMap next;
  return parse_vaults(vaults, path, next);
}

Status CertificateStore::replace_vaults(const json& vaults, const std::string& path) {
  VaultMap next;
  if (auto s = parse_vaults(vaults, path, next); !s) return s;
  std::lock_guard lock(mu_);
  for (auto& [name, vc] : next) {
    if (auto old = vaults_.find(name); old != vaults_.end()) {
      for (const auto& [key, _] : old->second->live) touch(name, key);
      for (const auto& [key, _] : old->second->deleted) touch(name, key);
    }
    for (const auto& [key, _] : vc->live) touch(name, key);
    for (const auto& [key, _] : vc->deleted) touch(name, key);
    touch(name, "");
    vaults_[name] = std::move(vc);
  }
  return Status::ok();
}

}  // namespace cmk::keyvault_data
