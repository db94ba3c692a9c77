#include "state/persistence.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace cmk::state {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kDatabase = "state.db";
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
// a checkpoint when it closes). Returns the problem, or ok.
Status verify_existing(const fs::path& db_path) {
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
  return Status::ok();
}

}  // namespace

StateDirectory::~StateDirectory() {
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

Result<std::unique_ptr<StateDirectory>> StateDirectory::open(const fs::path& dir) {
  const std::string refuse = "--state-dir " + dir.string() + ": ";
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Status::error(refuse + "cannot be created: " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  } else if (!fs::is_directory(dir, ec)) {
    return Status::error(refuse + "is not a directory");
  }
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
  if (exists) {
    if (auto s = verify_existing(db_path); !s)
      return Status::error(refuse + s.message() + " Nothing in the directory was changed.");
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
  // FULL: a commit's WAL frames are fsynced before it returns (NORMAL would lose the last
  // commits on power loss).
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"})
    if (auto s = sd->exec(pragma); !s) return Status::error(refuse + s.message());
  if (!exists) {
    // One transaction: a crash while creating leaves an empty file, which counts as new.
    if (auto s = sd->exec(
            "BEGIN IMMEDIATE;"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE rows (section TEXT NOT NULL, key TEXT NOT NULL, stamp TEXT NOT NULL,"
            "  doc TEXT NOT NULL, PRIMARY KEY (section, key)) WITHOUT ROWID;"
            "INSERT INTO meta VALUES ('format', '1'), ('application', 'cmk-emulator');"
            "COMMIT;");
        !s)
      return Status::error(refuse + "cannot initialise " + db_path.string() + ": " + s.message());
  } else {
    query(sd->db_, "SELECT 1 FROM rows LIMIT 1", [&](const auto&) { sd->has_state_ = true; });
  }
  return sd;
}

Result<json> StateDirectory::load() {
  std::lock_guard lock(mu_);
  std::map<std::string, SectionRows> by_section;
  Status s = query(db_, "SELECT section, key, stamp, doc FROM rows ORDER BY section, key",
                   [&](const std::vector<std::string>& c) {
                     SectionRows& sec = by_section[c[0]];
                     sec.section = c[0];
                     auto text = std::make_shared<const std::string>(c[3]);
                     sec.rows.push_back({c[1], c[2], text});
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
  if (force) seen_ = SeenState{};
  // Read before collecting: a change made while collecting moves the signature past this value,
  // so the next commit looks again.
  const uint64_t signature = state_signature(stores);
  std::vector<SectionRows> sections = collect_sections(stores, true, seen_);
  if (sections.empty()) {
    committed_signature_.store(signature, std::memory_order_release);
    return Status::ok();
  }

  struct Upsert {
    const std::string* section;
    const StateRow* row;
  };
  std::vector<Upsert> upserts;
  std::vector<std::pair<std::string, std::string>> deletes;
  for (const auto& sec : sections) {
    auto& on_disk = written_[sec.section];
    std::set<std::string> present;
    for (const auto& row : sec.rows) {
      present.insert(row.key);
      if (!row.text) continue;  // the stamp says: unchanged
      auto it = on_disk.find(row.key);
      if (it != on_disk.end() && *it->second == *row.text) continue;
      upserts.push_back({&sec.section, &row});
    }
    for (const auto& [key, text] : on_disk)
      if (!present.count(key)) deletes.emplace_back(sec.section, key);
  }

  if (!upserts.empty() || !deletes.empty()) {
    if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
    auto fail = [&](const std::string& what) {
      exec("ROLLBACK");
      return Status::error("saving the state to " + (dir_ / kDatabase).string() +
                           " failed: " + what);
    };
    sqlite3_stmt* put = nullptr;
    sqlite3_stmt* del = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO rows (section, key, stamp, doc) VALUES (?1, ?2, ?3, ?4) "
                           "ON CONFLICT (section, key) DO UPDATE SET stamp = ?3, doc = ?4",
                           -1, &put, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, "DELETE FROM rows WHERE section = ?1 AND key = ?2", -1, &del,
                           nullptr) != SQLITE_OK) {
      sqlite3_finalize(put);
      sqlite3_finalize(del);
      return fail(sqlite_error(db_));
    }
    bool ok = true;
    for (const auto& u : upserts) {
      sqlite3_bind_text(put, 1, u.section->data(), static_cast<int>(u.section->size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(put, 2, u.row->key.data(), static_cast<int>(u.row->key.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(put, 3, u.row->stamp.data(), static_cast<int>(u.row->stamp.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(put, 4, u.row->text->data(), static_cast<int>(u.row->text->size()),
                        SQLITE_STATIC);
      ok = ok && sqlite3_step(put) == SQLITE_DONE;
      sqlite3_reset(put);
    }
    for (const auto& [section, key] : deletes) {
      sqlite3_bind_text(del, 1, section.data(), static_cast<int>(section.size()), SQLITE_STATIC);
      sqlite3_bind_text(del, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
      ok = ok && sqlite3_step(del) == SQLITE_DONE;
      sqlite3_reset(del);
    }
    const std::string step_error = ok ? std::string() : sqlite_error(db_);
    sqlite3_finalize(put);
    sqlite3_finalize(del);
    if (!ok) return fail(step_error);
    if (auto s = exec("COMMIT"); !s) return fail(s.message());
    ++transactions_;
    for (const auto& u : upserts) written_[*u.section][u.row->key] = u.row->text;
    for (const auto& [section, key] : deletes) written_[section].erase(key);
    has_state_ = true;
  }
  for (const auto& sec : sections) {
    seen_.revisions[sec.section] = sec.revision;
    auto& stamps = seen_.stamps[sec.section];
    stamps.clear();
    for (const auto& row : sec.rows)
      if (!row.stamp.empty()) stamps[row.key] = row.stamp;
  }
  committed_signature_.store(signature, std::memory_order_release);
  return Status::ok();
}

}  // namespace cmk::state
