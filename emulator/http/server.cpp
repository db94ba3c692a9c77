#include "http/server.h"

#include <httplib.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "common/openssl_util.h"
#include "common/utf8.h"
#include "http/connection.h"
#include "http/error_bodies.h"
#include "http/host_routing.h"

namespace cmk::http {

namespace {

// A task queue that grows with demand. cpp-httplib runs each connection, keep-alive included, on
// one task; its fixed pool of 8 threads would make the ninth idle keep-alive client wait. Threads
// are created when no idle one is free and leave after a minute of idleness.
class ElasticTaskQueue final : public httplib::TaskQueue {
 public:
  explicit ElasticTaskQueue(size_t keep_idle) : keep_idle_(keep_idle) {}
  ~ElasticTaskQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(fn));
    // Every queued job needs its own thread: a job is a whole keep-alive connection.
    if (jobs_.size() > idle_) {
      ++threads_;
      // Detached: a thread that retires after idling must not leave an unjoined handle behind.
      std::thread([this] { work(); }).detach();
    } else {
      cv_.notify_one();
    }
  }

  // Waits until every queued and running task has finished and every thread has left.
  void shutdown() override {
    std::unique_lock lock(mu_);
    shut_ = true;
    cv_.notify_all();
    done_cv_.wait(lock, [this] { return threads_ == 0; });
  }

 private:
  void work() {
    std::unique_lock lock(mu_);
    for (;;) {
      ++idle_;
      const bool woke =
          cv_.wait_for(lock, std::chrono::seconds(60), [this] { return shut_ || !jobs_.empty(); });
      --idle_;
      if (!jobs_.empty()) {
        auto fn = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        fn();
        lock.lock();
        continue;
      }
      if (shut_ || (!woke && threads_ > keep_idle_)) break;
    }
    if (--threads_ == 0) done_cv_.notify_all();
  }

  const size_t keep_idle_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0;
  size_t idle_ = 0;
  bool shut_ = false;
};

// How many connections may wait to be accepted. cpp-httplib (Debian builds it as a shared
// library, so its compile-time settings are fixed) listens with a backlog of 5: a burst of 1 000
// connects then takes tens of seconds of SYN retries.
constexpr int kListenBacklog = 1024;

// cpp-httplib's default socket options set SO_REUSEPORT, which lets a second emulator bind the
// same port and the kernel split connections between the two. SO_REUSEADDR alone still lets a
// restart reuse a port in TIME_WAIT. The socket is remembered in `*fd` so that the backlog can be
// raised once it listens (listen() again on a listening socket only changes the backlog).
void exclusive_socket_options(httplib::Server& svr, const std::shared_ptr<int>& fd) {
  svr.set_socket_options([fd](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *fd = sock;
  });
}

void configure(httplib::Server& svr, size_t max_body) {
  svr.new_task_queue = [] { return new ElasticTaskQueue(4); };
  svr.set_tcp_nodelay(true);             // else each keep-alive response waits ~40 ms
  svr.set_keep_alive_max_count(100000);  // default 5 would close busy connections
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(kRequestStallTimeoutSeconds, 0);
  svr.set_payload_max_length(max_body);
}

std::string host_without_port(const std::string& authority, int& port, int default_port) {
  port = default_port;
  if (authority.empty()) return {};
  if (authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string::npos) return to_lower(authority);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = std::atoi(authority.c_str() + close + 2);
    return to_lower(authority.substr(1, close - 1));
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(':') == colon) {
    port = std::atoi(authority.c_str() + colon + 1);
    return to_lower(authority.substr(0, colon));
  }
  return to_lower(authority);
}

// Resets the connection without cpp-httplib's knowledge: with SO_LINGER 0 the last close of the
// socket sends RST, and that close happens here by putting /dev/null in its descriptor slot
// (the number stays taken, so cpp-httplib's own later close cannot hit a reused descriptor; its
// writes go nowhere and its next read sees end of file).
void reset_connection(int fd) {
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    ::shutdown(fd, SHUT_RDWR);
    return;
  }
  ::dup2(null_fd, fd);
  ::close(null_fd);
}

}  // namespace

void parse_target(Request& req, const std::string& target, const std::string& host_header,
                  int default_port) {
  std::string_view rest = target;
  std::string authority = host_header;
  // Absolute form ("GET http://127.0.0.1:8080/msi/token HTTP/1.1"), sent through a proxy.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (rest.size() > scheme.size() && iequals(rest.substr(0, scheme.size()), scheme)) {
      rest.remove_prefix(scheme.size());
      size_t slash = rest.find_first_of("/?");
      authority = std::string(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
      break;
    }
  }
  req.raw_target = std::string(rest);
  req.authority = authority;
  req.host = host_without_port(authority, req.port, default_port);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  if (q != std::string_view::npos) req.query = parse_query(rest.substr(q + 1));
  req.segments.clear();
  req.path.clear();
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) {
      req.segments.push_back(percent_decode(path.substr(pos, slash - pos)));
      req.path += "/" + req.segments.back();
    }
    pos = slash + 1;
  }
  req.trailing_slash = path.size() > 1 && path.back() == '/';
  if (req.path.empty()) req.path = "/";
}

Listeners::Listeners(Logger& log, Dispatcher dispatch)
    : log_(log), dispatch_(std::move(dispatch)), front_door_(log) {}

Listeners::~Listeners() {
  stop();
}

namespace {

Request request_from(const httplib::Request& in, Listener which) {
  Request req;
  req.method = in.method;
  req.listener = which;
  for (const auto& [k, v] : in.headers) req.headers.emplace(k, v);
  parse_target(req, in.target, in.get_header_value("Host"), which == Listener::Https ? 443 : 80);
  classify(req);
  return req;
}

void write_answer(Response res, httplib::Response& out) {
  out.status = res.status;
  std::string content_type = "application/json; charset=utf-8";
  for (const auto& [k, v] : res.headers) {
    if (iequals(k, "Content-Type")) {
      content_type = v;
      continue;
    }
    out.headers.emplace(k, v);
  }
  if (!res.body.empty() || res.header("Content-Type")) {
    out.set_content(std::move(res.body), content_type);
  } else if (res.status != 204 && res.status != 304 && !(res.status >= 100 && res.status < 200)) {
    out.set_header("Content-Length", "0");
  }
}

bool known_method(const std::string& m) {
  for (const char* k : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    if (m == k) return true;
  return false;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// How a request frames its body, judged before cpp-httplib reads it. cpp-httplib reads a request
// with neither Content-Length nor chunked encoding until the client closes (30 s for
// `curl -X POST`), where RFC 9112 says its body is empty; and for a Content-Length that is not a
// number or is over the limit it waits for, and discards, that many bytes.
enum class Framing { Normal, NoBody, BadLength, TooLarge };

Framing framing_of(const httplib::Request& in, size_t max_body) {
  if (in.has_header("Transfer-Encoding")) return Framing::Normal;
  if (!in.has_header("Content-Length"))
    return in.method == "POST" || in.method == "PUT" || in.method == "PATCH" ? Framing::NoBody
                                                                             : Framing::Normal;
  const std::string length = in.get_header_value("Content-Length");
  if (!all_digits(length)) return Framing::BadLength;
  return std::stoull(length) > max_body ? Framing::TooLarge : Framing::Normal;
}

}  // namespace

void Listeners::install_handlers(httplib::Server& svr, Listener which) {
  auto handler = [this, which](const httplib::Request& in, httplib::Response& out) {
    Request req = request_from(in, which);
    req.body = in.body;
    Response res = dispatch_(req);
    if (res.transport_fault) return disrupt(in, out, res, which);
    write_answer(std::move(res), out);
  };
  // Methods with a body read it through a content reader: cpp-httplib would otherwise parse a
  // body typed as a form into parameters and refuse one over 8 KB (its compiled-in form limit),
  // though every handler here reads the raw body, up to the emulator's own limit.
  auto reading_handler = [this, which](const httplib::Request& in, httplib::Response& out,
                                       const httplib::ContentReader& reader) {
    Request req = request_from(in, which);
    if (in.is_multipart_form_data()) {
      reader([](const httplib::MultipartFormData&) { return true; },
             [](const char*, size_t) { return true; });
      return write_answer(surface_error(req, 415, "UnsupportedMediaType",
                                        "No endpoint of this emulator takes multipart/form-data "
                                        "bodies."),
                          out);
    }
    // A failed read (over the limit, a broken chunk) leaves cpp-httplib's status for the error
    // handler to answer.
    if (!reader([&req](const char* data, size_t n) {
          req.body.append(data, n);
          return true;
        }))
      return;
    Response res = dispatch_(req);
    if (res.transport_fault) return disrupt(in, out, res, which);
    write_answer(std::move(res), out);
  };
  // One catch-all per method: routing by host and path is ours (router.h), not cpp-httplib's.
  svr.Get(".*", handler);
  svr.Post(".*", reading_handler);
  svr.Put(".*", reading_handler);
  svr.Patch(".*", reading_handler);
  svr.Delete(".*", handler);
  svr.Options(".*", handler);
  // Requests cpp-httplib rejects on its own (bad request line, unknown method, oversized body)
  // still get a JSON body in the shape of the surface they were aimed at.
  svr.set_error_handler([which](const httplib::Request& in, httplib::Response& out) {
    if (!out.body.empty()) return;
    // cpp-httplib's own refusals: the request could not be read to its end, so the connection
    // ends with this answer.
    ConnectionStream* connection = current_connection();
    if (connection) connection->close_after_response();
    Request req = request_from(in, which);
    std::string code = "BadRequest";
    std::string message =
        "The request could not be processed (HTTP " + std::to_string(out.status) + ").";
    if (out.status == 413) {
      code = "RequestEntityTooLarge";
      message = "The request body is larger than the emulator accepts.";
    } else if (connection && connection->read_timed_out()) {
      out.status = 408;
      code = "RequestTimeout";
      message = "The request stalled: no byte of it arrived for " +
                std::to_string(kRequestStallTimeoutSeconds) +
                " seconds (a body shorter than its Content-Length?).";
    } else if (out.status == 400 && known_method(in.method)) {
      message =
          "The request's headers or body could not be read (malformed header, broken "
          "chunked encoding, or a body shorter than its Content-Length).";
    } else if (out.status == 405 || out.status == 400) {
      message = "The request line or method '" + utf8_prefix(in.method, 64) + "' is not supported.";
    }
    Response res = surface_error(req, out.status, code, message);
    out.set_content(res.body, "application/json; charset=utf-8");
  });
  svr.set_exception_handler(
      [this](const httplib::Request& in, httplib::Response& out, std::exception_ptr) {
        log_.error("unhandled exception in the HTTP layer on " + utf8_prefix(in.method, 64) + " " +
                   utf8_prefix(in.path, 512));
        out.status = 500;
        out.set_content(R"({"error":{"code":"InternalServerError","message":"internal error"}})",
                        "application/json; charset=utf-8");
      });
}

Status Listeners::start(const ListenerOptions& opts, const TlsMaterial& tls) {
  if (started_) return Status::error("listeners already started");
  // The server key and certificate come from memory, never from a path the server re-reads.
  X509Ptr cert = parse_certificate_pem(tls.server_cert_pem);
  PkeyPtr key = parse_private_key_pem(tls.server_key_pem);
  if (!cert || !key) return Status::error("the server certificate or key could not be parsed");

  https_ = std::make_unique<PipeliningServer<httplib::SSLServer>>(cert.get(), key.get());
  if (!https_->is_valid()) return Status::error("TLS server could not be initialised");
  http_internal_ = std::make_unique<PipeliningServer<httplib::Server>>();
  configure(*https_, opts.max_body_bytes);
  configure(*http_internal_, opts.max_body_bytes);
  install_handlers(*https_, Listener::Https);
  install_handlers(*http_internal_, Listener::Http);
  // Requests cpp-httplib would frame wrongly are answered before it reads a body (framing_of):
  // one without a body at once, one with an unusable length with 400 or 413 at once.
  for (const Listener which : {Listener::Https, Listener::Http}) {
    httplib::Server* svr = which == Listener::Https ? https_.get() : http_internal_.get();
    const size_t max_body = opts.max_body_bytes;
    svr->set_pre_routing_handler(
        [this, which, max_body](const httplib::Request& in, httplib::Response& out) {
          const Framing framing = framing_of(in, max_body);
          if (framing == Framing::Normal) return httplib::Server::HandlerResponse::Unhandled;
          Request req = request_from(in, which);
          if (framing == Framing::NoBody) {
            Response res = dispatch_(req);
            if (res.transport_fault) {
              disrupt(in, out, res, which);
            } else {
              write_answer(std::move(res), out);
            }
            return httplib::Server::HandlerResponse::Handled;
          }
          const std::string length = utf8_prefix(in.get_header_value("Content-Length"), 32);
          const bool too_large = framing == Framing::TooLarge;
          log_.warn("refused " + utf8_prefix(in.method, 32) + " " + utf8_prefix(in.path, 256) +
                    ": Content-Length '" + length + "' " +
                    (too_large ? "is over the limit" : "is not a number"));
          write_answer(surface_error(req, too_large ? 413 : 400,
                                     too_large ? "RequestEntityTooLarge" : "InvalidContentLength",
                                     too_large ? "The request body is larger than the emulator "
                                                 "accepts (" +
                                                     std::to_string(max_body) + " bytes)."
                                               : "The Content-Length header must be a non-negative "
                                                 "decimal number (got '" +
                                                     length + "')."),
                       out);
          // The bytes after the headers are no next request: the connection ends here.
          out.set_header("Connection", "close");
          if (ConnectionStream* connection = current_connection())
            connection->close_after_response();
          return httplib::Server::HandlerResponse::Handled;
        });
  }
  const auto https_fd = std::make_shared<int>(-1), internal_fd = std::make_shared<int>(-1);
  exclusive_socket_options(*https_, https_fd);
  exclusive_socket_options(*http_internal_, internal_fd);

  if (opts.https_port == 0) {
    https_port_ = https_->bind_to_any_port(opts.host);
  } else {
    https_port_ = https_->bind_to_port(opts.host, opts.https_port) ? opts.https_port : -1;
  }
  if (https_port_ <= 0)
    return Status::error("cannot listen on " + opts.host + ":" + std::to_string(opts.https_port) +
                         " (HTTPS): address in use or not available");
  http_internal_port_ = http_internal_->bind_to_any_port("127.0.0.1");
  if (http_internal_port_ <= 0) return Status::error("cannot bind the internal HTTP listener");
  for (int fd : {*https_fd, *internal_fd})
    if (fd >= 0) ::listen(fd, kListenBacklog);
  auto bound = front_door_.bind(opts.host, opts.http_port);
  if (!bound) return Status::error(bound.error() + " (HTTP)");

  https_thread_ = std::thread([this] { https_->listen_after_bind(); });
  http_thread_ = std::thread([this] { http_internal_->listen_after_bind(); });
  // Connect to the HTTPS listener through its bound address, whatever wildcard it listens on.
  std::string https_target = opts.host;
  if (https_target == "0.0.0.0" || https_target == "localhost") https_target = "127.0.0.1";
  if (https_target == "::") https_target = "::1";
  front_door_.start({https_target, https_port_}, {"127.0.0.1", http_internal_port_});
  // The sockets already listen (connections queue in the backlog), but cpp-httplib's stop() is a
  // no-op until listen_after_bind() has marked the server running: wait for that, or an early
  // stop would leave a thread blocked in accept() forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!https_->is_running() || !http_internal_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      started_ = true;  // let stop() reclaim what did start
      return Status::error("the listeners did not start within 5 seconds");
    }
    std::this_thread::yield();
  }
  started_ = true;
  return Status::ok();
}

void Listeners::disrupt(const httplib::Request& in, httplib::Response& out, Response& res,
                        Listener which) {
  const TransportFault tf = *res.transport_fault;
  out.status = res.status;
  for (const auto& [k, v] : res.headers)
    if (!iequals(k, "Content-Type")) out.headers.emplace(k, v);
  const std::string type = res.header("Content-Type").value_or("application/json; charset=utf-8");
  if (tf.kind == TransportFault::Kind::Truncate) {
    // Content-Length promises the whole body; the provider sends part of it and gives up, so
    // cpp-httplib closes the connection mid-body.
    auto body = std::make_shared<std::string>(std::move(res.body));
    const size_t cut = static_cast<size_t>(static_cast<double>(body->size()) * tf.fraction);
    out.set_content_provider(body->size(), type,
                             [body, cut](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset < cut) sink.write(body->data() + offset, cut - offset);
                               return false;
                             });
    return;
  }
  (void)which;
  const ConnectionStream* connection = current_connection();
  const int fd = connection ? connection->socket() : -1;
  if (fd < 0) {
    log_.warn("fault injection: the connection of " + in.method + " " + in.path +
              " was not found; answering 503 instead");
    out.set_content(res.body, type);
    return;
  }
  if (tf.kind == TransportFault::Kind::Hang) {
    // Nothing is sent until the client gives up (closes), the rule's limit passes or the
    // emulator stops; then the connection is reset.
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(tf.hang_max_s * 1000));
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLRDHUP, 0};
      if (::poll(&p, 1, 200) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) break;
    }
  }
  reset_connection(fd);
}

void Listeners::stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  front_door_.stop();
  if (https_) https_->stop();
  if (http_internal_) http_internal_->stop();
  if (https_thread_.joinable()) https_thread_.join();
  if (http_thread_.joinable()) http_thread_.join();
}

}  // namespace cmk::http
