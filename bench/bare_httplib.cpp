// The yardstick for bench/run: the smallest HTTPS server cpp-httplib allows, configured with the
// same socket options the emulator uses, answering GET /_emulator/health with a fixed JSON body.
// Usage: bare-httplib <cert.pem> <key.pem> <port>
#include <httplib.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <cert.pem> <key.pem> <port>\n", argv[0]);
    return 2;
  }
  httplib::SSLServer svr(argv[1], argv[2]);
  if (!svr.is_valid()) {
    std::fprintf(stderr, "bad certificate or key\n");
    return 1;
  }
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(100000);
  svr.Get("/_emulator/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok","version":"bare","uptime_s":0})", "application/json");
  });
  std::printf("ready\n");
  std::fflush(stdout);
  return svr.listen("127.0.0.1", std::atoi(argv[3])) ? 0 : 1;
}
