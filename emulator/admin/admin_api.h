// The admin API under /_emulator/ (PRODUCT §5), served on both listeners: health, info,
// the CA, the virtual clock and the proxy's refusals. JSON in and out; errors in the admin shape.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/front_door.h"
#include "http/router.h"
#include "state/clock.h"

namespace cmk::admin {

struct AdminContext {
  VirtualClock* clock = nullptr;
  const std::chrono::steady_clock::time_point* started_at = nullptr;  // set by start()
  std::function<std::string()> ca_pem;
  std::function<nlohmann::json()> info;  // ports, CA path, client environment
  const http::FrontDoor* front_door = nullptr;
};

void register_admin_routes(http::Router& router, AdminContext ctx);

}  // namespace cmk::admin
