#include "arm/resource_store.h"

#include "http/message.h"

namespace cmk::arm {

using nlohmann::json;

json TrackedResource::to_json() const {
  json j = body.is_object() ? body : json::object();
  j["id"] = id.str();
  j["name"] = id.name();
  j["type"] = type;
  j["location"] = location;
  // Tracked resources answer "tags": {} when untagged (recorded for clusters, vaults, identities).
  j["tags"] = tags.is_object() ? tags : json::object();
  j["etag"] = etag;
  j["systemData"] = {{"createdBy", created_by},
                     {"createdByType", "Application"},
                     {"createdAt", to_iso8601(created_at)},
                     {"lastModifiedBy", modified_by},
                     {"lastModifiedByType", "Application"},
                     {"lastModifiedAt", to_iso8601(modified_at)}};
  return j;
}

namespace {
std::string type_and_name(const TrackedResource& r) {
  return http::to_lower(r.type) + "|" + http::to_lower(r.id.name());
}
}  // namespace

void ResourceStore::unindex(const TrackedResource& r) {
  auto [from, to] = by_type_and_name_.equal_range(type_and_name(r));
  for (auto it = from; it != to; ++it)
    if (it->second == r.id.key()) {
      by_type_and_name_.erase(it);
      return;
    }
}

std::string ResourceStore::new_etag() {
  return "\"" + ids_.guid() + "\"";
}

bool ResourceStore::put(TrackedResource r, const std::string& by) {
  std::lock_guard lock(mu_);
  const std::string key = r.id.key();
  const TimePoint now = clock_.now();
  auto it = resources_.find(key);
  revision_.bump(key);
  snapshots_.erase(key);
  r.etag = new_etag();
  r.modified_by = by;
  r.modified_at = now;
  if (it == resources_.end()) {
    r.created_by = by;
    r.created_at = now;
    by_type_and_name_.emplace(type_and_name(r), key);
    resources_.emplace(key, std::move(r));
    return true;
  }
  r.id = it->second.id;  // the creator's casing stays
  r.created_by = it->second.created_by;
  r.created_at = it->second.created_at;
  it->second = std::move(r);
  return false;
}

std::optional<TrackedResource> ResourceStore::get(const ResourceId& id) const {
  std::lock_guard lock(mu_);
  auto it = resources_.find(id.key());
  if (it == resources_.end()) return std::nullopt;
  return it->second;
}

bool ResourceStore::update(const ResourceId& id, const std::string& by,
                           const std::function<bool(TrackedResource&)>& mutate) {
  std::lock_guard lock(mu_);
  auto it = resources_.find(id.key());
  if (it == resources_.end()) return false;
  snapshots_.erase(it->first);  // `mutate` may change the resource whatever it returns
  if (mutate(it->second)) {
    revision_.bump(it->first);
    it->second.etag = new_etag();
    if (!by.empty()) it->second.modified_by = by;
    it->second.modified_at = clock_.now();
  }
  return true;
}

ResourceStore::Rendered ResourceStore::rendering(const std::string& key,
                                                 const TrackedResource& r) const {
  Rendered& cached = rendered_[key];
  if (!cached.json || cached.etag != r.etag) {
    cached.json = std::make_shared<const std::string>(r.to_json().dump());
    cached.etag = r.etag;
  }
  return cached;
}

std::optional<ResourceStore::Rendered> ResourceStore::get_rendered(const ResourceId& id) const {
  return get_rendered(id.key());
}

std::optional<ResourceStore::Rendered> ResourceStore::get_rendered(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = resources_.find(key);
  if (it == resources_.end()) return std::nullopt;
  return rendering(key, it->second);
}

std::shared_ptr<const TrackedResource> ResourceStore::snapshot(const std::string& key,
                                                               const TrackedResource& r) const {
  auto& cached = snapshots_[key];
  if (!cached) cached = std::make_shared<const TrackedResource>(r);
  return cached;
}

std::shared_ptr<const TrackedResource> ResourceStore::get_shared(const ResourceId& id) const {
  std::lock_guard lock(mu_);
  auto it = resources_.find(id.key());
  if (it == resources_.end()) return nullptr;
  return snapshot(it->first, it->second);
}

std::shared_ptr<const TrackedResource> ResourceStore::find_named_shared(
    const std::string& type, const std::string& name) const {
  std::lock_guard lock(mu_);
  auto named =
      by_type_and_name_.equal_range(http::to_lower(type) + "|" + http::to_lower(name)).first;
  if (named == by_type_and_name_.end()) return nullptr;
  auto it = resources_.find(named->second);
  if (it == resources_.end()) return nullptr;
  return snapshot(it->first, it->second);
}

std::vector<ResourceId> ResourceStore::find_named(const std::string& type,
                                                  const std::string& name) const {
  std::lock_guard lock(mu_);
  std::vector<ResourceId> out;
  auto [from, to] =
      by_type_and_name_.equal_range(http::to_lower(type) + "|" + http::to_lower(name));
  for (auto it = from; it != to; ++it) out.push_back(resources_.at(it->second).id);
  return out;
}

bool ResourceStore::remove(const ResourceId& id) {
  std::lock_guard lock(mu_);
  auto it = resources_.find(id.key());
  if (it == resources_.end()) return false;
  revision_.bump(it->first);
  rendered_.erase(it->first);
  snapshots_.erase(it->first);
  unindex(it->second);
  resources_.erase(it);
  return true;
}

template <typename Visit>
void ResourceStore::visit(const std::string& subscription, const std::string& resource_group,
                          const std::string& type, Visit visit) const {
  std::lock_guard lock(mu_);
  std::string prefix = "/subscriptions/" + http::to_lower(subscription) + "/";
  if (!resource_group.empty()) prefix += "resourcegroups/" + http::to_lower(resource_group) + "/";
  for (auto it = resources_.lower_bound(prefix);
       it != resources_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    if (type.empty() || http::iequals(it->second.type, type)) visit(it->second);
}

std::vector<TrackedResource> ResourceStore::list(const std::string& subscription,
                                                 const std::string& resource_group,
                                                 const std::string& type) const {
  std::vector<TrackedResource> out;
  visit(subscription, resource_group, type, [&](const TrackedResource& r) { out.push_back(r); });
  return out;
}

std::vector<ResourceStore::Summary> ResourceStore::summaries(const std::string& subscription,
                                                             const std::string& resource_group,
                                                             const std::string& type) const {
  std::vector<Summary> out;
  visit(subscription, resource_group, type, [&](const TrackedResource& r) {
    out.push_back({r.id.str(), r.id.name(), r.type, r.location, r.tags});
  });
  return out;
}

size_t ResourceStore::remove_resource_group(const std::string& subscription,
                                            const std::string& group) {
  std::lock_guard lock(mu_);
  const std::string prefix = "/subscriptions/" + http::to_lower(subscription) + "/resourcegroups/" +
                             http::to_lower(group) + "/";
  size_t n = 0;
  for (auto it = resources_.lower_bound(prefix);
       it != resources_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    revision_.bump(it->first);
    rendered_.erase(it->first);
    snapshots_.erase(it->first);
    unindex(it->second);
    it = resources_.erase(it);
    ++n;
  }
  return n;
}

std::vector<std::pair<std::string, ResourceStore::Rendered>> ResourceStore::all_rendered() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, Rendered>> out;
  out.reserve(resources_.size());
  for (const auto& [key, r] : resources_) out.emplace_back(key, rendering(key, r));
  return out;
}

std::vector<TrackedResource> ResourceStore::all() const {
  std::lock_guard lock(mu_);
  std::vector<TrackedResource> out;
  out.reserve(resources_.size());
  for (const auto& [key, r] : resources_) out.push_back(r);
  return out;
}

void ResourceStore::replace_all(std::vector<TrackedResource> resources) {
  std::lock_guard lock(mu_);
  resources_.clear();
  rendered_.clear();
  snapshots_.clear();
  by_type_and_name_.clear();
  for (auto& r : resources) {
    std::string key = r.id.key();
    if (auto it = resources_.find(key); it != resources_.end()) {
      unindex(it->second);
      resources_.erase(it);
    }
    by_type_and_name_.emplace(type_and_name(r), key);
    resources_.emplace(std::move(key), std::move(r));
  }
  revision_.bump();
}

Result<TrackedResource> TrackedResource::from_json(const json& j) {
  if (!j.is_object()) return Status::error("must be an object");
  auto text = [&](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  TrackedResource r;
  auto id = ResourceId::parse(text("id"));
  if (!id || id->name().empty()) return Status::error("id: must be an ARM resource id");
  r.id = *id;
  r.type = text("type");
  if (r.type.empty()) return Status::error("type: must be a non-empty string");
  r.location = text("location");
  if (auto t = j.find("tags"); t != j.end()) {
    if (!t->is_object()) return Status::error("tags: must be an object");
    r.tags = *t;
  }
  r.etag = text("etag");
  if (r.etag.empty()) return Status::error("etag: must be a non-empty string");
  auto sd = j.find("systemData");
  if (sd == j.end() || !sd->is_object()) return Status::error("systemData: must be an object");
  auto stamp = [&](const char* k, TimePoint& out) -> Status {
    auto it = sd->find(k);
    std::optional<TimePoint> t;
    if (it != sd->end() && it->is_string()) t = parse_iso8601(it->get<std::string>());
    if (!t) return Status::error(std::string("systemData.") + k + ": must be an ISO-8601 time");
    out = *t;
    return Status::ok();
  };
  if (auto s = stamp("createdAt", r.created_at); !s) return s;
  if (auto s = stamp("lastModifiedAt", r.modified_at); !s) return s;
  r.created_by = sd->value("createdBy", "");
  r.modified_by = sd->value("lastModifiedBy", "");
  r.body = j;
  for (const char* k : {"id", "name", "type", "location", "tags", "etag", "systemData"})
    r.body.erase(k);
  return r;
}

json paged_list(const std::vector<json>& items, size_t skip, size_t page_size,
                const std::string& next_link_base) {
  json value = json::array();
  for (size_t i = skip; i < items.size() && i < skip + page_size; ++i) value.push_back(items[i]);
  json out = {{"value", value}};
  if (skip + page_size < items.size())
    out["nextLink"] = next_link_base + (next_link_base.find('?') == std::string::npos ? "?" : "&") +
                      "$skiptoken=" + std::to_string(skip + page_size);
  return out;
}

}  // namespace cmk::arm
