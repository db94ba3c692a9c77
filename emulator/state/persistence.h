// Durable state (--state-dir, issue 8): the state export (state/snapshot.h), with secrets, kept
// row by row in SQLite so that every write acknowledged to a client survives kill -9 and power
// loss.
//
// Contract:
// - One directory per emulator: DIR/state.db (SQLite, WAL journal, synchronous=FULL, so a
//   commit is on disk before it returns) and DIR/lock (an exclusive flock held while the
//   emulator runs: a second emulator on the same directory refuses to start). The directory is
//   created 0700 and the files 0600 (they hold private keys and secrets).
// - commit() writes what changed since the last commit, in one transaction: the sections whose
//   store revision moved, and within them only the rows whose text changed (plus deletions).
//   Nothing changed: no transaction, no disk access. Thread-safe (commits are serialised).
//   The emulator calls it after every request, before the response leaves.
// - open() on an existing directory checks it before anything else touches it: a file that is
//   not a SQLite database, fails SQLite's quick_check, or lacks this format's tables is
//   "corrupt"; a format newer than this build reads is refused as such. Either way the error
//   says what to do and nothing in the directory has been changed.
// - load() returns the saved state as an export document (with secrets): what the emulator
//   imports to resume.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "state/snapshot.h"

struct sqlite3;

namespace cmk::state {

inline constexpr int kStateFormat = 1;

class StateDirectory {
 public:
  ~StateDirectory();
  StateDirectory(const StateDirectory&) = delete;
  StateDirectory& operator=(const StateDirectory&) = delete;

  static Result<std::unique_ptr<StateDirectory>> open(const std::filesystem::path& dir);

  // True when the directory holds a saved state (false for a new one).
  bool has_state() const { return has_state_; }
  Result<nlohmann::json> load();

  // Writes what changed since the last commit (or load). `force` re-reads every section (after
  // the whole state was replaced).
  Status commit(const StateStores& stores, bool force = false);

  const std::filesystem::path& path() const { return dir_; }
  // Commits that wrote something, and rows written, since open (bench and tests).
  uint64_t transactions() const { return transactions_; }

 private:
  StateDirectory() = default;
  Status exec(const char* sql);

  std::filesystem::path dir_;
  int lock_fd_ = -1;
  sqlite3* db_ = nullptr;
  bool has_state_ = false;
  std::mutex mu_;  // serialises commits
  // state_signature() as of the last commit's collection: equal means nothing to do, without
  // taking mu_ (the path every read request takes).
  std::atomic<uint64_t> committed_signature_{~uint64_t{0}};
  SeenState seen_;
  // What is on disk, by section and key: the text written (to compare against).
  std::map<std::string, std::map<std::string, std::shared_ptr<const std::string>>> written_;
  uint64_t transactions_ = 0;
};

}  // namespace cmk::state
