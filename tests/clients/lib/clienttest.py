"""Helpers for the Python scenarios (run on /usr/bin/python3 by run_client_test.sh, which has
exported the proxy-mode environment and the CMK_* variables)."""
import base64
import json
import os
import re
import sys

ENV = os.environ
TENANT = ENV["CMK_TENANT"]
SP_APP_ID = ENV["CMK_SP_APP_ID"]
SP_OBJECT_ID = ENV["CMK_SP_OBJECT_ID"]
SP_SECRET = ENV["CMK_SP_SECRET"]
HTTP_PORT = int(ENV["CMK_HTTP_PORT"])
HTTPS_PORT = int(ENV["CMK_HTTPS_PORT"])
V1_ISSUER = f"https://sts.windows.net/{TENANT}/"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def b64url_decode(seg):
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def header_and_claims(token):
    parts = token.split(".")
    expect(len(parts) == 3, f"access token is not a JWS compact token ({len(parts)} parts)")
    return json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))


def check_claims(token, **expected):
    """Asserts claim == value for each keyword; returns the claims."""
    header, c = header_and_claims(token)
    expect(header.get("alg") == "RS256", f"alg is {header.get('alg')!r}")
    for k, v in expected.items():
        expect(c.get(k) == v, f"claim {k} is {c.get(k)!r}, expected {v!r}; claims: {json.dumps(c)}")
    expect(isinstance(c.get("exp"), int) and isinstance(c.get("iat"), int) and c["exp"] > c["iat"],
           f"exp/iat: {c.get('exp')!r}/{c.get('iat')!r}")
    return c


def access_log():
    with open(ENV["CMK_EMULATOR_LOG"], encoding="utf-8") as f:
        return f.read()


def expect_request(method, url_prefix, status):
    """The emulator's access log shows `method url_prefix...` answered with `status`."""
    pat = re.compile(r" " + re.escape(method) + r" " + re.escape(url_prefix) + r"\S* -> " + str(status) + r" ")
    expect(pat.search(access_log()), f"no '{method} {url_prefix}... -> {status}' in the emulator's access log:\n"
           + access_log()[-3000:])


def host_identity():
    """The managed identity the emulator's MSI endpoints speak for (GET /_emulator/msi)."""
    import urllib.request
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{HTTP_PORT}/_emulator/msi", timeout=30) as r:
        resolved = json.load(r).get("resolved")
    expect(resolved and resolved.get("clientId") and resolved.get("principalId"), f"GET /_emulator/msi: {resolved}")
    return resolved


def check_managed_identity_token(token, aud):
    """A managed-identity token: the host identity's ids, the tenant, the v1 issuer."""
    mi = host_identity()
    return check_claims(token, aud=aud, tid=TENANT, iss=V1_ISSUER, idtyp="app", oid=mi["principalId"],
                        appid=mi["clientId"], xms_mirid=mi["resourceId"])


def resolve_to_loopback(hostname):
    """Makes `hostname` resolve to 127.0.0.1 in this process only. It stands in for the /etc/hosts
    line a user adds for endpoint mode (`127.0.0.1 kv1.vault.localhost`, docs/clients.md), which a test
    cannot add hermetically: Debian resolves no *.vault.localhost name by itself. Every other name
    resolves as usual, and nothing else in the client changes."""
    import socket
    real = socket.getaddrinfo
    wanted = hostname.lower()

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        return real("127.0.0.1" if isinstance(name, str) and name.lower() == wanted else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def bypass_proxy_for(hostname):
    """Endpoint mode: `hostname` is reached directly, as NO_PROXY already makes localhost and
    127.0.0.1. HTTPS_PROXY stays set, so a stray request for a real Azure host still lands on the
    emulator's front door and shows up (only_loopback_requests, the runner's refusal check)."""
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(filter(None, [os.environ.get(var, ""), hostname]))


def only_loopback_requests(*allowed_hosts):
    """Endpoint mode must not touch the real Azure host names (the proxy would serve them, so the
    refusal check alone would not notice): every request in the access log went to localhost,
    127.0.0.1 or one of `allowed_hosts`."""
    hosts = {"localhost", "127.0.0.1", *[h.lower() for h in allowed_hosts]}
    seen = set(re.findall(r" (?:GET|POST|PUT|PATCH|DELETE|HEAD) https?://([^/: ]+)", access_log()))
    expect(seen <= hosts, f"endpoint mode reached other hosts: {sorted(seen - hosts)}")


def admin(method, path, body=None):
    """The emulator's admin API (not through the proxy): /_emulator/<path>; returns parsed JSON."""
    import urllib.request
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{HTTP_PORT}/_emulator/{path}", method=method, data=data,
                                 headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=30) as r:
        expect(r.status == 200, f"{method} /_emulator/{path}: {r.status}")
        return json.load(r)


def journal(**filters):
    """The journal's records matching the filters (GET /_emulator/requests), oldest first."""
    import urllib.parse
    return admin("GET", "requests?" + urllib.parse.urlencode({"limit": 1000, **filters}))["value"]
