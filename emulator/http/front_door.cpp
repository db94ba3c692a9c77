#include "http/front_door.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "http/host_routing.h"
#include "http/message.h"

namespace cmk::http {

namespace {

constexpr size_t kMaxHead = 16 * 1024;
constexpr int kHeadTimeoutMs = 30'000;
constexpr int kIdleTimeoutMs = 10 * 60'000;

bool send_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int connect_to(const FrontDoor::Target& t) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(t.host.c_str(), std::to_string(t.port).c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

// Copies bytes both ways until both directions are closed, an error occurs, or the connection
// sits idle too long. A half-close on one side is passed on to the other.
void relay(int a, int b) {
  char buf[16 * 1024];
  bool a_open = true, b_open = true;
  while (a_open || b_open) {
    pollfd fds[2] = {{a, static_cast<short>(a_open ? POLLIN : 0), 0},
                     {b, static_cast<short>(b_open ? POLLIN : 0), 0}};
    int n = ::poll(fds, 2, kIdleTimeoutMs);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t r = ::recv(from, buf, sizeof buf, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (r < 0) {
          // Reset: pass it on (the caller's close() then sends RST, not FIN), so a client sees
          // the reset a fault rule asked the listener for.
          linger hard{1, 0};
          setsockopt(to, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
          return;
        }
        ::shutdown(to, SHUT_WR);
        (i == 0 ? a_open : b_open) = false;
        continue;
      }
      if (!send_all(to, buf, static_cast<size_t>(r))) return;
    }
  }
}

}  // namespace

std::optional<ConnectAuthority> parse_connect_authority(const std::string& authority) {
  size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon + 1 >= authority.size()) return std::nullopt;
  ConnectAuthority out;
  out.host = authority.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  out.host = to_lower(out.host);
  try {
    size_t used = 0;
    out.port = std::stoi(authority.substr(colon + 1), &used);
    if (used == authority.size() - colon - 1 && out.port > 0 && out.port < 65536 &&
        !out.host.empty())
      return out;
  } catch (...) {
  }
  return std::nullopt;
}

std::string connect_target(const std::string& head) {
  static constexpr std::string_view kConnect = "CONNECT ";
  if (head.compare(0, kConnect.size(), kConnect) != 0) return {};
  const std::string line = head.substr(0, head.find("\r\n"));
  const size_t sp = line.find(' ', kConnect.size());
  return line.substr(kConnect.size(),
                     sp == std::string::npos ? std::string::npos : sp - kConnect.size());
}

Result<int> FrontDoor::bind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return Status::error("cannot resolve listen address '" + host + "': " + gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // A deep backlog: a burst of connections (CI jobs starting together) waits, never retries.
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      listen_fd_ = fd;
      break;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(res);
  if (listen_fd_ < 0)
    return Status::error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                         last_error);
  return port_;
}

void FrontDoor::start(Target https, Target http) {
  https_ = std::move(https);
  http_ = std::move(http);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void FrontDoor::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(wake_fd_, &one, sizeof one);
  }
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::unique_lock lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    idle_cv_.wait(lock, [this] { return live_connections_ == 0; });
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

std::vector<FrontDoor::Refusal> FrontDoor::refusals() const {
  std::lock_guard lock(mu_);
  return {refusals_.begin(), refusals_.end()};
}

void FrontDoor::track(int fd, bool add) {
  std::lock_guard lock(mu_);
  if (add) {
    open_fds_.insert(fd);
    // A connection accepted while stopping must not outlive stop().
    if (stopping_) ::shutdown(fd, SHUT_RDWR);
  } else {
    open_fds_.erase(fd);
  }
}

void FrontDoor::accept_loop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_.error(std::string("proxy listener poll failed: ") + std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    {
      std::lock_guard lock(mu_);
      ++live_connections_;
    }
    std::thread([this, client] {
      track(client, true);
      serve(client);
      track(client, false);
      ::close(client);
      std::lock_guard lock(mu_);
      if (--live_connections_ == 0) idle_cv_.notify_all();
    }).detach();
  }
}

void FrontDoor::serve(int client) {
  // Read enough to tell a CONNECT from a plain request; for CONNECT, the whole head.
  std::string head;
  char buf[4096];
  static constexpr std::string_view kConnect = "CONNECT ";
  for (;;) {
    const bool maybe_connect = head.size() < kConnect.size()
                                   ? kConnect.substr(0, head.size()) == head
                                   : std::string_view(head).substr(0, kConnect.size()) == kConnect;
    if (!maybe_connect) break;
    if (head.size() >= kConnect.size() && head.find("\r\n\r\n") != std::string::npos) break;
    if (head.size() > kMaxHead) return;
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, kHeadTimeoutMs) <= 0) return;
    ssize_t r = ::recv(client, buf, sizeof buf, 0);
    if (r <= 0) return;
    head.append(buf, static_cast<size_t>(r));
  }

  if (head.compare(0, kConnect.size(), kConnect) != 0) {
    int upstream = connect_to(http_);
    if (upstream < 0) {
      log_.error("proxy: internal HTTP server unreachable");
      return;
    }
    track(upstream, true);
    if (send_all(upstream, head.data(), head.size())) relay(client, upstream);
    track(upstream, false);
    ::close(upstream);
    return;
  }

  const std::string target = connect_target(head);
  const auto authority = parse_connect_authority(target);
  const bool azure = authority && authority->port == 443 && is_served_azure_host(authority->host);
  const bool self =
      authority && authority->port == https_.port && is_loopback_host(authority->host);
  if (!azure && !self) {
    refuse(client, target);
    return;
  }
  int upstream = connect_to(https_);
  if (upstream < 0) {
    log_.error("proxy: HTTPS listener unreachable");
    return;
  }
  track(upstream, true);
  log_.debug("proxy: CONNECT " + target);
  static constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
  const std::string early = head.substr(head.find("\r\n\r\n") + 4);  // bytes sent ahead (TLS hello)
  if (send_all(client, kEstablished.data(), kEstablished.size()) &&
      send_all(upstream, early.data(), early.size())) {
    relay(client, upstream);
  }
  track(upstream, false);
  ::close(upstream);
}

void FrontDoor::refuse(int client, const std::string& target) {
  // The target is the client's bytes: cut on a character boundary, invalid sequences replaced.
  const std::string shown = utf8_prefix(target, 256);
  log_.warn("proxy: refused CONNECT to '" + shown +
            "': not an Azure host this emulator serves (nothing was sent to it)");
  {
    std::lock_guard lock(mu_);
    refusals_.push_back({shown, std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count()});
    if (refusals_.size() > 1000) refusals_.pop_front();
  }
  refusal_count_.fetch_add(1);
  nlohmann::json body = {
      {"error",
       {{"code", "HostNotServed"},
        {"message", "cmk-emulator refused to tunnel to '" + shown +
                        "': it serves only login.microsoftonline.com, login.windows.net, "
                        "management.azure.com, management.core.windows.net and "
                        "*.vault.azure.net on port 443. Add the host to NO_PROXY if it should "
                        "be reached directly."}}}};
  const std::string text = json_text(body);
  const std::string resp =
      "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json; "
      "charset=utf-8\r\nConnection: close\r\nContent-Length: " +
      std::to_string(text.size()) + "\r\n\r\n" + text;
  send_all(client, resp.data(), resp.size());
}

}  // namespace cmk::http
