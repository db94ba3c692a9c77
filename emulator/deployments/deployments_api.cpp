#include "deployments/deployments_api.h"

#include <map>
#include <memory>
#include <mutex>

#include "common/utf8.h"
#include "deployments/deployment.h"
#include "deployments/template_json.h"
#include "http/error_bodies.h"
#include "http/host_routing.h"
#include "http/server.h"

namespace cmk::deployments {

using http::Request;
using http::Response;
using http::RouteParams;

namespace {

constexpr size_t kMaxWhatIfResults = 200;

Response template_error(const TemplateError& e) {
  json info = {{"path", e.path}};
  if (e.position) info["position"] = *e.position;
  if (!e.text.empty()) info["expression"] = e.text;
  json err = {{"code", e.code},
              {"message", e.message()},
              {"additionalInfo", json::array({{{"type", "TemplateViolation"}, {"info", info}}})}};
  Response r = http::arm_error(400, e.code, e.message());
  r.body = json_text(json{{"error", err}});
  return r;
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (unsigned char c : n)
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '(' || c == ')'))
      return false;
  return true;
}

std::string api_version(const Request& req) {
  return req.query_param("api-version").value_or("");
}

struct Service {
  DeploymentsContext ctx;
  DeploymentRunner runner;
  std::mutex mu;                                                   // the maps
  std::map<std::string, std::shared_ptr<Deployment>> deployments;  // scope key|name (lower)
  std::map<std::string, json> what_ifs;                            // by id
  std::vector<std::string> what_if_order;

  explicit Service(DeploymentsContext c) : ctx(std::move(c)), runner(*ctx.clock, *ctx.ids) {}

  static std::string scope_path(const RouteParams& p) {
    std::string s = "/subscriptions/" + p.get("sub");
    if (!p.get("rg").empty()) s += "/resourceGroups/" + p.get("rg");
    return s;
  }
  static std::string key(const RouteParams& p, const std::string& name) {
    return http::to_lower(scope_path(p)) + "|" + http::to_lower(name);
  }
  std::string base(const Request& req, const RouteParams& p) const {
    return req.base_url() + scope_path(p) + "/providers/Microsoft.Resources/deployments";
  }

  std::optional<Response> check_scope(const Request& req, const RouteParams& p) {
    if (p.get("rg").empty())
      return arm::check_subscription_access(req, *ctx.arm.subscriptions, p.get("sub"));
    return arm::check_group_access(req, *ctx.arm.subscriptions, *ctx.arm.groups, p.get("sub"),
                                   p.get("rg"));
  }

  Response not_found(const std::string& name) {
    return http::arm_error(404, "DeploymentNotFound",
                           "Deployment '" + name + "' could not be found.");
  }

  std::shared_ptr<Deployment> find(const RouteParams& p) {
    std::lock_guard lock(mu);
    auto it = deployments.find(key(p, p.get("name")));
    return it == deployments.end() ? nullptr : it->second;
  }

  ResourceGateway gateway(const Request& req, const std::string& deployment_id,
                          const std::string& correlation) {
    auto send = ctx.send;
    const std::string auth = req.header("Authorization").value_or("");
    return [send, auth, deployment_id, correlation](const std::string& method,
                                                    const std::string& target, const json& body) {
      Request r;
      r.method = method;
      r.listener = http::Listener::Https;
      http::parse_target(r, target, "management.azure.com", 443);
      http::classify(r);
      if (!auth.empty()) r.headers.emplace("Authorization", auth);
      r.headers.emplace(kDeploymentCallerHeader, deployment_id);
      r.headers.emplace("x-ms-correlation-request-id", correlation);
      if (!body.is_null()) {
        r.body = json_text(body);
        r.headers.emplace("Content-Type", "application/json");
      }
      Response res = send(r);
      GatewayResponse g;
      g.status = res.status;
      g.body = res.body.empty() ? json() : json::parse(res.body, nullptr, false);
      if (g.body.is_discarded()) g.body = json();
      g.async_url = res.header("Azure-AsyncOperation").value_or("");
      g.location_url = res.header("Location").value_or("");
      return g;
    };
  }

  // The body and template of a PUT / validate / whatIf: the parsed request, or the 400.
  struct Parsed {
    json body;
    json properties;
    json tmpl;
    std::string mode = "Incremental";
    std::string location;
  };
  std::optional<Response> parse(const Request& req, const RouteParams& p, Parsed& out) {
    auto parsed = parse_lenient_json(req.body);
    if (!parsed)
      return http::arm_error(
          400, "InvalidRequestContent",
          "The request content was invalid and could not be deserialized: " + parsed.error());
    out.body = parsed.value();
    if (!out.body.is_object() || !out.body.contains("properties") ||
        !out.body["properties"].is_object())
      return http::arm_error(400, "InvalidRequestContent",
                             "The request content must be an object with 'properties'.");
    out.properties = out.body["properties"];
    if (out.properties.contains("templateLink") && !out.properties["templateLink"].is_null() &&
        !out.properties.contains("template"))
      return http::arm_error(400, "InvalidRequestContent",
                             "The emulator does not fetch templates: send the template in "
                             "properties.template instead of properties.templateLink.");
    if (out.properties.contains("parametersLink") && !out.properties["parametersLink"].is_null())
      return http::arm_error(400, "InvalidRequestContent",
                             "The emulator does not fetch parameter files: send them in "
                             "properties.parameters instead of properties.parametersLink.");
    if (!out.properties.contains("template") || !out.properties["template"].is_object())
      return http::arm_error(400, "InvalidRequestContent",
                             "The request content needs properties.template (an object).");
    out.tmpl = out.properties["template"];
    if (auto m = out.properties.find("mode"); m != out.properties.end() && !m->is_null()) {
      if (!m->is_string() || (!http::iequals(m->get<std::string>(), "Incremental") &&
                              !http::iequals(m->get<std::string>(), "Complete")))
        return http::arm_error(400, "InvalidDeploymentMode",
                               "The deployment mode '" +
                                   (m->is_string() ? m->get<std::string>() : m->dump()) +
                                   "' is not valid: use 'Incremental' or 'Complete'.");
      out.mode = http::iequals(m->get<std::string>(), "Complete") ? "Complete" : "Incremental";
    }
    if (p.get("rg").empty()) {
      if (out.mode == "Complete")
        return http::arm_error(
            400, "InvalidDeploymentMode",
            "The deployment mode 'Complete' is not supported at subscription scope.");
      auto loc = out.body.find("location");
      if (loc == out.body.end() || !loc->is_string() || loc->get<std::string>().empty())
        return http::arm_error(400, "LocationRequired",
                               "The location property is required for this definition.");
      out.location = loc->get<std::string>();
    }
    return std::nullopt;
  }

  DeploymentScope scope(const RouteParams& p, const std::string& name,
                        const std::string& location) {
    DeploymentScope s;
    const auto sub = ctx.arm.subscriptions->find(p.get("sub"));
    s.subscription_id = sub ? sub->id : p.get("sub");
    s.tenant_id = sub ? sub->tenant_id : "";
    s.subscription_name = sub ? sub->display_name : "";
    if (!p.get("rg").empty())
      if (auto g = ctx.arm.groups->get(p.get("sub"), p.get("rg"))) {
        s.resource_group = g->to_json();
        s.location = g->location;
      }
    if (!location.empty()) s.location = location;
    s.deployment_name = name;
    const Clock* clock = ctx.clock;
    s.now = [clock] { return clock->now(); };
    return s;
  }

  std::string deployment_id(const RouteParams& p, const std::string& name) {
    const auto sub = ctx.arm.subscriptions->find(p.get("sub"));
    std::string s = "/subscriptions/" + (sub ? sub->id : p.get("sub"));
    if (!p.get("rg").empty()) {
      auto g = ctx.arm.groups->get(p.get("sub"), p.get("rg"));
      s += "/resourceGroups/" + (g ? g->name : p.get("rg"));
    }
    return s + "/providers/Microsoft.Resources/deployments/" + name;
  }

  Response put(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    const std::string name = p.get("name");
    if (!valid_name(name))
      return http::arm_error(
          400, "InvalidDeploymentName",
          "The deployment name '" + name +
              "' is not valid: 1-64 letters, digits, '-', '_', '.', '(' and ')'.");
    Parsed in;
    if (auto e = parse(req, p, in)) return *e;
    const std::string id = deployment_id(p, name);
    auto t = Template::load(in.tmpl, in.properties.value("parameters", json::object()),
                            scope(p, name, in.location));
    if (!t) return template_error(t.error());

    auto d = std::make_shared<Deployment>();
    d->id = id;
    d->name = name;
    d->subscription = p.get("sub");
    d->resource_group = p.get("rg");
    d->location = in.location;
    d->mode = in.mode;
    d->template_json = in.tmpl;
    if (in.body.contains("tags") && in.body["tags"].is_object()) d->tags = in.body["tags"];
    d->tmpl = t.value();
    d->parameters = d->tmpl->parameters_json();
    d->correlation_id = req.correlation_id.empty() ? ctx.ids->guid() : req.correlation_id;
    d->status_id = runner.operation_id();
    d->started = d->ended = ctx.clock->now();
    d->resource_ops.assign(d->tmpl->resources().size(), -1);
    d->gateway = gateway(req, id, d->correlation_id);

    bool created = true;
    {
      std::lock_guard lock(mu);
      auto& slot = deployments[key(p, name)];
      if (slot) {
        // try_lock: a deployment that is advancing right now is active (and a template that
        // deploys itself must not deadlock).
        std::unique_lock dlock(slot->mu, std::try_to_lock);
        if (!dlock.owns_lock() || !slot->terminal())
          return http::arm_error(409, "DeploymentActive",
                                 "Unable to edit or replace deployment '" + name +
                                     "': previous deployment is still active. Please see "
                                     "https://aka.ms/arm-deploy for usage details.");
        created = false;
      }
      slot = d;
    }
    Response res = arm::arm_json(created ? 201 : 200, runner.to_json(*d));
    res.set_header("Azure-AsyncOperation",
                   base(req, p) + "/" + name + "/operationStatuses/" + d->status_id +
                       "?api-version=" + http::percent_encode(api_version(req)));
    res.set_header("Retry-After", "1");
    {
      std::lock_guard dlock(d->mu);
      runner.advance(*d);  // starts deploying at once, as ARM does
    }
    return res;
  }

  Response get(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    auto d = find(p);
    if (!d) return not_found(p.get("name"));
    std::lock_guard lock(d->mu);
    runner.advance(*d);
    if (req.method == "HEAD") {
      Response r;
      r.status = 204;
      return r;
    }
    return arm::arm_json(200, runner.to_json(*d));
  }

  Response list(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    std::vector<std::shared_ptr<Deployment>> all;
    {
      std::lock_guard lock(mu);
      const std::string prefix = http::to_lower(scope_path(p)) + "|";
      for (auto it = deployments.lower_bound(prefix);
           it != deployments.end() && it->first.rfind(prefix, 0) == 0; ++it)
        all.push_back(it->second);
    }
    std::vector<json> items;
    for (auto& d : all) {
      std::lock_guard lock(d->mu);
      runner.advance(*d);
      items.push_back(runner.to_json(*d));
    }
    return arm::arm_json(200, arm::list_page(req, items));
  }

  Response remove(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    auto d = find(p);
    if (!d) {
      Response r;
      r.status = 204;
      return r;
    }
    {
      std::lock_guard lock(d->mu);
      runner.advance(*d);
      if (!d->terminal())
        return http::arm_error(
            409, "DeploymentActive",
            "Unable to delete deployment '" + d->name + "': it is still active. Cancel it first.");
    }
    const std::string k = key(p, p.get("name"));
    const std::string sub = p.get("sub");
    std::string location = d->location;
    if (location.empty())
      if (auto g = ctx.arm.groups->get(sub, p.get("rg"))) location = g->location;
    const std::string op = ctx.arm.operations->start(
        d->id, "DeploymentDelete", location,
        ctx.arm.lro_policies->get("Microsoft.Resources/deployments", "delete"),
        [this, k, d]() -> std::optional<arm::OperationError> {
          std::lock_guard lock(mu);
          if (auto it = deployments.find(k); it != deployments.end() && it->second == d)
            deployments.erase(it);
          return std::nullopt;
        });
    Response r;
    r.status = 202;
    r.set_header("Location", req.base_url() + "/subscriptions/" + sub + "/operationresults/" + op +
                                 "?api-version=" + http::percent_encode(api_version(req)));
    r.set_header("Retry-After", "1");
    return r;
  }

  Response status(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    auto d = find(p);
    if (!d || !http::iequals(d->status_id, p.get("op")))
      return http::arm_error(404, "DeploymentNotFound",
                             "The operation '" + p.get("op") + "' of deployment '" + p.get("name") +
                                 "' could not be found.");
    std::lock_guard lock(d->mu);
    runner.advance(*d);
    const bool running = !d->terminal();
    json j = {{"status", running ? "Running" : d->state}};
    if (!d->error.is_null()) j["error"] = d->error;
    Response r = arm::arm_json(200, j);
    if (running) r.set_header("Retry-After", "1");
    return r;
  }

  Response operations(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    auto d = find(p);
    if (!d) return not_found(p.get("name"));
    std::lock_guard lock(d->mu);
    runner.advance(*d);
    const std::string one = p.get("op");
    std::vector<json> items;
    for (const auto& op : d->operations) {
      if (!one.empty() && http::iequals(op.operation_id, one))
        return arm::arm_json(200, runner.operation_json(*d, op));
      items.push_back(runner.operation_json(*d, op));
    }
    if (!one.empty())
      return http::arm_error(
          404, "DeploymentOperationNotFound",
          "The operation '" + one + "' of deployment '" + d->name + "' could not be found.");
    return arm::arm_json(200, arm::list_page(req, items));
  }

  Response validate(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    const std::string name = p.get("name");
    if (!valid_name(name))
      return http::arm_error(400, "InvalidDeploymentName",
                             "The deployment name '" + name + "' is not valid.");
    Parsed in;
    if (auto e = parse(req, p, in)) return *e;
    auto t = Template::load(in.tmpl, in.properties.value("parameters", json::object()),
                            scope(p, name, in.location));
    if (!t) return template_error(t.error());
    Deployment d;
    d.id = deployment_id(p, name);
    d.name = name;
    d.location = in.location;
    d.mode = in.mode;
    d.template_json = in.tmpl;
    d.tmpl = t.value();
    d.parameters = d.tmpl->parameters_json();
    d.correlation_id = req.correlation_id;
    d.state = "Succeeded";
    d.started = d.ended = ctx.clock->now();
    json j = runner.to_json(d);
    json validated = json::array();
    for (const auto& r : d.tmpl->resources()) validated.push_back({{"id", r.id}});
    j["properties"]["validatedResources"] = validated;
    j["properties"].erase("outputResources");
    return arm::arm_json(200, j);
  }

  Response what_if_start(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    const std::string name = p.get("name");
    Parsed in;
    if (auto e = parse(req, p, in)) return *e;
    auto t = Template::load(in.tmpl, in.properties.value("parameters", json::object()),
                            scope(p, name, in.location));
    if (!t) return template_error(t.error());
    Deployment d;
    d.id = deployment_id(p, name);
    d.tmpl = t.value();
    d.gateway = gateway(req, d.id, req.correlation_id);
    json result =
        what_if(*d.tmpl, in.mode, d.gateway, runner.runtime(d), p.get("sub"), p.get("rg"));
    const std::string id = ctx.ids->guid();
    {
      std::lock_guard lock(mu);
      what_ifs[id] = result;
      what_if_order.push_back(id);
      while (what_if_order.size() > kMaxWhatIfResults) {
        what_ifs.erase(what_if_order.front());
        what_if_order.erase(what_if_order.begin());
      }
    }
    Response r;
    r.status = 202;
    r.set_header("Location", base(req, p) + "/" + name + "/whatIfOperationResults/" + id +
                                 "?api-version=" + http::percent_encode(api_version(req)));
    r.set_header("Retry-After", "1");
    return r;
  }

  Response what_if_result(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    std::lock_guard lock(mu);
    auto it = what_ifs.find(http::to_lower(p.get("op")));
    if (it == what_ifs.end())
      return http::arm_error(404, "WhatIfResultNotFound",
                             "The what-if result '" + p.get("op") + "' could not be found.");
    return arm::arm_json(200, it->second);
  }

  Response export_template(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    auto d = find(p);
    if (!d) return not_found(p.get("name"));
    std::lock_guard lock(d->mu);
    return arm::arm_json(200, {{"template", d->template_json}});
  }

  Response cancel(Request& req, const RouteParams& p) {
    if (auto e = check_scope(req, p)) return *e;
    auto d = find(p);
    if (!d) return not_found(p.get("name"));
    std::lock_guard lock(d->mu);
    runner.advance(*d);
    if (d->terminal())
      return http::arm_error(
          409, "DeploymentCannotBeCancelled",
          "The deployment '" + d->name + "' cannot be cancelled: it is " + d->state + ".");
    d->state = "Canceled";
    d->ended = ctx.clock->now();
    Response r;
    r.status = 204;
    return r;
  }
};

}  // namespace

void register_deployment_routes(http::Router& router, DeploymentsContext ctx) {
  auto s = std::make_shared<Service>(std::move(ctx));
  for (const std::string scope :
       {"/subscriptions/{sub}/resourceGroups/{rg}", "/subscriptions/{sub}"}) {
    const std::string d = scope + "/providers/Microsoft.Resources/deployments";
    const std::string one = d + "/{name}";
    auto bind = [s](Response (Service::*fn)(Request&, const RouteParams&)) {
      return [s, fn](Request& req, const RouteParams& p) { return ((*s).*fn)(req, p); };
    };
    router.add("GET", d, bind(&Service::list));
    router.add("PUT", one, bind(&Service::put));
    router.add("GET", one, bind(&Service::get));
    router.add("DELETE", one, bind(&Service::remove));
    router.add("GET", one + "/operationStatuses/{op}", bind(&Service::status));
    router.add("GET", one + "/operations", bind(&Service::operations));
    router.add("GET", one + "/operations/{op}", bind(&Service::operations));
    router.add("POST", one + "/validate", bind(&Service::validate));
    router.add("POST", one + "/whatIf", bind(&Service::what_if_start));
    router.add("GET", one + "/whatIfOperationResults/{op}", bind(&Service::what_if_result));
    router.add("POST", one + "/exportTemplate", bind(&Service::export_template));
    router.add("POST", one + "/cancel", bind(&Service::cancel));
  }
  // The SDKs' path for operations at resource-group scope has no providers/Microsoft.Resources.
  auto ops = [s](Request& req, const RouteParams& p) { return s->operations(req, p); };
  router.add("GET", "/subscriptions/{sub}/resourceGroups/{rg}/deployments/{name}/operations", ops);
  router.add("GET", "/subscriptions/{sub}/resourceGroups/{rg}/deployments/{name}/operations/{op}",
             ops);
}

}  // namespace cmk::deployments
