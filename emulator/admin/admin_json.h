// Helpers shared by the admin API's route files: JSON answers and JSON-object bodies.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "http/error_bodies.h"
#include "http/message.h"

namespace cmk::admin {

inline http::Response json_ok(const nlohmann::json& body, int status = 200) {
  http::Response r;
  r.set_json(status, json_text(body));
  return r;
}

// The request's body as JSON (empty = `empty_as`); nullopt and a 400 in `error` when it is not
// JSON or not of an accepted kind.
inline std::optional<nlohmann::json> json_body(
    const http::Request& req, http::Response& error, bool arrays_too = false,
    const nlohmann::json& empty_as = nlohmann::json::object()) {
  nlohmann::json body =
      req.body.empty() ? empty_as : nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_object() || (arrays_too && body.is_array())) return body;
  error = http::admin_error(400, "InvalidRequestContent",
                            arrays_too ? "The request body must be a JSON object or array."
                                       : "The request body must be a JSON object.");
  return std::nullopt;
}

inline std::optional<nlohmann::json> object_body(const http::Request& req, http::Response& error) {
  return json_body(req, error);
}

}  // namespace cmk::admin
