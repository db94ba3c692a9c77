// Reading a parsed JSON document that people write (fixtures, state imports): every complaint
// names the source, the JSON path and the problem ("fixtures/x.json: $.tenants[0].id: is
// required"), so one class says it the same way everywhere.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cmk::state {

class JsonReader {
 public:
  explicit JsonReader(std::string source) : source_(std::move(source)) {}

  Status fail(const std::string& path, const std::string& problem) const;
  // Every member of `obj` must be one of `allowed` (a typo must not silently drop a section).
  Status check_keys(const nlohmann::json& obj, const std::string& path,
                    const std::set<std::string>& allowed) const;
  // An optional string member; `required` makes absence an error.
  Status string(const nlohmann::json& obj, const std::string& path, const char* key,
                std::string& out, bool required) const;
  // A GUID member, lower-cased.
  Status guid(const nlohmann::json& obj, const std::string& path, const char* key, std::string& out,
              bool required) const;
  // An optional array of strings, appended to `out`.
  Status string_list(const nlohmann::json& obj, const std::string& path, const char* key,
                     std::vector<std::string>& out) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

}  // namespace cmk::state
