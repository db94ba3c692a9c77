// The registry of running emulators (runtime/instance_registry.h), the choice `cmk-emulator env`
// makes among them (runtime/instance_choice.h), what env prints (runtime/env_command.h) and the
// proxy-mode environment itself (runtime/proxy_environment.h).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "runtime/env_command.h"
#include "runtime/instance_choice.h"
#include "runtime/instance_registry.h"
#include "runtime/proxy_environment.h"
#include "test_support.h"

namespace fs = std::filesystem;
using cmk::runtime::InstanceRegistry;
using cmk::runtime::RunningInstance;

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// A pid that was a process a moment ago and is not any more (reaped).
int dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return static_cast<int>(child);
}

RunningInstance instance(int http_port, const std::string& started, const std::string& ca) {
  RunningInstance i = cmk::runtime::this_process("127.0.0.1", http_port + 1, http_port, ca);
  i.started = started;
  return i;
}

std::string value_of(const std::string& exports, const std::string& name) {
  std::istringstream in(exports);
  std::string line;
  const std::string prefix = "export " + name + "='";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return line.substr(prefix.size(), line.size() - prefix.size() - 1);
  return "<unset>";
}

}  // namespace

TEST_CASE("the registry folder is per user, under XDG_RUNTIME_DIR or /tmp", "[runtime]") {
  CHECK(cmk::runtime::registry_folder("/run/user/1000", 1000) ==
        "/run/user/1000/cmk-emulator-1000");
  CHECK(cmk::runtime::registry_folder(nullptr, 1000) == "/tmp/cmk-emulator-1000");
  CHECK(cmk::runtime::registry_folder("", 0) == "/tmp/cmk-emulator-0");
  // A relative value is not a place every shell agrees on.
  CHECK(cmk::runtime::registry_folder("run", 7) == "/tmp/cmk-emulator-7");
}

TEST_CASE("a registered emulator is listed with what it registered, owner-only", "[runtime]") {
  cmk::test::TempDir dir;
  InstanceRegistry registry(dir.path() / "cmk-emulator-test");
  RunningInstance me = cmk::runtime::this_process("127.0.0.1", 8443, 8080, "/x/certs/ca.pem");
  REQUIRE(me.pid == ::getpid());
  REQUIRE(me.process_start > 0);
  REQUIRE(registry.add(me));

  CHECK(mode_of(registry.folder()) == 0700);
  const fs::path entry = registry.folder() / (std::to_string(me.pid) + ".json");
  CHECK(mode_of(entry) == 0600);

  auto live = registry.live();
  REQUIRE(live);
  REQUIRE(live->size() == 1);
  const RunningInstance& got = live->front();
  CHECK(got.pid == me.pid);
  CHECK(got.host == "127.0.0.1");
  CHECK(got.https_port == 8443);
  CHECK(got.http_port == 8080);
  CHECK(got.ca_file == "/x/certs/ca.pem");
  CHECK(got.started == me.started);
  CHECK(got.process_start == me.process_start);
  CHECK(got.network_namespace == me.network_namespace);

  registry.remove(me.pid);
  CHECK_FALSE(fs::exists(entry));
  REQUIRE(registry.live()->empty());
}

TEST_CASE("no registry folder means no emulators, not an error", "[runtime]") {
  cmk::test::TempDir dir;
  auto live = InstanceRegistry(dir.path() / "never-made").live();
  REQUIRE(live);
  CHECK(live->empty());
}

TEST_CASE("entries of dead processes are dropped and deleted", "[runtime]") {
  cmk::test::TempDir dir;
  InstanceRegistry registry(dir.path() / "reg");
  RunningInstance dead = instance(8080, "2024-01-01T00:00:00.000Z", "/a/ca.pem");
  dead.pid = dead_pid();
  dead.process_start = 0;
  REQUIRE(registry.add(dead));
  // A pid taken over by another process: this one's pid, another start time.
  RunningInstance reused = instance(8081, "2024-01-01T00:00:01.000Z", "/b/ca.pem");
  reused.process_start += 1;
  const fs::path reused_entry = registry.folder() / (std::to_string(reused.pid) + ".json");
  REQUIRE(registry.add(reused));

  auto live = registry.live();
  REQUIRE(live);
  CHECK(live->empty());
  CHECK_FALSE(fs::exists(registry.folder() / (std::to_string(dead.pid) + ".json")));
  CHECK_FALSE(fs::exists(reused_entry));
}

TEST_CASE("a zombie is dead; a live process with its own start time is alive", "[runtime]") {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  // Not reaped yet: kill(pid, 0) still succeeds once it has exited. Wait for the exit without
  // reaping it (WNOWAIT), so the check sees the zombie.
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);
  CHECK_FALSE(cmk::runtime::process_alive(child, 0));
  int status = 0;
  ::waitpid(child, &status, 0);

  RunningInstance me = cmk::runtime::this_process("127.0.0.1", 1, 2, "/ca.pem");
  CHECK(cmk::runtime::process_alive(me.pid, me.process_start));
  CHECK(cmk::runtime::process_alive(me.pid, 0));
  CHECK_FALSE(cmk::runtime::process_alive(me.pid, me.process_start + 1));
}

TEST_CASE("entries of another network namespace are neither listed nor deleted", "[runtime]") {
  cmk::test::TempDir dir;
  InstanceRegistry registry(dir.path() / "reg");
  if (cmk::runtime::current_network_namespace().empty()) {
    WARN("/proc/self/ns/net is unreadable: nothing to tell namespaces apart by");
    return;
  }
  RunningInstance elsewhere = instance(8080, "2024-01-01T00:00:00.000Z", "/a/ca.pem");
  elsewhere.network_namespace = "net:[1]";
  REQUIRE(registry.add(elsewhere));
  auto live = registry.live();
  REQUIRE(live);
  CHECK(live->empty());
  CHECK(fs::exists(registry.folder() / (std::to_string(elsewhere.pid) + ".json")));
}

TEST_CASE("the registry lists oldest first and skips what is not an entry", "[runtime]") {
  cmk::test::TempDir dir;
  InstanceRegistry registry(dir.path() / "reg");
  REQUIRE(registry.add(instance(8080, "2024-01-01T00:00:02.000Z", "/a/ca.pem")));
  // Entries are named by pid, so a second live one needs a live pid of its own: the parent.
  RunningInstance parent = instance(9090, "2024-01-01T00:00:01.000Z", "/b/ca.pem");
  parent.pid = static_cast<int>(::getppid());
  parent.process_start = 0;
  REQUIRE(registry.add(parent));
  std::ofstream(registry.folder() / "notes.txt") << "not an entry";
  std::ofstream(registry.folder() / "1.json") << "{\"pid\": ";  // damaged; pid 1 is alive
  const int gone = dead_pid();
  const fs::path damaged_dead = registry.folder() / (std::to_string(gone) + ".json");
  std::ofstream(damaged_dead) << "[]";

  auto live = registry.live();
  REQUIRE(live);
  REQUIRE(live->size() == 2);
  CHECK((*live)[0].http_port == 9090);
  CHECK((*live)[1].http_port == 8080);
  CHECK(fs::exists(registry.folder() / "notes.txt"));
  CHECK(fs::exists(registry.folder() / "1.json"));
  CHECK_FALSE(fs::exists(damaged_dead));
}

TEST_CASE("a registry folder others may write to is refused", "[runtime]") {
  cmk::test::TempDir dir;
  const fs::path folder = dir.path() / "reg";
  InstanceRegistry registry(folder);
  REQUIRE(registry.add(instance(8080, "2024-01-01T00:00:00.000Z", "/a/ca.pem")));
  fs::permissions(folder, fs::perms::all);  // 0777, as a folder someone else made in /tmp
  auto live = registry.live();
  REQUIRE_FALSE(live);
  CHECK_THAT(live.error(), Catch::Contains("writable by others"));
  CHECK_FALSE(registry.add(instance(8080, "2024-01-01T00:00:00.000Z", "/a/ca.pem")));

  // Nor is a symlink to a folder followed.
  const fs::path link = dir.path() / "link";
  fs::permissions(folder, fs::perms::owner_all, fs::perm_options::replace);
  fs::create_directory_symlink(folder, link);
  CHECK_FALSE(InstanceRegistry(link).live());
}

TEST_CASE("env's choice: the flags narrow, this folder's CA is preferred, the newest wins",
          "[runtime]") {
  using cmk::runtime::choose_instance;
  using cmk::runtime::InstanceQuery;
  const RunningInstance a = instance(8080, "2024-01-01T00:00:01.000Z", "/here/certs/ca.pem");
  const RunningInstance b = instance(9090, "2024-01-01T00:00:02.000Z", "/there/certs/ca.pem");
  const RunningInstance c = instance(7070, "2024-01-01T00:00:03.000Z", "/else/certs/ca.pem");
  InstanceQuery anywhere;
  anywhere.local_ca_file = "/nowhere/certs/ca.pem";

  SECTION("none running") {
    auto choice = choose_instance({}, anywhere);
    CHECK_FALSE(choice.chosen);
    CHECK(choice.notes.empty());
  }
  SECTION("one running: it, quietly") {
    auto choice = choose_instance({a}, anywhere);
    REQUIRE(choice.chosen);
    CHECK(choice.chosen->http_port == 8080);
    CHECK(choice.notes.empty());
  }
  SECTION("several: the newest, and the note names the others") {
    auto choice = choose_instance({a, b, c}, anywhere);
    REQUIRE(choice.chosen);
    CHECK(choice.chosen->http_port == 7070);
    REQUIRE(choice.notes.size() == 1);
    CHECK_THAT(choice.notes[0], Catch::Contains("3 emulators") && Catch::Contains("newest") &&
                                    Catch::Contains("http port 8080") &&
                                    Catch::Contains("http port 9090"));
  }
  SECTION("several: the one whose CA is this folder's certs/ca.pem, though older") {
    InstanceQuery here = anywhere;
    here.local_ca_file = "/here/certs/ca.pem";
    auto choice = choose_instance({a, b, c}, here);
    REQUIRE(choice.chosen);
    CHECK(choice.chosen->http_port == 8080);
    REQUIRE(choice.notes.size() == 1);
    CHECK_THAT(choice.notes[0], Catch::Contains("this folder's certs/ca.pem"));
  }
  SECTION("--http-port picks, and overrides the folder preference") {
    InstanceQuery q = anywhere;
    q.local_ca_file = "/here/certs/ca.pem";
    q.http_port = 9090;
    auto choice = choose_instance({a, b, c}, q);
    REQUIRE(choice.chosen);
    CHECK(choice.chosen->ca_file == "/there/certs/ca.pem");
    CHECK(choice.notes.empty());
  }
  SECTION("--certs-dir and --https-port pick too") {
    InstanceQuery q = anywhere;
    q.ca_file = "/there/certs/./ca.pem";
    CHECK(choose_instance({a, b, c}, q).chosen->http_port == 9090);
    InstanceQuery r = anywhere;
    r.https_port = 7071;
    CHECK(choose_instance({a, b, c}, r).chosen->http_port == 7070);
  }
  SECTION("flags nothing matches: none, and a note naming what runs") {
    InstanceQuery q = anywhere;
    q.http_port = 1234;
    auto choice = choose_instance({a, b}, q);
    CHECK_FALSE(choice.chosen);
    REQUIRE(choice.notes.size() == 1);
    CHECK_THAT(choice.notes[0],
               Catch::Contains("--http-port 1234") && Catch::Contains("http port 9090"));
  }
}

TEST_CASE("env prints a running emulator's exports, from any folder", "[runtime]") {
  cmk::test::TempDir dir;
  const fs::path ca = dir.path() / "certs" / "ca.pem";
  fs::create_directories(ca.parent_path());
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
  InstanceRegistry registry(dir.path() / "reg");
  REQUIRE(registry.add(instance(41234, "2024-01-01T00:00:00.000Z", ca.string())));

  cmk::runtime::EnvRequest request;
  request.registry_folder = registry.folder();
  request.default_certs_dir = dir.path() / "elsewhere";
  std::ostringstream out, err;
  CHECK(cmk::runtime::print_env(request, out, err) == 0);
  CHECK(value_of(out.str(), "HTTPS_PROXY") == "http://127.0.0.1:41234");
  CHECK(value_of(out.str(), "https_proxy") == "http://127.0.0.1:41234");
  for (const char* name :
       {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"})
    CHECK(value_of(out.str(), name) == ca.string());
  CHECK(err.str().empty());
}

TEST_CASE("env with nothing running follows the flags and warns of a missing CA", "[runtime]") {
  cmk::test::TempDir dir;
  cmk::runtime::EnvRequest request;
  request.registry_folder = dir.path() / "reg";
  request.default_certs_dir = dir.path() / "certs";
  request.http_port = 18080;
  std::ostringstream out, err;
  CHECK(cmk::runtime::print_env(request, out, err) == 0);
  CHECK(value_of(out.str(), "HTTPS_PROXY") == "http://127.0.0.1:18080");
  const std::string ca = (dir.path() / "certs" / "ca.pem").string();
  CHECK(value_of(out.str(), "CURL_CA_BUNDLE") == ca);
  CHECK_THAT(err.str(), Catch::StartsWith("cmk-emulator env: warning: the CA file " + ca +
                                          " does not exist") &&
                            Catch::Contains("no emulator is running"));

  // Once the CA is there, no warning.
  fs::create_directories(dir.path() / "certs");
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
  std::ostringstream out2, err2;
  cmk::runtime::print_env(request, out2, err2);
  CHECK(err2.str().empty());
}

TEST_CASE("the proxy environment names the proxy and the CA for every runtime", "[runtime]") {
  auto env = cmk::runtime::proxy_environment("::", 8080, "/c/ca.pem");
  std::map<std::string, std::string> m(env.begin(), env.end());
  CHECK(m.at("HTTPS_PROXY") == "http://[::1]:8080");
  CHECK(m.at("https_proxy") == "http://[::1]:8080");
  CHECK(m.at("NO_PROXY") == "localhost,127.0.0.1,::1");
  CHECK(m.at("no_proxy") == m.at("NO_PROXY"));
  for (const char* name :
       {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"})
    CHECK(m.at(name) == "/c/ca.pem");
  // A preset SSL_CERT_DIR is left alone: the CA files above are read besides it.
  CHECK(m.count("SSL_CERT_DIR") == 0);
  CHECK(cmk::runtime::http_listener_url("0.0.0.0", 80) == "http://127.0.0.1:80");
  CHECK(cmk::runtime::shell_quote("it's") == "'it'\\''s'");
}
