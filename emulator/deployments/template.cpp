#include "deployments/template.h"

#include <algorithm>

#include "http/message.h"

namespace cmk::deployments {

namespace {

TemplateError at(std::string path, std::string detail) {
  TemplateError e(std::move(detail));
  e.path = std::move(path);
  return e;
}

// Keys of a resource definition that are template syntax, not part of the resource's body.
bool is_keyword(const std::string& key) {
  static const std::set<std::string> k = {"type",     "name",      "apiversion", "dependson",
                                          "copy",     "condition", "resources",  "comments",
                                          "metadata", "scope",     "existing"};
  return k.count(http::to_lower(key)) > 0;
}

const json* member(const json& o, const std::string& name) {
  if (!o.is_object()) return nullptr;
  for (auto it = o.begin(); it != o.end(); ++it)
    if (http::iequals(it.key(), name)) return &*it;
  return nullptr;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t from = 0;
  for (;;) {
    const size_t at = s.find(sep, from);
    out.push_back(s.substr(from, at == std::string::npos ? std::string::npos : at - from));
    if (at == std::string::npos) return out;
    from = at + 1;
  }
}

// Does `v` satisfy the declared (lower-case) type? Converts the lenient forms ("5" for an int).
bool coerce(const std::string& type, json& v) {
  if (type == "string" || type == "securestring") return v.is_string();
  if (type == "int") {
    if (v.is_number_integer()) return true;
    if (v.is_string()) {
      try {
        size_t used = 0;
        const long long n = std::stoll(v.get<std::string>(), &used);
        if (used == v.get<std::string>().size()) {
          v = n;
          return true;
        }
      } catch (...) {
      }
    }
    return false;
  }
  if (type == "bool") {
    if (v.is_boolean()) return true;
    if (v.is_string()) {
      const std::string s = http::to_lower(v.get<std::string>());
      if (s == "true" || s == "false") {
        v = s == "true";
        return true;
      }
    }
    return false;
  }
  if (type == "object" || type == "secureobject") return v.is_object();
  if (type == "array") return v.is_array();
  return false;
}

}  // namespace

std::string canonical_type(const std::string& type) {
  const std::string t = http::to_lower(type);
  if (t == "string") return "String";
  if (t == "securestring") return "SecureString";
  if (t == "int") return "Int";
  if (t == "bool") return "Bool";
  if (t == "object") return "Object";
  if (t == "secureobject") return "SecureObject";
  if (t == "array") return "Array";
  return type;
}

Outcome<std::shared_ptr<Template>, TemplateError> Template::load(const json& tmpl,
                                                                 const json& parameters,
                                                                 DeploymentScope scope) {
  std::shared_ptr<Template> t(new Template());
  t->template_ = tmpl;
  t->scope_ = std::move(scope);
  try {
    if (!tmpl.is_object()) throw at("", "the template must be a JSON object");
    const json* version = member(tmpl, "contentVersion");
    if (!version || !version->is_string())
      throw at("contentVersion", "the template needs a 'contentVersion' string such as '1.0.0.0'");
    if (const json* schema = member(tmpl, "$schema"); schema && !schema->is_string())
      throw at("$schema", "'$schema' must be a string");
    if (const json* lv = member(tmpl, "languageVersion"))
      throw at("languageVersion", "languageVersion '" + to_text(*lv) +
                                      "' templates (symbolic resource names) are not supported "
                                      "by the emulator");
    const json* resources = member(tmpl, "resources");
    if (!resources || !resources->is_array())
      throw at("resources", "the template needs a 'resources' array");
    for (const char* section : {"parameters", "variables", "outputs"})
      if (const json* s = member(tmpl, section); s && !s->is_object())
        throw at(section, std::string("'") + section + "' must be an object");
    if (const json* vars = member(tmpl, "variables"))
      for (auto it = vars->begin(); it != vars->end(); ++it) {
        if (it.key() == "copy" && it->is_array()) {
          for (const auto& loop : *it)
            if (loop.is_object() && loop.contains("name") && loop["name"].is_string())
              t->variable_names_[http::to_lower(loop["name"].get<std::string>())] =
                  loop["name"].get<std::string>();
          continue;
        }
        t->variable_names_[http::to_lower(it.key())] = it.key();
      }
    t->bind_parameters(parameters);
    t->plan();
  } catch (const TemplateError& e) {
    return e;
  }
  return t;
}

void Template::bind_parameters(const json& given) {
  const json* declared = member(template_, "parameters");
  if (declared)
    for (auto it = declared->begin(); it != declared->end(); ++it) {
      if (!it->is_object() || !member(*it, "type") || !member(*it, "type")->is_string())
        throw at("parameters." + it.key(), "a parameter needs a 'type'");
      const std::string type = http::to_lower(member(*it, "type")->get<std::string>());
      static const std::set<std::string> types = {"string", "securestring", "int",  "bool",
                                                  "object", "secureobject", "array"};
      if (!types.count(type))
        throw at(
            "parameters." + it.key() + ".type",
            "the parameter type '" + member(*it, "type")->get<std::string>() +
                "' is not one of string, securestring, int, bool, object, secureobject, array");
      parameter_names_[http::to_lower(it.key())] = it.key();
    }
  if (!given.is_null() && !given.is_object())
    throw at("parameters", "the deployment's parameters must be an object");
  std::vector<std::string> unknown;
  if (given.is_object())
    for (auto it = given.begin(); it != given.end(); ++it) {
      if (!parameter_names_.count(http::to_lower(it.key()))) {
        unknown.push_back(it.key());
        continue;
      }
      if (!it->is_object() || !it->contains("value")) {
        if (it->is_object() && it->contains("reference"))
          throw at("parameters." + it.key(),
                   "Key Vault references in parameters are not supported by the emulator; pass "
                   "the value");
        throw at("parameters." + it.key(), "a parameter value must be given as {\"value\": ...}");
      }
      // {"value": null} is a parameter left unset: ARM deploys it with its default value (the
      // template `az keyvault create` deploys passes null for every option not given).
      if ((*it)["value"].is_null()) continue;
      given_[http::to_lower(it.key())] = (*it)["value"];
    }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
    throw at("parameters", "the template parameters '" + list +
                               "' are not valid; they are not present in the original template "
                               "and can therefore not be provided at deployment time");
  }
  for (const auto& [lower, declared_name] : parameter_names_) parameter_value(declared_name);
}

json Template::parameter_value(const std::string& name) const {
  const std::string key = http::to_lower(name);
  if (auto it = parameters_.find(key); it != parameters_.end()) return it->second;
  auto declared_name = parameter_names_.find(key);
  if (declared_name == parameter_names_.end())
    throw TemplateError("the template parameter '" + name + "' is not found");
  const std::string& pname = declared_name->second;
  const json& decl = (*member(template_, "parameters"))[pname];
  const std::string path = "parameters." + pname;
  const std::string type = http::to_lower(member(decl, "type")->get<std::string>());
  json v;
  if (auto g = given_.find(key); g != given_.end()) {
    v = g->second;
  } else if (const json* d = member(decl, "defaultValue")) {
    if (resolving_.count("p:" + key))
      throw at(path, "the default value of parameter '" + pname + "' refers to itself");
    resolving_.insert("p:" + key);
    EvalContext ctx = context(nullptr);
    ctx.allow_utc_now = true;
    Evaluator ev(ctx);
    try {
      v = ev.value(*d, path + ".defaultValue");
    } catch (...) {
      resolving_.erase("p:" + key);
      throw;
    }
    resolving_.erase("p:" + key);
  } else {
    throw at(path, "the value for the template parameter '" + pname +
                       "' is not provided. Please see https://aka.ms/arm-create-parameter-file "
                       "for usage details");
  }
  if (!coerce(type, v))
    throw at(path, "template parameter JToken type is not valid: parameter '" + pname +
                       "' expects '" + canonical_type(type) + "', got '" + type_name(v) + "'");
  if (const json* allowed = member(decl, "allowedValues"); allowed && allowed->is_array()) {
    bool ok = false;
    if (v.is_array()) {
      ok = std::all_of(v.begin(), v.end(), [&](const json& x) {
        return std::find(allowed->begin(), allowed->end(), x) != allowed->end();
      });
    } else {
      ok = std::find(allowed->begin(), allowed->end(), v) != allowed->end();
    }
    if (!ok) {
      std::string list;
      for (const auto& a : *allowed) list += (list.empty() ? "" : ",") + to_text(a);
      throw at(path, "the provided value for the template parameter '" + pname +
                         "' is not valid. The value '" + to_text(v) +
                         "' is not part of the allowed value(s): '" + list + "'");
    }
  }
  auto bound = [&](const char* field, bool is_min, bool length) {
    const json* b = member(decl, field);
    if (!b) return;
    if (!b->is_number_integer())
      throw at(path + "." + field, std::string("'") + field + "' must be an integer");
    const int64_t limit = b->get<int64_t>();
    int64_t actual = 0;
    if (length) {
      if (v.is_string())
        actual = static_cast<int64_t>(v.get<std::string>().size());
      else if (v.is_array())
        actual = static_cast<int64_t>(v.size());
      else
        return;
    } else {
      if (!v.is_number_integer()) return;
      actual = v.get<int64_t>();
    }
    if (is_min ? actual < limit : actual > limit)
      throw at(path, "the provided value for the template parameter '" + pname +
                         "' is not valid: " + (length ? "its length " : "the value ") +
                         std::to_string(actual) + " is " + (is_min ? "less" : "greater") +
                         " than the " + (is_min ? "minimum" : "maximum") + " " +
                         (length ? "length " : "value ") + std::to_string(limit));
  };
  bound("minValue", true, false);
  bound("maxValue", false, false);
  bound("minLength", true, true);
  bound("maxLength", false, true);
  parameters_[key] = v;
  return v;
}

json Template::variable_value(const std::string& name) const {
  const std::string key = http::to_lower(name);
  if (auto it = variables_.find(key); it != variables_.end()) return it->second;
  auto declared = variable_names_.find(key);
  if (declared == variable_names_.end())
    throw TemplateError("the template variable '" + name + "' is not found");
  if (resolving_.count("v:" + key))
    throw TemplateError("the template variable '" + declared->second +
                        "' refers to itself (a circular reference between variables)");
  resolving_.insert("v:" + key);
  struct Release {
    std::set<std::string>& s;
    std::string k;
    ~Release() { s.erase(k); }
  } release{resolving_, "v:" + key};
  const json& vars = *member(template_, "variables");
  EvalContext ctx = context(nullptr);
  Evaluator ev(ctx);
  json v;
  if (auto direct = vars.find(declared->second);
      direct != vars.end() && declared->second != "copy") {
    v = ev.value(*direct, "variables." + declared->second);
  } else {
    // A variable copy loop: {"copy": [{"name", "count", "input"}]}.
    json loops = json::object();
    loops["copy"] = json::array();
    for (const auto& loop : vars["copy"])
      if (loop.is_object() && loop.contains("name") &&
          http::iequals(loop["name"].get<std::string>(), name))
        loops["copy"].push_back(loop);
    v = ev.value(loops, "variables", true)[declared->second];
  }
  variables_[key] = v;
  return v;
}

EvalContext Template::context(const Runtime* runtime) const {
  EvalContext ctx;
  ctx.parameter = [this](const std::string& n) { return parameter_value(n); };
  ctx.variable = [this](const std::string& n) { return variable_value(n); };
  ctx.subscription_id = scope_.subscription_id;
  if (scope_.resource_group) {
    ctx.resource_group = scope_.resource_group;
    ctx.resource_group_name = scope_.resource_group->value("name", "");
  }
  ctx.subscription = {{"id", "/subscriptions/" + scope_.subscription_id},
                      {"subscriptionId", scope_.subscription_id},
                      {"tenantId", scope_.tenant_id},
                      {"displayName", scope_.subscription_name}};
  ctx.deployment = {{"name", scope_.deployment_name},
                    {"properties",
                     {{"template", {{"contentVersion", template_.value("contentVersion", "")}}},
                      {"templateLink", nullptr}}}};
  if (!scope_.resource_group) ctx.deployment["location"] = scope_.location;
  ctx.now = scope_.now;
  if (runtime) ctx.runtime = *runtime;
  return ctx;
}

json Template::parameters_json() const {
  json out = json::object();
  for (const auto& [key, declared] : parameter_names_) {
    const json& decl = (*member(template_, "parameters"))[declared];
    const std::string type = member(decl, "type")->get<std::string>();
    json p = {{"type", canonical_type(type)}};
    const std::string t = http::to_lower(type);
    if (t != "securestring" && t != "secureobject") p["value"] = parameters_.at(key);
    out[declared] = p;
  }
  return out;
}

// --- resources

void Template::expand(const json& list, const std::string& path, const PlannedResource* parent,
                      std::vector<std::vector<std::string>>& depends_on) {
  for (size_t i = 0; i < list.size(); ++i) {
    const json& r = list[i];
    const std::string rpath = path + "[" + std::to_string(i) + "]";
    if (!r.is_object()) throw at(rpath, "a resource must be an object");
    for (const char* required : {"type", "name", "apiVersion"})
      if (!member(r, required))
        throw at(rpath, std::string("the resource needs '") + required + "'");
    EvalContext ctx = context(nullptr);
    if (parent) ctx.resource_copy = parent->copy;
    Evaluator ev(ctx);
    std::string copy_name;
    int64_t count = 1;
    bool looped = false;
    if (const json* copy = member(r, "copy")) {
      if (!copy->is_object()) throw at(rpath + ".copy", "'copy' must be an object");
      json name =
          member(*copy, "name") ? ev.value(*member(*copy, "name"), rpath + ".copy.name") : json();
      json n = member(*copy, "count") ? ev.value(*member(*copy, "count"), rpath + ".copy.count")
                                      : json();
      if (!name.is_string() || name.get<std::string>().empty())
        throw at(rpath + ".copy.name", "a copy loop needs a 'name'");
      if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() > 800)
        throw at(rpath + ".copy.count", "the copy count must be an integer from 0 to 800");
      copy_name = name.get<std::string>();
      count = n.get<int64_t>();
      looped = true;
    }
    const size_t first_instance = resources_.size();
    for (int64_t k = 0; k < count; ++k) {
      PlannedResource pr;
      pr.path = rpath + (looped ? "[copy " + std::to_string(k) + "]" : "");
      if (looped) {
        pr.copy = std::make_pair(copy_name, static_cast<int>(k));
        pr.copy_name = copy_name;
        ctx.resource_copy = pr.copy;
      }
      if (const json* cond = member(r, "condition")) {
        json c = ev.value(*cond, pr.path + ".condition");
        if (!c.is_boolean()) throw at(pr.path + ".condition", "the condition must be a Boolean");
        if (!c.get<bool>()) {
          json t = ev.value(*member(r, "type"), pr.path + ".type");
          json n = ev.value(*member(r, "name"), pr.path + ".name");
          if (t.is_string() && n.is_string()) {
            skipped_.insert(http::to_lower(n.get<std::string>()));
            skipped_.insert(http::to_lower(t.get<std::string>() + "/" + n.get<std::string>()));
          }
          continue;
        }
      }
      json type = ev.value(*member(r, "type"), pr.path + ".type");
      json name = ev.value(*member(r, "name"), pr.path + ".name");
      json api = ev.value(*member(r, "apiVersion"), pr.path + ".apiVersion");
      if (!type.is_string() || !name.is_string() || !api.is_string())
        throw at(pr.path, "'type', 'name' and 'apiVersion' must be strings");
      pr.type = type.get<std::string>();
      pr.name = name.get<std::string>();
      pr.api_version = api.get<std::string>();
      if (parent) {
        // A nested child: a short type and name are relative to the parent.
        const auto type_parts = split(pr.type, '/');
        if (type_parts.size() == 1 || pr.type.find('.') == std::string::npos ||
            pr.type.find('.') > pr.type.find('/'))
          pr.type = parent->type + "/" + pr.type;
        if (split(pr.name, '/').size() < split(pr.type, '/').size() - 1)
          pr.name = parent->name + "/" + pr.name;
      }
      const auto type_parts = split(pr.type, '/');
      const auto name_parts = split(pr.name, '/');
      if (type_parts.size() < 2 || type_parts[0].empty())
        throw at(pr.path + ".type", "the resource type '" + pr.type +
                                        "' is not valid: it needs a namespace and a type, "
                                        "'Microsoft.Kusto/clusters'");
      if (name_parts.size() != type_parts.size() - 1)
        throw at(pr.path + ".name",
                 "the resource name '" + pr.name + "' and type '" + pr.type +
                     "' do not match: the name needs one segment per type segment after the "
                     "namespace (" +
                     std::to_string(type_parts.size() - 1) + ")");
      const bool group_type = http::iequals(pr.type, "Microsoft.Resources/resourceGroups");
      if (scope_.resource_group) {
        pr.id = "/subscriptions/" + scope_.subscription_id + "/resourceGroups/" +
                scope_.resource_group->value("name", "") + "/providers/" + type_parts[0];
      } else if (group_type) {
        pr.id = "/subscriptions/" + scope_.subscription_id;
      } else {
        pr.id = "/subscriptions/" + scope_.subscription_id + "/providers/" + type_parts[0];
      }
      for (size_t s = 1; s < type_parts.size(); ++s)
        pr.id +=
            "/" +
            (group_type && !scope_.resource_group ? std::string("resourceGroups") : type_parts[s]) +
            "/" + name_parts[s - 1];
      pr.definition = r;
      pr.definition.erase("resources");
      std::vector<std::string> deps;
      if (const json* d = member(r, "dependsOn")) {
        if (!d->is_array()) throw at(pr.path + ".dependsOn", "'dependsOn' must be an array");
        json values = ev.value(*d, pr.path + ".dependsOn");
        for (size_t j = 0; j < values.size(); ++j) {
          if (!values[j].is_string())
            throw at(pr.path + ".dependsOn[" + std::to_string(j) + "]",
                     "a dependsOn entry must be a String");
          deps.push_back(values[j].get<std::string>());
        }
      }
      if (parent) deps.push_back(parent->id);
      // Serial copy loops deploy in batches: each batch after the previous one.
      if (looped) {
        if (const json* mode = member(*member(r, "copy"), "mode");
            mode && mode->is_string() && http::iequals(mode->get<std::string>(), "serial")) {
          int64_t batch = 1;
          if (const json* b = member(*member(r, "copy"), "batchSize")) {
            json bv = ev.value(*b, pr.path + ".copy.batchSize");
            if (!bv.is_number_integer() || bv.get<int64_t>() < 1)
              throw at(pr.path + ".copy.batchSize", "batchSize must be a positive integer");
            batch = bv.get<int64_t>();
          }
          const int64_t prev_batch = k / batch - 1;
          for (size_t j = first_instance; j < resources_.size(); ++j)
            if (resources_[j].copy && resources_[j].copy_name == copy_name &&
                resources_[j].copy->second / batch == prev_batch)
              deps.push_back("\x01" + std::to_string(j));  // an index, not a name
        }
      }
      resources_.push_back(pr);
      depends_on.push_back(deps);
      if (const json* nested = member(r, "resources")) {
        if (!nested->is_array()) throw at(pr.path + ".resources", "'resources' must be an array");
        const PlannedResource self = resources_.back();
        expand(*nested, pr.path + ".resources", &self, depends_on);
      }
    }
  }
}

std::vector<size_t> Template::match(const std::string& ref) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < resources_.size(); ++i) {
    const auto& r = resources_[i];
    if (http::iequals(ref, r.id) || http::iequals(ref, r.type + "/" + r.name) ||
        http::iequals(ref, r.name) || (!r.copy_name.empty() && http::iequals(ref, r.copy_name)))
      out.push_back(i);
  }
  return out;
}

namespace {

// reference()/listKeys() calls in a template value whose first argument is known before anything
// deploys (a resourceId(), a name): the resources they read.
void collect_runtime_targets(const Expr& e, Evaluator& ev, std::vector<std::string>& out) {
  if (e.kind == Expr::Kind::Call) {
    const std::string n = http::to_lower(e.text);
    if ((n == "reference" || n == "listkeys") && !e.args.empty()) {
      try {
        json target = ev.eval(e.args[0]);
        if (target.is_string()) out.push_back(target.get<std::string>());
      } catch (const TemplateError&) {
      }
    }
  }
  for (const auto& a : e.args) collect_runtime_targets(a, ev, out);
}

void collect_runtime_targets(const json& v, Evaluator& ev, std::vector<std::string>& out) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!classify_template_string(s).expression) return;
    if (http::to_lower(s).find("reference") == std::string::npos &&
        http::to_lower(s).find("listkeys") == std::string::npos)
      return;
    try {
      collect_runtime_targets(parse_expression(s), ev, out);
    } catch (const TemplateError&) {
    }
  } else if (v.is_array() || v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) collect_runtime_targets(*it, ev, out);
  }
}

}  // namespace

void Template::plan() {
  std::vector<std::vector<std::string>> depends_on;
  expand(*member(template_, "resources"), "resources", nullptr, depends_on);
  const size_t n = resources_.size();
  std::vector<std::set<size_t>> deps(n);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& d : depends_on[i]) {
      if (!d.empty() && d[0] == '\x01') {
        deps[i].insert(std::stoul(d.substr(1)));
        continue;
      }
      auto found = match(d);
      if (found.empty()) {
        if (skipped_.count(http::to_lower(d))) continue;  // a resource whose condition is false
        bool skipped_id = false;
        for (const auto& s : skipped_)
          if (http::to_lower(d).size() > s.size() &&
              http::to_lower(d).compare(http::to_lower(d).size() - s.size(), s.size(), s) == 0)
            skipped_id = true;
        if (skipped_id) continue;
        throw at(resources_[i].path + ".dependsOn",
                 "the resource '" + d + "' is not defined in the template");
      }
      for (size_t f : found)
        if (f != i) deps[i].insert(f);
    }
    // Implicit dependencies of reference()/listKeys() on template resources.
    EvalContext ctx = context(nullptr);
    ctx.resource_copy = resources_[i].copy;
    Evaluator ev(ctx);
    std::vector<std::string> targets;
    collect_runtime_targets(resources_[i].definition, ev, targets);
    for (const auto& t : targets)
      for (size_t f : match(t))
        if (f != i) deps[i].insert(f);
  }
  // Kahn's algorithm, keeping template order among the ready ones.
  std::vector<size_t> order;
  std::vector<bool> placed(n, false);
  while (order.size() < n) {
    bool progressed = false;
    for (size_t i = 0; i < n; ++i) {
      if (placed[i]) continue;
      if (std::all_of(deps[i].begin(), deps[i].end(), [&](size_t d) { return placed[d]; })) {
        placed[i] = true;
        order.push_back(i);
        progressed = true;
        break;
      }
    }
    if (!progressed) {
      for (size_t i = 0; i < n; ++i)
        if (!placed[i])
          throw at(resources_[i].path,
                   "circular dependency detected on resource: '" + resources_[i].id +
                       "'. Please see https://aka.ms/arm-template/#resources for usage details");
    }
  }
  std::vector<size_t> position(n);
  for (size_t k = 0; k < n; ++k) position[order[k]] = k;
  std::vector<PlannedResource> sorted;
  for (size_t k = 0; k < n; ++k) {
    PlannedResource r = resources_[order[k]];
    r.depends_on.clear();
    for (size_t d : deps[order[k]]) r.depends_on.push_back(position[d]);
    std::sort(r.depends_on.begin(), r.depends_on.end());
    sorted.push_back(std::move(r));
  }
  resources_ = std::move(sorted);
}

json Template::render(const PlannedResource& r, const Runtime& runtime) const {
  EvalContext ctx = context(&runtime);
  ctx.resource_copy = r.copy;
  Evaluator ev(ctx);
  json body = json::object();
  for (auto it = r.definition.begin(); it != r.definition.end(); ++it) {
    if (is_keyword(it.key())) continue;
    body[it.key()] = ev.value(*it, r.path + "." + it.key(), http::iequals(it.key(), "properties"));
  }
  return body;
}

json Template::outputs(const Runtime& runtime) const {
  json out = json::object();
  const json* outputs = member(template_, "outputs");
  if (!outputs) return out;
  for (auto it = outputs->begin(); it != outputs->end(); ++it) {
    const std::string path = "outputs." + it.key();
    if (!it->is_object() || !member(*it, "type") || !member(*it, "type")->is_string())
      throw at(path, "an output needs a 'type'");
    EvalContext ctx = context(&runtime);
    Evaluator ev(ctx);
    if (const json* cond = member(*it, "condition")) {
      json c = ev.value(*cond, path + ".condition");
      if (!c.is_boolean()) throw at(path + ".condition", "the condition must be a Boolean");
      if (!c.get<bool>()) continue;
    }
    const std::string type = http::to_lower(member(*it, "type")->get<std::string>());
    json v;
    if (const json* copy = member(*it, "copy")) {
      json loop = {
          {"copy",
           json::array({{{"name", "__output"},
                         {"count", member(*copy, "count") ? *member(*copy, "count") : json()},
                         {"input", member(*copy, "input") ? *member(*copy, "input") : json()}}})}};
      // copyIndex() without a name refers to the output loop.
      v = ev.value(loop, path + ".copy", true)["__output"];
    } else if (const json* value = member(*it, "value")) {
      v = ev.value(*value, path + ".value");
    } else {
      throw at(path, "an output needs a 'value' or a 'copy'");
    }
    if (!coerce(type, v))
      throw at(path, "the output '" + it.key() + "' is declared '" + canonical_type(type) +
                         "' but its value is '" + type_name(v) + "'");
    out[it.key()] = {{"type", canonical_type(type)}, {"value", v}};
  }
  return out;
}

}  // namespace cmk::deployments
