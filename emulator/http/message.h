// The emulator's own request and response types. Surfaces see these, never cpp-httplib's, so
// the domain code and its tests do not depend on the transport.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cmk::http {

// ASCII case-insensitive order of header names. Transparent: lookups by string_view take no
// copy of the name.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};
using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;

// The header the emulator's own requests carry (a CMK cluster reaching Key Vault through the
// emulator's endpoints): its value is the caller's ARM id. The access log and the journal show
// it, so such calls are told apart from clients'.
inline constexpr const char* kEmulatorCallerHeader = "x-ms-emulator-caller";

// Which emulated service a request reached. Decides routing and the shape of error bodies.
enum class Surface { Arm, Login, KeyVault, Msi, Admin };
const char* surface_name(Surface s);

// Which listener the request came in on.
enum class Listener { Https, Http };

// Who a validated bearer token speaks for, as the authentication filter left it for handlers
// (ARM authorisation, Key Vault access policies, the journal).
struct Principal {
  std::string tenant_id;               // tid
  std::string object_id;               // oid
  std::string app_id;                  // appid (v1) or azp (v2)
  std::string xms_mirid;               // managed identities only: the identity's ARM resource id
  std::string idtyp;                   // "app" for app-only tokens
  std::string audience;                // the aud that matched
  std::string issuer;                  // iss
  std::vector<std::string> audiences;  // every aud of the token, in its order
};

struct Request {
  std::string method;      // upper case as sent
  std::string host;        // lower case, without port (from Host, or the absolute-form target)
  int port = 0;            // from Host; the default port of the scheme when absent
  std::string authority;   // host[:port] exactly as the client addressed us
  std::string path;        // percent-decoded, leading "//" collapsed, no query
  std::string raw_target;  // origin-form target as received ("/path?query"), undecoded
  std::vector<std::string> segments;  // path split on '/', empty segments dropped
  bool trailing_slash = false;
  // Query parameters, names and values percent-decoded ("api%2Dversion" -> "api-version").
  std::vector<std::pair<std::string, std::string>> query;
  Headers headers;
  std::string body;
  Listener listener = Listener::Https;
  Surface surface = Surface::Arm;
  // Set for Surface::KeyVault on vault hosts: the first label of the host. Empty for Key Vault
  // paths on a loopback host (https://localhost:<port>/keys/...), where the keys API chooses.
  std::string vault_name;

  std::chrono::steady_clock::time_point received_at = std::chrono::steady_clock::now();

  // Set by the request-id filter.
  std::string request_id;
  std::string correlation_id;
  // Set by the bearer authentication filter once the token validated; empty on surfaces and
  // paths that take no token.
  std::optional<Principal> principal;
  // Set by the fault filter when a rule acted on this request: "<rule name>: <action>" (the
  // journal records it).
  std::string fault_applied;

  std::optional<std::string> query_param(std::string_view name) const;  // case-insensitive name
  std::optional<std::string> header(std::string_view name) const;
  // The same without a copy: a view into `headers`, valid while the header is not changed.
  std::optional<std::string_view> header_view(std::string_view name) const;
  bool has_header(std::string_view name) const { return header(name).has_value(); }
  // "https://host[:port]" as the client addressed us: base for absolute URLs we hand back.
  std::string base_url() const;
};

// What the listener does to the connection instead of (or while) answering: set by the fault
// filter. Callers inside the process (Emulator::handle) just see the response, which is a 503
// for Reset and Hang.
struct TransportFault {
  enum class Kind { Reset, Hang, Truncate };
  Kind kind = Kind::Reset;
  double hang_max_s = 300;  // Hang: close after this long if the client has not given up
  double fraction = 0.5;    // Truncate: share of the body sent before the connection closes
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  std::optional<TransportFault> transport_fault;

  void set_header(const std::string& name, const std::string& value);
  std::optional<std::string> header(std::string_view name) const;
  void set_json(int status, const std::string& body);
};

// Splits "a=1&b=%20" into decoded pairs; '+' means space only in form bodies (`plus_is_space`).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view text,
                                                             bool plus_is_space = false);
std::string percent_decode(std::string_view s, bool plus_is_space = false);
std::string percent_encode(std::string_view s);  // RFC 3986 unreserved kept as is
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

}  // namespace cmk::http
