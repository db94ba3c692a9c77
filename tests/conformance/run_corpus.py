"""Conformance runner: replays the corpus's cases against the emulator in proxy mode and compares
each answer's structure with what Azure's published traffic shows (docs/conformance.md).

Run by tests/clients/run_client_test.sh, which starts a fresh emulator and exports the proxy-mode
environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE, the CMK_* identities):

    tests/clients/run_client_test.sh tests/conformance/run_corpus.py   with CMK_CONFORMANCE_FAMILY=kusto

CMK_CONFORMANCE_FAMILY names the folder under tests/conformance/ (several: comma-separated; empty:
all); CMK_CONFORMANCE_CASES is a glob on case names (file names without .json) to run fewer.
Before each case the emulator goes back to its start state (POST /_emulator/reset), so each case
meets a fresh emulator. Long-running operations are followed through the emulator's own polling
headers; while one is in progress the virtual clock is advanced by its Retry-After instead of
sleeping. Prints one line per case and the totals; exits 1 when any compared step differs.
"""
import fnmatch
import json
import os
import random
import re
import string
import sys
import time
import urllib.parse

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = os.environ
ADMIN = f"http://127.0.0.1:{ENV['CMK_HTTP_PORT']}/_emulator"
NO_PROXY = {"http": None, "https": None}

# Status values of a long-running operation that is not finished yet (Azure-AsyncOperation bodies
# and the resource's provisioningState).
IN_PROGRESS = {"InProgress", "Running", "Accepted", "Creating", "Updating", "Deleting", "Starting",
               "Stopping", "Migrating", "Provisioning"}
MAX_POLLS = 60


class Mismatch(Exception):
    pass


# --- values the emulator chooses and the case names: ${name} in any string of a request
def substitute(value, variables):
    if isinstance(value, str):
        whole = re.fullmatch(r"\$\{(\w+)\}", value)
        if whole and whole.group(1) in variables and not isinstance(variables[whole.group(1)], str):
            return variables[whole.group(1)]  # "${n}" alone keeps a captured number or object as is

        def one(m):
            name = m.group(1)
            if name not in variables:
                raise Mismatch(f"unknown variable ${{{name}}}")
            v = variables[name]
            return v if isinstance(v, str) else json.dumps(v)
        return re.sub(r"\$\{(\w+)\}", one, value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


# --- member paths: a.b[0].c, and ["key.with.dots"] for keys that hold dots or slashes
PATH_TOKEN = re.compile(r'\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.\[\]]+)')


def split_path(path):
    tokens, pos = [], 0
    while pos < len(path):
        if path[pos] == ".":
            pos += 1
            continue
        m = PATH_TOKEN.match(path, pos)
        if not m:
            raise Mismatch(f"bad member path {path!r}")
        tokens.append(int(m.group(1)) if m.group(1) is not None else
                      (m.group(2) if m.group(2) is not None else m.group(3)))
        pos = m.end()
    return tokens


MISSING = object()


def lookup(doc, path):
    cur = doc
    for t in split_path(path):
        if isinstance(t, int):
            if not isinstance(cur, list) or t >= len(cur):
                return MISSING
            cur = cur[t]
        else:
            if not isinstance(cur, dict) or t not in cur:
                return MISSING
            cur = cur[t]
    return cur


JSON_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}


def type_name(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    for name, t in JSON_TYPES.items():
        if isinstance(v, t):
            return name
    return "?"


# --- one HTTP exchange
class Session:
    def __init__(self):
        self.http = requests.Session()  # proxy and CA from the environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE)
        self.tokens = {}

    def token(self, scope, client_id=None, secret=None, tenant=None):
        client_id = client_id or ENV["CMK_SP_APP_ID"]
        secret = secret or ENV["CMK_SP_SECRET"]
        tenant = tenant or ENV["CMK_TENANT"]
        key = (scope, client_id, secret, tenant)
        if key not in self.tokens:
            r = self.http.post(f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                               data={"grant_type": "client_credentials", "client_id": client_id,
                                     "client_secret": secret, "scope": scope}, timeout=30)
            if r.status_code != 200:
                raise Mismatch(f"token for {scope}: {r.status_code} {r.text[:300]}")
            self.tokens[key] = r.json()["access_token"]
        return self.tokens[key]

    def send(self, method, url, auth, headers=None, body=None, body_raw=None, content_type=None):
        headers = dict(headers or {})
        host = urllib.parse.urlsplit(url).hostname or ""
        if auth is None:
            auth = "vault" if host.endswith(".vault.azure.net") else (
                "none" if host.startswith("login.") else "arm")
        if auth != "none":
            if isinstance(auth, dict):
                tok = self.token(auth.get("scope", "https://management.azure.com/.default"), auth.get("client_id"),
                                 auth.get("client_secret"), auth.get("tenant"))
            else:
                tok = self.token("https://vault.azure.net/.default" if auth == "vault"
                                 else "https://management.azure.com/.default")
            headers.setdefault("Authorization", f"Bearer {tok}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", content_type or "application/json")
        elif body_raw is not None:
            data = body_raw.encode()
            if content_type:
                headers.setdefault("Content-Type", content_type)
        return self.http.request(method, url, headers=headers, data=data, timeout=60, allow_redirects=False)


def admin(method, path, body=None):
    r = requests.request(method, ADMIN + path, json=body, data=None if body is not None else b"",
                         proxies=NO_PROXY, timeout=30)
    if r.status_code != 200:
        raise Mismatch(f"admin {method} {path}: {r.status_code} {r.text[:300]}")
    return r.json()


# --- comparing one answer with a step's expectations
def body_json(resp):
    if not resp.content:
        return MISSING
    try:
        return resp.json()
    except ValueError:
        return MISSING


def check(expect, resp, variables):
    """Returns the list of differences between `resp` and `expect` (empty: the answer matches)."""
    problems = []
    expect = substitute(expect, variables)
    status = expect.get("status")
    if status is not None:
        allowed = status if isinstance(status, list) else [status]
        if resp.status_code not in allowed:
            problems.append(f"status {resp.status_code}, expected {' or '.join(map(str, allowed))}")
    headers = expect.get("headers", [])
    if isinstance(headers, list):
        headers = {h: None for h in headers}
    for name, pattern in headers.items():
        got = resp.headers.get(name)
        if got is None:
            problems.append(f"header {name} missing")
        elif pattern is not None and not re.search(pattern, got):
            problems.append(f"header {name}: {got!r} does not match {pattern!r}")
    for name in expect.get("absent_headers", []):
        if name in resp.headers:
            problems.append(f"header {name} present ({resp.headers[name]!r}), Azure sends none")
    doc = body_json(resp)
    if expect.get("empty_body") and resp.content:
        problems.append(f"body {resp.content[:80]!r}, expected none")
    wants_body = any(expect.get(k) for k in ("members", "absent_members", "values", "one_of", "matches", "types",
                                             "lengths"))
    if wants_body and doc is MISSING:
        problems.append(f"no JSON body ({resp.headers.get('Content-Type')}): {resp.text[:200]!r}")
        return problems
    for path in expect.get("members", []):
        if lookup(doc, path) is MISSING:
            problems.append(f"member {path} missing")
    for path in expect.get("absent_members", []):
        v = lookup(doc, path)
        if v is not MISSING:
            problems.append(f"member {path} present ({json.dumps(v)[:80]}), Azure sends none")
    for path, want in expect.get("values", {}).items():
        v = lookup(doc, path)
        if v is MISSING:
            problems.append(f"member {path} missing (expected {json.dumps(want)})")
        elif v != want:
            problems.append(f"{path} is {json.dumps(v)[:120]}, expected {json.dumps(want)}")
    for path, options in expect.get("one_of", {}).items():
        v = lookup(doc, path)
        if v is MISSING or v not in options:
            problems.append(f"{path} is {'missing' if v is MISSING else json.dumps(v)}, expected one of "
                            f"{json.dumps(options)}")
    for path, pattern in expect.get("matches", {}).items():
        v = lookup(doc, path)
        if not isinstance(v, str) or not re.search(pattern, v):
            problems.append(f"{path} is {'missing' if v is MISSING else json.dumps(v)[:120]}, expected /{pattern}/")
    for path, want in expect.get("types", {}).items():
        v = lookup(doc, path)
        if v is MISSING or type_name(v) != want:
            problems.append(f"{path} is {'missing' if v is MISSING else type_name(v)}, expected {want}")
    for path, n in expect.get("lengths", {}).items():
        v = lookup(doc, path)
        if not isinstance(v, (list, dict, str)) or len(v) != n:
            problems.append(f"{path} has length {len(v) if isinstance(v, (list, dict, str)) else 'n/a'}, "
                            f"expected {n}")
    return problems


def capture(spec, resp, variables):
    for name, source in spec.items():
        regex = None
        if isinstance(source, dict):
            regex, source = source.get("regex"), source["from"]
        kind, _, what = source.partition(":")
        if kind == "header":
            value = resp.headers.get(what)
        elif kind == "body":
            value = lookup(body_json(resp), what)
            value = None if value is MISSING else value
        else:
            raise Mismatch(f"bad capture source {source!r}")
        if value is None:
            raise Mismatch(f"cannot capture {name} from {source}: not in the answer")
        if regex:
            m = re.search(regex, value)
            if not m:
                raise Mismatch(f"cannot capture {name}: {value!r} does not match {regex!r}")
            value = m.group(1) if m.groups() else m.group(0)
        variables[name] = value


# --- following a long-running operation by the emulator's own headers
def operation_finished(resp):
    if resp.status_code == 202:
        return False
    doc = body_json(resp)
    if not isinstance(doc, dict):
        return True
    status = doc.get("status")
    if status is None and isinstance(doc.get("properties"), dict):
        status = doc["properties"].get("provisioningState")
    return status not in IN_PROGRESS


def follow(session, step, first, auth, variables):
    """Polls the URL the first answer names until the operation is finished; returns the last answer."""
    spec = step["follow"]
    via = spec.get("via", "Azure-AsyncOperation")
    url = first.headers.get(via)
    if not url:
        raise Mismatch(f"cannot follow: the answer has no {via} header")
    for _ in range(MAX_POLLS):
        resp = session.send("GET", url, auth)
        if operation_finished(resp):
            return resp
        wait = resp.headers.get("Retry-After") or first.headers.get("Retry-After") or "1"
        admin("POST", "/clock/advance", {"seconds": max(1, min(int(wait) if wait.isdigit() else 1, 60))})
        if via == "Location" and resp.headers.get("Location"):
            url = resp.headers["Location"]
    raise Mismatch(f"operation at {url} still in progress after {MAX_POLLS} polls")


# --- a case
def run_case(path, session):
    with open(path, encoding="utf-8") as f:
        case = json.load(f)
    unique = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    variables = {"subscription": ENV["CMK_SUBSCRIPTION"], "tenant": ENV["CMK_TENANT"],
                 "sp_app_id": ENV["CMK_SP_APP_ID"], "sp_object_id": ENV["CMK_SP_OBJECT_ID"],
                 "sp_secret": ENV["CMK_SP_SECRET"], "unique": unique,
                 "http_port": ENV["CMK_HTTP_PORT"]}  # the plain-HTTP port: managed-identity endpoints
    for name, value in case.get("vars", {}).items():
        variables[name] = substitute(value, variables)
    admin("POST", "/reset")
    compared, matched, failures = 0, 0, []
    for i, step in enumerate(case["steps"], 1):
        label = f"step {i} ({step.get('name', '')})"
        try:
            if "admin" in step:
                a = substitute(step["admin"], variables)
                answer = admin(a["method"], a["path"], a.get("body"))
                if "capture" in step:
                    for name, p in step["capture"].items():
                        variables[name] = lookup(answer, p)
                continue
            req = substitute(step["request"], variables)
            resp = session.send(req["method"], req["url"], req.get("auth"), req.get("headers"), req.get("body"),
                                req.get("body_raw"), req.get("content_type"))
            compared += 1
            problems = check(step.get("expect", {}), resp, variables)
            if not problems and "capture" in step:
                capture(step["capture"], resp, variables)
            if not problems and "follow" in step:
                matched += 1  # the first answer; the operation's end is compared as a step of its own
                compared += 1
                resp = follow(session, step, resp, req.get("auth"), variables)
                problems = [f"after following: {p}" for p in check(step["follow"].get("expect", {}), resp, variables)]
                if not problems and "capture" in step["follow"]:
                    capture(step["follow"]["capture"], resp, variables)
            if problems:
                failures.append(f"{label}: {req['method']} {req['url']}\n      " + "\n      ".join(problems)
                                + f"\n      answer: {resp.status_code} {resp.text[:400]}")
                if step.get("stop_on_failure", True):
                    break
            else:
                matched += 1
        except (Mismatch, requests.RequestException) as e:
            failures.append(f"{label}: {e}")
            break
    return case, compared, matched, failures


def main():
    families = [f for f in ENV.get("CMK_CONFORMANCE_FAMILY", "").split(",") if f] or sorted(
        d for d in os.listdir(HERE) if os.path.isdir(os.path.join(HERE, d)) and not d.startswith(("_", ".")))
    pattern = ENV.get("CMK_CONFORMANCE_CASES", "*")
    session = Session()
    total_cases = passed_cases = total_steps = matched_steps = 0
    chosen = []
    for family in families:
        folder = os.path.join(HERE, family)
        if not os.path.isdir(folder):
            print(f"no such family: {family}", file=sys.stderr)
            return 2
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json") or not fnmatch.fnmatch(name[:-5], pattern):
                continue
            started = time.monotonic()
            case, compared, matched, failures = run_case(os.path.join(folder, name), session)
            total_cases += 1
            total_steps += compared
            matched_steps += matched
            ok = not failures
            passed_cases += ok
            if case.get("emulator_chosen"):
                chosen.append(f"{family}/{name[:-5]}")
            print(f"{'ok  ' if ok else 'FAIL'} {family}/{name[:-5]}: {matched}/{compared} steps match"
                  f" ({time.monotonic() - started:.2f} s)")
            for f in failures:
                print(f"    {f}")
    pct = 100.0 * matched_steps / total_steps if total_steps else 0.0
    print(f"conformance {','.join(families)}: {total_cases} cases, {passed_cases} pass; {total_steps} steps "
          f"compared, {matched_steps} match ({pct:.1f} %)" + (f"; emulator-chosen: {len(chosen)}" if chosen else ""))
    print(f"{passed_cases} passed, {total_cases - passed_cases} failed")
    if total_cases == 0:
        print("no case ran", file=sys.stderr)
        return 1
    return 0 if passed_cases == total_cases else 1


if __name__ == "__main__":
    sys.exit(main())
