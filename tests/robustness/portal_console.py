"""The browser console at /_emulator/portal/ against careless and hostile requests: what it
serves (types, Content-Security-Policy, size), on both listeners, to loopback Host names only;
its calls refused without the console token; state-changing admin calls refused when a browser
marks them as coming from another site; console calls taking the ARM and Key Vault road (bearer
token, journal, access policies) like any client's.

    python3 tests/robustness/portal_console.py build/cmk-emulator
"""
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.path.abspath(sys.argv[1])
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = tempfile.mkdtemp(prefix="cmk-portal.")
failures = []
SP = "11111111-1111-1111-1111-111111111111"


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}", file=sys.stderr)


out, err = open(f"{WORK}/out", "w+"), open(f"{WORK}/err", "w+")
PROC = subprocess.Popen([BIN, "--https-port", "0", "--http-port", "0", "--certs-dir", f"{WORK}/certs",
                         "--fixture", "fixtures/seed-vault-ready.json"], cwd=SOURCE, stdout=out, stderr=err)
for _ in range(400):
    if os.path.getsize(f"{WORK}/out"):
        break
    if PROC.poll() is not None:
        sys.exit(f"FAIL: the emulator exited before it was ready: {open(f'{WORK}/err').read()}")
    time.sleep(0.025)
READY = json.loads(open(f"{WORK}/out").readline())
HTTP = f"http://127.0.0.1:{READY['http_port']}"
HTTPS = f"https://localhost:{READY['https_port']}"
TLS = ssl.create_default_context(cafile=READY["ca_file"])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=TLS),
                                     urllib.request.ProxyHandler({}))


def call(url, method="GET", body=None, headers=None):
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=10) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def error_code(body):
    try:
        return json.loads(body)["error"]["code"]
    except Exception:
        return None


try:
    # --- the page: a redirect to the folder form, then HTML with the policy and a console token
    status, headers, _ = call(f"{HTTP}/_emulator/portal")
    check(status == 301 and headers["Location"] == "/_emulator/portal/", f"/_emulator/portal: {status}")
    status, headers, page = call(f"{HTTP}/_emulator/portal/")
    check(status == 200 and headers["Content-Type"].startswith("text/html"), f"page: {status} {headers['Content-Type']}")
    csp = headers.get("Content-Security-Policy", "")
    check("default-src 'self'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
          and "frame-ancestors 'none'" in csp and "unsafe" not in csp, f"policy: {csp}")
    check(headers.get("X-Content-Type-Options") == "nosniff", "nosniff")
    token = re.search(rb'name="cmk-console-token" content="([0-9a-f]{32})"', page)
    check(token is not None, "the page carries a 128-bit console token")
    TOKEN = token.group(1).decode() if token else ""
    check(b"<script>" not in page and b"http://" not in page and b"https://" not in page,
          "no inline script, no absolute URL in the page")

    # --- every file the page loads, followed from the page through the module imports
    seen, queue, total = set(), ["index.html"], 0
    types = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = call(f"{HTTP}/_emulator/portal/{path}")
        ext = os.path.splitext(path)[1]
        check(status == 200 and headers["Content-Type"].startswith(types[ext]), f"{path}: {status} {headers['Content-Type']}")
        check("default-src 'self'" in headers.get("Content-Security-Policy", ""), f"{path}: policy")
        total += len(body)
        text = body.decode()
        check(not re.search(r"(src|href)=\"(https?:)?//", text) and "import('http" not in text, f"{path}: an external reference")
        folder = os.path.dirname(path)
        refs = re.findall(r'(?:href|src)="([^":]+\.(?:css|js))"', text) + re.findall(r"'(\./[^']+\.js)'", text)
        queue += [os.path.normpath(os.path.join(folder, ref)) for ref in refs]
    check(len(seen) >= 10, f"the console's files were found (static and lazy imports): {sorted(seen)}")
    # The page is never cached (it holds this start's token); its files come from a folder named
    # by their digest and are cached for good; the same files by another path are never cached.
    versioned = re.search(r'src="(v/[0-9a-f]{16})/js/app.js"', call(f"{HTTP}/_emulator/portal/")[2].decode())
    check(versioned is not None, "the page loads its code from the versioned folder")
    folder = versioned.group(1) if versioned else "v/0"
    status, headers, _ = call(f"{HTTP}/_emulator/portal/")
    check(headers.get("Cache-Control") == "no-store", f"page cache: {headers.get('Cache-Control')}")
    status, headers, _ = call(f"{HTTP}/_emulator/portal/{folder}/js/app.js")
    check(status == 200 and "immutable" in headers.get("Cache-Control", ""), f"versioned file: {status} {headers.get('Cache-Control')}")
    for path in ["js/app.js", "v/0123456789abcdef/js/app.js"]:
        status, headers, _ = call(f"{HTTP}/_emulator/portal/{path}")
        check(status == 200 and headers.get("Cache-Control") == "no-store", f"{path}: {status} {headers.get('Cache-Control')}")
    status, _, body = call(f"{HTTP}/_emulator/portal/{folder}/index.html")
    check(status == 404 and f"'{folder}/index.html'".encode() in body,
          f"the page is not served from the versioned folder: {status} {body[:200]}")
    check(total < 200 * 1024, f"the console weighs {total} bytes, more than 200 KB")
    print(f"console files: {len(seen)}, {total} bytes")

    # --- also on the HTTPS listener; never to a Host that is not loopback
    status, _, body = call(f"{HTTPS}/_emulator/portal/")
    check(status == 200 and TOKEN.encode() in body, f"page over HTTPS: {status}")
    status, _, body = call(f"{HTTP}/_emulator/portal/", headers={"Host": "rebound.example:80"})
    check(status == 403 and error_code(body) == "NotLoopback", f"page to a foreign Host: {status} {body[:200]}")
    status, _, body = call(f"{HTTP}/_emulator/portal/js/nothing.js")
    check(status == 404, f"unknown file: {status}")
    status, _, body = call(f"{HTTP}/_emulator/portal/%2e%2e/ca.pem")
    check(status == 404, f"dot-dot: {status}")

    # --- the console's own calls need the console token
    for method, path, body in [("GET", "portal/principals", None), ("POST", "portal/token", {"principal": SP, "resource": "arm"}),
                               ("GET", "portal/api/arm/subscriptions?api-version=2022-12-01", None)]:
        status, _, answer = call(f"{HTTP}/_emulator/{path}", method, body)
        check(status == 403 and error_code(answer) == "ConsoleTokenRequired", f"{method} {path} without the token: {status} {answer[:200]}")
        status, _, answer = call(f"{HTTP}/_emulator/{path}", method, body, {"X-Cmk-Console-Token": "0" * 32})
        check(status == 403, f"{method} {path} with a wrong token: {status}")
    H = {"X-Cmk-Console-Token": TOKEN}
    status, _, body = call(f"{HTTP}/_emulator/portal/token", "POST", {"principal": SP, "resource": "arm"},
                           {**H, "Host": "rebound.example"})
    check(status == 403 and error_code(body) == "NotLoopback", f"token to a foreign Host: {status}")
    status, _, body = call(f"{HTTP}/_emulator/portal/principals", headers=H)
    principals = json.loads(body) if status == 200 else {}
    check(principals.get("default") == SP, f"the default principal is the fixture's: {body[:300]}")
    check(any(p["displayName"] == "cmk-identity" for p in principals.get("value", [])), "managed identities are listed")
    check(b"secret" not in body.lower(), "no secret in the principals")
    status, _, body = call(f"{HTTP}/_emulator/portal/token", "POST", {"resource": "arm"}, H)
    check(status == 200 and json.loads(body)["object_id"] == "11111111-0000-0000-0000-000000000001",
          f"no principal named: the default one: {status} {body[:200]}")
    for bad in [{}, {"principal": SP}, {"principal": SP, "resource": "graph"}, {"principal": 5, "resource": "arm"}]:
        status, _, body = call(f"{HTTP}/_emulator/portal/token", "POST", bad, H)
        check(status == 400 and error_code(body) == "InvalidRequestContent", f"token {bad}: {status}")
    status, _, body = call(f"{HTTP}/_emulator/portal/token", "POST", {"principal": "nobody", "resource": "arm"}, H)
    check(status == 404 and error_code(body) == "PrincipalNotFound", f"unknown principal: {status}")
    status, _, body = call(f"{HTTP}/_emulator/portal/token", "POST", {"principal": SP, "resource": "arm"}, H)
    arm_token = json.loads(body)["access_token"] if status == 200 else ""
    status, _, body = call(f"{HTTP}/_emulator/portal/token", "POST", {"principal": SP, "resource": "vault"}, H)
    vault_token = json.loads(body)["access_token"] if status == 200 else ""
    check(arm_token and vault_token, "tokens for ARM and Key Vault")

    # --- console calls are ARM and Key Vault calls: bearer token checked, journaled
    status, _, body = call(f"{HTTP}/_emulator/portal/api/arm/subscriptions?api-version=2022-12-01", headers=H)
    check(status == 401 and error_code(body) == "AuthenticationFailed", f"ARM without a bearer token: {status} {body[:200]}")
    status, _, body = call(f"{HTTP}/_emulator/portal/api/arm/subscriptions?api-version=2022-12-01",
                           headers={**H, "Authorization": f"Bearer {arm_token}"})
    check(status == 200 and b"00000000-0000-0000-0000-000000000001" in body, f"ARM subscriptions: {status}")
    status, _, body = call(f"{HTTP}/_emulator/portal/api/vault/cmk-kv/keys?api-version=7.4",
                           headers={**H, "Authorization": f"Bearer {vault_token}"})
    check(status == 200 and b"cmk-kv.vault.azure.net/keys/cmk-key" in body, f"Key Vault keys: {status} {body[:200]}")
    status, _, body = call(f"{HTTP}/_emulator/portal/api/vault/cmk-kv/keys?api-version=7.4",
                           headers={**H, "Authorization": f"Bearer {arm_token}"})
    check(status == 401, f"Key Vault with an ARM token: {status}")
    status, _, body = call(f"{HTTP}/_emulator/portal/api/other/x", headers=H)
    check(status == 404, f"an unknown console call: {status}")
    _, _, body = call(f"{HTTP}/_emulator/requests?path=/subscriptions")
    records = json.loads(body)["value"]
    check(any(r["host"] == "management.azure.com" and r["status"] == 200 and (r["principal"] or {}).get("appid") == SP
              for r in records), f"the console's ARM call is journaled as the principal's: {records}")
    _, _, body = call(f"{HTTP}/_emulator/requests?path=/keys&surface=keyvault")
    check(any(r["host"] == "cmk-kv.vault.azure.net" for r in json.loads(body)["value"]), "the Key Vault call is journaled")
    # The identity without a key permission is refused by the access policies.
    status, _, body = call(f"{HTTP}/_emulator/portal/token", "POST", {"principal": "22222222-0000-0000-0000-000000000002", "resource": "vault"}, H)
    mi_token = json.loads(body)["access_token"] if status == 200 else ""
    status, _, body = call(f"{HTTP}/_emulator/portal/api/vault/cmk-kv/keys?api-version=7.4",
                           headers={**H, "Authorization": f"Bearer {mi_token}"})
    check(status == 403 and error_code(body) == "Forbidden", f"list keys as cmk-identity (no list permission): {status} {body[:200]}")

    # --- state-changing admin calls a browser sends from another site are refused
    advance = f"{HTTP}/_emulator/clock/advance"
    for hostile in [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site", "Origin": f"http://localhost:{READY['http_port']}"},
                    {"Origin": f"http://127.0.0.1:{READY['http_port'] + 1}"}]:
        status, _, body = call(advance, "POST", {"seconds": 1}, hostile)
        check(status == 403 and error_code(body) == "CrossSiteRequestRefused", f"advance with {hostile}: {status}")
    status, _, body = call(advance, "POST", {"seconds": 1}, {"Host": "rebound.example:80", "Origin": "http://rebound.example:80"})
    check(status == 403 and error_code(body) == "CrossSiteRequestRefused", f"advance from a rebound name: {status}")
    status, _, body = call(f"{HTTP}/_emulator/reset", "POST", None, {"Origin": "http://evil.example", "Content-Type": "text/plain"})
    check(status == 403, f"a cross-site reset: {status}")
    for fine in [{}, {"Origin": HTTP, "Sec-Fetch-Site": "same-origin"}]:
        status, _, body = call(advance, "POST", {"seconds": 1}, fine)
        check(status == 200, f"advance with {fine}: {status} {body[:200]}")
    status, _, body = call(f"{HTTP}/_emulator/clock", headers={"Origin": "http://evil.example"})
    check(status == 200, "reads are not refused")
    check(PROC.poll() is None, "the emulator is alive")
finally:
    PROC.terminate()
    rc = PROC.wait(timeout=30)
    if rc != 0:
        failures.append(f"exit code {rc} on SIGTERM")
    shutil.rmtree(WORK, ignore_errors=True)

if failures:
    sys.exit(f"{len(failures)} failure(s)")
print("ok")
