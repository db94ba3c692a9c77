#include "http/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cmk::http {

namespace {

thread_local ConnectionStream* t_current = nullptr;

void address_of(const sockaddr_storage& a, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    port = ntohs(v6.sin6_port);
  } else {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    port = ntohs(v4.sin_port);
  }
  ip = text;
}

}  // namespace

ConnectionStream* current_connection() {
  return t_current;
}

namespace detail {

void set_current_connection(ConnectionStream* stream) {
  t_current = stream;
}

void bound_blocking_calls(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

SSL* tls_accept(SSL_CTX* ctx, int fd) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return nullptr;
  // The socket's receive timeout bounds a handshake that stalls.
  if (SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

void tls_close(SSL* ssl, bool gracefully) {
  if (gracefully) SSL_shutdown(ssl);
  SSL_free(ssl);
}

}  // namespace detail

ConnectionStream::ConnectionStream(int fd, SSL* ssl, int read_timeout_s, int write_timeout_s)
    : fd_(fd),
      ssl_(ssl),
      read_timeout_ms_(std::max(read_timeout_s, 1) * 1000),
      write_timeout_ms_(std::max(write_timeout_s, 1) * 1000) {}

bool ConnectionStream::wait_for(short events, int timeout_ms) const {
  pollfd p{fd_, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

bool ConnectionStream::poll_readable(int timeout_ms) const {
  if (ssl_ && SSL_pending(ssl_) > 0) return true;
  return wait_for(POLLIN, timeout_ms);
}

bool ConnectionStream::has_read_ahead() const {
  return begin_ < end_ || (ssl_ && SSL_pending(ssl_) > 0);
}

bool ConnectionStream::is_readable() const {
  return begin_ < end_ || poll_readable(read_timeout_ms_);
}

bool ConnectionStream::is_writable() const {
  return wait_for(POLLOUT, write_timeout_ms_);
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  // cpp-httplib reads the request line and headers one byte per call: served from the buffer
  // without a memcpy call, since a bearer token alone is over a thousand of them per request.
  if (size == 1 && begin_ < end_) {
    *ptr = buffer_[begin_++];
    return 1;
  }
  if (begin_ == end_) {
    if (!poll_readable(read_timeout_ms_)) {
      read_timed_out_ = true;
      return -1;
    }
    ssize_t n;
    if (ssl_) {
      n = SSL_read(ssl_, buffer_, sizeof buffer_);
      if (n <= 0) {
        const int err = SSL_get_error(ssl_, static_cast<int>(n));
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        if (err == SSL_ERROR_WANT_READ || errno == EAGAIN) read_timed_out_ = true;
        return -1;
      }
    } else {
      do {
        n = ::recv(fd_, buffer_, sizeof buffer_, 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
    }
    begin_ = 0;
    end_ = static_cast<size_t>(n);
  }
  const size_t take = std::min(size, end_ - begin_);
  std::memcpy(ptr, buffer_ + begin_, take);
  begin_ += take;
  return static_cast<ssize_t>(take);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  if (ssl_) {
    // One TLS record at most per call, as cpp-httplib's own stream does.
    const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 16 * 1024)));
    return n > 0 ? n : -1;
  }
  ssize_t n;
  do {
    n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) address_of(a, ip, port);
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) address_of(a, ip, port);
}

}  // namespace cmk::http
