#include "state/persistence.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/files.h"

namespace cmk::state {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kDatabase = "state.db";
// Format 1 (the first) had a "stamp" column and kept a vault's keys in one row; format 2 keeps
// one row per key. A format 1 file is upgraded when opened (its vault rows still read: see
// Placement::StateVaultKeys in snapshot.cpp) and rewritten per key by the first commit.
constexpr const char* kLock = "lock";

std::string sqlite_error(sqlite3* db) {
  return db ? sqlite3_errmsg(db) : "out of memory";
}

// Runs `sql` and calls `row` for each result row (column texts).
Status query(sqlite3* db, const char* sql,
             const std::function<void(const std::vector<std::string>&)>& row) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK)
    return Status::error(sqlite_error(db));
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<std::string> cols;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* t = sqlite3_column_text(stmt, i);
      cols.emplace_back(t ? reinterpret_cast<const char*>(t) : "",
                        static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
    }
    row(cols);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Status::error(sqlite_error(db));
  return Status::ok();
}

// Checks an existing database on a read-only connection (which never writes the file, not even
// a checkpoint when it closes). Returns its format, or the problem.
Result<int> verify_existing(const fs::path& db_path) {
  const std::string where = db_path.string();
  {
    std::ifstream in(db_path, std::ios::binary);
    char header[16] = {};
    in.read(header, sizeof header);
    if (!in || std::memcmp(header, "SQLite format 3", 16) != 0)
      return Status::error(where + " is corrupt: it is not a SQLite database");
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(where.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string e = sqlite_error(db);
    sqlite3_close(db);
    return Status::error(where + " cannot be opened: " + e);
  }
  std::string check;
  Status s = query(db, "PRAGMA quick_check", [&](const auto& cols) {
    if (check.empty() && !cols.empty()) check = cols[0];
  });
  if (!s || check != "ok") {
    sqlite3_close(db);
    return Status::error(where + " is corrupt: " + (s ? check : s.message()));
  }
  std::string format;
  bool has_rows_table = false;
  s = query(db, "SELECT name FROM sqlite_master WHERE type='table'", [&](const auto& cols) {
    if (!cols.empty() && cols[0] == "rows") has_rows_table = true;
  });
  if (s)
    s = query(db, "SELECT value FROM meta WHERE key='format'", [&](const auto& cols) {
      if (!cols.empty()) format = cols[0];
    });
  sqlite3_close(db);
  if (!s || format.empty() || !has_rows_table)
    return Status::error(where + " is corrupt: it is not a cmk-emulator state database (" +
                         (s ? std::string("no format record") : s.message()) + ")");
  int version = 0;
  try {
    version = std::stoi(format);
  } catch (...) {
    return Status::error(where + " is corrupt: unreadable format record '" + format + "'");
  }
  if (version > kStateFormat)
    return Status::error(where + " was written by a newer cmk-emulator (state format " + format +
                         "; this one reads format " + std::to_string(kStateFormat) +
                         " and older). Use that version, or another --state-dir.");
  if (version < 1) return Status::error(where + " is corrupt: unknown state format " + format);
  return version;
}

// binary_search over rows ordered by key, for a key.
const std::string& key_of(const StateRow& row) {
  return row.key;
}
const std::string& key_of(const std::string& key) {
  return key;
}

}  // namespace

StateDirectory::~StateDirectory() {
  for (sqlite3_stmt* stmt : {begin_, commit_, rollback_, put_, del_}) sqlite3_finalize(stmt);
  if (db_) sqlite3_close(db_);
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
}

Status StateDirectory::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : sqlite_error(db_);
    sqlite3_free(err);
    return Status::error(message);
  }
  return Status::ok();
}

Status StateDirectory::run(sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  std::string error = rc == SQLITE_DONE ? std::string() : sqlite_error(db_);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return error.empty() ? Status::ok() : Status::error(error);
}

std::optional<Durability> parse_durability(const std::string& name) {
  if (name == "power-loss") return Durability::PowerLoss;
  if (name == "kill") return Durability::Kill;
  return std::nullopt;
}

Result<std::unique_ptr<StateDirectory>> StateDirectory::open(const fs::path& dir,
                                                             Durability durability) {
  const std::string refuse = "--state-dir " + dir.string() + ": ";
  std::error_code ec;
  // Created owner-only from the start (mkdir 0700), never wider and narrowed afterwards.
  if (auto s = ensure_private_directory(dir); !s) return Status::error(refuse + s.message());
  std::unique_ptr<StateDirectory> sd(new StateDirectory());
  sd->dir_ = dir;

  // One emulator per directory: two writers would each believe their copy is the state.
  const fs::path lock_path = dir / kLock;
  sd->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (sd->lock_fd_ < 0)
    return Status::error(refuse + "cannot open " + lock_path.string() + ": " +
                         std::strerror(errno));
  if (flock(sd->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    std::string holder;
    std::ifstream(lock_path) >> holder;
    return Status::error(refuse + "is in use by another cmk-emulator" +
                         (holder.empty() ? std::string() : " (pid " + holder + ")") +
                         ": give each emulator its own state directory");
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(sd->lock_fd_, 0) != 0 ||
      pwrite(sd->lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return Status::error(refuse + "cannot write " + lock_path.string());

  const fs::path db_path = dir / kDatabase;
  const bool exists = fs::exists(db_path, ec) && fs::file_size(db_path, ec) > 0;
  int format = kStateFormat;
  if (exists) {
    auto verified = verify_existing(db_path);
    if (!verified)
      return Status::error(refuse + verified.status().message() +
                           " Nothing in the directory was changed.");
    format = verified.value();
  } else {
    // Owner-only from the first byte; SQLite gives its -wal and -shm files the same mode.
    int fd = ::open(db_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return Status::error(refuse + "cannot create " + db_path.string() + ": " +
                           std::strerror(errno));
    fchmod(fd, 0600);
    close(fd);
  }
  if (sqlite3_open_v2(db_path.c_str(), &sd->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    return Status::error(refuse + "cannot open " + db_path.string() + ": " + sqlite_error(sd->db_));
  sqlite3_busy_timeout(sd->db_, 5000);
  // - locking_mode=EXCLUSIVE: the flock above already makes this the only process on the file,
  //   so SQLite need not lock and unlock it around every transaction (six fcntl calls a
  //   commit), and keeps its WAL index in memory (no -shm file).
  // - synchronous=FULL: a commit's WAL frames are fsynced before it returns; NORMAL (Durability::
  //   Kill) leaves them to the OS, so the last commits are lost on power loss, not on kill -9.
  // - wal_autocheckpoint=128 pages (512 KiB): the WAL is folded into the database and restarts
  //   from its beginning often, so commits overwrite blocks the file already has; appending
  //   makes each fsync write the file's size too (measured here: 0.50 against 0.27 ms).
  const char* synchronous =
      durability == Durability::PowerLoss ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  for (const char* pragma : {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL",
                             synchronous, "PRAGMA wal_autocheckpoint=128"})
    if (auto s = sd->exec(pragma); !s) return Status::error(refuse + s.message());
  if (!exists) {
    // One transaction: a crash while creating leaves an empty file, which counts as new.
    if (auto s = sd->exec(
            "BEGIN IMMEDIATE;"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE rows (section TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,"
            "  PRIMARY KEY (section, key)) WITHOUT ROWID;"
            "INSERT INTO meta VALUES ('format', '2'), ('application', 'cmk-emulator');"
            "COMMIT;");
        !s)
      return Status::error(refuse + "cannot initialise " + db_path.string() + ": " + s.message());
  } else {
    if (format == 1) {
      static_assert(kStateFormat == 2, "upgrade format 1 to the current format");
      if (auto s = sd->exec("BEGIN IMMEDIATE;"
                            "ALTER TABLE rows DROP COLUMN stamp;"
                            "UPDATE meta SET value = '2' WHERE key = 'format';"
                            "COMMIT;");
          !s) {
        sd->exec("ROLLBACK");
        return Status::error(refuse + "cannot upgrade " + db_path.string() +
                             " from state format 1: " + s.message());
      }
      sd->upgraded_from_ = 1;
    }
    query(sd->db_, "SELECT 1 FROM rows LIMIT 1", [&](const auto&) { sd->has_state_ = true; });
  }
  // Prepared once: a commit is on every write's path.
  const std::pair<sqlite3_stmt**, const char*> statements[] = {
      {&sd->begin_, "BEGIN IMMEDIATE"},
      {&sd->commit_, "COMMIT"},
      {&sd->rollback_, "ROLLBACK"},
      {&sd->put_,
       "INSERT INTO rows (section, key, doc) VALUES (?1, ?2, ?3) "
       "ON CONFLICT (section, key) DO UPDATE SET doc = ?3"},
      {&sd->del_, "DELETE FROM rows WHERE section = ?1 AND key = ?2"},
  };
  for (const auto& [stmt, sql] : statements)
    if (sqlite3_prepare_v3(sd->db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK)
      return Status::error(refuse + "cannot prepare \"" + sql + "\": " + sqlite_error(sd->db_));
  return sd;
}

Result<json> StateDirectory::load() {
  std::lock_guard lock(mu_);
  std::map<std::string, SectionRows> by_section;
  Status s = query(db_, "SELECT section, key, doc FROM rows ORDER BY section, key",
                   [&](const std::vector<std::string>& c) {
                     SectionRows& sec = by_section[c[0]];
                     sec.section = c[0];
                     auto text = std::make_shared<const std::string>(c[2]);
                     sec.rows.push_back({c[1], text});
                     written_[c[0]][c[1]] = text;
                   });
  if (!s) return Status::error(dir_.string() + "/" + kDatabase + ": " + s.message());
  std::vector<SectionRows> sections;
  for (auto& [name, sec] : by_section) sections.push_back(std::move(sec));
  return assemble(sections, true);
}

Status StateDirectory::commit(const StateStores& stores, bool force) {
  if (!force && state_signature(stores) == committed_signature_.load(std::memory_order_acquire))
    return Status::ok();
  std::lock_guard lock(mu_);
  // A full pass (the first commit, after the state was replaced, after a failed commit) reads
  // every row and (re)starts the stores' change logs; after it, a commit reads only the rows
  // the logs name, so its cost follows the write, not the size of the state.
  const bool full = force || !following_;
  if (full) {
    seen_ = SeenState{};
    track_changes(stores);
  }
  // Read before collecting: a change made while collecting moves the signature past this value,
  // so the next commit looks again.
  const uint64_t signature = state_signature(stores);
  const std::vector<SectionRows> sections = collect_sections(stores, true, seen_, !full);

  std::vector<Upsert> upserts;
  std::vector<std::pair<std::string, std::string>> deletes;
  for (const auto& sec : sections) {
    auto& on_disk = written_[sec.section];
    for (const auto& row : sec.rows) {
      auto it = on_disk.find(row.key);
      if (it == on_disk.end() || *it->second != *row.text) upserts.push_back({&sec.section, &row});
    }
    if (sec.partial) {
      for (const auto& key : sec.removed)
        if (on_disk.count(key)) deletes.emplace_back(sec.section, key);
      continue;
    }
    for (const auto& [key, text] : on_disk)  // every row is listed: the others are gone
      if (!std::binary_search(sec.rows.begin(), sec.rows.end(), key,
                              [](const auto& a, const auto& b) { return key_of(a) < key_of(b); }))
        deletes.emplace_back(sec.section, key);
  }

  if (!upserts.empty() || !deletes.empty()) {
    if (auto s = write(upserts, deletes); !s) {
      // What the change logs named is not on disk: the next commit looks at everything.
      following_ = false;
      return s;
    }
    ++transactions_;
    rows_written_ += upserts.size() + deletes.size();
    for (const auto& u : upserts) written_[*u.section][u.row->key] = u.row->text;
    for (const auto& [section, key] : deletes) written_[section].erase(key);
    has_state_ = true;
  }
  following_ = true;
  for (const auto& sec : sections) seen_.revisions[sec.section] = sec.revision;
  committed_signature_.store(signature, std::memory_order_release);
  return Status::ok();
}

Status StateDirectory::write(const std::vector<Upsert>& upserts,
                             const std::vector<std::pair<std::string, std::string>>& deletes) {
  auto failed = [&](const Status& why) {
    run(rollback_);  // fails harmlessly when the transaction did not start or already ended
    return Status::error("saving the state to " + (dir_ / kDatabase).string() +
                         " failed: " + why.message());
  };
  auto text = [](sqlite3_stmt* stmt, int i, const std::string& value) {
    sqlite3_bind_text(stmt, i, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  };
  if (auto s = run(begin_); !s) return failed(s);
  for (const auto& u : upserts) {
    text(put_, 1, *u.section);
    text(put_, 2, u.row->key);
    text(put_, 3, *u.row->text);
    if (auto s = run(put_); !s) return failed(s);
  }
  for (const auto& [section, key] : deletes) {
    text(del_, 1, section);
    text(del_, 2, key);
    if (auto s = run(del_); !s) return failed(s);
  }
  if (auto s = run(commit_); !s) return failed(s);
  return Status::ok();
}

}  // namespace cmk::state
