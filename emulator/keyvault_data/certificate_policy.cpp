#include "keyvault_data/certificate_policy.h"

#include <algorithm>
#include <cctype>

#include "common/openssl_util.h"
#include "keyvault_data/certificate_material.h"

namespace cmk::keyvault_data {

namespace {

bool iequal(const std::string& a, const char* b) {
  std::string_view bv(b);
  return a.size() == bv.size() && std::equal(a.begin(), a.end(), bv.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_dotted_oid(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return dots >= 1;
}

// Printable ASCII without the characters that would break the X.509 IA5String or a name list.
bool is_plain_name(const std::string& s) {
  if (s.empty() || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\';
  });
}

}  // namespace

bool CertificatePolicy::is_self() const {
  return iequal(issuer_name, "Self");
}
bool CertificatePolicy::is_unknown() const {
  return iequal(issuer_name, "Unknown");
}

const std::vector<std::string>& key_usage_names() {
  static const std::vector<std::string> names = {
      "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
      "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly"};
  return names;
}

void complete_policy(CertificatePolicy& p) {
  if (p.kty.empty()) p.kty = p.crv ? "EC" : "RSA";
  if (p.is_ec()) {
    if (!p.crv) {
      const int size = p.key_size.value_or(256);
      p.crv = size == 384 ? "P-384" : size == 521 ? "P-521" : "P-256";
    }
  } else if (!p.key_size) {
    p.key_size = 2048;
  }
  if (!p.exportable) p.exportable = true;
  if (!p.reuse_key) p.reuse_key = false;
  if (p.content_type.empty()) p.content_type = kPkcs12ContentType;
  if (!p.ekus) p.ekus = std::vector<std::string>{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"};
  if (!p.key_usage)
    p.key_usage = p.is_ec() ? std::vector<std::string>{"digitalSignature"}
                            : std::vector<std::string>{"digitalSignature", "keyEncipherment"};
  if (!p.validity_months) p.validity_months = 12;
  if (p.issuer_name.empty()) p.issuer_name = "Unknown";
  if (!p.lifetime_actions) {
    CertificateLifetimeAction a;
    if (p.is_self()) {
      a.lifetime_percentage = 80;
      a.action_type = "AutoRenew";
    } else {
      a.lifetime_percentage = 80;
      a.action_type = "EmailContacts";
    }
    p.lifetime_actions = std::vector<CertificateLifetimeAction>{a};
  }
}

std::optional<Curve> policy_curve(const CertificatePolicy& p) {
  if (!p.is_ec()) return std::nullopt;
  return p.crv ? parse_curve(*p.crv) : std::optional<Curve>(Curve::P256);
}

std::optional<KeyError> check_policy(const CertificatePolicy& p) {
  if (p.subject.empty() && p.sans.empty())
    return bad_parameter(
        "The policy must give a subject (x509_props.subject) or subject alternative names "
        "(x509_props.sans).");
  if (!p.subject.empty()) {
    X509_NAME* name = parse_distinguished_name(p.subject);
    if (!name)
      return bad_parameter("The subject '" + p.subject +
                           "' is not a valid X.500 distinguished name (such as 'CN=example.com, "
                           "O=Contoso').");
    X509_NAME_free(name);
  }
  if (p.kty != "RSA" && p.kty != "RSA-HSM" && p.kty != "EC" && p.kty != "EC-HSM")
    return bad_parameter("The key type '" + p.kty +
                         "' is not supported for certificates. Supported types are RSA, RSA-HSM, "
                         "EC, EC-HSM.");
  if (p.is_ec()) {
    if (!policy_curve(p))
      return bad_parameter("The curve '" + p.crv.value_or("") +
                           "' is not supported. Supported curves are P-256, P-384, P-521, "
                           "P-256K.");
  } else if (p.key_size && *p.key_size != 2048 && *p.key_size != 3072 && *p.key_size != 4096) {
    return bad_parameter("Unsupported key size (" + std::to_string(*p.key_size) +
                         "). Supported sizes are [2048, 3072, 4096].");
  }
  if (p.content_type != kPkcs12ContentType && p.content_type != kPemContentType)
    return bad_parameter("The content type '" + p.content_type +
                         "' is not supported. Supported types are application/x-pkcs12 and "
                         "application/x-pem-file.");
  if (p.key_usage)
    for (const auto& u : *p.key_usage)
      if (std::find(key_usage_names().begin(), key_usage_names().end(), u) ==
          key_usage_names().end())
        return bad_parameter("The key usage '" + u +
                             "' is not valid. Valid key usages are digitalSignature, "
                             "nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, "
                             "keyCertSign, cRLSign, encipherOnly, decipherOnly.");
  if (p.ekus)
    for (const auto& e : *p.ekus)
      if (!is_dotted_oid(e))
        return bad_parameter("The enhanced key usage '" + e +
                             "' is not an object identifier (such as 1.3.6.1.5.5.7.3.1).");
  if (p.validity_months && (*p.validity_months < 1 || *p.validity_months > 1200))
    return bad_parameter("validity_months must be between 1 and 1200; it is " +
                         std::to_string(*p.validity_months) + ".");
  for (const auto* list : {&p.sans.dns_names, &p.sans.emails, &p.sans.upns})
    for (const auto& n : *list)
      if (!is_plain_name(n))
        return bad_parameter("The subject alternative name '" + n +
                             "' is not valid: it must be 1-255 printable ASCII characters "
                             "without spaces, commas, quotes or backslashes.");
  if (p.lifetime_actions)
    for (const auto& a : *p.lifetime_actions) {
      if (a.lifetime_percentage.has_value() == a.days_before_expiry.has_value())
        return bad_parameter(
            "A lifetime action's trigger must give either lifetime_percentage or "
            "days_before_expiry.");
      if (a.lifetime_percentage && (*a.lifetime_percentage < 1 || *a.lifetime_percentage > 99))
        return bad_parameter("lifetime_percentage must be between 1 and 99.");
      if (a.days_before_expiry && *a.days_before_expiry < 1)
        return bad_parameter("days_before_expiry must be at least 1.");
      if (a.action_type != "AutoRenew" && a.action_type != "EmailContacts")
        return bad_parameter("The action type '" + a.action_type +
                             "' is not valid. Valid types are AutoRenew and EmailContacts.");
    }
  return std::nullopt;
}

}  // namespace cmk::keyvault_data
