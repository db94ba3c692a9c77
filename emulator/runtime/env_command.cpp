#include "runtime/env_command.h"

#include <system_error>

#include "runtime/instance_choice.h"
#include "runtime/instance_registry.h"
#include "runtime/proxy_environment.h"

namespace cmk::runtime {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

int print_env(const EnvRequest& request, std::ostream& out, std::ostream& err) {
  const char* prefix = "cmk-emulator env: ";
  auto ca_in = [](const fs::path& certs_dir) {
    return fs::absolute(certs_dir / "ca.pem").lexically_normal();
  };

  InstanceQuery query;
  query.http_port = request.http_port;
  query.https_port = request.https_port;
  if (request.certs_dir) query.ca_file = ca_in(*request.certs_dir);
  query.local_ca_file = ca_in(request.default_certs_dir);

  InstanceRegistry registry(request.registry_folder);
  std::optional<RunningInstance> chosen;
  size_t running = 0;
  if (auto live = registry.live(); !live) {
    err << prefix << "warning: cannot look for running emulators: " << live.error() << "\n";
  } else {
    InstanceChoice choice = choose_instance(*live, query);
    for (const auto& note : choice.notes) err << prefix << note << "\n";
    chosen = choice.chosen;
    running = live->size();
  }

  std::string host;
  int http_port = 0;
  fs::path ca_file;
  if (chosen) {
    host = request.host.value_or(chosen->host);
    http_port = chosen->http_port;
    ca_file = chosen->ca_file;
  } else {
    host = request.host.value_or(request.default_host);
    http_port = request.http_port.value_or(request.default_http_port);
    ca_file = request.certs_dir ? *query.ca_file : query.local_ca_file;
  }

  std::error_code ec;
  if (!fs::exists(ca_file, ec)) {
    err << prefix << "warning: the CA file " << ca_file.string() << " does not exist";
    if (chosen)
      err << " (named by the running emulator, pid " << chosen->pid
          << "; was its certificates folder removed?)";
    else
      err << (running == 0 ? "; no emulator is running (none is registered in " +
                                 request.registry_folder.string() + ")"
                           : std::string("; no running emulator matched"))
          << ". Start the emulator first (it makes its CA on first start), run env where it "
             "runs, or give --certs-dir its certificates folder";
    err << "\n";
  }

  for (const auto& [k, v] : proxy_environment(host, http_port, ca_file.string()))
    out << "export " << k << "=" << shell_quote(v) << "\n";
  return 0;
}

}  // namespace cmk::runtime
