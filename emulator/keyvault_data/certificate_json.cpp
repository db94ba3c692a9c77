#include "keyvault_data/certificate_json.h"

#include "common/base64.h"

namespace cmk::keyvault_data {

using nlohmann::json;

namespace {

CertError bad(std::string message) {
  return {CertErrorKind::BadParameter, std::move(message)};
}

json attributes_json(const CertificateView& c, const AttributeSet& set) {
  json j = {{"enabled", c.attributes.enabled}};
  if (c.attributes.nbf) j["nbf"] = *c.attributes.nbf;
  if (c.attributes.exp) j["exp"] = *c.attributes.exp;
  j["created"] = c.attributes.created;
  j["updated"] = c.attributes.updated;
  j["recoveryLevel"] = c.recovery_level;
  if (set.recoverable_days) j["recoverableDays"] = c.recoverable_days;
  return j;
}

json common_json(const CertificateView& c, const std::string& url, bool with_version,
                 const AttributeSet& set) {
  json j = json::object();
  j["id"] = url + "/certificates/" + c.name + (with_version ? "/" + c.version : "");
  if (c.material) j["x5t"] = base64url_encode(c.material->x5t());
  j["attributes"] = attributes_json(c, set);
  if (!c.tags.empty()) j["tags"] = c.tags;
  return j;
}

json bundle(const CertificateView& c, const std::string& url, const AttributeSet& set) {
  json j = common_json(c, url, true, set);
  if (c.material) {
    j["kid"] = url + "/keys/" + c.name + "/" + c.version;
    j["sid"] = url + "/secrets/" + c.name + "/" + c.version;
    j["cer"] = base64_encode(c.material->der());
  }
  j["policy"] = certificate_policy_json(c.policy, url, c.name);
  if (c.pending) j["pending"] = {{"id", url + "/certificates/" + c.name + "/pending"}};
  return j;
}

void add_recovery(json& j, const CertificateView& c, const std::string& url) {
  j["recoveryId"] = url + "/deletedcertificates/" + c.name;
  if (c.deleted_date) j["deletedDate"] = *c.deleted_date;
  if (c.scheduled_purge_date) j["scheduledPurgeDate"] = *c.scheduled_purge_date;
}

// Reading helpers: each returns an error naming the member when its type is wrong.
std::optional<CertError> opt_string(const json& o, const char* name,
                                    std::optional<std::string>& out, const std::string& where) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return bad("The property '" + where + name + "' must be a string.");
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<CertError> opt_bool(const json& o, const char* name, std::optional<bool>& out,
                                  const std::string& where) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return bad("The property '" + where + name + "' must be a boolean.");
  out = it->get<bool>();
  return std::nullopt;
}

std::optional<CertError> opt_int(const json& o, const char* name, std::optional<int>& out,
                                 const std::string& where) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < -1000000 || it->get<int64_t>() > 1000000)
    return bad("The property '" + where + name + "' must be an integer.");
  out = it->get<int>();
  return std::nullopt;
}

std::optional<CertError> opt_strings(const json& o, const char* name,
                                     std::optional<std::vector<std::string>>& out,
                                     const std::string& where) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::nullopt;
  const std::string what = "The property '" + where + name + "' must be an array of strings.";
  if (!it->is_array()) return bad(what);
  out.emplace();
  for (const auto& s : *it) {
    if (!s.is_string()) return bad(what);
    out->push_back(s.get<std::string>());
  }
  return std::nullopt;
}

std::optional<CertError> object_member(const json& o, const char* name, const json*& out,
                                       const std::string& where) {
  out = nullptr;
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return bad("The property '" + where + name + "' must be an object.");
  out = &*it;
  return std::nullopt;
}

std::optional<CertError> read_attributes(const json& body, CertificateAttributesInput& out) {
  const json* a = nullptr;
  if (auto e = object_member(body, "attributes", a, "")) return e;
  if (!a) return std::nullopt;
  return opt_bool(*a, "enabled", out.enabled, "attributes.");
}

std::optional<CertError> read_tags(const json& body, std::optional<json>& out) {
  auto it = body.find("tags");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return bad("The property 'tags' must be an object of strings.");
  out = *it;
  return std::nullopt;
}

}  // namespace

json certificate_policy_json(const CertificatePolicy& p, const std::string& url,
                             const std::string& name) {
  json key = {{"exportable", p.exportable.value_or(true)}, {"kty", p.kty}};
  if (p.key_size) key["key_size"] = *p.key_size;
  if (p.crv) key["crv"] = *p.crv;
  key["reuse_key"] = p.reuse_key.value_or(false);
  json sans = json::object();
  if (!p.sans.dns_names.empty()) sans["dns_names"] = p.sans.dns_names;
  if (!p.sans.emails.empty()) sans["emails"] = p.sans.emails;
  if (!p.sans.upns.empty()) sans["upns"] = p.sans.upns;
  json x509 = json::object();
  if (!p.subject.empty()) x509["subject"] = p.subject;
  x509["sans"] = sans;
  if (p.ekus) x509["ekus"] = *p.ekus;
  if (p.key_usage) x509["key_usage"] = *p.key_usage;
  if (p.validity_months) x509["validity_months"] = *p.validity_months;
  x509["basic_constraints"] = {{"ca", false}};
  json actions = json::array();
  for (const auto& a : p.lifetime_actions.value_or(std::vector<CertificateLifetimeAction>{})) {
    json trigger = json::object();
    if (a.lifetime_percentage) trigger["lifetime_percentage"] = *a.lifetime_percentage;
    if (a.days_before_expiry) trigger["days_before_expiry"] = *a.days_before_expiry;
    actions.push_back({{"trigger", trigger}, {"action", {{"action_type", a.action_type}}}});
  }
  json issuer = {{"name", p.issuer_name}};
  if (p.certificate_type) issuer["cty"] = *p.certificate_type;
  if (p.cert_transparency) issuer["cert_transparency"] = *p.cert_transparency;
  return {{"id", url + "/certificates/" + name + "/policy"},
          {"key_props", key},
          {"secret_props", {{"contentType", p.content_type}}},
          {"x509_props", x509},
          {"lifetime_actions", actions},
          {"issuer", issuer},
          {"attributes", {{"enabled", p.enabled}, {"created", p.created}, {"updated", p.updated}}}};
}

json certificate_bundle_json(const CertificateView& c, const std::string& url,
                             const AttributeSet& a) {
  return bundle(c, url, a);
}

json deleted_certificate_bundle_json(const CertificateView& c, const std::string& url,
                                     const AttributeSet& a) {
  json j = bundle(c, url, a);
  add_recovery(j, c, url);
  return j;
}

json certificate_item_json(const CertificateView& c, const std::string& url, bool with_version,
                           const AttributeSet& a) {
  return common_json(c, url, with_version, a);
}

json deleted_certificate_item_json(const CertificateView& c, const std::string& url,
                                   const AttributeSet& a) {
  json j = common_json(c, url, false, a);
  add_recovery(j, c, url);
  return j;
}

json certificate_operation_json(const CertificateOperationView& o, const std::string& url) {
  json issuer = {{"name", o.issuer_name}};
  if (o.certificate_type) issuer["cty"] = *o.certificate_type;
  if (o.cert_transparency) issuer["cert_transparency"] = *o.cert_transparency;
  json j = {{"id", url + "/certificates/" + o.name + "/pending"},
            {"issuer", issuer},
            {"csr", base64_encode(o.csr)},
            {"cancellation_requested", o.cancellation_requested},
            {"status", o.status}};
  if (!o.status_details.empty()) j["status_details"] = o.status_details;
  if (o.error)
    j["error"] = {{"code", o.error->kind == CertErrorKind::Internal ? "InternalError"
                                                                    : "CertificateIssuanceFailed"},
                  {"message", o.error->message}};
  if (o.has_target) j["target"] = url + "/certificates/" + o.name;
  j["request_id"] = o.request_id;
  return j;
}

json contacts_json(const std::vector<CertificateContact>& contacts, const std::string& url) {
  json list = json::array();
  for (const auto& c : contacts) {
    json j = json::object();
    if (c.email) j["email"] = *c.email;
    if (c.name) j["name"] = *c.name;
    if (c.phone) j["phone"] = *c.phone;
    list.push_back(j);
  }
  return {{"id", url + "/certificates/contacts"}, {"contacts", list}};
}

json issuer_json(const CertificateIssuer& i, const std::string& url) {
  json j = {{"id", url + "/certificates/issuers/" + i.name}, {"provider", i.provider}};
  if (i.account_id) j["credentials"] = {{"account_id", *i.account_id}};
  if (!i.org_details.is_null()) j["org_details"] = i.org_details;
  j["attributes"] = {{"enabled", i.enabled}, {"created", i.created}, {"updated", i.updated}};
  return j;
}

json issuer_item_json(const CertificateIssuer& i, const std::string& url) {
  return {{"id", url + "/certificates/issuers/" + i.name}, {"provider", i.provider}};
}

CertResult<CertificatePolicy> read_certificate_policy(const json& pj) {
  if (!pj.is_object()) return bad("The property 'policy' must be an object.");
  CertificatePolicy p;
  const json* o = nullptr;
  if (auto e = object_member(pj, "key_props", o, "policy.")) return *e;
  if (o) {
    std::optional<std::string> kty;
    if (auto e = opt_string(*o, "kty", kty, "policy.key_props.")) return *e;
    if (kty) p.kty = *kty;
    if (auto e = opt_int(*o, "key_size", p.key_size, "policy.key_props.")) return *e;
    if (auto e = opt_string(*o, "crv", p.crv, "policy.key_props.")) return *e;
    if (auto e = opt_bool(*o, "exportable", p.exportable, "policy.key_props.")) return *e;
    if (auto e = opt_bool(*o, "reuse_key", p.reuse_key, "policy.key_props.")) return *e;
  }
  if (auto e = object_member(pj, "secret_props", o, "policy.")) return *e;
  if (o) {
    std::optional<std::string> ct;
    if (auto e = opt_string(*o, "contentType", ct, "policy.secret_props.")) return *e;
    if (ct) p.content_type = *ct;
  }
  if (auto e = object_member(pj, "x509_props", o, "policy.")) return *e;
  if (o) {
    std::optional<std::string> subject;
    if (auto e = opt_string(*o, "subject", subject, "policy.x509_props.")) return *e;
    if (subject) p.subject = *subject;
    const json* sans = nullptr;
    if (auto e = object_member(*o, "sans", sans, "policy.x509_props.")) return *e;
    if (sans) {
      std::optional<std::vector<std::string>> list;
      if (auto e = opt_strings(*sans, "dns_names", list, "policy.x509_props.sans.")) return *e;
      if (list) p.sans.dns_names = *list;
      list.reset();
      if (auto e = opt_strings(*sans, "emails", list, "policy.x509_props.sans.")) return *e;
      if (list) p.sans.emails = *list;
      list.reset();
      if (auto e = opt_strings(*sans, "upns", list, "policy.x509_props.sans.")) return *e;
      if (list) p.sans.upns = *list;
    }
    if (auto e = opt_strings(*o, "ekus", p.ekus, "policy.x509_props.")) return *e;
    if (auto e = opt_strings(*o, "key_usage", p.key_usage, "policy.x509_props.")) return *e;
    if (auto e = opt_int(*o, "validity_months", p.validity_months, "policy.x509_props.")) return *e;
  }
  if (auto e = object_member(pj, "issuer", o, "policy.")) return *e;
  if (o) {
    std::optional<std::string> name;
    if (auto e = opt_string(*o, "name", name, "policy.issuer.")) return *e;
    if (name) p.issuer_name = *name;
    if (auto e = opt_string(*o, "cty", p.certificate_type, "policy.issuer.")) return *e;
    if (auto e = opt_bool(*o, "cert_transparency", p.cert_transparency, "policy.issuer."))
      return *e;
  }
  if (auto it = pj.find("lifetime_actions"); it != pj.end() && !it->is_null()) {
    if (!it->is_array()) return bad("The property 'policy.lifetime_actions' must be an array.");
    p.lifetime_actions.emplace();
    for (const auto& a : *it) {
      if (!a.is_object()) return bad("Each of 'policy.lifetime_actions' must be an object.");
      CertificateLifetimeAction action;
      const json* trigger = nullptr;
      if (auto e = object_member(a, "trigger", trigger, "policy.lifetime_actions[].")) return *e;
      if (trigger) {
        const std::string w = "policy.lifetime_actions[].trigger.";
        if (auto e = opt_int(*trigger, "lifetime_percentage", action.lifetime_percentage, w))
          return *e;
        if (auto e = opt_int(*trigger, "days_before_expiry", action.days_before_expiry, w))
          return *e;
      }
      const json* act = nullptr;
      if (auto e = object_member(a, "action", act, "policy.lifetime_actions[].")) return *e;
      std::optional<std::string> type;
      if (act)
        if (auto e = opt_string(*act, "action_type", type, "policy.lifetime_actions[].action."))
          return *e;
      action.action_type = type.value_or("");
      p.lifetime_actions->push_back(action);
    }
  }
  if (auto e = object_member(pj, "attributes", o, "policy.")) return *e;
  if (o) {
    std::optional<bool> enabled;
    if (auto e = opt_bool(*o, "enabled", enabled, "policy.attributes.")) return *e;
    if (enabled) p.enabled = *enabled;
  }
  return p;
}

CertResult<CreateCertificateRequest> read_create_certificate_request(const json& body) {
  CreateCertificateRequest r;
  if (auto it = body.find("policy"); it != body.end() && !it->is_null()) {
    auto p = read_certificate_policy(*it);
    if (!p) return p.error();
    r.policy = std::move(*p);
  }
  // Without a policy, Key Vault refuses: it has no subject to certify.
  if (auto e = read_attributes(body, r.attributes)) return *e;
  if (auto e = read_tags(body, r.tags)) return *e;
  return r;
}

CertResult<ImportCertificateRequest> read_import_certificate_request(const json& body) {
  ImportCertificateRequest r;
  auto it = body.find("value");
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty())
    return bad("The property 'value' is required: the certificate as PEM text or base64 PKCS#12.");
  const std::string& value = it->get_ref<const std::string&>();
  if (value.find("-----BEGIN") != std::string::npos) {
    r.value = value;
  } else {
    auto bytes = base64url_decode(value);
    if (!bytes) return bad("The property 'value' is neither PEM text nor base64.");
    r.value = std::move(*bytes);
  }
  std::optional<std::string> pwd;
  if (auto e = opt_string(body, "pwd", pwd, "")) return *e;
  r.password = pwd.value_or("");
  if (auto p = body.find("policy"); p != body.end() && !p->is_null()) {
    auto policy = read_certificate_policy(*p);
    if (!policy) return policy.error();
    r.policy = std::move(*policy);
  }
  if (auto e = read_attributes(body, r.attributes)) return *e;
  if (auto e = read_tags(body, r.tags)) return *e;
  return r;
}

CertResult<UpdateCertificateRequest> read_update_certificate_request(const json& body) {
  UpdateCertificateRequest r;
  if (auto p = body.find("policy"); p != body.end() && !p->is_null()) {
    auto policy = read_certificate_policy(*p);
    if (!policy) return policy.error();
    r.policy = std::move(*policy);
  }
  if (auto e = read_attributes(body, r.attributes)) return *e;
  if (auto e = read_tags(body, r.tags)) return *e;
  return r;
}

CertResult<MergeCertificateRequest> read_merge_request(const json& body) {
  MergeCertificateRequest r;
  auto it = body.find("x5c");
  if (it == body.end() || !it->is_array() || it->empty())
    return bad("The property 'x5c' is required: the signed certificate chain (base64 DER).");
  for (const auto& c : *it) {
    if (!c.is_string()) return bad("The property 'x5c' must be an array of base64 strings.");
    auto der = base64url_decode(c.get<std::string>());
    if (!der) return bad("An element of 'x5c' is not base64.");
    r.x5c.push_back(std::move(*der));
  }
  if (auto e = read_attributes(body, r.attributes)) return *e;
  if (auto e = read_tags(body, r.tags)) return *e;
  return r;
}

CertResult<std::vector<CertificateContact>> read_contacts(const json& body) {
  auto it = body.find("contacts");
  if (it == body.end() || !it->is_array())
    return bad("The property 'contacts' is required and must be an array.");
  std::vector<CertificateContact> out;
  for (const auto& c : *it) {
    if (!c.is_object()) return bad("Each contact must be an object.");
    CertificateContact contact;
    if (auto e = opt_string(c, "email", contact.email, "contacts[].")) return *e;
    if (auto e = opt_string(c, "name", contact.name, "contacts[].")) return *e;
    if (auto e = opt_string(c, "phone", contact.phone, "contacts[].")) return *e;
    out.push_back(contact);
  }
  return out;
}

CertResult<IssuerInput> read_issuer(const json& body) {
  IssuerInput in;
  if (auto e = opt_string(body, "provider", in.provider, "")) return *e;
  const json* creds = nullptr;
  if (auto e = object_member(body, "credentials", creds, "")) return *e;
  if (creds) {
    if (auto e = opt_string(*creds, "account_id", in.account_id, "credentials.")) return *e;
    if (auto e = opt_string(*creds, "pwd", in.password, "credentials.")) return *e;
  }
  const json* org = nullptr;
  if (auto e = object_member(body, "org_details", org, "")) return *e;
  if (org) in.org_details = *org;
  const json* attrs = nullptr;
  if (auto e = object_member(body, "attributes", attrs, "")) return *e;
  if (attrs)
    if (auto e = opt_bool(*attrs, "enabled", in.enabled, "attributes.")) return *e;
  return in;
}

}  // namespace cmk::keyvault_data
