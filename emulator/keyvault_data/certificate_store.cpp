#include "keyvault_data/certificate_store.h"

#include <algorithm>
#include <cctype>

#include "common/base64.h"
#include "common/openssl_util.h"
#include "keyvault_data/backup_seal.h"
#include "keyvault_data/certificate_records.h"

namespace cmk::keyvault_data {

using nlohmann::json;

namespace {

constexpr int64_t kDay = 24 * 3600;
constexpr BlobKind kCertificateBlob{"CMKC", "cmk-emulator certificate backup v1"};
constexpr const char* kPendingDetails =
    "Pending certificate created. Certificate request is in progress. This may take some time "
    "based on the issuer provider. Please check again later.";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

CertError not_found(const std::string& name, const std::string& version = {}) {
  return {CertErrorKind::CertificateNotFound,
          "A certificate with (name/id) " + name + (version.empty() ? "" : "/" + version) +
              " was not found in this key vault. If you recently deleted this certificate you "
              "may be able to recover it using the correct recovery command. For help resolving "
              "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"};
}

CertError deleted_but_recoverable(const std::string& name) {
  return {CertErrorKind::DeletedButRecoverable,
          "Certificate " + name +
              " is currently in a deleted but recoverable state, and its name cannot be reused; "
              "in this state, the certificate can only be recovered or purged."};
}

CertError bad(std::string message) {
  return {CertErrorKind::BadParameter, std::move(message)};
}

std::optional<CertError> check_tags(const std::optional<json>& tags) {
  if (!tags) return std::nullopt;
  if (!tags->is_object()) return bad("The property 'tags' must be an object of strings.");
  if (tags->size() > 15) return bad("A certificate can have at most 15 tags.");
  for (auto it = tags->begin(); it != tags->end(); ++it) {
    if (!it->is_string()) return bad("The tag '" + it.key() + "' must have a string value.");
    if (it.key().size() > 512 || it->get<std::string>().size() > 512)
      return bad("Tag names and values are at most 512 characters.");
  }
  return std::nullopt;
}

// Key Vault's key operations for a certificate's key, from its key usages.
std::vector<std::string> key_ops_for(const CertificatePolicy& p) {
  std::vector<std::string> ops;
  const auto& usages = p.key_usage.value_or(std::vector<std::string>{});
  auto has = [&](const char* u) {
    return std::find(usages.begin(), usages.end(), u) != usages.end();
  };
  if (has("digitalSignature") || has("nonRepudiation") || has("keyCertSign") || has("cRLSign"))
    ops.insert(ops.end(), {"sign", "verify"});
  if (!p.is_ec()) {
    if (has("keyEncipherment")) ops.insert(ops.end(), {"wrapKey", "unwrapKey"});
    if (has("dataEncipherment")) ops.insert(ops.end(), {"encrypt", "decrypt"});
  }
  if (ops.empty()) ops = {"sign", "verify"};
  return ops;
}

KeyResult<KeyMaterial> make_key(RsaKeyPool& pool, const CertificatePolicy& p) {
  if (p.is_ec()) {
    auto curve = policy_curve(p);
    if (!curve) return bad_parameter("The curve of the policy is not supported.");
    return KeyMaterial::generate_ec(*curve);
  }
  return pool.take(p.key_size.value_or(2048));
}

}  // namespace

bool is_valid_certificate_name(const std::string& name) {
  return is_valid_key_name(name);
}

CertificatePolicy merged_policy(CertificatePolicy base, const CertificatePolicy& patch) {
  if (!patch.kty.empty()) base.kty = patch.kty;
  if (patch.key_size) base.key_size = patch.key_size;
  if (patch.crv) base.crv = patch.crv;
  if (patch.exportable) base.exportable = patch.exportable;
  if (patch.reuse_key) base.reuse_key = patch.reuse_key;
  if (!patch.content_type.empty()) base.content_type = patch.content_type;
  if (!patch.subject.empty()) base.subject = patch.subject;
  if (!patch.sans.empty()) base.sans = patch.sans;
  if (patch.ekus) base.ekus = patch.ekus;
  if (patch.key_usage) base.key_usage = patch.key_usage;
  if (patch.validity_months) base.validity_months = patch.validity_months;
  if (!patch.issuer_name.empty()) base.issuer_name = patch.issuer_name;
  if (patch.certificate_type) base.certificate_type = patch.certificate_type;
  if (patch.cert_transparency) base.cert_transparency = patch.cert_transparency;
  if (patch.lifetime_actions) base.lifetime_actions = patch.lifetime_actions;
  return base;
}

CertificateStore::CertificateStore(const Clock& clock, IdGenerator& ids, RsaKeyPool& pool,
                                   KeyStore& keys, SecretStore& secrets, LroPolicyFor lro)
    : clock_(clock), ids_(ids), pool_(pool), keys_(keys), secrets_(secrets), lro_(std::move(lro)) {}

int64_t CertificateStore::now() const {
  return to_unix_seconds(clock_.now());
}

std::shared_ptr<CertificateStore::VaultCertificates> CertificateStore::vault(
    const VaultSettings& v) {
  auto& slot = vaults_[lower(v.name)];
  if (!slot) {
    slot = std::make_shared<VaultCertificates>();
    slot->name = lower(v.name);
  }
  return slot;
}

void CertificateStore::touch(const std::string& vault_lower, const std::string& cert_lower) const {
  changes_.record(cert_lower.empty() ? vault_lower : vault_lower + "/" + cert_lower);
  ++revision_;
}

void CertificateStore::drop_vault(const std::string& vault_name) {
  std::lock_guard lock(mu_);
  auto it = vaults_.find(lower(vault_name));
  if (it == vaults_.end()) return;
  const VaultCertificates& vc = *it->second;
  for (const auto& [key, _] : vc.live) touch(vc.name, key);
  for (const auto& [key, _] : vc.deleted) touch(vc.name, key);
  touch(vc.name, "");
  vaults_.erase(it);
}

void CertificateStore::clear() {
  std::lock_guard lock(mu_);
  vaults_.clear();
  changes_.record_all();
  ++revision_;
}

void CertificateStore::sweep(VaultCertificates& vc, const VaultSettings& v, int64_t t) {
  (void)v;
  for (auto it = vc.deleted.begin(); it != vc.deleted.end();) {
    if (it->second.scheduled_purge_date > t) {
      ++it;
      continue;
    }
    touch(vc.name, it->first);
    it = vc.deleted.erase(it);
  }
}

CertificateView CertificateStore::view_of(const Stored& c, const Version& ver,
                                          const VaultSettings& v) const {
  CertificateView view;
  view.name = c.name;
  view.version = ver.id;
  view.material = ver.material;
  view.attributes = ver.attributes;
  view.tags = ver.tags;
  view.policy = c.policy;
  view.pending = c.pending.has_value();
  view.recovery_level = recovery_level(v);
  view.recoverable_days = recoverable_days(v);
  return view;
}

CertificateOperationView CertificateStore::operation_view(const Stored& c) const {
  const Pending& p = *c.pending;
  CertificateOperationView o;
  o.name = c.name;
  o.issuer_name = p.policy.issuer_name;
  o.certificate_type = p.policy.certificate_type;
  o.cert_transparency = p.policy.cert_transparency;
  o.csr = p.csr;
  o.cancellation_requested = p.cancellation_requested;
  o.status = p.status;
  o.request_id = p.request_id;
  o.error = p.error;
  if (p.status == "inProgress") o.status_details = kPendingDetails;
  if (p.status == "completed") o.has_target = true;
  if (p.status == "cancelled") o.status_details = "The certificate request was cancelled.";
  return o;
}

std::optional<CertError> CertificateStore::issue(
    Stored& c, const VaultSettings& v, Version& version,
    std::shared_ptr<const CertificateMaterial> material,
    const CertificateAttributesInput& attributes) {
  const int64_t t = now();
  ImportKeyRequest key;
  key.material = material->key();
  key.key_ops = key_ops_for(c.policy);
  key.hsm = c.policy.kty == "RSA-HSM" || c.policy.kty == "EC-HSM";
  key.attributes.nbf = material->not_before();
  key.attributes.exp = material->not_after();
  if (attributes.enabled) key.attributes.enabled = attributes.enabled;
  key.tags = version.tags;
  key.fixed.id = version.id;
  key.fixed.created = t;
  auto k = keys_.import(v, c.name, key);
  if (!k) return cert_error_of(k.error());

  SetSecretRequest secret;
  const bool pem = c.policy.content_type == kPemContentType;
  secret.value = pem ? material->pem() : base64_encode(material->pkcs12());
  secret.content_type = c.policy.content_type;
  secret.attributes.enabled = attributes.enabled;
  secret.attributes.nbf = material->not_before();
  secret.attributes.exp = material->not_after();
  secret.tags = version.tags;
  secret.managed = true;
  secret.kid = "https://" + lower(v.name) + ".vault.azure.net/keys/" + c.name + "/" + version.id;
  secret.fixed.id = version.id;
  secret.fixed.created = t;
  auto s = secrets_.set(v, c.name, secret, Actor::Certificate);
  wipe(secret.value);
  if (!s) {
    return CertError{s.error().kind == SecretErrorKind::Internal ? CertErrorKind::Internal
                                                                 : CertErrorKind::Conflict,
                     s.error().message};
  }
  version.material = std::move(material);
  version.attributes.enabled = attributes.enabled.value_or(true);
  version.attributes.nbf = version.material->not_before();
  version.attributes.exp = version.material->not_after();
  version.attributes.updated = t;
  return std::nullopt;
}

void CertificateStore::settle(Stored& c, const VaultSettings& v) {
  if (!c.pending || c.pending->status != "inProgress") return;
  settle_pending(c, v);
  // Whatever the settlement did shows in the status: record it as a change when it moved.
  if (c.pending && c.pending->status != "inProgress") touch(lower(v.name), lower(c.name));
}

void CertificateStore::settle_pending(Stored& c, const VaultSettings& v) {
  Pending& p = *c.pending;
  if (p.cancellation_requested) {
    p.status = "cancelled";
    return;
  }
  if (p.policy.is_unknown()) return;  // waits for merge
  bool due = true;
  switch (p.lro.mode) {
    case arm::LroPolicy::Mode::Immediate:
      break;
    case arm::LroPolicy::Mode::AfterPolls:
      due = p.polls >= p.lro.polls;
      break;
    case arm::LroPolicy::Mode::AfterDuration:
      due = clock_.now() >= p.started + p.lro.duration;
      break;
  }
  if (!due) return;
  if (!p.issued) {
    p.status = "failed";
    p.error = CertError{CertErrorKind::BadParameter,
                        "cmk-emulator reaches no certificate authority, so the issuer '" +
                            p.policy.issuer_name +
                            "' cannot sign this certificate. Use the Self issuer, or the Unknown "
                            "issuer and merge a certificate you sign."};
    return;
  }
  auto ver = std::find_if(c.versions.begin(), c.versions.end(),
                          [&](const Version& x) { return x.id == p.version; });
  if (ver == c.versions.end()) {
    p.status = "failed";
    p.error = CertError{CertErrorKind::Internal, "The pending version is gone."};
    return;
  }
  if (auto e = issue(c, v, *ver, p.issued, p.attributes)) {
    p.status = "failed";
    p.error = *e;
    return;
  }
  p.status = "completed";
  p.key.reset();
  p.issued.reset();
}

CertResult<CertificateOperationView> CertificateStore::create(const VaultSettings& v,
                                                              const std::string& name,
                                                              const CreateCertificateRequest& r) {
  if (!is_valid_certificate_name(name))
    return bad("The certificate name '" + name +
               "' is invalid: it must be 1-127 characters of letters, digits and '-'.");
  if (auto e = check_tags(r.tags)) return *e;
  CertificatePolicy policy = r.policy;
  complete_policy(policy);
  if (auto e = check_policy(policy)) return cert_error_of(*e);
  if ((policy.kty == "RSA-HSM" || policy.kty == "EC-HSM") && !v.premium)
    return bad("The key type '" + policy.kty + "' needs a premium vault; vault '" + v.name +
               "' is standard.");
  const bool self = policy.is_self();
  const bool unknown = policy.is_unknown();
  if (!self && !unknown) {
    std::lock_guard lock(mu_);
    auto vc = vault(v);
    if (!vc->issuers.count(lower(policy.issuer_name)))
      return bad("The issuer '" + policy.issuer_name +
                 "' is neither Self, Unknown nor an issuer of this vault.");
  }
  // The key and (Self) the certificate are made outside the lock.
  const int64_t t = now();
  auto key = make_key(pool_, policy);
  if (!key) return cert_error_of(key.error());
  auto csr = CertificateMaterial::csr(policy, *key);
  if (!csr) return cert_error_of(csr.error());
  std::shared_ptr<const CertificateMaterial> issued;
  if (self) {
    auto m = CertificateMaterial::self_signed(policy, *key, t);
    if (!m) return cert_error_of(m.error());
    issued = std::make_shared<const CertificateMaterial>(std::move(*m));
  }
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  sweep(*vc, v, t);
  const std::string key_name = lower(name);
  if (vc->deleted.count(key_name)) return deleted_but_recoverable(vc->deleted[key_name].cert.name);
  Stored& c = vc->live[key_name];
  if (c.name.empty()) c.name = name;
  settle(c, v);
  if (c.pending && c.pending->status == "inProgress") {
    if (c.versions.empty()) vc->live.erase(key_name);
    return CertError{CertErrorKind::Conflict,
                     "A pending operation for certificate " + c.name +
                         " is in progress; cancel or delete it before creating another."};
  }
  policy.created = c.policy.created ? c.policy.created : t;
  policy.updated = t;
  c.policy = policy;
  Version ver;
  ver.id = ids_.hex32();
  ver.attributes.enabled = false;
  ver.attributes.created = ver.attributes.updated = t;
  ver.attributes.nbf = t - 600;
  ver.attributes.exp = t + (issued ? issued->not_after() - t : 365 * kDay);
  if (r.tags) ver.tags = *r.tags;
  Pending p;
  p.request_id = ids_.hex32();
  p.version = ver.id;
  p.policy = policy;
  p.key = std::make_shared<const KeyMaterial>(std::move(*key));
  p.issued = std::move(issued);
  p.csr = std::move(*csr);
  p.started = clock_.now();
  p.lro = lro_ ? lro_() : arm::LroPolicy{arm::LroPolicy::Mode::Immediate};
  p.attributes = r.attributes;
  c.versions.push_back(std::move(ver));
  c.pending = std::move(p);
  touch(vc->name, key_name);
  return operation_view(c);
}

CertResult<CertificateView> CertificateStore::import(const VaultSettings& v,
                                                     const std::string& name,
                                                     const ImportCertificateRequest& r) {
  if (!is_valid_certificate_name(name))
    return bad("The certificate name '" + name +
               "' is invalid: it must be 1-127 characters of letters, digits and '-'.");
  if (auto e = check_tags(r.tags)) return *e;
  auto m = CertificateMaterial::import_certificate(r.value, r.password);
  if (!m) return cert_error_of(m.error());
  const bool pem_given = r.value.find("-----BEGIN") != std::string::npos;
  CertificatePolicy policy;
  const std::string detected = pem_given ? kPemContentType : kPkcs12ContentType;
  CertificatePolicy derived = m->derived_policy(detected);
  if (r.policy) {
    policy = merged_policy(derived, *r.policy);
    if (r.policy->content_type.empty()) policy.content_type = detected;
  } else {
    policy = derived;
  }
  complete_policy(policy);
  if (auto e = check_policy(policy)) return cert_error_of(*e);
  if (policy.content_type != detected)
    return bad("The content type of the certificate (" + detected +
               ") does not match the policy's secret_props.contentType (" + policy.content_type +
               ").");
  const int64_t t = now();
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  sweep(*vc, v, t);
  const std::string key_name = lower(name);
  if (vc->deleted.count(key_name)) return deleted_but_recoverable(vc->deleted[key_name].cert.name);
  const bool existed = vc->live.count(key_name) > 0;
  Stored& c = vc->live[key_name];
  if (c.name.empty()) c.name = name;
  settle(c, v);
  const CertificatePolicy previous = c.policy;
  policy.created = existed && c.policy.created ? c.policy.created : t;
  policy.updated = t;
  c.policy = policy;
  Version ver;
  ver.id = r.fixed.id.value_or(ids_.hex32());
  if (std::any_of(c.versions.begin(), c.versions.end(),
                  [&](const Version& x) { return x.id == ver.id; })) {
    if (!existed) vc->live.erase(key_name);
    c.policy = previous;
    return CertError{CertErrorKind::Conflict,
                     "The certificate " + name + " already has a version " + ver.id + "."};
  }
  const int64_t created = r.fixed.created.value_or(t);
  ver.attributes.created = ver.attributes.updated = created;
  if (r.tags) ver.tags = *r.tags;
  auto material = std::make_shared<const CertificateMaterial>(std::move(*m));
  if (auto e = issue(c, v, ver, material, r.attributes)) {
    if (!existed)
      vc->live.erase(key_name);
    else
      c.policy = previous;
    return *e;
  }
  c.versions.push_back(std::move(ver));
  touch(vc->name, key_name);
  return view_of(c, c.versions.back(), v);
}

CertResult<CertificateView> CertificateStore::get(const VaultSettings& v, const std::string& name,
                                                  const std::string& version) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end()) return not_found(name, version);
  settle(it->second, v);
  const Stored& c = it->second;
  if (version.empty()) return view_of(c, c.versions.back(), v);
  for (const auto& ver : c.versions)
    if (ver.id == lower(version)) return view_of(c, ver, v);
  return not_found(name, version);
}

CertResult<CertificateView> CertificateStore::update(const VaultSettings& v,
                                                     const std::string& name,
                                                     const std::string& version,
                                                     const UpdateCertificateRequest& r) {
  if (auto e = check_tags(r.tags)) return *e;
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end()) return not_found(name, version);
  Stored& c = it->second;
  settle(c, v);
  Version* ver = &c.versions.back();
  if (!version.empty()) {
    auto found = std::find_if(c.versions.begin(), c.versions.end(),
                              [&](const Version& x) { return x.id == lower(version); });
    if (found == c.versions.end()) return not_found(name, version);
    ver = &*found;
  }
  if (r.policy) {
    CertificatePolicy p = merged_policy(c.policy, *r.policy);
    if (auto e = check_policy(p)) return cert_error_of(*e);
    p.updated = now();
    c.policy = p;
  }
  if (r.attributes.enabled) ver->attributes.enabled = *r.attributes.enabled;
  if (r.tags) ver->tags = *r.tags;
  ver->attributes.updated = now();
  touch(vc->name, it->first);
  return view_of(c, *ver, v);
}

CertificatePage CertificateStore::list(const VaultSettings& v, const std::string& marker,
                                       size_t max, bool include_pending) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  for (auto& [k, c] : vc->live) settle(c, v);
  // Without includePending, a certificate whose only versions have no X.509 yet is left out.
  std::map<std::string, const Stored*> shown;
  for (const auto& [k, c] : vc->live) {
    const bool issued = std::any_of(c.versions.begin(), c.versions.end(),
                                    [](const Version& x) { return x.material != nullptr; });
    if (issued || include_pending) shown.emplace(k, &c);
  }
  return page_after<CertificateView>(shown, lower(marker), max, [&](const Stored* c) {
    CertificateView view = view_of(*c, c->versions.back(), v);
    view.version.clear();
    return view;
  });
}

CertResult<CertificatePage> CertificateStore::list_versions(const VaultSettings& v,
                                                            const std::string& name,
                                                            const std::string& marker, size_t max) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end()) return not_found(name);
  settle(it->second, v);
  const Stored& c = it->second;
  return page_of_sequence<CertificateView>(
      c.versions, marker, max, [](const Version& x) { return x.id; },
      [&](const Version& x) { return view_of(c, x, v); });
}

CertResult<CertificatePolicy> CertificateStore::get_policy(const VaultSettings& v,
                                                           const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end()) return not_found(name);
  settle(it->second, v);
  return it->second.policy;
}

CertResult<CertificatePolicy> CertificateStore::update_policy(const VaultSettings& v,
                                                              const std::string& name,
                                                              const CertificatePolicy& patch) {
  UpdateCertificateRequest r;
  r.policy = patch;
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end()) return not_found(name);
  Stored& c = it->second;
  settle(c, v);
  CertificatePolicy p = merged_policy(c.policy, patch);
  if (auto e = check_policy(p)) return cert_error_of(*e);
  p.updated = now();
  c.policy = p;
  touch(vc->name, it->first);
  return c.policy;
}

CertResult<CertificateOperationView> CertificateStore::get_operation(const VaultSettings& v,
                                                                     const std::string& name,
                                                                     bool poll) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end() || !it->second.pending)
    return CertError{CertErrorKind::PendingNotFound, "Pending certificate not found: " + name};
  if (poll) {
    ++it->second.pending->polls;
    touch(vc->name, it->first);
  }
  settle(it->second, v);
  return operation_view(it->second);
}

CertResult<CertificateOperationView> CertificateStore::cancel_operation(const VaultSettings& v,
                                                                        const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end() || !it->second.pending)
    return CertError{CertErrorKind::PendingNotFound, "Pending certificate not found: " + name};
  settle(it->second, v);
  Pending& p = *it->second.pending;
  // Key Vault answers the cancellation with the operation still inProgress; the next read
  // shows it cancelled.
  if (p.status == "inProgress") p.cancellation_requested = true;
  touch(vc->name, it->first);
  return operation_view(it->second);
}

CertResult<CertificateOperationView> CertificateStore::delete_operation(const VaultSettings& v,
                                                                        const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end() || !it->second.pending)
    return CertError{CertErrorKind::PendingNotFound, "Pending certificate not found: " + name};
  settle(it->second, v);
  CertificateOperationView view = operation_view(it->second);
  it->second.pending.reset();
  touch(vc->name, it->first);
  return view;
}

CertResult<CertificateView> CertificateStore::merge(const VaultSettings& v, const std::string& name,
                                                    const MergeCertificateRequest& r) {
  if (auto e = check_tags(r.tags)) return *e;
  std::shared_ptr<const KeyMaterial> key;
  {
    std::lock_guard lock(mu_);
    auto vc = vault(v);
    auto it = vc->live.find(lower(name));
    if (it == vc->live.end() || !it->second.pending)
      return CertError{CertErrorKind::PendingNotFound, "Pending certificate not found: " + name};
    settle(it->second, v);
    const Pending& p = *it->second.pending;
    if (p.status != "inProgress" || !p.policy.is_unknown())
      return bad("The pending certificate " + it->second.name +
                 " cannot be merged: only a request of the Unknown issuer that is in progress "
                 "takes a merge.");
    key = p.key;
  }
  auto m = CertificateMaterial::merge(*key, r.x5c);
  if (!m) return cert_error_of(m.error());
  auto material = std::make_shared<const CertificateMaterial>(std::move(*m));
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end() || !it->second.pending || it->second.pending->key != key)
    return CertError{CertErrorKind::PendingNotFound, "Pending certificate not found: " + name};
  Stored& c = it->second;
  Pending& p = *c.pending;
  auto ver = std::find_if(c.versions.begin(), c.versions.end(),
                          [&](const Version& x) { return x.id == p.version; });
  if (ver == c.versions.end()) return not_found(name);
  if (r.tags) ver->tags = *r.tags;
  if (auto e = issue(c, v, *ver, material, r.attributes)) return *e;
  c.pending.reset();  // a merged request leaves no pending operation behind
  touch(vc->name, it->first);
  return view_of(c, *ver, v);
}

CertResult<CertificateView> CertificateStore::remove(const VaultSettings& v,
                                                     const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  const int64_t t = now();
  sweep(*vc, v, t);
  auto it = vc->live.find(lower(name));
  if (it == vc->live.end()) return not_found(name);
  settle(it->second, v);
  Deleted d;
  d.cert = std::move(it->second);
  d.cert.pending.reset();
  d.deleted_date = t;
  d.scheduled_purge_date = t + static_cast<int64_t>(recoverable_days(v)) * kDay;
  touch(vc->name, it->first);
  vc->live.erase(it);
  // The key and the secret go with the certificate (where it has them).
  (void)keys_.remove(v, d.cert.name);
  (void)secrets_.remove(v, d.cert.name, Actor::Certificate);
  CertificateView view = view_of(d.cert, d.cert.versions.back(), v);
  view.deleted_date = d.deleted_date;
  view.scheduled_purge_date = d.scheduled_purge_date;
  if (v.soft_delete) vc->deleted.emplace(lower(name), std::move(d));
  return view;
}

CertResult<CertificateView> CertificateStore::get_deleted(const VaultSettings& v,
                                                          const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  sweep(*vc, v, now());
  auto it = vc->deleted.find(lower(name));
  if (it == vc->deleted.end())
    return CertError{CertErrorKind::CertificateNotFound, "Deleted Certificate not found: " + name};
  const Deleted& d = it->second;
  CertificateView view = view_of(d.cert, d.cert.versions.back(), v);
  view.deleted_date = d.deleted_date;
  view.scheduled_purge_date = d.scheduled_purge_date;
  return view;
}

CertificatePage CertificateStore::list_deleted(const VaultSettings& v, const std::string& marker,
                                               size_t max) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  sweep(*vc, v, now());
  return page_after<CertificateView>(vc->deleted, lower(marker), max, [&](const Deleted& d) {
    CertificateView view = view_of(d.cert, d.cert.versions.back(), v);
    view.version.clear();
    view.deleted_date = d.deleted_date;
    view.scheduled_purge_date = d.scheduled_purge_date;
    return view;
  });
}

CertResult<CertificateView> CertificateStore::recover(const VaultSettings& v,
                                                      const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  sweep(*vc, v, now());
  auto it = vc->deleted.find(lower(name));
  if (it == vc->deleted.end())
    return CertError{CertErrorKind::CertificateNotFound, "Deleted Certificate not found: " + name};
  Stored c = std::move(it->second.cert);
  touch(vc->name, it->first);
  vc->deleted.erase(it);
  (void)keys_.recover(v, c.name);
  (void)secrets_.recover(v, c.name, Actor::Certificate);
  auto& slot = vc->live[lower(name)];
  slot = std::move(c);
  return view_of(slot, slot.versions.back(), v);
}

CertResult<Done> CertificateStore::purge(const VaultSettings& v, const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  sweep(*vc, v, now());
  auto it = vc->deleted.find(lower(name));
  if (it == vc->deleted.end())
    return CertError{CertErrorKind::CertificateNotFound, "Deleted Certificate not found: " + name};
  if (v.purge_protection)
    return CertError{CertErrorKind::PurgeProtected,
                     "Operation \"purge\" is not allowed because purge protection is enabled "
                     "for this vault. Key Vault service will automatically purge it after the "
                     "retention period has passed."};
  const std::string canonical = it->second.cert.name;
  touch(vc->name, it->first);
  vc->deleted.erase(it);
  (void)keys_.purge(v, canonical);
  (void)secrets_.purge(v, canonical, Actor::Certificate);
  return Done{};
}

CertResult<std::string> CertificateStore::backup(const VaultSettings& v, const std::string& name) {
  const auto sealing = keys_.backup_sealing_key();
  if (!sealing) return CertError{CertErrorKind::Internal, "The backup key is missing."};
  json doc;
  {
    std::lock_guard lock(mu_);
    auto vc = vault(v);
    auto it = vc->live.find(lower(name));
    if (it == vc->live.end()) return not_found(name);
    settle(it->second, v);
    const Stored& c = it->second;
    doc["name"] = c.name;
    json versions = json::array();
    for (const auto& ver : c.versions) {
      if (!ver.material) continue;  // a version without X.509 has nothing to restore
      std::string key;
      ver.material->key().export_private(key);
      json chain = json::array();
      for (const auto& der : ver.material->der_chain()) chain.push_back(base64url_encode(der));
      versions.push_back({{"id", ver.id},
                          {"family", family_name(ver.material->key().family())},
                          {"key", base64url_encode(key)},
                          {"chain", chain},
                          {"enabled", ver.attributes.enabled},
                          {"created", ver.attributes.created},
                          {"tags", ver.tags}});
      wipe(key);
    }
    if (versions.empty())
      return bad("The certificate " + c.name + " has no issued version to back up.");
    doc["versions"] = versions;
    const CertificatePolicy& p = c.policy;
    doc["policy"] = {{"kty", p.kty},
                     {"content_type", p.content_type},
                     {"subject", p.subject},
                     {"issuer", p.issuer_name},
                     {"validity_months", p.validity_months.value_or(12)},
                     {"exportable", p.exportable.value_or(true)},
                     {"reuse_key", p.reuse_key.value_or(false)},
                     {"dns", p.sans.dns_names},
                     {"emails", p.sans.emails},
                     {"upns", p.sans.upns},
                     {"ekus", p.ekus.value_or(std::vector<std::string>{})},
                     {"key_usage", p.key_usage.value_or(std::vector<std::string>{})},
                     {"created", p.created},
                     {"updated", p.updated}};
    if (p.key_size) doc["policy"]["key_size"] = *p.key_size;
    if (p.crv) doc["policy"]["crv"] = *p.crv;
  }
  std::string plain = doc.dump();
  auto sealed = seal_backup(*sealing, kCertificateBlob, plain);
  wipe(plain);
  if (!sealed) return cert_error_of(sealed.error());
  return std::move(*sealed);
}

CertResult<CertificateView> CertificateStore::restore(const VaultSettings& v,
                                                      const std::string& blob) {
  const CertError unreadable =
      bad("Backup blob could not be restored: it was not made by a certificate backup of this "
          "emulator instance, or it was altered.");
  const auto sealing = keys_.backup_sealing_key();
  if (!sealing) return CertError{CertErrorKind::Internal, "The backup key is missing."};
  auto plain = open_backup(*sealing, kCertificateBlob, blob);
  if (!plain) return unreadable;
  json doc = json::parse(*plain, nullptr, false);
  wipe(*plain);
  if (!doc.is_object() || !doc["name"].is_string() || !doc["versions"].is_array())
    return unreadable;
  Stored c;
  c.name = doc["name"].get<std::string>();
  try {
    const json& pj = doc["policy"];
    CertificatePolicy& p = c.policy;
    p.kty = pj.at("kty").get<std::string>();
    p.content_type = pj.at("content_type").get<std::string>();
    p.subject = pj.at("subject").get<std::string>();
    p.issuer_name = pj.at("issuer").get<std::string>();
    p.validity_months = pj.at("validity_months").get<int>();
    p.exportable = pj.at("exportable").get<bool>();
    p.reuse_key = pj.at("reuse_key").get<bool>();
    p.sans.dns_names = pj.at("dns").get<std::vector<std::string>>();
    p.sans.emails = pj.at("emails").get<std::vector<std::string>>();
    p.sans.upns = pj.at("upns").get<std::vector<std::string>>();
    p.ekus = pj.at("ekus").get<std::vector<std::string>>();
    p.key_usage = pj.at("key_usage").get<std::vector<std::string>>();
    p.created = pj.at("created").get<int64_t>();
    p.updated = pj.at("updated").get<int64_t>();
    if (pj.contains("key_size")) p.key_size = pj["key_size"].get<int>();
    if (pj.contains("crv")) p.crv = pj["crv"].get<std::string>();
    complete_policy(p);
  } catch (const json::exception&) {
    return unreadable;
  }
  struct Restored {
    Version ver;
    CertificateAttributesInput attributes;
  };
  std::vector<Restored> restored;
  for (auto& vj : doc["versions"]) {
    try {
      std::string key_bytes = *base64url_decode(vj.at("key").get<std::string>());
      const std::string family = vj.at("family").get<std::string>();
      auto key =
          KeyMaterial::restore_private(family == "EC" ? KeyFamily::Ec : KeyFamily::Rsa, key_bytes);
      wipe(key_bytes);
      if (!key) return unreadable;
      std::vector<std::string> chain;
      for (const auto& d : vj.at("chain")) chain.push_back(*base64url_decode(d.get<std::string>()));
      auto m = CertificateMaterial::from_parts(*key, chain);
      if (!m) return unreadable;
      Restored r;
      r.ver.id = vj.at("id").get<std::string>();
      r.ver.material = std::make_shared<const CertificateMaterial>(std::move(*m));
      r.ver.attributes.created = vj.at("created").get<int64_t>();
      r.ver.tags = vj.at("tags");
      r.attributes.enabled = vj.at("enabled").get<bool>();
      restored.push_back(std::move(r));
    } catch (const std::exception&) {
      return unreadable;
    }
  }
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  sweep(*vc, v, now());
  const std::string key_name = lower(c.name);
  if (vc->deleted.count(key_name)) return deleted_but_recoverable(c.name);
  if (vc->live.count(key_name))
    return CertError{CertErrorKind::Conflict, "Certificate " + c.name +
                                                  " already exists; a backup restores only a name "
                                                  "the vault does not have."};
  for (auto& r : restored) {
    Version ver = r.ver;
    auto material = ver.material;
    ver.material.reset();
    if (auto e = issue(c, v, ver, material, r.attributes)) {
      (void)keys_.remove(v, c.name);
      (void)keys_.purge(v, c.name);
      (void)secrets_.remove(v, c.name, Actor::Certificate);
      (void)secrets_.purge(v, c.name, Actor::Certificate);
      return *e;
    }
    c.versions.push_back(std::move(ver));
  }
  auto& slot = vc->live[key_name];
  slot = std::move(c);
  touch(vc->name, key_name);
  return view_of(slot, slot.versions.back(), v);
}

CertResult<std::vector<CertificateContact>> CertificateStore::get_contacts(const VaultSettings& v) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  if (!vc->contacts) return CertError{CertErrorKind::ContactsNotFound, "Contacts not found"};
  return *vc->contacts;
}

CertResult<std::vector<CertificateContact>> CertificateStore::set_contacts(
    const VaultSettings& v, const std::vector<CertificateContact>& contacts) {
  for (const auto& c : contacts)
    if (!c.email && !c.name && !c.phone)
      return bad("A contact must give at least one of email, name and phone.");
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  vc->contacts = contacts;
  touch(vc->name, "");
  return *vc->contacts;
}

CertResult<std::vector<CertificateContact>> CertificateStore::delete_contacts(
    const VaultSettings& v) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  if (!vc->contacts) return CertError{CertErrorKind::ContactsNotFound, "Contacts not found"};
  auto out = std::move(*vc->contacts);
  vc->contacts.reset();
  touch(vc->name, "");
  return out;
}

CertResult<CertificateIssuer> CertificateStore::set_issuer(const VaultSettings& v,
                                                           const std::string& name,
                                                           const IssuerInput& in) {
  if (!is_valid_certificate_name(name) || lower(name) == "self" || lower(name) == "unknown")
    return bad("The issuer name '" + name +
               "' is invalid: it must be 1-127 letters, digits and '-', and neither Self nor "
               "Unknown.");
  if (!in.provider || in.provider->empty()) return bad("The property 'provider' is required.");
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  const int64_t t = now();
  auto& slot = vc->issuers[lower(name)];
  CertificateIssuer issuer;
  issuer.name = slot.name.empty() ? name : slot.name;
  issuer.provider = *in.provider;
  issuer.account_id = in.account_id;
  issuer.password = in.password;
  issuer.org_details = in.org_details.value_or(json());
  issuer.enabled = in.enabled.value_or(true);
  issuer.created = slot.created ? slot.created : t;
  issuer.updated = t;
  slot = issuer;
  touch(vc->name, "");
  return slot;
}

CertResult<CertificateIssuer> CertificateStore::update_issuer(const VaultSettings& v,
                                                              const std::string& name,
                                                              const IssuerInput& in) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->issuers.find(lower(name));
  if (it == vc->issuers.end())
    return CertError{CertErrorKind::IssuerNotFound, "Issuer not found: " + name};
  CertificateIssuer& i = it->second;
  if (in.provider) i.provider = *in.provider;
  if (in.account_id) i.account_id = in.account_id;
  if (in.password) i.password = in.password;
  if (in.org_details) i.org_details = *in.org_details;
  if (in.enabled) i.enabled = *in.enabled;
  i.updated = now();
  touch(vc->name, "");
  return i;
}

CertResult<CertificateIssuer> CertificateStore::get_issuer(const VaultSettings& v,
                                                           const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->issuers.find(lower(name));
  if (it == vc->issuers.end())
    return CertError{CertErrorKind::IssuerNotFound, "Issuer not found: " + name};
  return it->second;
}

CertResult<CertificateIssuer> CertificateStore::delete_issuer(const VaultSettings& v,
                                                              const std::string& name) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  auto it = vc->issuers.find(lower(name));
  if (it == vc->issuers.end())
    return CertError{CertErrorKind::IssuerNotFound, "Issuer not found: " + name};
  CertificateIssuer out = std::move(it->second);
  vc->issuers.erase(it);
  touch(vc->name, "");
  return out;
}

ItemPage<CertificateIssuer> CertificateStore::list_issuers(const VaultSettings& v,
                                                           const std::string& marker, size_t max) {
  std::lock_guard lock(mu_);
  auto vc = vault(v);
  return page_after<CertificateIssuer>(vc->issuers, lower(marker), max,
                                       [](const CertificateIssuer& i) { return i; });
}

}  // namespace cmk::keyvault_data
