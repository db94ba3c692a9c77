// Helpers shared by the admin API's route files: JSON answers and JSON-object bodies.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "common/json_input.h"
#include "common/utf8.h"
#include "http/error_bodies.h"
#include "http/message.h"

namespace cmk::admin {

inline http::Response json_ok(const nlohmann::json& body, int status = 200) {
  http::Response r;
  r.set_json(status, json_text(body));
  return r;
}

// The request's body as JSON whatever its declared type (empty = `empty_as`); nullopt and a 400
// in `error` when it is not JSON (the message says where), nests too deep, or is not of an
// accepted kind.
inline std::optional<nlohmann::json> json_body(
    const http::Request& req, http::Response& error, bool arrays_too = false,
    const nlohmann::json& empty_as = nlohmann::json::object()) {
  if (req.body.empty()) return empty_as;
  auto parsed = parse_json_input(req.body);
  if (!parsed) {
    error = http::admin_error(400, "InvalidRequestContent",
                              "The request body is not usable JSON: " + parsed.error());
    return std::nullopt;
  }
  nlohmann::json& body = parsed.value();
  if (body.is_object() || (arrays_too && body.is_array())) return std::move(body);
  error = http::admin_error(400, "InvalidRequestContent",
                            arrays_too ? "The request body must be a JSON object or array."
                                       : "The request body must be a JSON object.");
  return std::nullopt;
}

inline std::optional<nlohmann::json> object_body(const http::Request& req, http::Response& error) {
  return json_body(req, error);
}

}  // namespace cmk::admin
