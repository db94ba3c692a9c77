#include "entra/directory.h"

#include <openssl/evp.h>

#include <algorithm>

#include "http/message.h"

namespace cmk::entra {

using http::iequals;

void Directory::put_tenant(Tenant t) {
  std::lock_guard lock(mu_);
  revision_.bump();
  for (auto& existing : tenants_) {
    if (iequals(existing.id, t.id)) {
      existing = std::move(t);
      return;
    }
  }
  tenants_.push_back(std::move(t));
}

void Directory::put_service_principal(ServicePrincipal sp) {
  std::lock_guard lock(mu_);
  revision_.bump();
  for (auto& existing : service_principals_) {
    if (iequals(existing.app_id, sp.app_id)) {
      existing = std::move(sp);
      return;
    }
  }
  service_principals_.push_back(std::move(sp));
}

std::optional<Tenant> Directory::find_tenant(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& t : tenants_)
    if (iequals(t.id, id)) return t;
  return std::nullopt;
}

std::optional<ServicePrincipal> Directory::find_service_principal(const std::string& app_id) const {
  std::lock_guard lock(mu_);
  for (const auto& sp : service_principals_)
    if (iequals(sp.app_id, app_id)) return sp;
  return std::nullopt;
}

std::vector<Tenant> Directory::tenants() const {
  std::lock_guard lock(mu_);
  return tenants_;
}

std::vector<ServicePrincipal> Directory::service_principals() const {
  std::lock_guard lock(mu_);
  return service_principals_;
}

ServicePrincipal Directory::add_service_principal_if_absent(ServicePrincipal sp) {
  std::lock_guard lock(mu_);
  for (const auto& existing : service_principals_)
    if (iequals(existing.app_id, sp.app_id)) return existing;
  service_principals_.push_back(sp);
  revision_.bump();
  return sp;
}

bool Directory::remove_service_principal(const std::string& app_id) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(service_principals_.begin(), service_principals_.end(),
                         [&](const ServicePrincipal& sp) { return iequals(sp.app_id, app_id); });
  if (it == service_principals_.end()) return false;
  service_principals_.erase(it);
  revision_.bump();
  return true;
}

void Directory::put_managed_identity(ManagedIdentity mi) {
  std::lock_guard lock(mu_);
  revision_.bump();
  for (auto& existing : managed_identities_) {
    if (iequals(existing.resource_id, mi.resource_id)) {
      existing = std::move(mi);
      return;
    }
  }
  managed_identities_.push_back(std::move(mi));
}

bool Directory::remove_managed_identity(const std::string& resource_id) {
  std::lock_guard lock(mu_);
  auto it =
      std::find_if(managed_identities_.begin(), managed_identities_.end(),
                   [&](const ManagedIdentity& m) { return iequals(m.resource_id, resource_id); });
  if (it == managed_identities_.end()) return false;
  managed_identities_.erase(it);
  revision_.bump();
  return true;
}

std::optional<ManagedIdentity> Directory::find_managed_identity_by_resource_id(
    const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& m : managed_identities_)
    if (iequals(m.resource_id, id)) return m;
  return std::nullopt;
}

std::optional<ManagedIdentity> Directory::find_managed_identity_by_client_id(
    const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& m : managed_identities_)
    if (iequals(m.client_id, id)) return m;
  return std::nullopt;
}

std::optional<ManagedIdentity> Directory::find_managed_identity_by_principal_id(
    const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& m : managed_identities_)
    if (iequals(m.principal_id, id)) return m;
  return std::nullopt;
}

std::vector<ManagedIdentity> Directory::managed_identities() const {
  std::lock_guard lock(mu_);
  return managed_identities_;
}

void Directory::replace_all(std::vector<Tenant> tenants,
                            std::vector<ServicePrincipal> service_principals,
                            std::vector<ManagedIdentity> managed_identities) {
  std::lock_guard lock(mu_);
  tenants_ = std::move(tenants);
  service_principals_ = std::move(service_principals);
  managed_identities_ = std::move(managed_identities);
  revision_.bump();
}

namespace {

std::string format_guid(const unsigned char* b) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 0x0f];
  }
  return out;
}

}  // namespace

std::string deterministic_object_id(std::string_view tenant_id, std::string_view app_id) {
  std::string input = http::to_lower(tenant_id) + ":" + http::to_lower(app_id);
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), h, &len, EVP_sha256(), nullptr);
  h[6] = static_cast<unsigned char>((h[6] & 0x0f) | 0x80);
  h[8] = static_cast<unsigned char>((h[8] & 0x3f) | 0x80);
  return format_guid(h);
}

bool is_guid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace cmk::entra
