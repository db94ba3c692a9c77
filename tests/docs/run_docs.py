#!/usr/bin/env python3
"""Docs that run: every shell block of README.md and docs/*.md that a user would paste is a test.

    run_docs.py --list                          every shell block: where, kind, id, the tests that run it
                                                or why it is skipped
    run_docs.py --ctest-names                   "file|id|kind" per test to register (CMake reads it): one
                                                per block that no other block needs
    run_docs.py --check                         markup, links and paths, README length (ctest)
    run_docs.py --run FILE ID [--system-ca-env] one block against a fresh emulator (ctest)

The convention (docs/contributing.md, "Docs that run"): a fenced block in `sh`, `bash`, `shell` or
`console` carries, on the line right above its opening fence, a marker

    <!-- docs-test: id=NAME [needs=ID,FILE:ID] [server | no-server] [allow-refusals="host:443"] -->
    <!-- docs-test: skip reason="why it cannot run here" -->

`--run` builds what a user has after `./scripts/run` in another terminal: a fresh emulator on its
default ports, started from a copy of the repository root (symlinks, its own certs/), and a clean
environment (empty HOME, no proxy, CA or Azure variables; with --system-ca-env CURL_CA_BUNDLE and
SSL_CERT_DIR name the system bundle, as on many machines). The blocks the test needs, then the
block itself, run in one `bash` (set -euo pipefail) from that root. The test fails if a command
fails, if the proxy refused a host the blocks do not declare (allow-refusals), if the emulator
answered 500, or if it did not stop cleanly. Each test runs in its own network namespace
(`unshare -rn`) so that the default ports are its own; where that is not allowed, tests take the
default ports one at a time (a lock file).
"""
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHELL_LANGS = {"sh", "bash", "shell", "console"}
NEVER_HERE_LANGS = {"powershell", "pwsh", "ps1", "dockerfile"}  # must be marked skip
DEFAULT_SERVER = ("README.md", "run")
README_MAX_LINES = 250
SYSTEM_CA_ENV = {"CURL_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt", "SSL_CERT_DIR": "/etc/ssl/certs"}
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MARKER = re.compile(r"^\s*<!--\s*docs-test:(.*?)-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^\s`]*)\s*$")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Words that name documents outside the repository, or say status in issue numbers.
FORBIDDEN = [
    (re.compile(r"real-clients\.md|peers\.md|\bPRODUCT\b|\bshared/"), "names a document outside the repository"),
    (re.compile(r"\bissues? #?\d+", re.I), "speaks in issue numbers"),
]
REPO_DIRS = ("bench/", "docs/", "emulator/", "fixtures/", "scripts/", "tests/", "tools/", "fuzz/")


class Block:
    def __init__(self, path, line, lang, text, marker):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.marker = marker  # dict or None
        m = marker or {}
        self.id = m.get("id")
        self.skip = m.get("skip") is not None or "reason" in m
        self.reason = m.get("reason", "")
        self.server = "server" in m
        self.no_server = "no-server" in m
        self.needs = [n for n in re.split(r"[,\s]+", m.get("needs", "")) if n]
        self.allow_refusals = m.get("allow-refusals", "").split()

    @property
    def key(self):
        return (self.path, self.id)

    @property
    def kind(self):
        return "skip" if self.skip else "server" if self.server else "run"

    def where(self):
        return f"{self.path}:{self.line}"


def doc_files():
    files = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    return [f for f in files if os.path.exists(os.path.join(ROOT, f))]


def parse_marker(text):
    out = {}
    for token in shlex.split(text):
        k, eq, v = token.partition("=")
        out[k] = v if eq else ""
    return out


def parse(path):
    """Fenced blocks of one file: (blocks, errors)."""
    blocks, errors = [], []
    lines = open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if MARKER.match(lines[i]) and not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
                errors.append(f"{path}:{i + 1}: a docs-test marker must be right above a fenced block")
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence)) and lines[i].strip().strip(fence[0]) == ""):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        marker = None
        if start > 0:
            mm = MARKER.match(lines[start - 1])
            if mm:
                try:
                    marker = parse_marker(mm.group(1))
                except ValueError as e:
                    errors.append(f"{path}:{start}: unreadable docs-test marker: {e}")
        if not lang:
            errors.append(f"{path}:{start + 1}: a fenced block needs a language (`text` for plain text)")
        blocks.append(Block(path, start + 1, lang, "\n".join(body) + "\n", marker))
    return blocks, errors


def load():
    blocks, errors = [], []
    for f in doc_files():
        b, e = parse(f)
        blocks += b
        errors += e
    return blocks, errors


def shell_blocks(blocks):
    return [b for b in blocks if b.lang in SHELL_LANGS or b.lang in NEVER_HERE_LANGS]


def resolve(block, by_key):
    """The blocks a test runs, in order: its needs (transitively, each once), then itself."""
    order, seen = [], set()

    def visit(b, stack):
        if b.key in stack:
            raise ValueError(f"{b.where()}: needs form a cycle: {' -> '.join(i for _, i in stack)}")
        if b.key in seen:
            return
        for n in b.needs:
            f, _, i = n.rpartition(":")
            target = by_key.get((f or b.path, i))
            if target is None:
                raise ValueError(f"{b.where()}: needs '{n}', which is no block with that id")
            if target.skip:
                raise ValueError(f"{b.where()}: needs '{n}', which is skipped")
            visit(target, stack + [b.key])
        seen.add(b.key)
        order.append(b)

    visit(block, [])
    return order


def server_of(chain, by_key):
    servers = [b for b in chain if b.server]
    if len(servers) > 1:
        raise ValueError(f"{chain[-1].where()}: needs two servers: {', '.join(b.where() for b in servers)}")
    if any(b.no_server for b in chain):
        if servers:
            raise ValueError(f"{chain[-1].where()}: no-server and a server block in one chain")
        return None
    return servers[0] if servers else by_key[DEFAULT_SERVER]


def leaves(by_key):
    """The blocks that get a test of their own: those no other block needs. A needed block runs in
    the test of every block that needs it, so a chain of blocks (a workflow told in steps) is one
    test, named after its last step; the README's server runs in every test that names none."""
    needed = set()
    for b in by_key.values():
        chain = resolve(b, by_key)
        needed.update(x.key for x in chain[:-1])
        server = server_of(chain, by_key)
        if server is not None and server is not b:
            needed.add(server.key)
    return [b for b in by_key.values() if b.key not in needed]


def covering(by_key):
    """For each block, the tests (leaves) that run it."""
    out = {}
    for leaf in leaves(by_key):
        chain = resolve(leaf, by_key)
        server = server_of(chain, by_key)
        for b in chain + ([server] if server is not None and server not in chain else []):
            out.setdefault(b.key, []).append(leaf)
    return out


def check_blocks(blocks):
    errors = []
    by_key = {}
    for b in shell_blocks(blocks):
        if b.marker is None:
            errors.append(f"{b.where()}: {b.lang} block without a docs-test marker (give it an id, or skip with a reason)")
            continue
        if b.skip:
            if not b.reason.strip():
                errors.append(f"{b.where()}: skipped without a reason")
            continue
        if b.lang in NEVER_HERE_LANGS:
            errors.append(f"{b.where()}: {b.lang} blocks cannot run here: mark them skip with a reason")
            continue
        if not b.id or not ID_RE.match(b.id):
            errors.append(f"{b.where()}: id '{b.id}' must be lowercase letters, digits and '-'")
            continue
        if b.key in by_key:
            errors.append(f"{b.where()}: id '{b.id}' is used twice in {b.path}")
        by_key[b.key] = b
        if b.server:
            cmd = server_command_words(b)
            if cmd is None:
                errors.append(f"{b.where()}: a server block is one command: ./scripts/run or build/cmk-emulator with flags")
    if DEFAULT_SERVER not in by_key or not by_key[DEFAULT_SERVER].server:
        errors.append(f"{DEFAULT_SERVER[0]}: no server block with id '{DEFAULT_SERVER[1]}' (the default server)")
        return errors, by_key
    for b in by_key.values():
        try:
            server_of(resolve(b, by_key), by_key)
        except ValueError as e:
            errors.append(str(e))
    return errors, by_key


def anchors(path):
    """The heading anchors of a Markdown file, as GitHub makes them."""
    out, in_fence = set(), False
    for line in open(path, encoding="utf-8"):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def check_text():
    errors = []
    for f in doc_files():
        text = open(os.path.join(ROOT, f), encoding="utf-8").read()
        for n, line in enumerate(text.split("\n"), 1):
            for pattern, what in FORBIDDEN:
                if pattern.search(line):
                    errors.append(f"{f}:{n}: {what}: {line.strip()[:100]}")
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"[a-z]+:", target):
                    continue
                file_part, _, anchor = target.partition("#")
                path = os.path.normpath(os.path.join(ROOT, os.path.dirname(f), file_part)) if file_part \
                    else os.path.join(ROOT, f)
                if not os.path.exists(path):
                    errors.append(f"{f}:{n}: link to a missing file: {target}")
                elif anchor and path.endswith(".md") and anchor not in anchors(path):
                    errors.append(f"{f}:{n}: link to a missing heading: {target}")
            for span in re.findall(r"`([^`\s]+)`", line):
                if not span.startswith(REPO_DIRS) or re.search(r"[<>{}*$\[]|\.\.\.|…", span):
                    continue
                path = span.split(":")[0].rstrip(".,;")
                if not os.path.exists(os.path.join(ROOT, path)) and not glob.glob(os.path.join(ROOT, path) + ".*"):
                    errors.append(f"{f}:{n}: `{span}` names no file of the repository")
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read().split("\n")
    count = len(readme) - (readme[-1] == "")
    if count > README_MAX_LINES:
        errors.append(f"README.md: {count} lines; at most {README_MAX_LINES} (reference belongs in docs/)")
    return errors


# ---------------------------------------------------------------- running one block

def server_command_words(block):
    lines = [l for l in block.text.split("\n") if l.strip() and not l.strip().startswith("#")]
    if len(lines) != 1:
        return None
    words = shlex.split(lines[0], comments=True)
    if not words or words[0] not in ("./scripts/run", "build/cmk-emulator"):
        return None
    return words


def scripts_run_prefix(root):
    """What ./scripts/run executes after building: its exec line, with the paths of `root`."""
    text = open(os.path.join(ROOT, "scripts", "run"), encoding="utf-8").read()
    m = re.search(r'^exec "\$CMK_BUILD_DIR/cmk-emulator"(.*)"\$@"\s*$', text, re.M)
    if not m:
        raise SystemExit("scripts/run no longer ends in exec \"$CMK_BUILD_DIR/cmk-emulator\" ... \"$@\": "
                         "teach tests/docs/run_docs.py what it starts")
    rest = m.group(1).replace("$CMK_ROOT", root).replace("$CMK_BUILD_DIR", os.path.join(root, "build"))
    return [os.path.join(root, "build", "cmk-emulator")] + shlex.split(rest)


def clean_env(home, system_ca):
    env = {"PATH": CLEAN_PATH, "HOME": home, "LANG": "C.UTF-8", "SHELL": "/bin/bash",
           "USER": os.environ.get("USER", "root"), "LOGNAME": os.environ.get("LOGNAME", "root"),
           # The copy of the repository links to the real one: no __pycache__ written into it.
           "PYTHONDONTWRITEBYTECODE": "1"}
    if system_ca:
        env.update(SYSTEM_CA_ENV)
    return env


def make_root(work, binary):
    """A copy of the repository root as a user has it: symlinks to everything but certs/ and the
    build directories; build/cmk-emulator is the binary under test."""
    root = os.path.join(work, "repo")
    os.makedirs(os.path.join(root, "build"))
    for name in os.listdir(ROOT):
        if name in ("certs", ".git") or name.startswith("build"):
            continue
        os.symlink(os.path.join(ROOT, name), os.path.join(root, name))
    os.symlink(binary, os.path.join(root, "build", "cmk-emulator"))
    return root


def start_server(block, root, work, env):
    words = server_command_words(block)
    argv = scripts_run_prefix(root) + words[1:] if words[0] == "./scripts/run" else \
        [os.path.join(root, "build", "cmk-emulator")] + words[1:]
    out = open(os.path.join(work, "emulator.out"), "w")
    err = open(os.path.join(work, "emulator.err"), "w")
    print(f"[docs-test] server ({block.where()}): {' '.join(shlex.quote(a) for a in argv)}", flush=True)
    proc = subprocess.Popen(argv, cwd=root, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = open(os.path.join(work, "emulator.out")).read()
        if "\n" in text:
            ready = json.loads(text.split("\n")[0])
            if ready.get("event") != "ready":
                raise RuntimeError(f"unexpected first line: {text}")
            return proc, ready
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited ({proc.returncode}) before it was ready")
        time.sleep(0.02)
    raise RuntimeError("the emulator printed no ready line within 60 s")


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "killed after 20 s"


def admin_get(ready, path):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{ready['http_port']}{path}", timeout=10) as r:
        return json.loads(r.read())


def run_block(path, block_id, system_ca):
    blocks, errors = load()
    errors_b, by_key = check_blocks(blocks)
    block = by_key.get((path, block_id))
    if block is None:
        sys.exit(f"no runnable block '{block_id}' in {path}" + ("".join("\n  " + e for e in errors + errors_b)))
    chain = resolve(block, by_key)
    server = server_of(chain, by_key)
    shell = [b for b in chain if not b.server]
    allowed = {r for b in chain for r in b.allow_refusals}
    binary = os.path.realpath(os.environ.get("CMK_BINARY") or os.path.join(ROOT, "build", "cmk-emulator"))
    if not os.access(binary, os.X_OK):
        sys.exit(f"emulator binary not found: {binary} (build first)")

    work = tempfile.mkdtemp(prefix="cmk-docs.")
    failures = []
    proc = None
    try:
        root = make_root(work, binary)
        home = os.path.join(work, "home")
        os.makedirs(home)
        env = clean_env(home, system_ca)
        # The test helpers (clients/) look for build/cmk-emulator beside the file that imports
        # them, through symlinks: the checkout's own build/, which a sanitizer build does not
        # have. Name the binary under test, as a CI job outside the checkout would.
        env["CMK_EMULATOR_BINARY"] = os.path.join(root, "build", "cmk-emulator")
        if server is not None:
            proc, ready = start_server(server, root, work, env)
        if shell:
            script = ["set -euo pipefail", f"cd {shlex.quote(root)}"]
            current = os.path.join(work, "current-block")
            for b in shell:
                label = shlex.quote(b.where() + " (" + b.id + ")")
                script += [f"printf '%s\\n' {label} > {shlex.quote(current)}",
                           f"printf '\\n[docs-test] %s\\n' {label} >&2", b.text]
            open(os.path.join(work, "blocks.sh"), "w").write("\n".join(script) + "\n")
            print(f"[docs-test] running {', '.join(b.where() for b in shell)}"
                  f"{' with ' + ' '.join(f'{k}={v}' for k, v in SYSTEM_CA_ENV.items()) if system_ca else ''}", flush=True)
            timeout = int(os.environ.get("CMK_DOCS_TIMEOUT", "270"))
            try:
                rc = subprocess.run(["bash", os.path.join(work, "blocks.sh")], cwd=root, env=env,
                                    stdin=subprocess.DEVNULL, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                rc = f"timeout after {timeout} s"
            if rc != 0:
                at = open(current).read().strip() if os.path.exists(current) else "?"
                failures.append(f"the blocks exited with {rc}, in {at}")
        if proc is not None:
            refused = sorted({r["target"] for r in admin_get(ready, "/_emulator/proxy/refusals")["value"]} - allowed)
            if refused:
                failures.append("the proxy refused hosts the blocks do not declare (allow-refusals): " + " ".join(refused))
            erc = stop_server(proc)
            proc = None
            if erc != 0:
                failures.append(f"the emulator did not stop cleanly ({erc})")
            log = open(os.path.join(work, "emulator.err"), errors="replace").read()
            if " -> 500 " in log:
                failures.append("the emulator answered 500")
    except (RuntimeError, ValueError, OSError) as e:
        failures.append(str(e))
    finally:
        if proc is not None:
            stop_server(proc)
        if failures and os.path.exists(os.path.join(work, "emulator.err")):
            print("[docs-test] emulator log (last 40 lines):", file=sys.stderr)
            print("".join(open(os.path.join(work, "emulator.err"), errors="replace").readlines()[-40:]), file=sys.stderr)
        if os.environ.get("CMK_KEEP_WORK"):
            print(f"[docs-test] work dir kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        for f in failures:
            print(f"[docs-test] FAIL {block.where()} ({block.id}): {f}", file=sys.stderr)
        return 1
    print(f"[docs-test] passed: {block.where()} ({block.id})")
    return 0


def isolated(argv):
    """Re-run this command in a new user and network namespace with loopback up, if allowed."""
    if os.environ.get("CMK_DOCS_NETNS") == "inner":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return None
    if os.environ.get("CMK_DOCS_NETNS") != "off" and shutil.which("unshare") and shutil.which("ip"):
        probe = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            env = dict(os.environ, CMK_DOCS_NETNS="inner")
            return subprocess.run(["unshare", "-rn", sys.executable, os.path.abspath(__file__)] + argv, env=env).returncode
    return False


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[0] == "--run":
        if len(argv) < 3:
            sys.exit("usage: run_docs.py --run FILE ID [--system-ca-env]")
        system_ca = "--system-ca-env" in argv[3:]
        rc = isolated(argv)
        if rc is not None and rc is not False:
            return rc
        if rc is False:  # no namespace: take the default ports in turn
            import fcntl
            lock = open(os.path.join(tempfile.gettempdir(), "cmk-docs-default-ports.lock"), "w")
            fcntl.flock(lock, fcntl.LOCK_EX)
        return run_block(argv[1], argv[2], system_ca)

    blocks, errors = load()
    errors_b, by_key = check_blocks(blocks)
    errors += errors_b
    if argv[0] == "--ctest-names":
        if errors:
            sys.exit("\n".join(errors))
        for b in leaves(by_key):
            print(f"{b.path}|{b.id}|{b.kind}")
        return 0
    if argv[0] == "--list":
        cover = covering(by_key) if not errors else {}
        for b in shell_blocks(blocks):
            if b.skip:
                extra = f"skipped: {b.reason}"
            else:
                extra = "run by: " + ", ".join(f"{x.path} {x.id}" for x in cover.get(b.key, []))
            print(f"{b.where():28} {b.lang:10} {b.kind:6} {b.id or '-':16} {extra}")
        return 0
    if argv[0] == "--check":
        errors += check_text()
        for e in errors:
            print(e, file=sys.stderr)
        skipped = [b for b in shell_blocks(blocks) if b.skip]
        ran = [b for b in by_key.values()]
        print(f"{len(ran)} blocks run, {len(skipped)} skipped with a reason:")
        for b in skipped:
            print(f"  {b.where()}: {b.reason}")
        print(f"{'1 failed' if errors else '1 passed'}: {len(errors)} problem(s)")
        return 1 if errors else 0
    sys.exit(f"unknown argument {argv[0]}; see --help")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
