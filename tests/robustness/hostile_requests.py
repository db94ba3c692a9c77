"""Hostile and careless requests against the built binary: each must get a 4xx in the shape of the
surface it was aimed at, never kill the process, and never leave the admin API answering 500.
Each check is a regression test of one finding (issue "no request kills, wedges or empties the
emulator"); the process must still be alive after each, and stop cleanly at the end.

    python3 tests/robustness/hostile_requests.py build/cmk-emulator
"""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.abspath(sys.argv[1])
WORK = tempfile.mkdtemp(prefix="cmk-hostile.")
failures = []
checks = 0


def start():
    out, err = open(f"{WORK}/out", "w+"), open(f"{WORK}/err", "w+")
    proc = subprocess.Popen([BIN, "--https-port", "0", "--http-port", "0", "--certs-dir", f"{WORK}/certs",
                             "--log-level", "info", "--journal-bodies"], stdout=out, stderr=err)
    for _ in range(400):
        if os.path.getsize(f"{WORK}/out"):
            break
        if proc.poll() is not None:
            sys.exit(f"FAIL: the emulator exited before it was ready: {open(f'{WORK}/err').read()}")
        time.sleep(0.025)
    ready = json.loads(open(f"{WORK}/out").readline())
    return proc, ready["https_port"], ready["http_port"], ready["ca_file"]


PROC, HTTPS_PORT, HTTP_PORT, CA = start()


def raw(data, port=None, tls=False, read_timeout=5):
    """Sends bytes on a fresh connection; returns what came back before the peer closed or went
    quiet (a keep-alive connection stays open: whatever arrived within the timeout)."""
    sock = socket.create_connection(("127.0.0.1", port or HTTP_PORT), timeout=read_timeout)
    if tls:
        ctx = ssl.create_default_context(cafile=CA)
        sock = ctx.wrap_socket(sock, server_hostname="management.azure.com")
    sock.sendall(data)
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                head, _, body = got.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
    except socket.timeout:
        pass
    sock.close()
    return got


def status_and_json(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    return status, doc


def admin(path, method="GET"):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(f"http://127.0.0.1:{HTTP_PORT}/_emulator/{path}", method=method)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None


def check(name, cond, detail=""):
    global checks
    checks += 1
    alive = PROC.poll() is None
    journal_status, _ = admin("requests") if alive else (0, None)
    if cond and alive and journal_status == 200:
        print(f"ok   {name}")
        return
    why = [] if cond else [f"unexpected answer {detail}"]
    if not alive:
        why.append(f"the emulator died (exit {PROC.returncode})")
    elif journal_status != 200:
        why.append(f"GET /_emulator/requests then answers {journal_status}")
    failures.append(name)
    print(f"FAIL {name}: {'; '.join(why)}")
    if not alive:
        print(open(f"{WORK}/err").read()[-2000:])
        sys.exit(1)


# --- invalid UTF-8 in the request line, on both listeners
for tls, port, label in ((False, HTTP_PORT, "HTTP"), (True, HTTPS_PORT, "HTTPS")):
    s, doc = status_and_json(raw(b"\xff / HTTP/1.1\r\nHost: x\r\n\r\n", port, tls))
    check(f"invalid UTF-8 method on the {label} listener: 400 with a JSON body", s == 400 and doc is not None,
          f"{s} {doc}")

# --- CONNECT to host names the refusal must quote safely
s, doc = status_and_json(raw(b"CONNECT \xff\xfe.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n"))
check("CONNECT to an invalid UTF-8 host: 403 HostNotServed", s == 403 and doc and
      doc["error"]["code"] == "HostNotServed", f"{s} {doc}")
long_host = ("\u00e9" * 200 + ".example.com").encode()
s, doc = status_and_json(raw(b"CONNECT " + long_host + b":443 HTTP/1.1\r\nHost: x\r\n\r\n"))
check("CONNECT to a 400-byte multibyte host (the quote is cut inside a character): 403",
      s == 403 and doc and "\ufffd" not in doc["error"]["message"], f"{s} {doc}")
s, refusals = admin("proxy/refusals")
check("the refusals list answers after both", s == 200 and refusals["count"] == 2, f"{s} {refusals}")

# --- invalid UTF-8 in percent-decoded paths and in headers
for path in ("/_emulator/%ff", "/msi/%ff", "/subscriptions/%ff%fe"):
    s, doc = status_and_json(raw(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()))
    check(f"GET {path}: a 4xx with a JSON body", 400 <= s < 500 and doc is not None, f"{s} {doc}")
s, doc = status_and_json(raw(
    b"POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\n"
    b"x-ms-correlation-request-id: \xff\xfe\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n", HTTPS_PORT, tls=True))
check("a login request with an invalid UTF-8 correlation id: a 4xx", 400 <= s < 500, f"{s} {doc}")
s, journal = admin("requests")
check("the journal then lists those requests", s == 200 and journal["count"] >= 1, f"{s}")

# --- secrets in query strings never reach the log
secret = "do-not-log-this-secret-4711"
raw(f"GET /msi/token?resource=https://vault.azure.net&client_secret={secret}&access_token={secret} HTTP/1.1\r\n"
    f"Host: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
raw(f"GET /msi/token?client%5Fsecret={secret} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
time.sleep(0.2)  # the log line is written after the answer; not a timing assertion
log = open(f"{WORK}/err", encoding="utf-8", errors="replace").read()
check("a client_secret or access_token in a query string is not logged",
      secret not in log and "client_secret=REDACTED" in log and "client%5Fsecret=REDACTED" in log,
      [line for line in log.splitlines() if "/msi/token" in line])

# --- JSON nested 100 000 deep, numbers out of range: 400 in the surface's shape, not a crash
def https_call(method, path, body, token=None, host="management.azure.com"):
    headers = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    if token:
        headers += f"Authorization: Bearer {token}\r\n"
    data = body.encode() if isinstance(body, str) else body
    headers += f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    return status_and_json(raw(headers.encode() + data, HTTPS_PORT, tls=True))


tenant, app, secret_ = "72f988bf-0000-0000-0000-000000000001", "11111111-1111-1111-1111-111111111111", "emulator-secret"
form = f"grant_type=client_credentials&client_id={app}&client_secret={secret_}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
s, tok = status_and_json(raw((f"POST /{tenant}/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\n"
                              f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n"
                              f"Connection: close\r\n\r\n{form}").encode(), HTTPS_PORT, tls=True))
token = tok["access_token"]
deep = '{"location": "westeurope", "tags": ' + "{\"a\": " * 100000 + "1" + "}" * 100000 + "}"
rg = "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg1?api-version=2022-09-01"
s, doc = https_call("PUT", rg, deep, token)
check("an ARM body nested 100 000 deep: 400 InvalidRequestContent naming the limit",
      s == 400 and doc["error"]["code"] == "InvalidRequestContent" and "64 levels" in doc["error"]["message"],
      f"{s} {doc}")
s, doc = https_call("PUT", rg, '{"location": "westeurope", "tags": {"n": 1e400}}', token)
check("an ARM body with 1e400: 400 InvalidRequestContent", s == 400 and doc["error"]["code"] == "InvalidRequestContent",
      f"{s} {doc}")
s, doc = https_call("PUT", rg, deep)  # no token: refused, but the journal keeps the body
check("the same body without a token: 401", s == 401, f"{s} {doc}")
s, journal = admin("requests")
check("the journal (with bodies) still answers after it", s == 200, f"{s}")
s, doc = status_and_json(raw((f"PUT /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(deep)}"
                              f"\r\nConnection: close\r\n\r\n{deep}").encode()))
check("PUT /_emulator/faults nested 100 000 deep: 400", s == 400 and "64 levels" in json.dumps(doc), f"{s} {doc}")

# --- template deployments: an expression nested 20 000 deep, a multibyte character where the
# expression language expects none; then the group's deployments still read
dep = "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg1/providers/Microsoft.Resources/deployments"
s, doc = https_call("PUT", rg, '{"location": "westeurope"}', token)
check("a resource group for the deployments", s in (200, 201), f"{s} {doc}")
for name, value in (("deep", "[" + "concat(" * 20000 + "'a'" + ")" * 20000 + "]"), ("e-acute", "[\u00e9]")):
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": [], "outputs": {"o": {"type": "string", "value": value}}}
    s, doc = https_call("PUT", f"{dep}/{name}?api-version=2022-09-01",
                        json.dumps({"properties": {"mode": "Incremental", "template": template}}), token)
    check(f"a deployment whose output is {value[:24]!r}...: refused or failed, not a crash", s in (200, 201, 400),
          f"{s} {str(doc)[:300]}")
    s, doc = https_call("GET", f"{dep}/{name}?api-version=2022-09-01", "", token)
    check(f"GET of deployment '{name}' then answers 200 or 404", s in (200, 404) and doc is not None, f"{s}")
# Variables each the concat of the one before with itself, 40 deep: 2^40 elements unless a value
# is bounded. The deployment fails naming the limit, and the emulator goes on answering.
doubling = {f"v{i}": f"[concat(variables('v{i - 1}'), variables('v{i - 1}'))]" for i in range(1, 41)}
doubling["v0"] = "[createArray(padLeft('', 1000, 'a'))]"
template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "variables": doubling, "resources": [],
            "outputs": {"o": {"type": "array", "value": "[variables('v40')]"}}}
s, doc = https_call("PUT", f"{dep}/doubling?api-version=2022-09-01",
                    json.dumps({"properties": {"mode": "Incremental", "template": template}}), token)
check("a deployment doubling an array 40 times: accepted or refused, not a crash", s in (200, 201, 400),
      f"{s} {str(doc)[:300]}")
for _ in range(100):
    s, doc = https_call("GET", f"{dep}/doubling?api-version=2022-09-01", "", token)
    if s != 200 or doc["properties"]["provisioningState"] not in ("Accepted", "Running"):
        break
    time.sleep(0.05)
check("the doubling deployment fails naming the bound on a template value",
      s == 200 and doc["properties"]["provisioningState"] == "Failed"
      and "a template value may hold" in json.dumps(doc), f"{s} {str(doc)[:600]}")
s, doc = https_call("GET", f"{dep}?api-version=2022-09-01", "", token)
check("the group's deployments list answers 200", s == 200 and "value" in doc, f"{s} {str(doc)[:300]}")

# --- Key Vault: key tags nested 100 000 deep
vault = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.KeyVault/"
         "vaults/kvhostile?api-version=2023-07-01")
s, doc = https_call("PUT", vault, json.dumps({"location": "westeurope", "properties": {
    "tenantId": tenant, "sku": {"family": "A", "name": "standard"},
    "accessPolicies": [{"tenantId": tenant, "objectId": "11111111-0000-0000-0000-000000000001",
                        "permissions": {"keys": ["all"]}}]}}), token)
check("a vault for the key checks", s in (200, 201), f"{s} {doc}")
form = form.replace("management.azure.com", "vault.azure.net")
s, tok = status_and_json(raw((f"POST /{tenant}/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\n"
                              f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n"
                              f"Connection: close\r\n\r\n{form}").encode(), HTTPS_PORT, tls=True))
deep_key = '{"kty": "RSA", "tags": ' + '{"a": ' * 100000 + '"x"' + "}" * 100000 + "}"
s, doc = https_call("POST", "/keys/k1/create?api-version=7.4", deep_key, tok["access_token"],
                    host="kvhostile.vault.azure.net")
check("a key create whose tags nest 100 000 deep: 400 BadParameter naming the limit",
      s == 400 and doc["error"]["code"] == "BadParameter" and "64 levels" in doc["error"]["message"], f"{s} {doc}")

# --- body framing: no length, a bad or huge length, a big JSON body typed as a form, multipart
s, doc = status_and_json(raw(b"POST /_emulator/tokens/revoke HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", read_timeout=10))
check("a POST with neither Content-Length nor chunked encoding is answered as one with no body",
      s == 200 and doc and doc.get("revoked") is True, f"{s} {doc}")
for length, status, code in (("-5", 400, "InvalidContentLength"), ("12abc", 400, "InvalidContentLength"),
                             ("99999999999", 413, "RequestEntityTooLarge")):
    s, doc = status_and_json(raw(f"POST /_emulator/clock/advance HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 f"Content-Length: {length}\r\n\r\n{{}}".encode(), read_timeout=10))
    check(f"Content-Length {length}: {status} {code} at once", s == status and doc and doc["error"]["code"] == code,
          f"{s} {doc}")
rules = json.dumps([{"name": f"r{i}", "match": {"path": "/never/" + "a" * 60}, "action": {"type": "status", "status": 503}}
                    for i in range(200)])
s, doc = status_and_json(raw((f"PUT /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                              f"application/x-www-form-urlencoded\r\nContent-Length: {len(rules)}\r\n"
                              f"Connection: close\r\n\r\n{rules}").encode()))
check(f"a {len(rules) // 1024} KB JSON admin body typed as a form (curl -d) is read as JSON",
      s == 200 and doc and len(doc["value"]) == 200, f"{s} {str(doc)[:200]}")
admin("faults", "DELETE")
body = '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n'
s, doc = status_and_json(raw((f"PUT /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                              f"multipart/form-data; boundary=x\r\nContent-Length: {len(body)}\r\n"
                              f"Connection: close\r\n\r\n{body}").encode()))
check("a multipart body: 415 UnsupportedMediaType", s == 415 and doc["error"]["code"] == "UnsupportedMediaType",
      f"{s} {doc}")

# --- pipelining: requests sent in one write are all answered, in order, on both listeners
def until_closed(data, port=None, tls=False, read_timeout=20):
    """Sends bytes on a fresh connection and returns everything until the server closes it."""
    sock = socket.create_connection(("127.0.0.1", port or HTTP_PORT), timeout=read_timeout)
    if tls:
        sock = ssl.create_default_context(cafile=CA).wrap_socket(sock, server_hostname="management.azure.com")
    sock.sendall(data)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    sock.close()
    return got


def statuses(answer):
    # A response's body is not followed by CRLF: the next status line may start mid-"line".
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


clock = b'{"seconds": 1}'
pipelined = (b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
             b"POST /_emulator/clock/advance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: " + str(len(clock)).encode() + b"\r\n\r\n" + clock +
             b"GET /_emulator/nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
for label, port, tls in (("HTTP", HTTP_PORT, False), ("HTTPS", HTTPS_PORT, True)):
    got = statuses(until_closed(pipelined.replace(b"127.0.0.1", b"localhost") if tls else pipelined, port, tls))
    check(f"three requests pipelined in one write on the {label} listener: three answers in order",
          got == [200, 200, 404], f"{got}")

# --- a body announced and never sent: 408 after the stall timeout, and the connection ends
answer = until_closed(b"POST /_emulator/clock/advance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      b"application/json\r\nContent-Length: 40\r\n\r\n{\"seconds\"", read_timeout=60)
s, doc = status_and_json(answer)
check("a body shorter than its Content-Length: 408 RequestTimeout saying so, then the connection closes",
      s == 408 and doc and doc["error"]["code"] == "RequestTimeout" and "stalled" in doc["error"]["message"],
      f"{s} {doc}")

# --- listeners: exclusive ports, a backlog that holds a burst of connections
second = subprocess.run([BIN, "--https-port", str(HTTPS_PORT), "--http-port", "0", "--certs-dir", f"{WORK}/certs"],
                        capture_output=True, text=True, timeout=30)
check("a second emulator on the same HTTPS port fails to start, saying why",
      second.returncode != 0 and "address in use" in second.stderr, f"exit {second.returncode}: {second.stderr[-300:]}")
listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True).stdout
backlogs = {int(f.split()[3].rsplit(":", 1)[1]): int(f.split()[2]) for f in listening.splitlines()}
check("both listeners accept a backlog of 1024 connections",
      backlogs.get(HTTPS_PORT) == 1024 and backlogs.get(HTTP_PORT) == 1024,
      f"{ {p: backlogs.get(p) for p in (HTTPS_PORT, HTTP_PORT)} }")

# --- --state-dir: created owner-only; an existing folder others may read is narrowed, with a warning
def start_with_state_dir(folder):
    proc = subprocess.Popen([BIN, "--https-port", "0", "--http-port", "0", "--certs-dir", f"{WORK}/certs",
                             "--state-dir", folder], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.readline()  # the ready line
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    return os.stat(folder).st_mode & 0o777, err


mode, _ = start_with_state_dir(f"{WORK}/new-state/inner")
check("a new --state-dir is created 0700", mode == 0o700, oct(mode))
os.makedirs(f"{WORK}/open-state")
os.chmod(f"{WORK}/open-state", 0o777)
mode, err = start_with_state_dir(f"{WORK}/open-state")
check("an existing 0777 --state-dir is narrowed to 0700 with a warning",
      mode == 0o700 and "had mode 0777; narrowed to owner-only" in err, f"{oct(mode)} {err[-300:]}")

PROC.terminate()
rc = PROC.wait(timeout=30)
checks += 1
if rc != 0:
    failures.append("clean stop")
    print(f"FAIL the emulator did not stop cleanly (exit {rc})")
print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
