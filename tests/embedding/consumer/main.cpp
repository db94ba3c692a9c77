// The consumer: runs an Emulator in this process on free ports, asks its health endpoint (HTTP)
// and makes a verified TLS connection to its HTTPS listener with its CA, stops it; then starts
// the cmk-emulator binary its build found (CMK_EMULATOR_BINARY), reads its ready line and asks
// the same of it. Prints one line per step; exits non-zero on the first failure.
//   consumer [WORK_DIR]     (certificates go under WORK_DIR; default: a fresh temporary folder)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "emulator.h"

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "consumer: " << what << std::endl;
  std::exit(1);
}

// GET /_emulator/health on the admin (HTTP) port; returns the version it reports.
std::string health(int http_port) {
  httplib::Client c("127.0.0.1", http_port);
  c.set_connection_timeout(5);
  c.set_read_timeout(10);
  auto r = c.Get("/_emulator/health");
  if (!r) fail("no answer from http://127.0.0.1:" + std::to_string(http_port) + "/_emulator/health");
  if (r->status != 200) fail("health answered " + std::to_string(r->status) + ": " + r->body);
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (!body.is_object() || body.value("status", "") != "ok") fail("health said " + r->body);
  return body.value("version", "");
}

// A TLS handshake to the HTTPS port verified against the emulator's CA (any status will do).
int https_status(int https_port, const fs::path& ca_file) {
  httplib::SSLClient c("localhost", https_port);
  c.set_ca_cert_path(ca_file.string());
  c.enable_server_certificate_verification(true);
  c.set_connection_timeout(5);
  c.set_read_timeout(10);
  auto r = c.Get("/_emulator/health");
  if (!r) fail("no verified TLS answer from https://localhost:" + std::to_string(https_port) + " (" +
               httplib::to_string(r.error()) + ")");
  return r->status;
}

void in_process(const fs::path& work) {
  cmk::EmulatorOptions opts;
  opts.https_port = 0;  // any free ports
  opts.http_port = 0;
  opts.certs_dir = work / "certs";
  opts.log_level = cmk::LogLevel::Warn;
  opts.rsa_key_pool_size = 0;
  cmk::Emulator emu(opts);
  if (auto s = emu.start(); !s) fail("Emulator::start: " + s.message());
  const std::string version = health(emu.http_port());
  const int status = https_status(emu.https_port(), emu.ca_file());
  std::cout << "in process: https_port " << emu.https_port() << ", http_port " << emu.http_port()
            << ", health ok (version " << version << "), TLS verified (status " << status << ")"
            << std::endl;
  emu.stop();
}

void binary(const fs::path& work) {
  const std::string exe = CMK_EMULATOR_BINARY;
  int out[2];
  if (pipe(out) != 0) fail("pipe");
  const std::string certs = (work / "certs").string();
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(exe.c_str(), exe.c_str(), "--https-port", "0", "--http-port", "0", "--certs-dir",
          certs.c_str(), "--log-level", "warn", "--key-pool-size", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[4096];
  if (!f || !std::fgets(line, sizeof line, f)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    fail(exe + " printed no ready line");
  }
  auto ready = nlohmann::json::parse(line, nullptr, false);
  if (!ready.is_object() || ready.value("event", "") != "ready") {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    fail(exe + " printed " + line);
  }
  const int https_port = ready.value("https_port", 0);
  const int http_port = ready.value("http_port", 0);
  const std::string version = health(http_port);
  const int status = https_status(https_port, ready.value("ca_file", ""));
  kill(pid, SIGTERM);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  std::fclose(f);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) fail(exe + " did not stop cleanly on SIGTERM");
  std::cout << "binary " << exe << ": https_port " << https_port << ", http_port " << http_port
            << ", health ok (version " << version << "), TLS verified (status " << status
            << "), stopped on SIGTERM" << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  fs::path work;
  if (argc > 1) {
    work = argv[1];
  } else {
    std::string tmpl = (fs::temp_directory_path() / "cmk-consumer-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) fail("mkdtemp");
    work = tmpl;
  }
  fs::create_directories(work);
  in_process(work);
  binary(work);
  if (argc <= 1) fs::remove_all(work);
  return 0;
}
