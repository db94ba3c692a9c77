#include "journal/journal.h"

#include <algorithm>

#include "common/glob.h"
#include "http/message.h"
#include "journal/redaction.h"

namespace cmk::journal {

using nlohmann::json;

json Record::to_json() const {
  json j = {{"seq", seq},
            {"time", to_iso8601(time)},
            {"surface", surface},
            {"method", method},
            {"host", host},
            {"path", path},
            {"query", redact_query(query)},
            {"status", status},
            {"durationMs", duration_ms},
            {"requestId", request_id},
            {"correlationId", correlation_id},
            {"principal", principal_oid.empty() && principal_appid.empty()
                              ? json(nullptr)
                              : json{{"oid", principal_oid}, {"appid", principal_appid}}},
            {"fault", fault.empty() ? json(nullptr) : json(fault)},
            {"emulatorCaller", emulator_caller.empty() ? json(nullptr) : json(emulator_caller)}};
  if (!client_request_id.empty()) j["clientRequestId"] = client_request_id;
  if (request_body) j["requestBody"] = redact_body(*request_body, request_content_type);
  if (response_body) j["responseBody"] = redact_body(*response_body, response_content_type);
  return j;
}

namespace {

Status bad(const std::string& key, const std::string& why) {
  return Status::error("'" + key + "': " + why);
}

// A value that may arrive as a JSON string (query parameter) or typed.
std::optional<int64_t> as_integer(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

Result<Query> Query::from_json(const json& j, TimePoint now) {
  if (!j.is_object()) return Status::error("the filter must be a JSON object");
  Query q;
  for (const auto& item : j.items()) {
    // Named, not a structured binding: clang 14 (the fuzz build) cannot capture bindings.
    const std::string& key = item.key();
    const json& v = item.value();
    auto text = [&]() -> std::optional<std::string> {
      if (v.is_string()) return v.get<std::string>();
      return std::nullopt;
    };
    if (key == "method" || key == "path" || key == "host" || key == "surface" || key == "caller") {
      auto s = text();
      if (!s) return bad(key, "must be a string");
      (key == "method"    ? q.method
       : key == "path"    ? q.path
       : key == "host"    ? q.host
       : key == "surface" ? q.surface
                          : q.caller) = *s;
    } else if (key == "status") {
      if (auto n = as_integer(v); n && *n >= 100 && *n <= 599) {
        q.status = static_cast<int>(*n);
      } else if (v.is_string() && v.get<std::string>().size() == 3 &&
                 v.get<std::string>()[0] >= '1' && v.get<std::string>()[0] <= '5' &&
                 http::iequals(v.get<std::string>().substr(1), "xx")) {
        q.status_class = v.get<std::string>()[0] - '0';
      } else {
        return bad(key, "must be a status code (404) or a class (4xx)");
      }
    } else if (key == "faulted") {
      if (v.is_boolean())
        q.faulted = v.get<bool>();
      else if (v == "true" || v == "false")
        q.faulted = v == "true";
      else
        return bad(key, "must be true or false");
    } else if (key == "since") {
      auto s = text();
      auto t = s ? parse_time_spec(*s, now) : std::nullopt;
      if (!t) return bad(key, "must be an ISO-8601 time or now-<n><s|m|h|d>");
      q.since = t;
    } else if (key == "after") {
      auto n = as_integer(v);
      if (!n) return bad(key, "must be a sequence number");
      q.after_seq = static_cast<uint64_t>(*n);
    } else if (key == "before") {
      auto n = as_integer(v);
      if (!n) return bad(key, "must be a sequence number");
      q.before_seq = static_cast<uint64_t>(*n);
    } else if (key == "limit") {
      auto n = as_integer(v);
      if (!n || *n < 1 || *n > 100000) return bad(key, "must be between 1 and 100000");
      q.limit = static_cast<size_t>(*n);
    } else {
      return bad(key,
                 "unknown filter (method, path, host, surface, caller, status, faulted, since, "
                 "after, before, limit)");
    }
  }
  return q;
}

bool Query::matches(const Record& r) const {
  if (after_seq && r.seq <= *after_seq) return false;
  if (before_seq && r.seq >= *before_seq) return false;
  if (since && r.time < *since) return false;
  if (status && r.status != *status) return false;
  if (status_class && r.status / 100 != *status_class) return false;
  if (faulted && r.fault.empty() == *faulted) return false;
  if (!method.empty() && !http::iequals(method, r.method)) return false;
  if (!surface.empty() && !http::iequals(surface, r.surface)) return false;
  if (!path.empty() && !glob_match(path, r.path)) return false;
  if (!host.empty() && !glob_match(host, r.host)) return false;
  if (!caller.empty() && (r.emulator_caller.empty() || !glob_match(caller, r.emulator_caller)))
    return false;
  return true;
}

void Journal::record(Record r) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  r.seq = next_seq_++;
  if (ring_.size() >= capacity_) ring_.pop_front();
  ring_.push_back(std::move(r));
}

std::vector<Record> Journal::find(const Query& q) const {
  std::lock_guard lock(mu_);
  std::vector<Record> out;
  // Newest first while collecting, so `limit` keeps the most recent; returned oldest first.
  for (auto it = ring_.rbegin(); it != ring_.rend() && out.size() < q.limit; ++it)
    if (q.matches(*it)) out.push_back(*it);
  std::reverse(out.begin(), out.end());
  return out;
}

size_t Journal::count(const Query& q) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& r : ring_) n += q.matches(r);
  return n;
}

void Journal::clear() {
  std::lock_guard lock(mu_);
  ring_.clear();
}

size_t Journal::size() const {
  std::lock_guard lock(mu_);
  return ring_.size();
}

uint64_t Journal::total_recorded() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

}  // namespace cmk::journal
