#include "common/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace cmk {

namespace fs = std::filesystem;

namespace {
Status file_error(const fs::path& file, std::string_view problem) {
  return Status::error(file.string() + ": " + std::string(problem));
}

Status errno_error(const fs::path& file, std::string_view what, int err) {
  return file_error(file, std::string(what) + ": " + std::strerror(err));
}

// Best effort: makes renames in `dir` durable. Some file systems refuse fsync on a folder.
void sync_directory(const fs::path& dir) {
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}
}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int UniqueFd::close() { return ::close(std::exchange(fd_, -1)); }

Result<std::optional<std::string>> read_file(const fs::path& file, size_t max_bytes) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return errno_error(file, "cannot open", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_error(file, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return file_error(file, "not a regular file");
  if (static_cast<size_t>(st.st_size) > max_bytes) return file_error(file, "too large");
  std::string content(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::read(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(file, "cannot read", errno);
    if (n == 0) break;  // shrank since fstat
    done += static_cast<size_t>(n);
  }
  content.resize(done);
  return std::optional<std::string>(std::move(content));
}

Status write_file_atomically(const fs::path& file, std::string_view content, mode_t mode) {
  fs::path tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  // A leftover from an interrupted run may have other permissions: O_EXCL refuses to reuse it.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return errno_error(tmp, "cannot remove stale temporary file", errno);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) return errno_error(tmp, "cannot create", errno);
  auto fail = [&](std::string_view what, int err) {
    fd.reset();
    ::unlink(tmp.c_str());
    return errno_error(tmp, what, err);
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write", errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync", errno);
  if (fd.close() != 0) return fail("cannot close", errno);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error(file, "cannot replace with " + tmp.filename().string(), err);
  }
  sync_directory(file.parent_path());
  return Status::ok();
}

Status ensure_private_directory(const fs::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode) ? Status::ok() : file_error(dir, "not a directory");
  if (errno != ENOENT) return errno_error(dir, "cannot stat", errno);
  std::error_code ec;
  if (dir.has_parent_path()) fs::create_directories(dir.parent_path(), ec);
  if (ec) return file_error(dir.parent_path(), "cannot create folder: " + ec.message());
  // EEXIST: another process won the race, which is fine as long as it made a folder.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error(dir, "cannot create folder", errno);
  if (::stat(dir.c_str(), &st) != 0) return errno_error(dir, "cannot stat", errno);
  return S_ISDIR(st.st_mode) ? Status::ok() : file_error(dir, "not a directory");
}

Result<UniqueFd> lock_file(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EROFS || errno == EACCES) return UniqueFd();
    return errno_error(file, "cannot open lock file", errno);
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error(file, "cannot lock", errno);
  }
  return fd;
}

}  // namespace cmk
