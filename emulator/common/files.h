// Careful file I/O for the emulator's own secrets and state: owner-only folders, atomic
// replacement, advisory locks. Errors are values naming the file and the problem.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace cmk {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  void reset();
  // Closes and reports the result, which matters after writes (NFS reports errors late).
  int close();

 private:
  int fd_;
};

// The content of a regular file, or nullopt when it does not exist. Larger than `max_bytes`
// is an error.
Result<std::optional<std::string>> read_file(const std::filesystem::path& file,
                                             size_t max_bytes = 1 << 20);

// Replaces `file` with `content` so that readers see the old or the new file, never a partial
// one, and the new one survives a crash (fsync of the file, then of the folder). The temporary
// file is created with `mode` (umask applies), so a key is never readable by others, not even
// for a moment.
Status write_file_atomically(const std::filesystem::path& file, std::string_view content,
                             mode_t mode);

// Creates `dir` owner-only (0700) unless it exists; parents get the default permissions.
Status ensure_private_directory(const std::filesystem::path& dir);

// An exclusive flock() on `lock_file` (created 0600), held until the returned descriptor goes
// away. flock() locks belong to the open file description, so this serialises threads of one
// process as well as processes. The lock file is never removed: unlinking it would let two
// callers lock different inodes. In a read-only folder (EROFS/EACCES) it returns an empty
// descriptor: reading needs no lock, and a write that is needed fails with its own message.
Result<UniqueFd> lock_file(const std::filesystem::path& lock_file);

}  // namespace cmk
