#include "http/server.h"

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "common/openssl_util.h"
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
      const bool woke = cv_.wait_for(lock, std::chrono::seconds(60),
                                     [this] { return shut_ || !jobs_.empty(); });
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

void configure(httplib::Server& svr, size_t max_body) {
  svr.new_task_queue = [] { return new ElasticTaskQueue(4); };
  svr.set_tcp_nodelay(true);                // else each keep-alive response waits ~40 ms
  svr.set_keep_alive_max_count(100000);     // default 5 would close busy connections
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(30, 0);
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

Listeners::~Listeners() { stop(); }

void Listeners::install_handlers(httplib::Server& svr, Listener which) {
  const int default_port = which == Listener::Https ? 443 : 80;
  auto to_request = [which, default_port](const httplib::Request& in) {
    Request req;
    req.method = in.method;
    req.listener = which;
    for (const auto& [k, v] : in.headers) req.headers.emplace(k, v);
    parse_target(req, in.target, in.get_header_value("Host"), default_port);
    classify(req);
    return req;
  };
  auto handler = [this, to_request](const httplib::Request& in, httplib::Response& out) {
    Request req = to_request(in);
    req.body = in.body;
    Response res = dispatch_(req);
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
  };
  // One catch-all per method: routing by host and path is ours (router.h), not cpp-httplib's.
  svr.Get(".*", handler);
  svr.Post(".*", handler);
  svr.Put(".*", handler);
  svr.Patch(".*", handler);
  svr.Delete(".*", handler);
  svr.Options(".*", handler);
  // Requests cpp-httplib rejects on its own (bad request line, unknown method, oversized body)
  // still get a JSON body in the shape of the surface they were aimed at.
  svr.set_error_handler([to_request](const httplib::Request& in, httplib::Response& out) {
    if (!out.body.empty()) return;
    Request req = to_request(in);
    std::string message = "The request could not be processed (HTTP " +
                          std::to_string(out.status) + ").";
    if (out.status == 413) message = "The request body is larger than the emulator accepts.";
    if (out.status == 405 || out.status == 400)
      message = "The request line or method '" + in.method + "' is not supported.";
    Response res = surface_error(req, out.status, out.status == 413 ? "RequestEntityTooLarge"
                                                                     : "BadRequest",
                                 message);
    out.set_content(res.body, "application/json; charset=utf-8");
  });
  svr.set_exception_handler(
      [this](const httplib::Request& in, httplib::Response& out, std::exception_ptr) {
        log_.error("unhandled exception in the HTTP layer on " + in.method + " " + in.path);
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

  https_ = std::make_unique<httplib::SSLServer>(cert.get(), key.get());
  if (!https_->is_valid()) return Status::error("TLS server could not be initialised");
  http_internal_ = std::make_unique<httplib::Server>();
  configure(*https_, opts.max_body_bytes);
  configure(*http_internal_, opts.max_body_bytes);
  install_handlers(*https_, Listener::Https);
  install_handlers(*http_internal_, Listener::Http);

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

void Listeners::stop() {
  if (!started_) return;
  started_ = false;
  front_door_.stop();
  if (https_) https_->stop();
  if (http_internal_) http_internal_->stop();
  if (https_thread_.joinable()) https_thread_.join();
  if (http_thread_.joinable()) http_thread_.join();
}

}  // namespace cmk::http
