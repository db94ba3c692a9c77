// The admin API under /_emulator/, served on both listeners: health, info,
// the CA, the virtual clock, the proxy's refusals, token revocation, the managed-identity
// endpoints' host identity, the long-running operation policies, the request journal and
// fault injection. JSON in and out; errors in the admin shape.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "arm/operations.h"
#include "common/status.h"
#include "entra/directory.h"
#include "entra/token_service.h"
#include "faults/fault_rules.h"
#include "http/front_door.h"
#include "http/router.h"
#include "journal/journal.h"
#include "kusto/cluster_keys.h"
#include "msi/msi_api.h"
#include "state/clock.h"

namespace cmk::admin {

struct AdminContext {
  VirtualClock* clock = nullptr;
  const std::chrono::steady_clock::time_point* started_at = nullptr;  // set by start()
  std::function<std::string()> ca_pem;
  std::function<nlohmann::json()> info;  // ports, CA path, client environment
  const http::FrontDoor* front_door = nullptr;
  std::function<entra::TokenService*()> token_service;  // null before start
  const entra::Directory* directory = nullptr;
  msi::MsiSettings* msi = nullptr;
  arm::LroPolicyTable* lro_policies = nullptr;
  kusto::ClusterKeys* cluster_keys = nullptr;
  journal::Journal* journal = nullptr;
  faults::FaultSet* faults = nullptr;
  arm::OperationEngine* operations = nullptr;  // /_emulator/operations
};

void register_admin_routes(http::Router& router, AdminContext ctx);

// /_emulator/state (GET export, PUT import) and POST /_emulator/reset (state_admin.cpp). The
// emulator owns the state; these call back into it. Import and reset either succeed or leave
// the state as it was; their errors are messages naming the file and JSON path.
struct StateAdmin {
  std::function<nlohmann::json(bool include_secrets)> export_state;
  std::function<Status(const nlohmann::json& fixture)> import_state;
  std::function<Status()> reset;
};
void register_state_routes(http::Router& router, StateAdmin admin);

// /_emulator/requests: the request journal (journal_admin.cpp).
void register_journal_routes(http::Router& router, journal::Journal& journal, const Clock& clock);
// /_emulator/faults (faults_admin.cpp).
void register_fault_routes(http::Router& router, faults::FaultSet& faults, const Clock& clock);
// /_emulator/operations: long-running operations, running and finished, and the release of held
// ones (operations_admin.cpp).
void register_operation_routes(http::Router& router, arm::OperationEngine& operations);

}  // namespace cmk::admin
