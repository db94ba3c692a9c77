// CONNECT parsing of the proxy front door (http/front_door.h): the target of the head and the
// host and port of the authority, as the decision to tunnel or refuse reads them.
#include <catch2/catch.hpp>

#include "http/front_door.h"

using namespace cmk::http;

TEST_CASE("connect_target: the target of a CONNECT head", "[http][proxy]") {
  REQUIRE(connect_target("CONNECT kv1.vault.azure.net:443 HTTP/1.1\r\nHost: x\r\n\r\n") ==
          "kv1.vault.azure.net:443");
  REQUIRE(connect_target("CONNECT host:443\r\n\r\n") == "host:443");  // no version
  REQUIRE(connect_target("CONNECT  HTTP/1.1\r\n\r\n").empty());
  REQUIRE(connect_target("GET / HTTP/1.1\r\n\r\n").empty());
}

TEST_CASE("parse_connect_authority: host and port", "[http][proxy]") {
  auto a = parse_connect_authority("Management.Azure.com:443");
  REQUIRE(a);
  REQUIRE(a->host == "management.azure.com");
  REQUIRE(a->port == 443);
  auto v6 = parse_connect_authority("[::1]:8443");
  REQUIRE(v6);
  REQUIRE(v6->host == "::1");
  REQUIRE(v6->port == 8443);
  for (const char* bad : {"", "host", "host:", ":443", "host:0", "host:65536", "host:443x",
                          "host:99999999999", "[]:443"})
    REQUIRE_FALSE(parse_connect_authority(bad));
}
