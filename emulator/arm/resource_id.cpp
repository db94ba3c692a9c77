#include "arm/resource_id.h"

#include <cctype>

#include "http/message.h"

namespace cmk::arm {

using http::iequals;
using http::to_lower;

namespace {
std::vector<std::string_view> split_segments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t slash = s.find('/', pos);
    if (slash == std::string_view::npos) slash = s.size();
    if (slash > pos) out.push_back(s.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}
}  // namespace

std::optional<ResourceId> ResourceId::parse(std::string_view id) {
  const auto segs = split_segments(id);
  if (segs.size() < 2 || !iequals(segs[0], "subscriptions")) return std::nullopt;
  ResourceId r;
  r.subscription = std::string(segs[1]);
  size_t i = 2;
  if (i < segs.size() && iequals(segs[i], "resourceGroups")) {
    if (i + 1 >= segs.size()) return std::nullopt;
    r.resource_group = std::string(segs[i + 1]);
    i += 2;
  }
  if (i == segs.size()) return r;
  if (!iequals(segs[i], "providers") || i + 1 >= segs.size()) return std::nullopt;
  r.provider = std::string(segs[i + 1]);
  i += 2;
  // Pairs of type and name; at least one.
  if (i >= segs.size() || (segs.size() - i) % 2 != 0) return std::nullopt;
  for (; i < segs.size(); i += 2) r.types_and_names.emplace_back(segs[i], segs[i + 1]);
  return r;
}

std::string ResourceId::type() const {
  if (provider.empty())
    return resource_group.empty() ? "Microsoft.Resources/subscriptions"
                                  : "Microsoft.Resources/resourceGroups";
  std::string t = provider;
  for (const auto& [type, name] : types_and_names) t += "/" + type;
  return t;
}

std::string ResourceId::name() const {
  if (!types_and_names.empty()) return types_and_names.back().second;
  return resource_group.empty() ? subscription : resource_group;
}

std::string ResourceId::str() const {
  std::string s = "/subscriptions/" + subscription;
  if (!resource_group.empty()) s += "/resourceGroups/" + resource_group;
  if (!provider.empty()) {
    s += "/providers/" + provider;
    for (const auto& [type, name] : types_and_names) s += "/" + type + "/" + name;
  }
  return s;
}

std::string ResourceId::key() const { return to_lower(str()); }

std::optional<ResourceId> ResourceId::parent() const {
  if (types_and_names.size() < 2) return std::nullopt;
  ResourceId p = *this;
  p.types_and_names.pop_back();
  return p;
}

std::string normalize_location(std::string_view location) {
  std::string out;
  for (char c : location)
    if (!std::isspace(static_cast<unsigned char>(c)))
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace cmk::arm
