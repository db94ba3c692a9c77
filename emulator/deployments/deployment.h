// Template deployments (Microsoft.Resources/deployments), the domain side: a deployment applies
// its template's resources one by one, in dependency order, through the emulated ARM API itself
// (a ResourceGateway, which the HTTP adapter wires to Emulator::handle with the deploying
// caller's token), so every resource meets the same provider code, checks and long-running
// operations as a direct PUT. Nothing runs in the background: a deployment advances when it is
// read (GET, its operation status, its operations list), like the OperationEngine's operations.
// One advance starts every resource whose dependencies have succeeded and polls each running
// resource operation once (so "after N polls" policies of the resources take N reads of the
// deployment, and "after a duration" ones follow the virtual clock).
//
// A failure of a resource (its PUT refused, or its operation Failed) starts nothing more; the
// deployment ends Failed once nothing runs, with ARM's DeploymentFailed error whose details carry
// each resource's own error (ResourceDeploymentFailure wrapping an operation's error). Complete
// mode, after every resource succeeded, deletes the resource group's top-level resources the
// template does not name (each a "Delete" operation). Outputs are evaluated last
// ("EvaluateDeploymentOutput").
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "deployments/template.h"
#include "state/clock.h"

namespace cmk::deployments {

// A call to the emulated ARM API: method, a path with its query (or an absolute URL, for the
// operation URLs resources hand out) and a JSON body (null: none).
struct GatewayResponse {
  int status = 0;
  json body;                 // parsed; null when empty or not JSON
  std::string async_url;     // Azure-AsyncOperation
  std::string location_url;  // Location
};
using ResourceGateway = std::function<GatewayResponse(const std::string& method,
                                                      const std::string& target, const json& body)>;

struct ResourceOperation {
  std::string operation_id;            // 16 upper-case hex digits, as ARM's
  std::string provisioning_operation;  // Create, Delete, EvaluateDeploymentOutput
  std::string state = "Running";       // Running, Succeeded, Failed
  std::string target_id, target_type, target_name;
  std::optional<size_t> plan_index;  // the template resource (Create)
  TimePoint started{}, ended{};
  int status_code = 0;        // HTTP status of the write (or of the failing poll)
  json status_message;        // the error ({"error": {...}}) when it failed
  json error;                 // the resource's own error object when it failed
  bool failed_async = false;  // failed in its long-running operation, not at once
  std::string poll_url;
  bool poll_location = false;  // poll_url is a Location (202 until done)
  std::string service_request_id;
};

struct Deployment {
  std::string id, name, subscription, resource_group;  // resource_group "" at subscription scope
  std::string location;                                // subscription scope only
  std::string mode = "Incremental";
  json template_json, tags = json::object();
  std::shared_ptr<Template> tmpl;
  json parameters = json::object();  // as shown: {name: {type, value}}
  json outputs;                      // null until evaluated
  json error;                        // null unless Failed
  std::string state = "Accepted";    // Accepted, Running, Succeeded, Failed, Canceled
  std::string correlation_id;
  std::string status_id;  // {opId} of .../deployments/{name}/operationStatuses/{opId}
  TimePoint started{}, ended{};
  std::vector<ResourceOperation> operations;
  std::vector<int> resource_ops;  // per template resource: index in operations, -1 = not started
  bool deletions_planned = false;
  ResourceGateway gateway;
  std::mutex mu;  // held while it advances

  bool terminal() const { return state == "Succeeded" || state == "Failed" || state == "Canceled"; }
};

class DeploymentRunner {
 public:
  DeploymentRunner(const Clock& clock, IdGenerator& ids) : clock_(clock), ids_(ids) {}

  // Moves the deployment on as far as it goes without waiting. Call with d.mu held.
  void advance(Deployment& d);
  // reference()/listKeys() for a deployment's template (also for what-if).
  Template::Runtime runtime(const Deployment& d) const;
  std::string operation_id();

  // ARM JSON of a deployment (DeploymentExtended) and of one of its operations.
  json to_json(const Deployment& d) const;
  json operation_json(const Deployment& d, const ResourceOperation& op) const;

 private:
  void start_resource(Deployment& d, size_t index);
  void start_deletion(Deployment& d, const std::string& id, const std::string& type);
  void fail_op(ResourceOperation& op, int status, const json& body, bool async);
  void finish(Deployment& d);

  const Clock& clock_;
  IdGenerator& ids_;
};

// The api-version the emulator serves for a resource type (the provider catalog's newest
// stable), for calls the template does not give one for.
std::string default_api_version(const std::string& type);
// ISO 8601 duration "PT1.2345S".
std::string iso_duration(Duration d);
// The what-if of a template (WhatIfOperationResult): Create / Modify / NoChange / Delete
// (Complete mode) / Unsupported per resource, from GETs through the gateway.
json what_if(const Template& t, const std::string& mode, const ResourceGateway& gateway,
             const Template::Runtime& runtime, const std::string& subscription,
             const std::string& resource_group);

}  // namespace cmk::deployments
