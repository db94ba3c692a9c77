// The listeners: the HTTPS listener (ARM, login, vaults, admin) and the plain-HTTP port, whose
// front door (front_door.h) tunnels CONNECT to the HTTPS listener and relays everything else to
// an internal plain-HTTP server bound to loopback (managed identity, admin).
//
// Both httplib servers hand every request to one Dispatcher as an http::Request with its
// surface already classified (host_routing.h); the Dispatcher never sees cpp-httplib types.
#pragma once

#include <functional>
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/status.h"
#include "http/certificates.h"
#include "http/front_door.h"
#include "http/message.h"

namespace httplib {
class Server;
class SSLServer;
struct Request;
struct Response;
}  // namespace httplib

namespace cmk::http {

using Dispatcher = std::function<Response(Request&)>;

struct ListenerOptions {
  std::string host = "127.0.0.1";
  int https_port = 8443;  // 0 = any free port
  int http_port = 8080;   // 0 = any free port
  size_t max_body_bytes = 16 * 1024 * 1024;
};

class Listeners {
 public:
  Listeners(Logger& log, Dispatcher dispatch);
  ~Listeners();
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  // Binds all ports and starts serving; returns once every listener accepts connections.
  Status start(const ListenerOptions& opts, const TlsMaterial& tls);
  void stop();

  int https_port() const { return https_port_; }
  int http_port() const { return front_door_.port(); }
  const FrontDoor& front_door() const { return front_door_; }

 private:
  void install_handlers(httplib::Server& svr, Listener which);

  // Carries out a fault rule's transport action on the connection `in` arrived on (fault_filter.h).
  void disrupt(const httplib::Request& in, httplib::Response& out, Response& res, Listener which);

  Logger& log_;
  Dispatcher dispatch_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<httplib::SSLServer> https_;
  std::unique_ptr<httplib::Server> http_internal_;
  FrontDoor front_door_;
  std::thread https_thread_, http_thread_;
  int https_port_ = 0;
  int http_internal_port_ = 0;
  bool started_ = false;
};

// Converts a request target and Host into the emulator's Request fields: percent-decoded path
// segments, query names decoded, absolute-form targets ("http://host/path") split, leading "//"
// tolerated. Exposed for tests.
void parse_target(Request& req, const std::string& target, const std::string& host_header,
                  int default_port);

}  // namespace cmk::http
