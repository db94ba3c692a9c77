// The browser console's files (emulator/portal/assets: HTML, CSS, JavaScript modules), compiled
// into the binary by cmake/embed_assets.cmake, so the emulator serves them with nothing beside
// it and the build needs no Node.
#pragma once

#include <string_view>
#include <vector>

namespace cmk::portal {

struct EmbeddedAsset {
  std::string_view path;  // relative to emulator/portal/assets, '/'-separated: "js/app.js"
  std::string_view body;
};

// Every asset, sorted by path (the generated source).
const std::vector<EmbeddedAsset>& embedded_assets();
// A digest of every asset's path and bytes (16 hex digits): it changes whenever a file does, so
// the files can be served under "v/<version>/" and cached by a browser for good.
std::string_view asset_version();
// The asset at `path` (exact, case-sensitive), or null.
const EmbeddedAsset* find_asset(std::string_view path);
// The Content-Type to serve a file with, from its extension; "application/octet-stream" when
// the extension is not one the console uses.
std::string_view content_type_of(std::string_view path);

}  // namespace cmk::portal
