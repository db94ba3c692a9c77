// Which provider and resource type an ARM request addresses, and the errors ARM gives when the
// namespace, the type or the api-version is not one it knows.
//
// ARM resolves a path's type from the segments after /providers/{namespace}: type, name, type,
// name, ... A trailing segment with no name is either a child collection (".../databases") or an
// action (".../start"): the longest prefix of types the provider registers wins, so
// "clusters/start" resolves to "clusters". Paths without /providers/{namespace}/{type} (tenants,
// subscriptions, resource groups, locations, the providers list, /resources, operation results
// of resource-group deletion) belong to the core, Microsoft.Resources.
//
// Errors, as ARM words them:
//   400 InvalidResourceNamespace   "The resource namespace 'Microsoft.Foo' is invalid."
//   404 InvalidResourceType        "The resource type 'bars' could not be found in the namespace
//                                   'Microsoft.Kusto' for api version '2023-08-15'."
//   400 NoRegisteredProviderFound  (strict only) "No registered resource provider found for
//                                   location 'westeurope' and API version '2099-01-01' for type
//                                   'clusters'. The supported api-versions are '...'. The
//                                   supported locations are '...'."
//   400 InvalidApiVersionParameter (strict only, core paths and types without locations) "The
//                                   api-version '2099-01-01' is invalid. The supported versions
//                                   are '...'."
// The namespace and type errors are given in both modes (a lenient emulator still knows which
// providers it serves); the api-version errors only with --strict-api-versions.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "arm/catalog.h"
#include "http/message.h"
#include "http/pipeline.h"

namespace cmk::arm {

struct ProviderTarget {
  std::string name_space;              // as the client spelled it; empty for core paths
  const Provider* provider = nullptr;  // null when the namespace is unknown (or core)
  const ProviderType* type = nullptr;  // null when no registered type matches
  std::string requested_type;          // "clusters/databases": the types named in the path
  std::string resource_id;             // the id of the addressed resource (or its parent), for
                                       // the location in NoRegisteredProviderFound
};

// Resolves the provider and type of an ARM request path (segments as in http::Request).
// nullopt for paths that name no provider type: core paths and /providers[/{ns}[/register]].
std::optional<ProviderTarget> provider_target(const std::vector<std::string>& segments);

// The namespace/type error for a path no route served, or nullopt when the namespace and type
// are known (then the plain "no such route" answer applies).
std::optional<http::Response> unknown_provider_error(const http::Request& req);

// Api-versions the catalog does not list for the type addressed (or for Microsoft.Resources on
// core paths). With --strict-api-versions they are refused; by default they are served, and
// `on_unlisted(version, type)` is told of each such request (the emulator logs a value once and
// counts it in /_emulator/info), since a typo'd or future version would otherwise pass unnoticed.
// Requests without api-version are left to the routes (MissingApiVersionParameter), as are
// unknown namespaces and types.
class ApiVersionFilter : public http::Filter {
 public:
  using OnUnlisted = std::function<void(const std::string& version, const std::string& type)>;
  // `location_of` returns the location of the resource with that id ("" when unknown); it names
  // the region in NoRegisteredProviderFound when the request body carries none.
  ApiVersionFilter(bool strict, std::function<std::string(const std::string&)> location_of,
                   OnUnlisted on_unlisted)
      : strict_(strict),
        location_of_(std::move(location_of)),
        on_unlisted_(std::move(on_unlisted)) {}
  std::optional<http::Response> before(http::Request& req) override;

 private:
  const bool strict_;
  std::function<std::string(const std::string&)> location_of_;
  OnUnlisted on_unlisted_;
};

}  // namespace cmk::arm
