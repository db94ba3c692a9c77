// The deployment body as Debian's az 2.45 sends it (azure-cli JsonCTemplatePolicy): the template
// file's text spliced in behind an unquoted key,
//   {"properties": {"parameters": {...}, "mode": "Incremental", template:{ ...file text... }}}
// and the file may hold // and /* */ comments, trailing commas and raw line breaks in strings.
// ARM accepts all of that; so does parse_lenient_json, for this body only (the rest of the
// emulator stays strict).
//
// A pre-pass outside string literals drops comments, quotes bare object keys
// ([A-Za-z_$][A-Za-z0-9_$-]* followed by ':'), drops a comma before '}' or ']', and escapes raw
// control characters inside strings; then nlohmann::json parses the result. Errors name the line
// and column in the text as sent.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cmk::deployments {

Result<nlohmann::json> parse_lenient_json(std::string_view text);

}  // namespace cmk::deployments
