// Durable state (--state-dir, issue 8): the state export (state/snapshot.h), with secrets, kept
// row by row in SQLite so that every write acknowledged to a client survives kill -9 and power
// loss.
//
// Contract:
// - One directory per emulator: DIR/state.db (SQLite, WAL journal, synchronous=FULL, so a
//   commit is on disk before it returns) and DIR/lock (an exclusive flock held while the
//   emulator runs: a second emulator on the same directory refuses to start). The directory is
//   created 0700 and the files 0600 (they hold private keys and secrets).
// - commit() writes what changed since the last commit, in one transaction: the rows whose text
//   changed, and the deletions. The first commit (and a forced one) lists every row; after it,
//   the sections with many rows (resources, operations, one row per key) are followed through
//   their stores' change logs (common/revision.h), so a commit reads and writes what the write
//   touched, whatever the size of the state. Nothing changed: no transaction, no disk access.
//   Thread-safe: commits are serialised, and writers that queue behind a commit in progress
//   usually find their rows already written by it (one fsync for several writes). The emulator
//   calls it after every request, before the response leaves.
// - open() on an existing directory checks it before anything else touches it: a file that is
//   not a SQLite database, fails SQLite's quick_check, or lacks this format's tables is
//   "corrupt"; a format newer than this build reads is refused as such. Either way the error
//   says what to do and nothing in the directory has been changed.
// - load() returns the saved state as an export document (with secrets): what the emulator
//   imports to resume.
// - An older format is upgraded in place when opened (upgraded_from() says from which).
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "state/snapshot.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cmk::state {

inline constexpr int kStateFormat = 2;

// What an acknowledged write survives (--state-durability).
enum class Durability {
  // The commit is fsynced before the response leaves (SQLite synchronous=FULL): kill -9, a
  // crash of the machine, a power loss. The default.
  PowerLoss,
  // The commit is in the operating system's hands before the response leaves, which writes it
  // to disk in its own time (synchronous=NORMAL): kill -9 and crashes of the emulator, not of
  // the machine. Costs about a third of PowerLoss on the write path (bench/persistence).
  Kill,
};
// "power-loss" / "kill"; nullopt for anything else.
std::optional<Durability> parse_durability(const std::string& name);

class StateDirectory {
 public:
  ~StateDirectory();
  StateDirectory(const StateDirectory&) = delete;
  StateDirectory& operator=(const StateDirectory&) = delete;

  static Result<std::unique_ptr<StateDirectory>> open(
      const std::filesystem::path& dir, Durability durability = Durability::PowerLoss);

  // True when the directory holds a saved state (false for a new one).
  bool has_state() const { return has_state_; }
  Result<nlohmann::json> load();

  // Writes what changed since the last commit (or load). `force` re-reads every section (after
  // the whole state was replaced).
  Status commit(const StateStores& stores, bool force = false);

  const std::filesystem::path& path() const { return dir_; }
  // The format the file had when open() upgraded it, or 0.
  int upgraded_from() const { return upgraded_from_; }
  // Since open (bench and tests): commits that wrote something, and the rows they wrote or
  // deleted.
  uint64_t transactions() const { return transactions_; }
  uint64_t rows_written() const { return rows_written_; }

 private:
  StateDirectory() = default;
  Status exec(const char* sql);
  // Steps a prepared statement to its end and resets it.
  Status run(sqlite3_stmt* stmt);
  struct Upsert {
    const std::string* section;
    const StateRow* row;
  };
  // One transaction; on error it is rolled back.
  Status write(const std::vector<Upsert>& upserts,
               const std::vector<std::pair<std::string, std::string>>& deletes);

  std::filesystem::path dir_;
  int lock_fd_ = -1;
  sqlite3* db_ = nullptr;
  bool has_state_ = false;
  int upgraded_from_ = 0;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  std::mutex mu_;  // serialises commits
  // The stores' change logs are tracked and everything they named is on disk: a commit may
  // read just the rows they name.
  bool following_ = false;
  // state_signature() as of the last commit's collection: equal means nothing to do, without
  // taking mu_ (the path every read request takes).
  std::atomic<uint64_t> committed_signature_{~uint64_t{0}};
  SeenState seen_;
  // What is on disk, by section and key: the text written (to compare against).
  std::map<std::string, std::map<std::string, std::shared_ptr<const std::string>>> written_;
  uint64_t transactions_ = 0;
  uint64_t rows_written_ = 0;
};

}  // namespace cmk::state
