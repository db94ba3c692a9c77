// The yardstick for bench/run: the smallest HTTPS server cpp-httplib allows, configured with the
// same socket options the emulator uses, answering every GET with a fixed JSON body: by default
// the emulator's health document, or the contents of <body file>, so a comparison can pay for
// the same response size (a Kusto cluster's JSON) on both sides.
// Usage: bare-httplib <cert.pem> <key.pem> <port> [body file]
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s <cert.pem> <key.pem> <port> [body file]\n", argv[0]);
    return 2;
  }
  std::string body = R"({"status":"ok","version":"bare","uptime_s":0})";
  if (argc == 5) {
    std::ifstream in(argv[4], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[4]);
      return 1;
    }
    std::ostringstream text;
    text << in.rdbuf();
    body = text.str();
  }
  httplib::SSLServer svr(argv[1], argv[2]);
  if (!svr.is_valid()) {
    std::fprintf(stderr, "bad certificate or key\n");
    return 1;
  }
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(100000);
  svr.Get("/.*", [&body](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
  std::printf("ready\n");
  std::fflush(stdout);
  return svr.listen("127.0.0.1", std::atoi(argv[3])) ? 0 : 1;
}
