#include "faults/fault_filter.h"

#include <array>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/error_bodies.h"

namespace cmk::faults {

using http::Request;
using http::Response;

namespace {

std::string lower(const std::string& s) {
  return http::to_lower(s);
}

std::string arm_operation(const Request& req) {
  const auto& seg = req.segments;
  // The last "providers" segment starts the resource type (nested resources repeat it).
  size_t prov = seg.size();
  for (size_t i = 0; i + 1 < seg.size(); ++i)
    if (http::iequals(seg[i], "providers")) prov = i;
  std::string type;
  std::vector<std::string> rest;
  if (prov < seg.size()) {
    type = seg[prov + 1];
    rest.assign(seg.begin() + static_cast<long>(prov) + 2, seg.end());
  } else if (!seg.empty() && http::iequals(seg[0], "subscriptions")) {
    // Core paths: subscriptions/{s}/resourceGroups/{rg}/...
    type = "Microsoft.Resources";
    rest = seg;
  } else {
    return "";
  }
  const bool action = req.method == "POST" && rest.size() % 2 == 1 && rest.size() > 1;
  for (size_t i = 0; i + (action ? 1 : 0) < rest.size(); i += 2) type += "/" + rest[i];
  if (action) return type + "/" + rest.back() + "/action";
  if (req.method == "GET" || req.method == "HEAD") return type + "/read";
  if (req.method == "PUT" || req.method == "PATCH") return type + "/write";
  if (req.method == "DELETE") return type + "/delete";
  return type + "/action";
}

std::string keyvault_operation(const Request& req) {
  const auto& seg = req.segments;
  if (seg.empty()) return "";
  static const std::map<std::string, std::string> kActions = {
      {"create", "create"},       {"import", "import"},   {"wrapkey", "wrapKey"},
      {"unwrapkey", "unwrapKey"}, {"encrypt", "encrypt"}, {"decrypt", "decrypt"},
      {"sign", "sign"},           {"verify", "verify"},   {"backup", "backup"},
      {"restore", "restore"},     {"rotate", "rotate"},   {"rotationpolicy", "rotationPolicy"},
      {"release", "release"},     {"recover", "recover"}, {"versions", "listVersions"},
      {"merge", "merge"}};
  const std::string family = lower(seg[0]);
  if (seg.size() > 1)
    if (auto a = kActions.find(lower(seg.back())); a != kActions.end())
      return family + "/" + a->second;
  if (req.method == "GET") return family + (seg.size() == 1 ? "/list" : "/get");
  // PUT /keys/{name} imports a key; PUT /secrets/{name} sets a secret (the operation's name in
  // Key Vault's permissions).
  if (req.method == "PUT") return family + (family == "secrets" ? "/set" : "/import");
  if (req.method == "PATCH") return family + "/update";
  if (req.method == "DELETE")
    return family + (family.rfind("deleted", 0) == 0 ? "/purge" : "/delete");
  return family + "/" + lower(req.method);
}

// The path without its first segment (the tenant), for login; the whole path otherwise.
std::string path_tail(const Request& req, size_t skip) {
  std::string out;
  for (size_t i = skip; i < req.segments.size(); ++i)
    out += (out.empty() ? "" : "/") + req.segments[i];
  return out;
}

// Per-thread record of what the filter decided for the requests this thread is serving. The
// emulator's own calls nest inside a client's request on the same thread (a cluster reaching
// Key Vault while its operation completes), hence a list keyed by request.
struct Pending {
  const Request* req;
  Decision decision;
  std::optional<arm::LroFault> lro;  // until the engine takes it
};
thread_local std::vector<Pending> t_pending;

Pending* pending_for(const Request& req) {
  for (auto& p : t_pending)
    if (p.req == &req) return &p;
  return nullptr;
}

void sleep_ms(double ms) {
  if (ms > 0)
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(ms * 1000)));
}

// The fault's error response, in the shape of the surface (or the rule's own body).
Response error_response(const Request& req, const Decision& d) {
  const Action& a = d.action;
  Response res;
  const bool throttled = a.type == Action::Type::Throttle || a.type == Action::Type::Quota;
  if (a.body) {
    res.status = a.status;
    if (a.body->is_string()) {
      res.body = a.body->get<std::string>();
      res.set_header("Content-Type", "text/plain; charset=utf-8");
    } else {
      res.set_json(a.status, a.body->dump());
    }
  } else if (throttled) {
    const std::string seconds = std::to_string(d.retry_after_s);
    switch (req.surface) {
      case http::Surface::KeyVault:
        res = http::keyvault_error(429, a.code.empty() ? "Throttled" : a.code,
                                   a.message.empty()
                                       ? "Request was not processed because too many requests were "
                                         "received. Reason: the emulator's fault rule '" +
                                             d.rule + "'."
                                       : a.message);
        break;
      case http::Surface::Arm: {
        const bool read = req.method == "GET" || req.method == "HEAD";
        res = http::arm_error(
            429, a.code.empty() ? "TooManyRequests" : a.code,
            a.message.empty()
                ? "The request is being throttled as the limit has been reached for "
                  "operation type - " +
                      std::string(read ? "Read" : "Write") + ". Please try again after '" +
                      seconds + "' seconds (fault rule '" + d.rule + "')."
                : a.message);
        res.set_header(read ? "x-ms-ratelimit-remaining-subscription-reads"
                            : "x-ms-ratelimit-remaining-subscription-writes",
                       "0");
        break;
      }
      default:
        res = http::surface_error(
            req, 429, a.code.empty() ? "TooManyRequests" : a.code,
            a.message.empty() ? "Too many requests (fault rule '" + d.rule + "')." : a.message);
    }
    res.set_header("Retry-After", seconds);
  } else {
    const std::string code = a.code.empty() ? (a.status == 503   ? "ServiceUnavailable"
                                               : a.status >= 500 ? "InternalServerError"
                                                                 : "InjectedFault")
                                            : a.code;
    res = http::surface_error(
        req, a.status, code,
        a.message.empty() ? "Injected by the emulator's fault rule '" + d.rule + "'." : a.message);
  }
  for (const auto& [k, v] : a.headers) res.set_header(k, v);
  return res;
}

Response broken_connection(const Request& req, const Decision& d, http::TransportFault::Kind kind) {
  Response res = http::surface_error(
      req, 503, "ServiceUnavailable",
      std::string("The connection was ") +
          (kind == http::TransportFault::Kind::Reset ? "reset" : "left hanging") +
          " by the emulator's fault rule '" + d.rule + "'.");
  http::TransportFault tf;
  tf.kind = kind;
  tf.hang_max_s = d.action.hang_max_s;
  res.transport_fault = tf;
  return res;
}

}  // namespace

std::string operation_name(const Request& req) {
  switch (req.surface) {
    case http::Surface::Arm:
      return arm_operation(req);
    case http::Surface::KeyVault:
      return keyvault_operation(req);
    case http::Surface::Login:
      return path_tail(req, 1);
    default:
      return path_tail(req, 0);
  }
}

RequestFacts facts_of(const Request& req) {
  RequestFacts f;
  f.surface = http::surface_name(req.surface);
  f.host = req.host;
  f.method = req.method;
  f.path = req.path;
  if (req.principal) {
    f.principal_oid = req.principal->object_id;
    f.principal_appid = req.principal->app_id;
  }
  f.operation = [&req] { return operation_name(req); };
  f.api_version = [&req] { return req.query_param("api-version").value_or(""); };
  f.header = [&req](std::string_view name) { return req.header(name); };
  return f;
}

std::optional<Response> FaultFilter::before(Request& req) {
  if (set_.empty()) return std::nullopt;
  auto decision = set_.decide(facts_of(req));
  if (!decision) return std::nullopt;
  req.fault_applied = decision->description();
  const Action& a = decision->action;
  using T = Action::Type;
  switch (a.type) {
    case T::Status:
    case T::Throttle:
    case T::Quota:
      return error_response(req, *decision);
    case T::Latency:
      if (!a.after) {
        sleep_ms(decision->latency_ms);
        return std::nullopt;
      }
      break;
    case T::Reset:
    case T::Hang:
      if (!a.after)
        return broken_connection(req, *decision,
                                 a.type == T::Reset ? http::TransportFault::Kind::Reset
                                                    : http::TransportFault::Kind::Hang);
      break;
    case T::Truncate:
    case T::Malformed:
      break;
    case T::Lro:
      t_pending.push_back({&req, *decision, a.lro});
      return std::nullopt;
  }
  t_pending.push_back({&req, *decision, std::nullopt});
  return std::nullopt;
}

void FaultFilter::after(const Request& req, Response& res) {
  if (t_pending.empty()) return;
  Pending* p = pending_for(req);
  if (!p) return;
  const Decision d = std::move(p->decision);
  std::erase_if(t_pending, [&](const Pending& x) { return x.req == &req; });
  const Action& a = d.action;
  using T = Action::Type;
  switch (a.type) {
    case T::Latency:
      sleep_ms(d.latency_ms);
      break;
    case T::Reset:
    case T::Hang: {
      // The request was handled; the client never learns the outcome.
      Response broken = broken_connection(req, d,
                                          a.type == T::Reset ? http::TransportFault::Kind::Reset
                                                             : http::TransportFault::Kind::Hang);
      res = std::move(broken);
      break;
    }
    case T::Truncate: {
      http::TransportFault tf;
      tf.kind = http::TransportFault::Kind::Truncate;
      tf.fraction = a.truncate_fraction;
      res.transport_fault = tf;
      break;
    }
    case T::Malformed:
      // Half the real body and no closing brackets: not JSON, whatever the status.
      res.body = res.body.substr(0, res.body.size() / 2) +
                 "<<malformed by the emulator's fault rule '" + d.rule + "'>>";
      if (!res.header("Content-Type"))
        res.set_header("Content-Type", "application/json; charset=utf-8");
      break;
    default:
      break;
  }
}

std::optional<arm::LroFault> FaultFilter::take_pending_lro_fault() {
  // The innermost request that still holds one: the one whose handler is starting the operation.
  for (auto it = t_pending.rbegin(); it != t_pending.rend(); ++it)
    if (it->lro) {
      auto f = std::move(it->lro);
      it->lro.reset();
      return f;
    }
  return std::nullopt;
}

}  // namespace cmk::faults
