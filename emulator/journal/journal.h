// The request journal: a bounded ring of what clients asked and what they
// got, for tests to assert on ("was the key unwrapped, by whom, how often") without scraping
// logs.
//
// Contract:
// - Holds at most `capacity` records; the oldest go first. Capacity 0 records nothing.
// - Nothing read out carries secrets: query strings and (optional) bodies pass through
//   redaction.h in to_json(), the only way records leave the process, so no token, client
//   secret or key material can leak. (Redacting on the way out, not on the way in, keeps that
//   work off the request path.)
// - Thread-safe; record() is cheap (one lock, one move) because it runs on every request.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "state/clock.h"

namespace cmk::journal {

struct Record {
  uint64_t seq = 0;     // 1, 2, ... in arrival order (assigned by Journal::record)
  TimePoint time;       // virtual clock when the request arrived
  std::string surface;  // arm, login, keyvault, msi
  std::string method;
  std::string host;
  std::string path;
  std::string query;  // raw query string, redacted
  int status = 0;
  double duration_ms = 0;
  std::string request_id;
  std::string correlation_id;
  std::string client_request_id;
  std::string principal_oid;  // the validated token's oid, when there was one
  std::string principal_appid;
  std::string fault;  // "<rule>: <action>" when a fault rule acted
  // Set when the emulator itself made the call (a CMK cluster using its key): the caller's ARM
  // id. Empty for clients' requests.
  std::string emulator_caller;
  // Only with bodies enabled; redacted by to_json.
  std::optional<std::string> request_body;
  std::optional<std::string> response_body;
  std::string request_content_type;
  std::string response_content_type;

  nlohmann::json to_json() const;
};

// Which records a GET /_emulator/requests or a count wants. Every field optional; all given
// ones must hold.
struct Query {
  std::string method;               // exact, case-insensitive
  std::string path;                 // glob (common/glob.h)
  std::string host;                 // glob
  std::string surface;              // exact
  std::string caller;               // glob on emulator_caller; "*" = only the emulator's own calls
  std::optional<int> status;        // exact status
  std::optional<int> status_class;  // 4 for "4xx"
  std::optional<bool> faulted;      // only (or no) requests a fault rule acted on
  std::optional<TimePoint> since;   // time >= since
  std::optional<uint64_t> after_seq;   // seq > after_seq
  std::optional<uint64_t> before_seq;  // seq < before_seq: the page older than one already seen
  size_t limit = 100;                  // the newest `limit` matches, oldest first

  // From a JSON object whose values may be strings (query parameters) or typed:
  //   {"method","path","host","surface","caller","status": 404 | "4xx", "faulted": true,
  //    "since": ISO-8601 | "now-30s", "after": seq, "before": seq, "limit": N}
  // Unknown keys and bad values are errors naming the key.
  static Result<Query> from_json(const nlohmann::json& j, TimePoint now);
  bool matches(const Record& r) const;
};

class Journal {
 public:
  explicit Journal(size_t capacity = 10000) : capacity_(capacity) {}

  void record(Record r);
  std::vector<Record> find(const Query& q) const;
  size_t count(const Query& q) const;
  void clear();
  size_t size() const;
  size_t capacity() const { return capacity_; }
  uint64_t total_recorded() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<Record> ring_;
  uint64_t next_seq_ = 1;
};

}  // namespace cmk::journal
