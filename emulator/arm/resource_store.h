// Tracked resources of every provider, in one store (one ARM core that every provider uses): id,
// type, location, tags, the provider's JSON, ETag and systemData. Providers own the behaviour of
// their types; the store owns identity, concurrency and listing.
//
// Contract: keys are ARM ids compared case-insensitively; the id keeps the casing of the
// request that created the resource. Every write assigns a new ETag. Thread-safe; returns
// copies (or, from get_shared, immutable snapshots that a later write never changes). update() runs
// its mutation under the store's lock, so read-modify-write of one resource never tears.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "arm/resource_id.h"
#include "common/ids.h"
#include "common/revision.h"
#include "common/status.h"
#include "state/clock.h"

namespace cmk::arm {

struct TrackedResource {
  ResourceId id;
  std::string type;  // canonical casing, e.g. "Microsoft.ManagedIdentity/userAssignedIdentities"
  std::string location;  // normalised
  nlohmann::json tags = nlohmann::json::object();
  nlohmann::json body = nlohmann::json::object();  // provider-specific: properties, identity, sku
  std::string etag;
  std::string created_by;  // principal object id (or app id) of the creator
  TimePoint created_at{};
  std::string modified_by;
  TimePoint modified_at{};

  // The ARM JSON of the resource: body plus id, name, type, location, tags, etag, systemData.
  nlohmann::json to_json() const;
  // The inverse of to_json, exact (state import): etag and systemData are kept. Errors name the
  // member ("etag: must be a non-empty string").
  static Result<TrackedResource> from_json(const nlohmann::json& j);
};

class ResourceStore {
 public:
  ResourceStore(const Clock& clock, IdGenerator& ids) : clock_(clock), ids_(ids) {}

  // Creates or replaces. Returns true when it created. `by` names the caller for systemData.
  bool put(TrackedResource r, const std::string& by);
  std::optional<TrackedResource> get(const ResourceId& id) const;
  // Applies `mutate` to the stored resource under the lock; false when absent. A new ETag and
  // modification stamp are set when `mutate` returns true. `by` empty means the service changed
  // it on its own (an operation completing): systemData keeps naming the last caller.
  bool update(const ResourceId& id, const std::string& by,
              const std::function<bool(TrackedResource&)>& mutate);
  bool remove(const ResourceId& id);
  // Resources of a subscription, optionally of one resource group and/or one type
  // (case-insensitive), ordered by id.
  std::vector<TrackedResource> list(const std::string& subscription,
                                    const std::string& resource_group = {},
                                    const std::string& type = {}) const;
  // What a generic resource list shows of each of those: their provider bodies are not copied
  // (a thousand of them cost more than the rest of the list).
  struct Summary {
    std::string id;
    std::string name;
    std::string type;
    std::string location;
    nlohmann::json tags;
  };
  std::vector<Summary> summaries(const std::string& subscription,
                                 const std::string& resource_group = {},
                                 const std::string& type = {}) const;
  // The resource's ARM JSON, serialised, with its ETag: what a GET answers. The text is rendered
  // once per version (ETag) and shared afterwards, since GETs far outnumber writes.
  struct Rendered {
    std::shared_ptr<const std::string> json;
    std::string etag;
  };
  std::optional<Rendered> get_rendered(const ResourceId& id) const;
  // The same by ResourceId::key() (persistence reads the rows its change log names).
  std::optional<Rendered> get_rendered(const std::string& key) const;
  // The ids of resources of `type` named `name` (both case-insensitive) in any subscription: for
  // names that are global (vaults, clusters). Indexed: no scan.
  std::vector<ResourceId> find_named(const std::string& type, const std::string& name) const;
  // The resource as stored, shared and immutable: one snapshot per version, taken on the first
  // read after a write, so hot readers (every Key Vault data-plane request reads its vault) take
  // no copy of its JSON. Null when absent.
  std::shared_ptr<const TrackedResource> get_shared(const ResourceId& id) const;
  // The first resource find_named lists, as get_shared gives it (one lookup); null when none.
  std::shared_ptr<const TrackedResource> find_named_shared(const std::string& type,
                                                           const std::string& name) const;
  // Every resource of a resource group, for its cascading deletion.
  size_t remove_resource_group(const std::string& subscription, const std::string& group);

  // State export and persistence (state/snapshot.h): every resource's rendering by key, ordered
  // by key. Cheap for resources that did not change since the last call (cached per ETag).
  std::vector<std::pair<std::string, Rendered>> all_rendered() const;
  std::vector<TrackedResource> all() const;  // ordered by key
  // State import and reset: replaces every resource, exactly as given (ETags and systemData
  // kept, no new stamps).
  void replace_all(std::vector<TrackedResource> resources);
  uint64_t revision() const { return revision_.value(); }  // common/revision.h
  // The keys (ResourceId::key()) of the resources changed, once tracked (common/revision.h).
  ChangeLog& changes() const { return revision_.changes(); }

 private:
  std::string new_etag();
  // The cached rendering of `r` (stored under `key`); under mu_.
  Rendered rendering(const std::string& key, const TrackedResource& r) const;
  // Calls `visit(resource)` under mu_ for each resource list() would return, in order.
  template <typename Visit>
  void visit(const std::string& subscription, const std::string& resource_group,
             const std::string& type, Visit visit) const;
  Revision revision_;
  const Clock& clock_;
  IdGenerator& ids_;
  mutable std::mutex mu_;
  std::map<std::string, TrackedResource> resources_;  // by ResourceId::key()
  // get_rendered's texts by key; an entry whose ETag differs from the resource's is stale.
  mutable std::unordered_map<std::string, Rendered> rendered_;
  // The snapshot of `r` (stored under `key`); under mu_.
  std::shared_ptr<const TrackedResource> snapshot(const std::string& key,
                                                  const TrackedResource& r) const;
  // get_shared's snapshots by key; every write of a resource drops its entry.
  mutable std::unordered_map<std::string, std::shared_ptr<const TrackedResource>> snapshots_;
  // Keys by "<lower type>|<lower name>", for find_named.
  std::unordered_multimap<std::string, std::string> by_type_and_name_;
  void unindex(const TrackedResource& r);
};

// `$top`/`$skiptoken` paging of a list: `page_size` items
// from `skip`, and the nextLink to the rest (absent on the last page).
nlohmann::json paged_list(const std::vector<nlohmann::json>& items, size_t skip, size_t page_size,
                          const std::string& next_link_base);

}  // namespace cmk::arm
