#include "portal/assets.h"

#include <array>
#include <utility>

namespace cmk::portal {

const EmbeddedAsset* find_asset(std::string_view path) {
  for (const auto& a : embedded_assets())
    if (a.path == path) return &a;
  return nullptr;
}

std::string_view content_type_of(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json; charset=utf-8"},
  }};
  for (const auto& [ext, type] : kTypes)
    if (path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext) return type;
  return "application/octet-stream";
}

}  // namespace cmk::portal
