#include "deployments/deployment.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "arm/catalog.h"
#include "arm/resource_id.h"
#include "deployments/unique_string.h"
#include "http/message.h"

namespace cmk::deployments {

namespace {

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "NoContent";
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 412:
      return "PreconditionFailed";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalServerError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "Unknown";
  }
}

// The error object of an ARM error body, or one made from the status.
json error_of(int status, const json& body) {
  if (body.is_object() && body.contains("error") && body["error"].is_object()) return body["error"];
  return {{"code", status == 0 ? "InternalServerError" : reason(status)},
          {"message", "The request failed with status " + std::to_string(status) + "."}};
}

const json* find_ci(const json& o, const std::string& key) {
  if (!o.is_object()) return nullptr;
  for (auto it = o.begin(); it != o.end(); ++it)
    if (http::iequals(it.key(), key)) return &*it;
  return nullptr;
}

bool is_template_keyword(const std::string& k) {
  static const std::set<std::string> keys = {"type",     "name",      "apiversion", "dependson",
                                             "copy",     "condition", "resources",  "comments",
                                             "metadata", "scope",     "existing"};
  return keys.count(http::to_lower(k)) > 0;
}

}  // namespace

std::string iso_duration(Duration d) {
  // ARM's form: seconds in fixed notation with up to 7 decimals ("PT0.0001874S", "PT30.2549522S",
  // "PT0S"), never an exponent.
  const double s = std::max(0.0, std::chrono::duration<double>(d).count());
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.7f", s);
  std::string digits = buf;
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  if (!digits.empty() && digits.back() == '.') digits.pop_back();
  return "PT" + digits + "S";
}

std::string default_api_version(const std::string& type) {
  const auto slash = type.find('/');
  if (slash == std::string::npos) return "2021-04-01";
  const arm::Provider* p = arm::find_provider(type.substr(0, slash));
  const std::string rest = type.substr(slash + 1);
  if (p)
    for (const auto& t : p->types)
      if (http::iequals(t.resource_type, rest) && !t.api_versions.empty())
        return t.api_versions.front();
  return "2021-04-01";
}

std::string DeploymentRunner::operation_id() {
  std::string hex = ids_.hex32().substr(0, 16);
  for (auto& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

Template::Runtime DeploymentRunner::runtime(const Deployment& d) const {
  ResourceGateway gateway = d.gateway;
  std::shared_ptr<Template> tmpl = d.tmpl;
  return [gateway, tmpl](const std::string& function, const std::vector<json>& args) -> json {
    std::string target = args[0].get<std::string>();
    std::string api;
    if (args.size() > 1 && args[1].is_string()) api = args[1].get<std::string>();
    // A name of a template resource stands for its id.
    if (target.rfind("/subscriptions/", 0) != 0 && tmpl) {
      bool found = false;
      for (const auto& r : tmpl->resources())
        if (http::iequals(target, r.name) || http::iequals(target, r.type + "/" + r.name)) {
          target = r.id;
          if (api.empty()) api = r.api_version;
          found = true;
          break;
        }
      if (!found)
        throw TemplateError("the resource '" + target + "' given to " + function +
                            "() is not defined in the template; use its resource id");
    }
    if (api.empty() && tmpl)
      for (const auto& r : tmpl->resources())
        if (http::iequals(target, r.id)) api = r.api_version;
    if (api.empty()) {
      auto id = arm::ResourceId::parse(target);
      api = default_api_version(id ? id->type() : "");
    }
    const bool keys = function == "listkeys";
    GatewayResponse res =
        gateway(keys ? "POST" : "GET", target + (keys ? "/listKeys" : "") + "?api-version=" + api,
                keys ? json::object() : json());
    if (res.status != 200) {
      const json err = error_of(res.status, res.body);
      TemplateError e("the " + function + "() of '" + target +
                      "' failed: " + err.value("code", std::string()) + ": " +
                      err.value("message", std::string()));
      e.code = err.value("code", std::string("InvalidTemplate"));
      throw e;
    }
    if (keys) return res.body;
    const bool full =
        args.size() > 2 && args[2].is_string() && http::iequals(args[2].get<std::string>(), "Full");
    if (full) {
      json body = res.body;
      body["apiVersion"] = api;
      return body;
    }
    return res.body.is_object() ? res.body.value("properties", json::object()) : json::object();
  };
}

void DeploymentRunner::fail_op(ResourceOperation& op, int status, const json& body, bool async) {
  op.state = "Failed";
  op.ended = clock_.now();
  op.failed_async = async;
  if (!async || op.status_code == 0) op.status_code = status;
  op.error = error_of(status, body);
  op.status_message = {{"status", "Failed"}, {"error", op.error}};
  op.poll_url.clear();
}

void DeploymentRunner::start_resource(Deployment& d, size_t index) {
  const PlannedResource& r = d.tmpl->resources()[index];
  ResourceOperation op;
  op.operation_id = operation_id();
  op.provisioning_operation = "Create";
  op.target_id = r.id;
  op.target_type = r.type;
  op.target_name = r.name;
  op.plan_index = index;
  op.started = clock_.now();
  op.service_request_id = ids_.guid();
  d.resource_ops[index] = static_cast<int>(d.operations.size());
  json body;
  try {
    body = d.tmpl->render(r, runtime(d));
  } catch (const TemplateError& e) {
    fail_op(op, 400, {{"error", {{"code", e.code}, {"message", e.message()}}}}, false);
    d.operations.push_back(std::move(op));
    return;
  }
  const GatewayResponse res = d.gateway("PUT", r.id + "?api-version=" + r.api_version, body);
  op.status_code = res.status;
  if (res.status < 200 || res.status >= 300) {
    fail_op(op, res.status, res.body, false);
  } else if (!res.async_url.empty()) {
    op.poll_url = res.async_url;
  } else if (res.status == 202 && !res.location_url.empty()) {
    op.poll_url = res.location_url;
    op.poll_location = true;
  } else {
    op.state = "Succeeded";
    op.ended = clock_.now();
  }
  d.operations.push_back(std::move(op));
}

void DeploymentRunner::start_deletion(Deployment& d, const std::string& id,
                                      const std::string& type) {
  ResourceOperation op;
  op.operation_id = operation_id();
  op.provisioning_operation = "Delete";
  op.target_id = id;
  op.target_type = type;
  auto parsed = arm::ResourceId::parse(id);
  op.target_name = parsed ? parsed->name() : id;
  op.started = clock_.now();
  op.service_request_id = ids_.guid();
  const GatewayResponse res =
      d.gateway("DELETE", id + "?api-version=" + default_api_version(type), json());
  op.status_code = res.status;
  if (res.status == 404) {
    op.state = "Succeeded";
    op.ended = clock_.now();
  } else if (res.status < 200 || res.status >= 300) {
    fail_op(op, res.status, res.body, false);
  } else if (!res.async_url.empty()) {
    op.poll_url = res.async_url;
  } else if (res.status == 202 && !res.location_url.empty()) {
    op.poll_url = res.location_url;
    op.poll_location = true;
  } else {
    op.state = "Succeeded";
    op.ended = clock_.now();
  }
  d.operations.push_back(std::move(op));
}

void DeploymentRunner::advance(Deployment& d) {
  if (d.terminal()) return;
  d.state = "Running";
  const auto& plan = d.tmpl->resources();
  std::set<size_t> polled;
  auto op_state = [&](size_t plan_index) -> std::string {
    const int k = d.resource_ops[plan_index];
    return k < 0 ? std::string("NotStarted") : d.operations[static_cast<size_t>(k)].state;
  };
  for (bool progressed = true; progressed;) {
    progressed = false;
    const bool failed = std::any_of(d.operations.begin(), d.operations.end(),
                                    [](const ResourceOperation& o) { return o.state == "Failed"; });
    if (!failed)
      for (size_t i = 0; i < plan.size(); ++i) {
        if (d.resource_ops[i] >= 0) continue;
        if (!std::all_of(plan[i].depends_on.begin(), plan[i].depends_on.end(),
                         [&](size_t dep) { return op_state(dep) == "Succeeded"; }))
          continue;
        start_resource(d, i);
        progressed = true;
        if (d.operations.back().state == "Failed") break;
      }
    for (size_t k = 0; k < d.operations.size(); ++k) {
      ResourceOperation& op = d.operations[k];
      if (op.state != "Running" || op.poll_url.empty() || polled.count(k)) continue;
      polled.insert(k);
      const GatewayResponse res = d.gateway("GET", op.poll_url, json());
      if (op.poll_location) {
        if (res.status == 202) continue;
        if (res.status >= 200 && res.status < 300) {
          op.state = "Succeeded";
          op.ended = clock_.now();
          op.poll_url.clear();
        } else {
          fail_op(op, res.status, res.body, true);
        }
      } else {
        const std::string status =
            res.body.is_object() ? res.body.value("status", std::string()) : std::string();
        if (res.status != 200) {
          fail_op(op, res.status, res.body, true);
        } else if (http::iequals(status, "Succeeded")) {
          op.state = "Succeeded";
          op.ended = clock_.now();
          op.poll_url.clear();
        } else if (http::iequals(status, "Failed") || http::iequals(status, "Canceled")) {
          json body = res.body;
          if (!body.contains("error") || !body["error"].is_object())
            body["error"] = {{"code", status},
                             {"message", "The operation " + http::to_lower(status) + "."}};
          fail_op(op, res.status, body, true);
        } else {
          continue;
        }
      }
      progressed = true;
    }
  }
  if (std::any_of(d.operations.begin(), d.operations.end(),
                  [](const ResourceOperation& o) { return o.state == "Running"; }))
    return;
  const bool failed = std::any_of(d.operations.begin(), d.operations.end(),
                                  [](const ResourceOperation& o) { return o.state == "Failed"; });
  if (!failed && http::iequals(d.mode, "Complete") && !d.deletions_planned &&
      !d.resource_group.empty()) {
    d.deletions_planned = true;
    const GatewayResponse listed =
        d.gateway("GET",
                  "/subscriptions/" + d.subscription + "/resourceGroups/" + d.resource_group +
                      "/resources?api-version=2021-04-01",
                  json());
    if (listed.body.is_object() && listed.body.contains("value") && listed.body["value"].is_array())
      for (const auto& item : listed.body["value"]) {
        const std::string id = item.value("id", std::string());
        auto parsed = arm::ResourceId::parse(id);
        if (!parsed || parsed->types_and_names.size() != 1)
          continue;  // children go with their parent
        const std::string key = http::to_lower(id);
        bool named = false;
        for (const auto& r : plan) {
          const std::string rid = http::to_lower(r.id);
          if (rid == key || rid.rfind(key + "/", 0) == 0) named = true;
        }
        if (!named) start_deletion(d, id, item.value("type", parsed->type()));
      }
    advance(d);
    return;
  }
  finish(d);
}

void DeploymentRunner::finish(Deployment& d) {
  d.ended = clock_.now();
  std::vector<json> details;
  for (const auto& op : d.operations) {
    if (op.state != "Failed") continue;
    if (op.failed_async) {
      const std::string what = op.provisioning_operation == "Delete" ? "delete" : "write";
      details.push_back({{"code", "ResourceDeploymentFailure"},
                         {"target", op.target_id},
                         {"message", "The resource " + what +
                                         " operation failed to complete successfully, because it "
                                         "reached terminal provisioning state 'Failed'."},
                         {"details", json::array({op.error})}});
    } else {
      json e = op.error;
      if (!e.contains("target") && !op.target_id.empty()) e["target"] = op.target_id;
      details.push_back(e);
    }
  }
  if (!details.empty()) {
    d.state = "Failed";
    d.error = {{"code", "DeploymentFailed"},
               {"target", d.id},
               {"message",
                "At least one resource deployment operation failed. Please list deployment "
                "operations for details. Please see https://aka.ms/arm-deployment-operations for "
                "usage details."},
               {"details", details}};
    return;
  }
  ResourceOperation out;
  out.operation_id = operation_id();
  out.provisioning_operation = "EvaluateDeploymentOutput";
  out.started = clock_.now();
  out.service_request_id = ids_.guid();
  try {
    d.outputs = d.tmpl->outputs(runtime(d));
    out.state = "Succeeded";
    out.status_code = 200;
    out.status_message = {{"outputs", d.outputs}};
    d.state = "Succeeded";
  } catch (const TemplateError& e) {
    out.state = "Failed";
    out.status_code = 400;
    out.error = {{"code", e.code}, {"message", e.message()}};
    out.status_message = {{"status", "Failed"}, {"error", out.error}};
    d.state = "Failed";
    d.error = {{"code", "DeploymentOutputEvaluationFailed"},
               {"target", d.id},
               {"message",
                "Unable to evaluate template outputs. Please see error details and "
                "deployment operations."},
               {"details", json::array({out.error})}};
  }
  out.ended = clock_.now();
  const json* outputs = find_ci(d.template_json, "outputs");
  if (outputs && !outputs->empty()) d.operations.push_back(std::move(out));
}

json DeploymentRunner::to_json(const Deployment& d) const {
  json props = {{"templateHash", std::to_string(arm_murmur64(d.template_json.dump()))},
                {"mode", d.mode},
                {"provisioningState", d.state},
                {"timestamp", to_iso8601(d.terminal() ? d.ended : clock_.now())},
                {"duration", iso_duration((d.terminal() ? d.ended : clock_.now()) - d.started)},
                {"correlationId", d.correlation_id}};
  json providers = json::array(), dependencies = json::array(), output_resources = json::array();
  std::map<std::string, std::map<std::string, bool>> by_namespace;
  std::map<std::string, std::string> namespace_spelling;
  if (d.tmpl) {
    const auto& plan = d.tmpl->resources();
    const std::string location = d.tmpl->scope().resource_group
                                     ? d.tmpl->scope().resource_group->value("location", "")
                                     : d.location;
    for (const auto& r : plan) {
      const auto slash = r.type.find('/');
      const std::string ns = r.type.substr(0, slash);
      namespace_spelling.emplace(http::to_lower(ns), ns);
      by_namespace[http::to_lower(ns)][r.type.substr(slash + 1)] = true;
      if (!r.depends_on.empty()) {
        json on = json::array();
        for (size_t dep : r.depends_on)
          on.push_back({{"id", plan[dep].id},
                        {"resourceType", plan[dep].type},
                        {"resourceName", plan[dep].name}});
        dependencies.push_back(
            {{"dependsOn", on}, {"id", r.id}, {"resourceType", r.type}, {"resourceName", r.name}});
      }
    }
    for (const auto& [ns, types] : by_namespace) {
      json rt = json::array();
      for (const auto& [t, unused] : types)
        rt.push_back({{"resourceType", t}, {"locations", json::array({location})}});
      providers.push_back({{"namespace", namespace_spelling[ns]}, {"resourceTypes", rt}});
    }
  }
  for (const auto& op : d.operations)
    if (op.provisioning_operation == "Create" && op.state == "Succeeded")
      output_resources.push_back({{"id", op.target_id}});
  // ARM names parameters only when the template declares some (azure-cli's recordings).
  if (d.parameters.is_object() && !d.parameters.empty()) props["parameters"] = d.parameters;
  props["providers"] = providers;
  props["dependencies"] = dependencies;
  // Outputs only when the template has some (azure-cli's recordings of an empty template).
  if (d.outputs.is_object() && !d.outputs.empty()) props["outputs"] = d.outputs;
  if (d.terminal()) props["outputResources"] = output_resources;
  if (!d.error.is_null()) props["error"] = d.error;
  json j = {{"id", d.id},
            {"name", d.name},
            {"type", "Microsoft.Resources/deployments"},
            {"properties", props}};
  if (!d.location.empty()) j["location"] = d.location;
  if (!d.tags.empty()) j["tags"] = d.tags;
  return j;
}

json DeploymentRunner::operation_json(const Deployment& d, const ResourceOperation& op) const {
  const bool done = op.state != "Running";
  json props = {{"provisioningOperation", op.provisioning_operation},
                {"provisioningState", op.state},
                {"timestamp", to_iso8601(done ? op.ended : clock_.now())},
                {"duration", iso_duration((done ? op.ended : clock_.now()) - op.started)},
                {"trackingId", op.service_request_id},
                {"serviceRequestId", op.service_request_id}};
  if (op.status_code) props["statusCode"] = reason(op.status_code);
  if (!op.status_message.is_null()) props["statusMessage"] = op.status_message;
  if (!op.target_id.empty())
    props["targetResource"] = {
        {"id", op.target_id}, {"resourceType", op.target_type}, {"resourceName", op.target_name}};
  return {{"id", d.id + "/operations/" + op.operation_id},
          {"operationId", op.operation_id},
          {"properties", props}};
}

// --- what-if

namespace {

void diff(const json& after, const json& before, const std::string& path, json& delta) {
  for (auto it = after.begin(); it != after.end(); ++it) {
    const std::string p = path.empty() ? it.key() : path + "." + it.key();
    const json* b = find_ci(before, it.key());
    if (!b || b->is_null()) {
      if (!it->is_null())
        delta.push_back({{"path", p}, {"propertyChangeType", "Create"}, {"after", *it}});
    } else if (it->is_object() && b->is_object()) {
      diff(*it, *b, p, delta);
    } else if (*it != *b) {
      delta.push_back({{"path", p},
                       {"propertyChangeType", it->is_array() ? "Array" : "Modify"},
                       {"before", *b},
                       {"after", *it}});
    }
  }
}

}  // namespace

json what_if(const Template& t, const std::string& mode, const ResourceGateway& gateway,
             const Template::Runtime& runtime, const std::string& subscription,
             const std::string& resource_group) {
  json changes = json::array();
  std::set<std::string> named;
  for (const auto& r : t.resources()) {
    named.insert(http::to_lower(r.id));
    const std::string ns = r.type.substr(0, r.type.find('/'));
    if (!arm::find_provider(ns)) {
      changes.push_back({{"resourceId", r.id},
                         {"changeType", "Unsupported"},
                         {"unsupportedReason",
                          "The emulator does not serve the resource type '" + r.type + "'."}});
      continue;
    }
    json after;
    try {
      after = t.render(r, runtime);
    } catch (const TemplateError&) {
      after = json::object();  // depends on a resource not deployed yet: shown as written
      for (auto it = r.definition.begin(); it != r.definition.end(); ++it)
        if (!is_template_keyword(it.key())) after[it.key()] = *it;
    }
    const GatewayResponse current = gateway("GET", r.id + "?api-version=" + r.api_version, json());
    json full = after;
    full["id"] = r.id;
    full["name"] =
        r.name.substr(r.name.rfind('/') == std::string::npos ? 0 : r.name.rfind('/') + 1);
    full["type"] = r.type;
    full["apiVersion"] = r.api_version;
    if (current.status == 404) {
      changes.push_back({{"resourceId", r.id}, {"changeType", "Create"}, {"after", full}});
    } else if (current.status == 200) {
      json delta = json::array();
      diff(after, current.body, "", delta);
      changes.push_back({{"resourceId", r.id},
                         {"changeType", delta.empty() ? "NoChange" : "Modify"},
                         {"before", current.body},
                         {"after", full},
                         {"delta", delta}});
    } else {
      changes.push_back(
          {{"resourceId", r.id},
           {"changeType", "Unsupported"},
           {"unsupportedReason", error_of(current.status, current.body).value("message", "")}});
    }
  }
  if (http::iequals(mode, "Complete") && !resource_group.empty()) {
    const GatewayResponse listed = gateway("GET",
                                           "/subscriptions/" + subscription + "/resourceGroups/" +
                                               resource_group + "/resources?api-version=2021-04-01",
                                           json());
    if (listed.body.is_object() && listed.body.contains("value"))
      for (const auto& item : listed.body["value"]) {
        const std::string id = item.value("id", std::string());
        auto parsed = arm::ResourceId::parse(id);
        if (!parsed || parsed->types_and_names.size() != 1) continue;
        const std::string key = http::to_lower(id);
        bool kept = false;
        for (const auto& n : named)
          if (n == key || n.rfind(key + "/", 0) == 0) kept = true;
        if (!kept)
          changes.push_back({{"resourceId", id}, {"changeType", "Delete"}, {"before", item}});
      }
  }
  return {{"status", "Succeeded"}, {"properties", {{"changes", changes}}}};
}

}  // namespace cmk::deployments
