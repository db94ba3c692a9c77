// The records CertificateStore keeps, shared by the store (certificate_store.cpp) and its
// snapshot form (certificate_snapshot.cpp). Internal to the store: nothing else includes this.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "keyvault_data/certificate_store.h"

namespace cmk::keyvault_data {

struct CertificateStore::Version {
  std::string id;
  std::shared_ptr<const CertificateMaterial> material;  // null: pending, cancelled or failed
  CertificateAttributes attributes;
  nlohmann::json tags = nlohmann::json::object();
};

struct CertificateStore::Pending {
  std::string request_id;
  std::string version;  // the version it completes
  CertificatePolicy policy;
  std::shared_ptr<const KeyMaterial> key;             // until completed
  std::shared_ptr<const CertificateMaterial> issued;  // Self: made at create
  std::string csr;
  TimePoint started{};
  int polls = 0;
  arm::LroPolicy lro;
  std::string status = "inProgress";
  bool cancellation_requested = false;
  std::optional<CertError> error;
  CertificateAttributesInput attributes;
};

struct CertificateStore::Stored {
  std::string name;
  std::vector<Version> versions;
  CertificatePolicy policy;
  std::optional<Pending> pending;
};

struct CertificateStore::Deleted {
  Stored cert;
  int64_t deleted_date = 0;
  int64_t scheduled_purge_date = 0;
};

struct CertificateStore::VaultCertificates {
  std::string name;                        // lower case
  std::map<std::string, Stored> live;      // by lower-case name
  std::map<std::string, Deleted> deleted;  // by lower-case name
  std::optional<std::vector<CertificateContact>> contacts;
  std::map<std::string, CertificateIssuer> issuers;  // by lower-case name
};

}  // namespace cmk::keyvault_data
