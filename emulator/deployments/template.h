// An ARM template with its parameters bound: what a deployment needs of
// it, free of HTTP.
//
// Template::load checks the template and the parameter values (types, allowedValues,
// min/maxValue, min/maxLength; unknown or missing parameters), then plans the resources: copy
// loops expanded (copyIndex), condition applied, nested child resources flattened (type and name
// prefixed with their parent's, an implicit dependency on the parent), ids computed, dependsOn
// resolved (a resource id, "type/name", a name or a copy loop name; reference()/listKeys() of a
// template resource adds the dependency too) and the resources sorted so every one comes after
// what it depends on (serial copy loops in batches). Names, types, dependsOn, conditions and
// counts may not use reference()/listKeys(); their values are known before anything deploys.
//
// render() evaluates one resource's body (location, sku, identity, properties with property copy
// loops, ...) when it is its turn, with reference()/listKeys() answered by the caller; outputs()
// evaluates the outputs at the end. Errors are TemplateError (code InvalidTemplate) naming the
// JSON path and the position in the expression.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/outcome.h"
#include "deployments/template_expression.h"

namespace cmk::deployments {

struct DeploymentScope {
  std::string subscription_id;
  std::string tenant_id;
  std::string subscription_name;
  // resourceGroup() ({id, name, type, location, tags, properties}); nullopt at subscription scope.
  std::optional<json> resource_group;
  std::string deployment_name;
  std::string location;  // the deployment's (subscription scope) or the group's
  std::function<TimePoint()> now;
};

struct PlannedResource {
  std::string path;  // "resources[0]", "resources[0].resources[1]", with "[copy i]" in a loop
  json definition;   // the template JSON of the resource (nested resources removed)
  std::string type;  // "Microsoft.Kusto/clusters/databases"
  std::string name;  // "kc1/db1"
  std::string api_version;
  std::string id;
  std::string copy_name;  // the resource copy loop it belongs to, "" if none
  std::optional<std::pair<std::string, int>> copy;
  std::vector<size_t> depends_on;  // indices in Template::resources()
};

class Template {
 public:
  using Runtime = std::function<json(const std::string& function, const std::vector<json>& args)>;

  static Outcome<std::shared_ptr<Template>, TemplateError> load(const json& tmpl,
                                                                const json& parameters,
                                                                DeploymentScope scope);

  // {name: {type, value}} as a deployment shows them (secure values left out).
  json parameters_json() const;
  // The resources in deployment order.
  const std::vector<PlannedResource>& resources() const { return resources_; }
  // The body of a resource's PUT: everything but the template keywords, evaluated.
  json render(const PlannedResource& r, const Runtime& runtime) const;
  // {name: {type, value}}.
  json outputs(const Runtime& runtime) const;
  const json& source() const { return template_; }
  const DeploymentScope& scope() const { return scope_; }

 private:
  Template() = default;
  EvalContext context(const Runtime* runtime) const;
  json parameter_value(const std::string& name) const;
  json variable_value(const std::string& name) const;
  void bind_parameters(const json& given);
  void plan();
  void expand(const json& list, const std::string& path, const PlannedResource* parent,
              std::vector<std::vector<std::string>>& depends_on);
  std::vector<size_t> match(const std::string& reference) const;

  json template_;
  DeploymentScope scope_;
  std::map<std::string, std::string> parameter_names_;  // lower -> as declared
  std::map<std::string, std::string> variable_names_;
  std::map<std::string, json> given_;               // lower -> provided value
  mutable std::map<std::string, json> parameters_;  // lower -> value, once resolved
  mutable std::map<std::string, json> variables_;
  mutable std::set<std::string> resolving_;  // cycle detection
  std::vector<PlannedResource> resources_;
  std::set<std::string>
      skipped_;  // lower-case ids, names and "type/name" of condition-false resources
};

// The type as ARM spells it in deployments: String, SecureString, Int, Bool, Object,
// SecureObject, Array.
std::string canonical_type(const std::string& type);

}  // namespace cmk::deployments
