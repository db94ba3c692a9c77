// One keep-alive connection's byte stream and request loop, in place of cpp-httplib's own.
//
// cpp-httplib (Debian's 0.11 build) makes a new socket stream, with a new read buffer, for each
// request of a connection, and waits for the socket to turn readable before the next one. The
// second of two requests sent in one write (pipelining, RFC 9112 §9.3.2) is then already in the
// discarded buffer and is never answered. Here the stream, and what it has read ahead, lives as
// long as the connection, so pipelined requests are answered in order; TLS records decrypted
// ahead are kept the same way.
//
// The loop also makes the connection visible to the code that serves a request on it
// (current_connection()): fault injection resets that socket, and the error handler tells a
// body that never arrived (408) from a malformed request (400).
//
// Internal to the listeners (server.cpp): this header includes cpp-httplib.
#pragma once

#include <httplib.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <string>
#include <type_traits>

namespace cmk::http {

// Seconds a started request may stall between bytes (request line, headers, body) before the
// connection gives up on it. A body that was announced and never comes is answered 408 then.
constexpr int kRequestStallTimeoutSeconds = 10;

class ConnectionStream final : public httplib::Stream {
 public:
  // `ssl` is null on a plain connection; the stream does not own either handle.
  ConnectionStream(int fd, SSL* ssl, int read_timeout_s, int write_timeout_s);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

  // Bytes received (and for TLS, decrypted) but not yet consumed: the start of a next request.
  bool has_read_ahead() const;
  // Waits up to `timeout_ms` for a next request to start; false when the peer closed or went
  // quiet, or `stop` turned true (checked every 100 ms).
  template <class StopFlag>
  bool await_next_request(int timeout_ms, const StopFlag& stop) const;
  // Whether a read of the current request ran out of time (reset per request).
  bool read_timed_out() const { return read_timed_out_; }
  // Ends the connection once the current response is written: after a request whose body was
  // not read to its end, the bytes that follow are no next request.
  void close_after_response() { close_after_response_ = true; }
  bool closing() const { return close_after_response_ || read_timed_out_; }
  void begin_request() { read_timed_out_ = false; }

 private:
  bool wait_for(short events, int timeout_ms) const;
  bool poll_readable(int timeout_ms) const;

  int fd_;
  SSL* ssl_;
  int read_timeout_ms_, write_timeout_ms_;
  char buffer_[16 * 1024];
  size_t begin_ = 0, end_ = 0;
  bool read_timed_out_ = false;
  bool close_after_response_ = false;
};

// The connection the calling thread is serving a request on, or null outside a request.
ConnectionStream* current_connection();

namespace detail {
void set_current_connection(ConnectionStream* stream);
// Puts SO_RCVTIMEO/SO_SNDTIMEO on the socket, so that no blocking call on it (the TLS handshake,
// a partial TLS record) waits longer than the stall timeout.
void bound_blocking_calls(int fd, int seconds);
SSL* tls_accept(SSL_CTX* ctx, int fd);
void tls_close(SSL* ssl, bool gracefully);
}  // namespace detail

template <class StopFlag>
bool ConnectionStream::await_next_request(int timeout_ms, const StopFlag& stop) const {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (has_read_ahead()) return true;
    if (stop()) return false;
    if (poll_readable(std::min(100, timeout_ms - waited))) return true;
  }
  return has_read_ahead();
}

// A cpp-httplib server (plain or TLS) whose connections run through ConnectionStream.
template <class Server>
class PipeliningServer final : public Server {
 public:
  using Server::Server;

 private:
  bool process_and_close_socket(int sock) override {
    detail::bound_blocking_calls(sock, kRequestStallTimeoutSeconds);
    SSL* ssl = nullptr;
    if constexpr (std::is_base_of_v<httplib::SSLServer, Server>) {
      ssl = detail::tls_accept(this->ssl_context(), sock);
      if (!ssl) {
        ::shutdown(sock, SHUT_RDWR);
        ::close(sock);
        return false;
      }
    }
    bool ok = serve(sock, ssl);
    if (ssl) detail::tls_close(ssl, ok);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  bool serve(int sock, SSL* ssl) {
    ConnectionStream stream(sock, ssl, static_cast<int>(this->read_timeout_sec_),
                            static_cast<int>(this->write_timeout_sec_));
    const auto stopping = [this] { return this->svr_sock_ == INVALID_SOCKET; };
    bool ok = false;
    for (size_t left = this->keep_alive_max_count_; left > 0; --left) {
      if (!stream.await_next_request(static_cast<int>(this->keep_alive_timeout_sec_) * 1000,
                                     stopping))
        break;
      bool closed = false;
      stream.begin_request();
      detail::set_current_connection(&stream);
      ok = this->process_request(stream, /*close_connection=*/left == 1, closed, nullptr);
      detail::set_current_connection(nullptr);
      if (!ok || closed || stream.closing()) break;
    }
    return ok;
  }
};

}  // namespace cmk::http
