// The pipeline filter that applies fault rules (fault_rules.h) to requests, and the transport
// half of the actions: what cannot be said with a response (a reset, a hang, a cut-off body)
// travels to the listener as Response::transport_fault.
//
// Runs after authentication, so rules can match the caller's principal. Long-running-operation
// faults are handed to the operation engine through pending_lro_fault(), which the engine asks
// when the request being served starts an operation.
#pragma once

#include <optional>
#include <string>

#include "arm/operations.h"
#include "faults/fault_rules.h"
#include "http/pipeline.h"

namespace cmk::faults {

// The operation a request performs, in the vocabulary rules match on:
//   ARM        "Microsoft.Kusto/clusters/write", "Microsoft.Kusto/clusters/start/action",
//              "Microsoft.Resources/subscriptions/resourceGroups/read", ...
//              (read for GET, write for PUT/PATCH, delete, action for POST)
//   Key Vault  "keys/create", "keys/get", "keys/list", "keys/unwrapKey", "deletedkeys/purge",
//              "secrets/set", "secrets/get", "secrets/list", "secrets/listVersions",
//              "secrets/update", "secrets/delete", "secrets/backup", "secrets/restore",
//              "deletedsecrets/get", "deletedsecrets/list", "deletedsecrets/recover",
//              "deletedsecrets/purge", ...
//   login      the path after the tenant ("oauth2/v2.0/token"); MSI: the path
//   ("metadata/identity/oauth2/token")
std::string operation_name(const http::Request& req);
RequestFacts facts_of(const http::Request& req);

class FaultFilter : public http::Filter {
 public:
  explicit FaultFilter(FaultSet& set) : set_(set) {}
  std::optional<http::Response> before(http::Request& req) override;
  void after(const http::Request& req, http::Response& res) override;

  // The LRO fault decided for the request this thread is serving, if any; taken once.
  static std::optional<arm::LroFault> take_pending_lro_fault();

 private:
  FaultSet& set_;
};

}  // namespace cmk::faults
