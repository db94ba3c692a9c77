// Shell-style wildcard matching for filters people type (fault rules, journal queries):
// `*` matches any run of characters (slashes included), `?` exactly one; everything else is
// literal, compared case-insensitively (ARM paths and host names are case-insensitive).
#pragma once

#include <string_view>

namespace cmk {

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace cmk
