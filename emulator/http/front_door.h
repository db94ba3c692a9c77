// The plain-HTTP listener's front door.
//
// Every connection on the HTTP port lands here first:
// - `CONNECT host:443` for an Azure host the emulator serves (login, management, *.vault.azure.net),
//   or for a loopback name on the emulator's own HTTPS port, is answered
//   `200 Connection established` and tunnelled byte for byte to the HTTPS listener, which
//   terminates TLS with the emulator's certificate.
// - `CONNECT` to anything else is answered 403 with a JSON body naming the host, logged, and
//   recorded (refusals()), so nothing leaves the machine unnoticed.
// - Anything else is relayed unchanged to the internal plain-HTTP server (managed identity,
//   admin), which also understands absolute-form request targets sent through a proxy.
// One thread per connection; stop() closes every connection and waits for the threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/status.h"

namespace cmk::http {

// The authority a CONNECT names: "host:port" or "[v6]:port" -> the host (lower case, brackets
// dropped) and a port in 1..65535; nullopt when either is missing or unusable.
struct ConnectAuthority {
  std::string host;
  int port = 0;
};
std::optional<ConnectAuthority> parse_connect_authority(const std::string& authority);
// The target of a CONNECT head ("CONNECT kv1.vault.azure.net:443 HTTP/1.1\r\n..." ->
// "kv1.vault.azure.net:443"); "" when `head` is no CONNECT. Both are pure, for the front door
// and its tests.
std::string connect_target(const std::string& head);

class FrontDoor {
 public:
  struct Target {
    std::string host;  // numeric address to connect to
    int port = 0;
  };
  struct Refusal {
    std::string host;  // host:port as the client asked
    int64_t unix_time = 0;
  };

  explicit FrontDoor(Logger& log) : log_(log) {}
  ~FrontDoor() { stop(); }
  FrontDoor(const FrontDoor&) = delete;
  FrontDoor& operator=(const FrontDoor&) = delete;

  // Binds host:port (0 = any free port). Returns the bound port.
  Result<int> bind(const std::string& host, int port);
  // Starts accepting. `https` receives CONNECT tunnels, `http` everything else.
  void start(Target https, Target http);
  void stop();

  int port() const { return port_; }
  std::vector<Refusal> refusals() const;  // the most recent 1000
  uint64_t refusal_count() const { return refusal_count_.load(); }

 private:
  void accept_loop();
  void serve(int client_fd);
  void refuse(int client_fd, const std::string& target);
  void track(int fd, bool add);

  Logger& log_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that wakes the accept loop on stop
  int port_ = 0;
  Target https_, http_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::set<int> open_fds_;  // client and upstream sockets of live connections
  int live_connections_ = 0;
  std::deque<Refusal> refusals_;
  std::atomic<uint64_t> refusal_count_{0};
};

}  // namespace cmk::http
