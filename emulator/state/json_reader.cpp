#include "state/json_reader.h"

#include "entra/directory.h"
#include "http/message.h"

namespace cmk::state {

using nlohmann::json;

Status JsonReader::fail(const std::string& path, const std::string& problem) const {
  return Status::error(source_ + ": " + path + ": " + problem);
}

Status JsonReader::check_keys(const json& obj, const std::string& path,
                              const std::set<std::string>& allowed) const {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key())) {
      std::string list;
      for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
      return fail(path + "." + it.key(), "unknown key (expected one of: " + list + ")");
    }
  }
  return Status::ok();
}

Status JsonReader::string(const json& obj, const std::string& path, const char* key,
                          std::string& out, bool required) const {
  auto it = obj.find(key);
  if (it == obj.end()) return required ? fail(path + "." + key, "is required") : Status::ok();
  if (!it->is_string()) return fail(path + "." + key, "must be a string");
  out = it->get<std::string>();
  return Status::ok();
}

Status JsonReader::guid(const json& obj, const std::string& path, const char* key, std::string& out,
                        bool required) const {
  if (auto s = string(obj, path, key, out, required); !s) return s;
  if (out.empty() && !required) return Status::ok();
  if (!entra::is_guid(out)) return fail(path + "." + key, "must be a GUID (got \"" + out + "\")");
  out = http::to_lower(out);
  return Status::ok();
}

Status JsonReader::string_list(const json& obj, const std::string& path, const char* key,
                               std::vector<std::string>& out) const {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::ok();
  if (!it->is_array()) return fail(path + "." + key, "must be an array of strings");
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string())
      return fail(path + "." + key + "[" + std::to_string(i) + "]", "must be a string");
    out.push_back((*it)[i].get<std::string>());
  }
  return Status::ok();
}

}  // namespace cmk::state
