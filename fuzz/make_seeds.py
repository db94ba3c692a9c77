#!/usr/bin/env python3
"""Writes the fuzz harnesses' seed corpora (fuzz/seeds/<name>/) and dictionaries
(fuzz/dicts/<name>.dict) from the tests' own inputs, so they can be made again:

- the conformance corpus (tests/conformance/*/*.json): request URLs, bodies and step sequences;
- the hostile requests of tests/robustness/hostile_requests.py, made small;
- the fixtures (fixtures/*.json) and the JSON examples of README.md and docs/*.md;
- string literals of the unit tests (template expressions, raw JSON strings);
- the fault presets and the template function names of the product code;
- keys made deterministically here (fixed RSA primes from a seeded search, fixed EC scalars).

    python3 fuzz/make_seeds.py          # rewrites fuzz/seeds and fuzz/dicts

Nothing here is random: the same tree gives the same files.
"""
import base64
import glob
import hashlib
import json
import os
import random
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
DICTS = os.path.join(ROOT, "fuzz", "dicts")
MAX_SEED_BYTES = 12 * 1024  # a seed larger than this is left out (libFuzzer's -max_len default is 4 KB)
MAX_SEEDS = 200  # per harness, taken evenly from all it would have (the corpus grows from them)

SUB = "00000000-0000-0000-0000-000000000001"
TENANT = "72f988bf-0000-0000-0000-000000000001"
SP_APP = "11111111-1111-1111-1111-111111111111"
SP_OBJECT = "11111111-0000-0000-0000-000000000001"
MI_PRINCIPAL = "22222222-0000-0000-0000-000000000001"
MI_CLIENT = "22222222-0000-0000-0000-000000000002"

seeds = {}  # harness -> {content bytes: None}, in insertion order


def add(harness, content):
    data = content.encode() if isinstance(content, str) else content
    if not data or len(data) > MAX_SEED_BYTES:
        return
    seeds.setdefault(harness, {})[data] = None


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def cpp_string_literals(text):
    """The ordinary "..." literals of C++ source, unescaped (raw strings are taken separately)."""
    out = []
    for m in re.finditer(r'(?<![A-Za-z0-9_)])"((?:[^"\\\n]|\\.)*)"', text):
        try:
            out.append(bytes(m.group(1), "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8"))
        except (UnicodeDecodeError, UnicodeEncodeError):
            continue
    return out


def cpp_raw_strings(text):
    return re.findall(r'R"\((.*?)\)"', text, flags=re.S)


# --- the conformance corpus
WORLD_NAMES = {"rg": "rg1", "vault": "kv1", "kv": "kv1", "cluster": "kcplain", "mi": "mi1"}
CAPTURED = {"principal": MI_PRINCIPAL, "client": MI_CLIENT}


def substitute(value, variables):
    if isinstance(value, str):
        return re.sub(r"\$\{([A-Za-z_.]+)\}", lambda m: str(variables.get(m.group(1), "fz")), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def case_requests(path):
    """The steps of a case as (url, request text) in World::send's format (fuzz/emulator_world.h)."""
    with open(path, encoding="utf-8") as f:
        case = json.load(f)
    variables = {"subscription": SUB, "tenant": TENANT, "sp_app_id": SP_APP, "sp_object_id": SP_OBJECT,
                 "sp_secret": "emulator-secret", "unique": "fz", "http_port": "8080"}
    for name, value in case.get("vars", {}).items():
        variables[name] = substitute(value, variables)
    variables.update(WORLD_NAMES)
    variables.update(CAPTURED)
    out = []
    for step in case["steps"]:
        if "admin" in step:
            a = substitute(step["admin"], variables)
            body = json.dumps(a.get("body")) if a.get("body") is not None else ""
            out.append((f"http://127.0.0.1:8080/_emulator{a['path']}",
                        f"{a['method']} /_emulator{a['path']} http\nHost: 127.0.0.1\n\n{body}"))
            continue
        req = substitute(step["request"], variables)
        url = req["url"]
        lines = [f"{req['method']} {url}" + (" http" if url.startswith("http://") else "")]
        auth = req.get("auth")
        if auth == "none":
            lines.append("Authorization: none")
        for k, v in (req.get("headers") or {}).items():
            lines.append(f"{k}: {v}")
        body = ""
        if req.get("body") is not None:
            body = json.dumps(req["body"])
            lines.append(f"Content-Type: {req.get('content_type') or 'application/json'}")
        elif req.get("body_raw") is not None:
            body = req["body_raw"]
            if req.get("content_type"):
                lines.append(f"Content-Type: {req['content_type']}")
        out.append((url, "\n".join(lines) + "\n\n" + body))
    return case, out


def is_arm_url(url):
    host = re.sub(r"^https?://", "", url).split("/")[0].split(":")[0].lower()
    return host in ("management.azure.com", "management.core.windows.net")


def windows(items, size=8):
    return [items[i:i + size] for i in range(0, len(items), size)]


def host_and_target(url):
    m = re.match(r"^(https?)://([^/?]*)(.*)$", url)
    return (m.group(2), m.group(3) or "/", m.group(1)) if m else ("", url, "https")


for path in sorted(glob.glob(os.path.join(ROOT, "tests", "conformance", "*", "*.json"))):
    case, requests = case_requests(path)
    arm = [text for url, text in requests if is_arm_url(url)]
    other = [text for url, text in requests if not is_arm_url(url)]
    for w in windows(arm):
        add("arm_requests", "\n~~~\n".join(w))
    for w in windows(other):
        add("dataplane_requests", "\n~~~\n".join(w))
    for url, text in requests:
        host, target, scheme = host_and_target(url)
        add("request_target", f"{target}\n{host}\n" + ("http\n" if scheme == "http" else ""))
        add("request_target", f"{url}\n\n")
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
        if body:
            add("json_input", body)
            content_type = re.search(r"^Content-Type: (.*)$", text, flags=re.M)
            add("journal_redaction", f"{content_type.group(1) if content_type else ''}\n{body}")
        if "/deployments/" in target and body.startswith("{") and '"template"' in body:
            add("template", body)
        if "?" in target:
            add("journal_redaction", "\n" + target.split("?", 1)[1])

    # Template strings of the deployment cases.
    def walk(v):
        if isinstance(v, str) and v.startswith("["):
            add("template_expression", v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
    walk(case["steps"])

# --- the hostile requests (tests/robustness/hostile_requests.py), at a size a fuzzer mutates
deep = '{"location": "westeurope", "tags": ' + '{"a": ' * 70 + "1" + "}" * 70 + "}"
rg = f"/subscriptions/{SUB}/resourcegroups/rg1?api-version=2022-09-01"
add("arm_requests", f"PUT {rg}\nContent-Type: application/json\n\n{deep}")
add("arm_requests", f"PUT {rg}\nContent-Type: application/json\n\n" + '{"location": "westeurope", "tags": {"n": 1e400}}')
add("json_input", deep)
add("json_input", '{"location": "westeurope", "tags": {"n": 1e400}}')
dep = f"/subscriptions/{SUB}/resourcegroups/rg1/providers/Microsoft.Resources/deployments"
for name, value in (("deep", "[" + "concat(" * 70 + "'a'" + ")" * 70 + "]"), ("e-acute", "[\u00e9]")):
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": [], "outputs": {"o": {"type": "string", "value": value}}}
    body = json.dumps({"properties": {"mode": "Incremental", "template": template}})
    add("arm_requests", f"PUT {dep}/{name}?api-version=2022-09-01\n\n{body}\n~~~\n"
                        f"GET {dep}/{name}?api-version=2022-09-01\n\n")
    add("template", body)
    add("template_expression", value)
deep_key = '{"kty": "RSA", "tags": ' + '{"a": ' * 70 + '"x"' + "}" * 70 + "}"
add("dataplane_requests", f"POST /keys/k1/create?api-version=7.4\nHost: kv1.vault.azure.net\n\n{deep_key}")
for p in ("/_emulator/%ff", "/msi/%ff", "/subscriptions/%ff%fe"):
    add("request_target", f"{p}\n127.0.0.1\n")
    add("request_target", f"{p}\n127.0.0.1\nhttp\n")
    add("dataplane_requests", f"GET {p} http\nHost: 127.0.0.1\n\n")
add("dataplane_requests", "POST /common/oauth2/v2.0/token\nHost: login.microsoftonline.com\n"
                          "x-ms-correlation-request-id: \udcff\udcfe\n"
                          "Content-Type: application/x-www-form-urlencoded\n\n".encode("utf-8", "surrogateescape"))
add("dataplane_requests", "GET /msi/token?resource=https://vault.azure.net&client_secret=s&access_token=t http\n"
                          "Host: 127.0.0.1\n\n")
add("dataplane_requests", "POST /_emulator/tokens/revoke http\nHost: 127.0.0.1\n\n")
rules = json.dumps([{"name": f"r{i}", "match": {"path": "/never/" + "a" * 20},
                     "action": {"type": "status", "status": 503}} for i in range(3)])
add("dataplane_requests", f"PUT /_emulator/faults http\nHost: 127.0.0.1\n"
                          f"Content-Type: application/x-www-form-urlencoded\n\n{rules}")
add("dataplane_requests", "PUT /_emulator/faults http\nHost: 127.0.0.1\nContent-Type: multipart/form-data; boundary=x\n\n"
                          '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n')
add("connect_authority", b"CONNECT \xff\xfe.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
add("connect_authority", b"CONNECT " + ("\u00e9" * 140 + ".example.com").encode() + b":443 HTTP/1.1\r\nHost: x\r\n\r\n")

# --- CONNECT targets: the served hosts, loopback names, and what the tests refuse
for target in ("login.microsoftonline.com:443", "login.windows.net:443", "management.azure.com:443",
               "management.core.windows.net:443", "kv1.vault.azure.net:443", "KV1.Vault.Azure.Net:443",
               "localhost:8443", "127.0.0.1:8443", "[::1]:8443", "kv1.vault.localhost:8443", "example.com:443",
               "management.azure.com:80", "management.azure.com", "management.azure.com:", ":443",
               "[::1]", "host:0", "host:65536", "host:+443", "host: 443", "host:443x", "a.vault.azure.net.evil:443"):
    add("connect_authority", f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")
    add("connect_authority", target)
add("connect_authority", "CONNECT kv1.vault.azure.net:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05hello")
for lit in cpp_string_literals(read("tests/unit/emulator_test.cpp")):
    if re.fullmatch(r"[A-Za-z0-9.\[\]:-]+:\d+", lit):
        add("connect_authority", f"CONNECT {lit} HTTP/1.1\r\nHost: {lit}\r\n\r\n")

# --- request targets of the routing tests
for lit in cpp_string_literals(read("tests/unit/http_routing_test.cpp")):
    if lit.startswith("/") or lit.startswith("http"):
        add("request_target", f"{lit}\nmanagement.azure.com\n")
        add("request_target", f"{lit}\nkv1.vault.azure.net\n")
        add("request_target", f"{lit}\nlocalhost:8443\n")

# --- JSON documents: fixtures, the docs' examples, raw strings of the unit tests
doc_blocks = []
for md in ["README.md"] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
    text = read(os.path.relpath(md, ROOT)) if os.path.isabs(md) else read(md)
    doc_blocks += re.findall(r"```json\n(.*?)```", text, flags=re.S)
raw_strings = []
for cpp in sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "*.cpp"))):
    raw_strings += cpp_raw_strings(read(os.path.relpath(cpp, ROOT)))
raw_strings += cpp_raw_strings(read("emulator/faults/fault_rules.cpp"))
fixtures = [read(os.path.relpath(p, ROOT)) for p in sorted(glob.glob(os.path.join(ROOT, "fixtures", "*.json")))]
for text in fixtures + doc_blocks + raw_strings:
    add("json_input", text)
    try:
        doc = json.loads(text)
    except ValueError:
        continue
    add("journal_redaction", "application/json\n" + text)
    objs = doc if isinstance(doc, list) else [doc]
    if isinstance(doc, dict) and ("tenants" in doc or "version" in doc or "state" in doc):
        add("fixture", text)
    if any(isinstance(o, dict) and ("match" in o or "action" in o) for o in objs):
        add("dataplane_requests", f"PUT /_emulator/faults http\nHost: 127.0.0.1\n\n{text}\n~~~\n"
                                  f"GET /keys/k1?api-version=7.4\nHost: kv1.vault.azure.net\n\n")
        add("arm_requests", f"PUT {rg}\n\n" + '{"location": "westeurope"}')
    if isinstance(doc, dict) and ("default" in doc or "rules" in doc):
        add("dataplane_requests", f"PUT /_emulator/lro-policy http\nHost: 127.0.0.1\n\n{text}")
for text in fixtures:
    add("dataplane_requests", f"PUT /_emulator/state http\nHost: 127.0.0.1\n\n{text}\n~~~\n"
                              "GET /_emulator/state?include=secrets http\nHost: 127.0.0.1\n\n")

# A state section (state/snapshot.h) written out by hand: clock, groups, an identity, an operation.
state_doc = json.loads(fixtures[[os.path.basename(p) for p in sorted(glob.glob(os.path.join(ROOT, "fixtures", "*.json")))].index("default.json")])
state_doc["state"] = {
    "secrets": True,
    "clock": {"frozen": False, "offsetNanoseconds": 3600000000000},
    "managedIdentities": [{"resourceId": f"/subscriptions/{SUB}/resourceGroups/rg1/providers/"
                                         "Microsoft.ManagedIdentity/userAssignedIdentities/mi1",
                           "principalId": MI_PRINCIPAL, "clientId": MI_CLIENT, "tenantId": TENANT,
                           "kind": "UserAssigned"}],
    "resourceGroups": [{"subscriptionId": SUB, "name": "rg1", "location": "westeurope", "tags": {"a": "b"},
                        "managedBy": "", "provisioningState": "Succeeded"}],
    "resources": [], "deletedVaults": [], "keys": {}, "roleAssignments": [],
    "operations": [{"id": "00000000-0000-0000-0000-0000000000aa",
                    "resourceId": f"/subscriptions/{SUB}/resourceGroups/rg1", "kind": "delete",
                    "location": "westeurope", "startedAt": "2024-01-01T00:00:00Z", "endedAt": None,
                    "status": "Running", "error": None}],
}
add("fixture", json.dumps(state_doc, indent=1))
add("json_input", json.dumps(state_doc))

# --- template expressions of the unit tests
for lit in cpp_string_literals(read("tests/unit/deployments_expression_test.cpp")):
    if lit.startswith("["):
        add("template_expression", lit)
for lit in cpp_string_literals(read("tests/unit/deployments_template_test.cpp")):
    if lit.startswith("["):
        add("template_expression", lit)
add("template_expression", "plain text")
add("template_expression", "[[not an expression]")


# --- keys: RSA from primes found by a seeded search, EC from fixed scalars, oct from fixed bytes
def b64u(n_or_bytes, length=None):
    b = n_or_bytes if isinstance(n_or_bytes, bytes) else n_or_bytes.to_bytes(
        length or (n_or_bytes.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def is_probable_prime(n, rng):
    if n < 4:
        return n in (2, 3)
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def rsa_jwk(bits, seed):
    rng = random.Random(seed)
    e = 65537
    while True:
        primes = []
        while len(primes) < 2:
            c = rng.getrandbits(bits // 2) | (3 << (bits // 2 - 2)) | 1
            if (c - 1) % e and is_probable_prime(c, rng):
                primes.append(c)
        p, q = primes
        n = p * q
        if n.bit_length() == bits and p != q:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    return {"kty": "RSA", "n": b64u(n), "e": b64u(e), "d": b64u(d), "p": b64u(p), "q": b64u(q),
            "dp": b64u(d % (p - 1)), "dq": b64u(d % (q - 1)), "qi": b64u(pow(q, -1, p))}


def ec_jwk(curve_name, scalar):
    from cryptography.hazmat.primitives.asymmetric import ec
    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1(), "P-256K": ec.SECP256K1()}
    size = {"P-256": 32, "P-384": 48, "P-521": 66, "P-256K": 32}[curve_name]
    key = ec.derive_private_key(scalar, curves[curve_name])
    pub = key.public_key().public_numbers()
    return {"kty": "EC", "crv": curve_name, "x": b64u(pub.x, size), "y": b64u(pub.y, size), "d": b64u(scalar, size)}


def pem_of(jwk):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    num = {k: int.from_bytes(base64.urlsafe_b64decode(jwk[k] + "=" * (-len(jwk[k]) % 4)), "big")
           for k in ("n", "e", "d", "p", "q", "dp", "dq", "qi")}
    key = rsa.RSAPrivateNumbers(num["p"], num["q"], num["d"], num["dp"], num["dq"], num["qi"],
                                rsa.RSAPublicNumbers(num["e"], num["n"])).private_key()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


rsa2048 = rsa_jwk(2048, "cmk-fuzz-rsa-2048")
keys = [rsa2048, {k: v for k, v in rsa2048.items() if k in ("kty", "n", "e", "d")},
        dict(rsa2048, kty="RSA-HSM"), {k: v for k, v in rsa2048.items() if k != "d"}]
for curve, scalar in (("P-256", 0x1234567), ("P-384", 0x7654321), ("P-521", 0xABCDEF), ("P-256K", 0x42)):
    keys.append(ec_jwk(curve, scalar))
for n in (16, 24, 32):
    keys.append({"kty": "oct", "k": b64u(bytes(range(n)))})
for lit in raw_strings:
    try:
        doc = json.loads(lit)
    except ValueError:
        continue
    if isinstance(doc, dict) and doc.get("kty"):
        keys.append(doc)
for i, jwk in enumerate(keys):
    add("jwk_import", json.dumps({"key": jwk}))
    if i < 3:
        add("jwk_import", json.dumps({"key": jwk, "hsm": True, "attributes": {"enabled": True, "exp": 2000000000},
                                      "tags": {"purpose": "fuzz"}}))
add("jwk_import", pem_of(rsa2048))
add("jwk_import", json.dumps({"key": {"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}}))
add("jwk_import", json.dumps({"key": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AQ"}}))
add("jwk_import", b"O" + bytes(range(32)))
# Key imports through the data plane too.
for jwk in keys[:1] + keys[4:5] + keys[8:9]:
    add("dataplane_requests", f"PUT /keys/imported?api-version=7.4\nHost: kv1.vault.azure.net\n\n"
                              + json.dumps({"key": jwk}) + "\n~~~\n"
                              "POST /keys/imported/sign?api-version=7.4\nHost: kv1.vault.azure.net\n\n"
                              + json.dumps({"alg": "ES256" if jwk["kty"] == "EC" else "RS256",
                                            "value": b64u(bytes(32))}))
# A fixture whose vault key is given as a JWK and as a PEM.
fixture_keys = json.loads(fixtures[[os.path.basename(p) for p in sorted(glob.glob(os.path.join(ROOT, "fixtures", "*.json")))].index("seed-vault-ready.json")])
for vault in fixture_keys.get("vaults", []):
    for key in vault.get("keys", []):
        key["versions"] = [{"version": "0" * 31 + "1", "jwk": rsa2048}, {"version": "0" * 31 + "2", "pem": pem_of(rsa2048)}]
add("fixture", json.dumps(fixture_keys))

# --- journal redaction: forms and queries with secrets, JWTs and PEM keys
jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
for ct, body in (("application/x-www-form-urlencoded",
                  f"grant_type=client_credentials&client_id={SP_APP}&client_secret=emulator-secret&scope=x"),
                 ("application/x-www-form-urlencoded", f"assertion={jwt}&client%5Fsecret=s&a&=b&&"),
                 ("application/json", json.dumps({"access_token": jwt, "nested": [{"value": "x", "d": "y"}],
                                                  "pem": "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----"})),
                 ("text/plain", "just text"), ("", "\x00\xff")):
    add("journal_redaction", f"{ct}\n{body}")

# --- dictionaries
function_names = re.findall(r'^\s+"([a-z0-9]+)",?$', read("emulator/deployments/template_functions.cpp"), flags=re.M)
json_tokens = ['"', "{", "}", "[", "]", ":", ",", "true", "false", "null", "1e400", "-0", "\\u0000", "\\ud800",
               '"\\\\"']
dicts = {
    "template_expression": ["[", "]", "(", ")", "'", "''", ",", ".", "[[", "true", "false", "null"]
                           + function_names,
    "json_input": json_tokens,
    "journal_redaction": json_tokens + ["=", "&", "%", "access_token", "client_secret", "value", "d", "k",
                                        "eyJ", "-----BEGIN PRIVATE KEY-----", "application/x-www-form-urlencoded",
                                        "application/json"],
    "request_target": ["/", "?", "&", "=", "#", "%", "%2F", "%00", "%ff", "//", "http://", "https://", "[::1]",
                       ":443", ":8443", "http", "_emulator", "subscriptions", "resourceGroups", "providers",
                       "keys", "vault.azure.net", ".vault.localhost", "localhost", "127.0.0.1",
                       "management.azure.com", "login.microsoftonline.com", "oauth2", "adfs", "api-version"],
    "connect_authority": ["CONNECT ", " HTTP/1.1\r\n", "\r\n\r\n", ":443", "[", "]", "::1", ".vault.azure.net",
                          ".localhost", "management.azure.com", "login.microsoftonline.com", "127.0.0.1"],
    "template": json_tokens + ["$schema", "contentVersion", "parameters", "variables", "resources", "outputs",
                               "copy", "count", "input", "condition", "dependsOn", "type", "name", "apiVersion",
                               "defaultValue", "allowedValues", "minValue", "maxValue", "minLength", "maxLength",
                               "securestring", "object", "array", "int", "bool", "string", "mode", "batchSize",
                               "serial", "properties", "value", "//", "/*", "*/"]
                + ["[" + f + "(" for f in function_names],
    "fixture": json_tokens + ["version", "tenants", "subscriptions", "servicePrincipals", "resourceGroups",
                              "userAssignedIdentities", "vaults", "keys", "versions", "jwk", "pem", "kty", "RSA",
                              "EC", "oct", "crv", "P-256", "roleAssignments", "clusters", "lroPolicies", "faults",
                              "state", "secrets", "clock", "resources", "operations", "clusterKeys", "deletedVaults",
                              "keyVaultProperties", "accessPolicies", "permissions", "now+30d"],
    "jwk_import": json_tokens + ["key", "kty", "RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM", "n", "e", "d",
                                 "p", "q", "dp", "dq", "qi", "k", "crv", "x", "y", "P-256", "P-384", "P-521",
                                 "P-256K", "key_ops", "hsm", "attributes", "tags", "AQAB", "-----BEGIN"],
}
req_tokens = ["\n~~~\n", "GET ", "PUT ", "POST ", "PATCH ", "DELETE ", " http", "\nHost: ", "\n\n",
              "Authorization: none", "Content-Type: application/json", "?api-version=", "2022-09-01",
              "2023-07-01", "2023-08-15", "7.4", "7.5", "/subscriptions/" + SUB, "/resourceGroups/rg1",
              "/providers/", "Microsoft.Kusto/clusters/kccmk", "Microsoft.Kusto/clusters/kcplain", "Microsoft.KeyVault/vaults/kv1",
              "Microsoft.ManagedIdentity/userAssignedIdentities/mi1", "Microsoft.Authorization/roleAssignments/",
              "Microsoft.Resources/deployments/", "/databases/", "/principalAssignments/", "location",
              "westeurope", "properties", "tags", "sku", "identity"]
dicts["arm_requests"] = json_tokens + req_tokens + ["keyVaultProperties", "accessPolicies", "template",
                                                    "parameters", "principalId", "roleDefinitionId"]
dicts["dataplane_requests"] = json_tokens + req_tokens + [
    "kv1.vault.azure.net", "/keys/k1", "/keys/ec1", "/create", "/import", "/rotate", "/rotationpolicy",
    "/encrypt", "/decrypt", "/wrapkey", "/unwrapkey", "/sign", "/verify", "/backup", "/restore", "/rng",
    "alg", "value", "RSA-OAEP", "RSA-OAEP-256", "ES256", "RS256", "login.microsoftonline.com",
    "/oauth2/v2.0/token", "/oauth2/token", "grant_type=client_credentials", "client_id=", "client_secret=",
    "scope=", "resource=", "/msi/token", "/metadata/identity/oauth2/token", "Metadata: true",
    "X-IDENTITY-HEADER: ", "/_emulator/faults", "/_emulator/clock", "/_emulator/state", "/_emulator/requests",
    "/_emulator/lro-policy", "/_emulator/msi", "match", "action", "status", "type", "path", "method"]


def dict_line(token):
    out = ""
    for ch in token.encode("utf-8"):
        if ch in (0x22, 0x5C) or ch < 0x20 or ch > 0x7E:
            out += f"\\x{ch:02x}"
        else:
            out += chr(ch)
    return f'"{out}"'


def main():
    for folder in (SEEDS, DICTS):
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
    total = 0
    for harness, contents in sorted(seeds.items()):
        os.makedirs(os.path.join(SEEDS, harness))
        contents = list(contents)
        if len(contents) > MAX_SEEDS:
            contents = [contents[i * len(contents) // MAX_SEEDS] for i in range(MAX_SEEDS)]
        for i, data in enumerate(contents):
            name = f"seed-{i:03d}-{hashlib.sha1(data).hexdigest()[:10]}"
            with open(os.path.join(SEEDS, harness, name), "wb") as f:
                f.write(data)
            total += len(data)
        print(f"{harness}: {len(contents)} seeds, {sum(len(d) for d in contents)} bytes")
    for harness, tokens in sorted(dicts.items()):
        unique = list(dict.fromkeys(t for t in tokens if t))
        with open(os.path.join(DICTS, f"{harness}.dict"), "w", encoding="ascii") as f:
            f.write(f"# libFuzzer dictionary for {harness}_fuzzer, written by fuzz/make_seeds.py\n")
            f.write("\n".join(dict_line(t) for t in unique) + "\n")
    print(f"total: {total} bytes")
    if total > 1024 * 1024:
        sys.exit("the seeds are over 1 MB")


main()
