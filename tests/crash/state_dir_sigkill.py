#!/usr/bin/env python3
"""Crash test of --state-dir (issue 8): every acknowledged write survives SIGKILL.

Usage: state_dir_sigkill.py [path to cmk-emulator]   (default: build/cmk-emulator)
Environment: CMK_CRASH_SEED (the run's seed; default: a random one, printed),
             CMK_CRASH_CYCLES (kills, default 50), CMK_KEEP_WORK=1 (keep the work directory),
             CMK_CRASH_FLAGS (more emulator flags, e.g. "--state-durability kill"),
             CMK_CRASH_TIMING=1 (time each check), CMK_CRASH_SABOTAGE=wal (test of the test:
             deletes state.db-wal after the middle kill, so recent writes are lost and the run
             must fail).

One emulator runs with --state-dir in a temporary directory (the same --certs-dir throughout,
so tokens stay valid). Three client threads write without pause, each on its own keep-alive
HTTPS connection:
  * "arm":  Kusto clusters (PUT create, PUT replace and PATCH with a tag counter), vaults (PUT
            create, PATCH with a tag counter), the virtual clock (POST /_emulator/clock/advance);
  * "kva", "kvb": in their own vault, keys (create RSA-2048 or EC P-256, rotate, PATCH one
            version's tags and exp with a counter) and one key deleted and recovered in turn.
A write is acknowledged when its whole 2xx response has been read. After a random delay (seeded
RNG) the emulator is killed with SIGKILL, mid-request as a rule, and restarted on the same
directory (one restart in five is itself killed 0-60 ms after the start, ready or not, and
started again). With the clients parked, the check:
  * the export (GET /_emulator/state?include=secrets) parses and holds every acknowledged write:
    vaults, clusters, key versions with the same public material and private material present,
    each counter between its last acknowledged and its last sent value (a write sent but not
    acknowledged may or may not have happened; nothing older than the last acknowledgment may
    come back), the deleted/recovered key in an allowed state, the clock offset likewise; no
    operation left running, every cluster's provisioningState terminal;
  * the same through the APIs for every object written since the previous check (vault GET,
    key version GET with its kid, a wrap/unwrap or sign/verify with the version, cluster GET,
    deleted key GET), and for every object at the end;
  * PUT /_emulator/state accepts the export (200), and exporting again gives the same document;
  * the state directory is 0700 and its files 0600.
Prints "crash test: cycles=N acknowledged_writes=N lost=0 seed=S"; exits 1 on any loss (listing
each), any unexpected answer, or an emulator that fails to start (with its stderr). No emulator
outlives the test: it is killed on every exit path, and dies with the test (PR_SET_PDEATHSIG).
"""
import base64
import collections
import ctypes
import hashlib
import http.client
import json
import os
import random
import select
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

TENANT = "72f988bf-0000-0000-0000-000000000001"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
APP_ID, SECRET = "11111111-1111-1111-1111-111111111111", "emulator-secret"
SP_OBJECT_ID = "11111111-0000-0000-0000-000000000001"
RG = "crashrg"
RG_PATH = f"{SUB}/resourceGroups/{RG}"
V_RG, V_KV, V_KUSTO, V_KEYS = "2022-09-01", "2022-07-01", "2023-08-15", "7.4"
CLUSTER_SKU = {"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic", "capacity": 1}
EXP_BASE = 1_900_000_000  # a key version's exp is EXP_BASE + its counter
KILL_DELAY = (0.05, 1.6)  # seconds the clients write before each kill (uniform)
EARLY_KILL_SHARE = 0.2  # restarts that are first killed 0-60 ms after the start, ready or not
# Objects created at most (then the writes are updates), so that each check stays short.
MAX_CLUSTERS, MAX_VAULTS, MAX_KEYS_PER_VAULT = 30, 30, 50
TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}


def log(msg):
    print(f"[crash] {msg}", file=sys.stderr, flush=True)


class TestFailure(Exception):
    pass


class Interrupted(Exception):
    """The request got no complete answer: it may or may not have taken effect."""


# ---------------------------------------------------------------------------------------------
# The emulator process

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():  # runs in the child between fork and exec
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# More emulator flags, for every start (CMK_CRASH_FLAGS).
EXTRA_FLAGS = os.environ.get("CMK_CRASH_FLAGS", "").split()


class Emulator:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.certs, self.state = os.path.join(work, "certs"), os.path.join(work, "state")
        self.proc, self.starts, self.err_path = None, 0, None
        self.https_port = None

    def start(self):
        self.starts += 1
        self.err_path = os.path.join(self.work, f"emulator.{self.starts}.err")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "--https-port", "0", "--http-port", "0", "--certs-dir", self.certs,
                 "--log-level", "warn", "--state-dir", self.state] + EXTRA_FLAGS,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                preexec_fn=_die_with_parent)
        line, deadline = b"", time.monotonic() + 30
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise TestFailure(f"start {self.starts}: no ready line within 30 s\n"
                                  f"{self.stderr()}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    rc = self.proc.wait()
                    self.proc = None
                    raise TestFailure(f"start {self.starts}: the emulator exited ({rc}) before "
                                      f"it was ready; its stderr:\n{self.stderr()}")
                line += chunk
        ready = json.loads(line)
        if ready.get("event") != "ready":
            raise TestFailure(f"start {self.starts}: unexpected first line {line!r}")
        self.https_port, self.ca_file = ready["https_port"], ready["ca_file"]
        return ready

    def start_and_kill(self, delay):
        """Starts the emulator and kills it after `delay` s, ready or not (a crash while it
        opens and resumes the state)."""
        self.starts += 1
        self.err_path = os.path.join(self.work, f"emulator.{self.starts}.err")
        with open(self.err_path, "wb") as err:
            proc = subprocess.Popen(
                [self.binary, "--https-port", "0", "--http-port", "0", "--certs-dir", self.certs,
                 "--log-level", "warn", "--state-dir", self.state] + EXTRA_FLAGS,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                preexec_fn=_die_with_parent)
        time.sleep(delay)
        proc.kill()
        proc.wait()

    def stderr(self):
        try:
            with open(self.err_path, errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return "(no stderr)"

    def kill(self):
        if self.proc is not None:
            try:
                self.proc.kill()  # SIGKILL
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def stop(self):
        """SIGTERM, then a clean exit (0) is required."""
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("the emulator did not stop on SIGTERM within 30 s")
        self.proc.stdout.close()
        self.proc = None
        if rc != 0:
            raise TestFailure(f"the emulator exited {rc} on SIGTERM; its stderr:\n{self.stderr()}")


# ---------------------------------------------------------------------------------------------
# HTTP

class Conn:
    """One keep-alive HTTPS connection to the emulator (endpoint mode)."""

    def __init__(self, port, ctx, timeout=30):
        self.port, self.ctx, self.timeout = port, ctx, timeout
        self.c = None

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def call(self, method, path, body=None, token=None, host=None,
             ctype="application/json"):
        if self.c is None:
            self.c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                                 timeout=self.timeout)
        headers = {"Content-Type": ctype}
        if token:
            headers["Authorization"] = "Bearer " + token
        if host:
            headers["Host"] = host
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        try:
            self.c.request(method, path, body, headers)
            r = self.c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Interrupted(f"{type(e).__name__}: {e}") from None
        if r.will_close:
            self.close()
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = data
        return r.status, doc


def vault_host(vault, port):
    return f"{vault}.vault.localhost:{port}"


def vault_path(name):
    return f"{RG_PATH}/providers/Microsoft.KeyVault/vaults/{name}?api-version={V_KV}"


def cluster_path(name):
    return f"{RG_PATH}/providers/Microsoft.Kusto/clusters/{name}?api-version={V_KUSTO}"


def vault_body(tags):
    return {"location": "westeurope", "tags": tags,
            "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"},
                           "accessPolicies": [{"tenantId": TENANT, "objectId": SP_OBJECT_ID,
                                               "permissions": {"keys": ["all"]}}]}}


def cluster_body(tags):
    return {"location": "westeurope", "sku": CLUSTER_SKU, "tags": tags}


def public_material(key):
    """The public members of a JWK (what must come back unchanged)."""
    return {k: key[k] for k in ("kty", "n", "e", "crv", "x", "y") if k in key}


# ---------------------------------------------------------------------------------------------
# What the clients believe: acknowledged writes, and writes sent whose outcome is unknown

class Counter:
    """A value written with increasing numbers: after a crash it must lie in [acked, sent]."""

    def __init__(self, value=0):
        self.acked = self.sent = value

    def check(self, value, what, lost):
        if value is None or not (self.acked <= value <= self.sent):
            lost.append(f"{what}: counter is {value}, expected between {self.acked} (last "
                        f"acknowledged) and {self.sent} (last sent)")
            return False
        return True

    def settle(self, value):  # after a check: the state on disk is now the truth
        self.acked = self.sent = value


class KeyModel:
    def __init__(self, vault, name, version, material):
        self.vault, self.name = vault, name
        self.versions = {version: material}  # acknowledged versions -> public material
        self.first = version  # the version whose tags/exp carry the counter
        self.counter = Counter(0)
        self.dirty = True


class LifecycleKey:
    """A key deleted and recovered in turn: 'live' or 'deleted', plus an unknown outcome."""

    def __init__(self, vault, name, version, material):
        self.vault, self.name, self.version, self.material = vault, name, version, material
        self.state, self.inflight = "live", None
        self.dirty = True


class Named:
    def __init__(self, name):
        self.name, self.counter, self.dirty = name, Counter(0), True


class Model:
    def __init__(self):
        self.lock = threading.Lock()
        self.vaults = {}  # name -> Named (ARM vaults with a tag counter; includes the key vaults)
        self.clusters = {}  # name -> Named
        self.keys = {}  # (vault, name) -> KeyModel
        self.lifecycle = {}  # vault -> LifecycleKey
        self.clock = Counter(0)  # virtual clock offset, whole seconds
        self.acked = collections.Counter()  # kind -> acknowledged writes
        self.unknown = collections.Counter()  # kind -> writes without a complete answer
        self.conflicts = 0  # cluster writes refused with 409 while an operation ran
        self.unexpected = []  # answers no write should get
        self.interrupted = set()  # ids of operations a kill interrupted (Failed on restart)

    def ack(self, kind):
        with self.lock:
            self.acked[kind] += 1

    def total_acked(self):
        with self.lock:
            return sum(self.acked.values())


# ---------------------------------------------------------------------------------------------
# The client threads

class Harness:
    def __init__(self, model, ctx):
        self.model, self.ctx = model, ctx
        self.cond = threading.Condition()
        self.gen, self.port, self.running, self.stopping = 0, None, False, False
        self.killed_gen = 0
        self.workers = []
        self.errors = []  # tracebacks from client threads
        self.arm_token = self.kv_token = None

    def resume(self, port):
        with self.cond:
            self.gen += 1
            self.port, self.running = port, True
            self.cond.notify_all()

    def about_to_kill(self):
        with self.cond:
            self.killed_gen = self.gen

    def park_all(self, timeout=60):
        with self.cond:
            self.running = False
            end = time.monotonic() + timeout
            while not all(w.parked for w in self.workers):
                left = end - time.monotonic()
                if left <= 0:
                    stuck = [w.name for w in self.workers if not w.parked]
                    raise TestFailure(f"client threads did not stop after the kill: {stuck}")
                self.cond.wait(left)

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for w in self.workers:
            w.join(10)


class Worker(threading.Thread):
    def __init__(self, name, harness, rng):
        super().__init__(name=name, daemon=True)
        self.h, self.m, self.rng = harness, harness.model, rng
        self.parked, self.gen, self.conn = True, 0, None
        self.spurious = 0

    def run(self):
        try:
            while True:
                with self.h.cond:
                    self.parked = True
                    self.h.cond.notify_all()
                    while not self.h.stopping and not (self.h.running and self.h.gen != self.gen):
                        self.h.cond.wait()
                    if self.h.stopping:
                        return
                    self.parked, self.gen, port = False, self.h.gen, self.h.port
                self.conn = Conn(port, self.h.ctx)
                while True:
                    try:
                        self.step()
                    except Interrupted as e:
                        self.conn.close()
                        with self.h.cond:
                            killed = self.h.killed_gen == self.gen
                        if killed:
                            break
                        # The emulator is alive: the connection dropped on its own.
                        self.spurious += 1
                        if self.spurious > 20:
                            raise TestFailure(f"{self.name}: connections keep failing while the "
                                              f"emulator runs ({e})") from None
                        try:
                            self.recover_after_spurious()
                        except Interrupted:
                            self.conn.close()  # the next request tells again
        except Exception:  # reported by the main thread
            with self.h.cond:
                self.h.errors.append(f"{self.name}:\n{traceback.format_exc()}")
                self.parked = True
                self.h.cond.notify_all()

    def write(self, kind, method, path, body=None, token=None, host=None, ok=(200, 201, 202),
              tolerate=()):
        """A write; returns (status, doc) when answered, raises Interrupted otherwise."""
        try:
            status, doc = self.conn.call(method, path, body, token, host)
        except Interrupted:
            with self.m.lock:
                self.m.unknown[kind] += 1
            raise
        if status in ok:
            self.m.ack(kind)
        elif status not in tolerate:
            with self.m.lock:
                self.m.unexpected.append(f"{kind}: {method} {path} -> {status} {str(doc)[:300]}")
        return status, doc

    def recover_after_spurious(self):
        pass


class ArmWorker(Worker):
    """Clusters, vaults and the clock."""

    def __init__(self, harness, rng):
        super().__init__("arm", harness, rng)
        self.next_cluster = self.next_vault = 1
        self.last_patch = {}

    def step(self):
        m, token = self.m, self.h.arm_token
        with m.lock:
            clusters = list(m.clusters.values())
        op = self.rng.choices(["cluster_create", "cluster_update", "vault_create", "vault_patch",
                               "clock"], [1, 3, 1, 4, 1])[0]
        if op == "cluster_update" and not clusters:
            op = "cluster_create"
        if op == "cluster_create" and self.next_cluster > MAX_CLUSTERS:
            op = "cluster_update" if clusters else "vault_patch"
        if op == "vault_create" and self.next_vault > MAX_VAULTS:
            op = "vault_patch"
        if op == "cluster_create":
            name = f"kc{self.next_cluster:04d}"
            self.next_cluster += 1
            status, _ = self.write("cluster_create", "PUT", cluster_path(name),
                                   cluster_body({"n": "0"}), token)
            if status in (200, 201):
                with m.lock:
                    m.clusters[name] = Named(name)
        elif op == "cluster_update":
            # The cluster written longest ago: its previous operation has most likely finished.
            c = min(clusters, key=lambda c: self.last_patch.get(c.name, 0))
            self.last_patch[c.name] = time.monotonic()
            n = c.counter.sent + 1
            c.counter.sent, c.dirty = n, True
            if self.rng.random() < 0.7:
                status, _ = self.write("cluster_patch", "PATCH", cluster_path(c.name),
                                       {"tags": {"n": str(n)}}, token, tolerate=(409,))
            else:
                status, _ = self.write("cluster_put", "PUT", cluster_path(c.name),
                                       cluster_body({"n": str(n)}), token, tolerate=(409,))
            if status in (200, 201, 202):
                c.counter.acked = n
            else:
                with m.lock:
                    m.conflicts += 1
        elif op == "vault_create":
            name = f"crv{self.next_vault:04d}"
            self.next_vault += 1
            status, _ = self.write("vault_create", "PUT", vault_path(name), vault_body({"n": "0"}),
                                   token)
            if status in (200, 201):
                with m.lock:
                    m.vaults[name] = Named(name)
        elif op == "vault_patch":
            with m.lock:
                mine = [v for v in m.vaults.values() if v.name.startswith("crv")]
            if not mine:
                return
            v = self.rng.choice(mine)
            n = v.counter.sent + 1
            v.counter.sent, v.dirty = n, True
            status, _ = self.write("vault_patch", "PATCH", vault_path(v.name),
                                   {"tags": {"n": str(n)}}, token)
            if status == 200:
                v.counter.acked = n
        else:
            m.clock.sent += 1
            status, _ = self.write("clock_advance", "POST", "/_emulator/clock/advance",
                                   {"seconds": 1})
            if status == 200:
                m.clock.acked = m.clock.sent


class KeysWorker(Worker):
    """Keys in one vault: create, rotate, update, delete/recover."""

    def __init__(self, harness, rng, vault):
        super().__init__(vault, harness, rng)
        self.vault, self.next_key = vault, 1

    def host(self):
        return vault_host(self.vault, self.h.port)

    def step(self):
        m, token = self.m, self.h.kv_token
        with m.lock:
            mine = [k for k in m.keys.values() if k.vault == self.vault]
        op = self.rng.choices(["create", "rotate", "update", "lifecycle"], [3, 2, 5, 2])[0]
        if op in ("rotate", "update") and not mine:
            op = "create"
        if op == "create" and self.next_key > MAX_KEYS_PER_VAULT:
            op = "update"
        if op == "create":
            name = f"k{self.next_key:04d}"
            self.next_key += 1
            body = ({"kty": "RSA", "key_size": 2048} if self.rng.random() < 0.5
                    else {"kty": "EC", "crv": "P-256"})
            status, doc = self.write("key_create", "POST",
                                     f"/keys/{name}/create?api-version={V_KEYS}", body, token,
                                     self.host(), ok=(200,))
            if status == 200:
                version = doc["key"]["kid"].rsplit("/", 1)[1]
                with m.lock:
                    m.keys[(self.vault, name)] = KeyModel(self.vault, name, version,
                                                          public_material(doc["key"]))
        elif op == "rotate":
            k = self.rng.choice(mine)
            k.dirty = True
            status, doc = self.write("key_rotate", "POST",
                                     f"/keys/{k.name}/rotate?api-version={V_KEYS}", None, token,
                                     self.host(), ok=(200,))
            if status == 200:
                k.versions[doc["key"]["kid"].rsplit("/", 1)[1]] = public_material(doc["key"])
        elif op == "update":
            k = self.rng.choice(mine)
            n = k.counter.sent + 1
            k.counter.sent, k.dirty = n, True
            status, _ = self.write("key_update", "PATCH",
                                   f"/keys/{k.name}/{k.first}?api-version={V_KEYS}",
                                   {"tags": {"n": str(n)}, "attributes": {"exp": EXP_BASE + n}},
                                   token, self.host(), ok=(200,))
            if status == 200:
                k.counter.acked = n
        else:
            lc = m.lifecycle[self.vault]
            lc.dirty = True
            if lc.state == "live":
                lc.inflight = "deleted"
                status, _ = self.write("key_delete", "DELETE",
                                       f"/keys/{lc.name}?api-version={V_KEYS}", None, token,
                                       self.host(), ok=(200,))
            else:
                lc.inflight = "live"
                status, _ = self.write("key_recover", "POST",
                                       f"/deletedkeys/{lc.name}/recover?api-version={V_KEYS}",
                                       None, token, self.host(), ok=(200,))
            if status == 200:
                lc.state = lc.inflight
            lc.inflight = None  # answered: applied (200) or refused

    def recover_after_spurious(self):
        # Learn the lifecycle key's state from the live emulator before going on.
        lc = self.m.lifecycle[self.vault]
        if lc.inflight:
            status, _ = self.conn.call("GET", f"/keys/{lc.name}?api-version={V_KEYS}", None,
                                       self.h.kv_token, self.host())
            lc.state, lc.inflight = ("live" if status == 200 else "deleted"), None


# ---------------------------------------------------------------------------------------------
# Checks

def check_state_dir(state_dir, problems):
    mode = stat.S_IMODE(os.stat(state_dir).st_mode)
    if mode != 0o700:
        problems.append(f"state directory {state_dir} has mode {mode:o}, not 700")
    for f in sorted(os.listdir(state_dir)):
        p = os.path.join(state_dir, f)
        mode = stat.S_IMODE(os.stat(p).st_mode)
        if mode != 0o600:
            problems.append(f"{p} has mode {mode:o}, not 600")


def tag_counter(tags):
    """The counter in a tag 'n' (0 when there is no tag yet), None when malformed."""
    try:
        return int((tags or {}).get("n", 0))
    except (TypeError, ValueError):
        return None


def check_export(doc, m, lost, problems):
    """Every acknowledged write is in the export; settles the counters to what is there."""
    st = doc.get("state")
    if not isinstance(st, dict) or not st.get("secrets"):
        problems.append("the export has no state section with secrets")
        return
    resources = {r["id"].lower(): r for r in st.get("resources", [])}
    for v in m.vaults.values():
        r = resources.get(vault_path(v.name).split("?")[0].lower())
        if r is None:
            lost.append(f"vault {v.name}: acknowledged, missing from the export")
        elif v.counter.check(tag_counter(r.get("tags")), f"vault {v.name} tag n", lost):
            v.counter.settle(tag_counter(r.get("tags")))
    for c in m.clusters.values():
        r = resources.get(cluster_path(c.name).split("?")[0].lower())
        if r is None:
            lost.append(f"cluster {c.name}: acknowledged, missing from the export")
            continue
        if c.counter.check(tag_counter(r.get("tags")), f"cluster {c.name} tag n", lost):
            c.counter.settle(tag_counter(r.get("tags")))
        ps = (r.get("properties") or {}).get("provisioningState", "")
        if ps.lower() not in TERMINAL:
            problems.append(f"cluster {c.name}: provisioningState {ps} after a restart")
    for op in st.get("operations", []):
        if (op.get("error") or {}).get("code") == "OperationInterrupted":
            m.interrupted.add(op.get("id"))
        if str(op.get("status", "")).lower() not in TERMINAL:
            problems.append(f"operation {op.get('id')} ({op.get('kind')}) still {op.get('status')} "
                            "after a restart")
    keys = st.get("keys", {})
    for (vault, name), k in m.keys.items():
        entry = next((e for e in keys.get(vault, {}).get("keys", []) if e["name"] == name), None)
        if entry is None:
            lost.append(f"key {vault}/{name}: acknowledged, missing from the export")
            continue
        versions = {v["version"]: v for v in entry["versions"]}
        for version, material in k.versions.items():
            v = versions.get(version)
            if v is None:
                lost.append(f"key {vault}/{name} version {version}: acknowledged, missing from "
                            "the export")
                continue
            if public_material(v.get("jwk", {})) != material:
                lost.append(f"key {vault}/{name}/{version}: public material changed")
            if not v.get("material"):
                lost.append(f"key {vault}/{name}/{version}: no private material in the export")
        v = versions.get(k.first)
        if v is not None:
            n = tag_counter(v.get("tags"))
            exp = (v.get("attributes") or {}).get("exp")
            if k.counter.check(n, f"key {vault}/{name}/{k.first} tag n", lost):
                if n != 0 and exp != EXP_BASE + n:
                    lost.append(f"key {vault}/{name}/{k.first}: tag n={n} but exp={exp} (one "
                                "update half applied)")
                k.counter.settle(n)
    for vault, lc in m.lifecycle.items():
        live = any(e["name"] == lc.name for e in keys.get(vault, {}).get("keys", []))
        deleted = any(e["name"] == lc.name for e in keys.get(vault, {}).get("deletedKeys", []))
        if live == deleted:
            lost.append(f"key {vault}/{lc.name}: live={live} deleted={deleted} in the export")
            continue
        seen = "live" if live else "deleted"
        allowed = {lc.state, lc.inflight} - {None}
        if seen not in allowed:
            lost.append(f"key {vault}/{lc.name}: {seen}, but the last acknowledged write left it "
                        f"{lc.state}")
        lc.state, lc.inflight = seen, None
    offset_ns = (st.get("clock") or {}).get("offsetNanoseconds")
    if offset_ns is None or offset_ns % 1_000_000_000:
        problems.append(f"clock offset {offset_ns} ns is not whole seconds")
    elif m.clock.check(offset_ns // 1_000_000_000, "virtual clock offset (s)", lost):
        m.clock.settle(offset_ns // 1_000_000_000)


def check_apis(conn, h, m, lost, problems, everything):
    """The same through the APIs, for the objects written since the last check (or all)."""
    arm, kv, port = h.arm_token, h.kv_token, h.port
    for v in m.vaults.values():
        if not (v.dirty or everything):
            continue
        status, doc = conn.call("GET", vault_path(v.name), token=arm)
        if status != 200:
            lost.append(f"vault {v.name}: GET answered {status}")
        elif tag_counter(doc.get("tags")) != v.counter.acked:
            lost.append(f"vault {v.name}: GET shows tag n={doc.get('tags')}, the export "
                        f"{v.counter.acked}")
        v.dirty = False
    for c in m.clusters.values():
        if not (c.dirty or everything):
            continue
        status, doc = conn.call("GET", cluster_path(c.name), token=arm)
        if status != 200:
            lost.append(f"cluster {c.name}: GET answered {status}")
        elif tag_counter(doc.get("tags")) != c.counter.acked:
            lost.append(f"cluster {c.name}: GET shows tags {doc.get('tags')}, the export "
                        f"{c.counter.acked}")
        c.dirty = False
    for (vault, name), k in m.keys.items():
        if not (k.dirty or everything):
            continue
        host = vault_host(vault, port)
        for version, material in k.versions.items():
            status, doc = conn.call("GET", f"/keys/{name}/{version}?api-version={V_KEYS}",
                                    token=kv, host=host)
            if status != 200:
                lost.append(f"key {vault}/{name}/{version}: GET answered {status}")
                continue
            kid = f"https://{host}/keys/{name}/{version}"
            if doc["key"].get("kid") != kid:
                lost.append(f"key {vault}/{name}/{version}: kid {doc['key'].get('kid')}, not {kid}")
            if public_material(doc["key"]) != material:
                lost.append(f"key {vault}/{name}/{version}: public material changed")
            if version == k.first and tag_counter(doc.get("tags")) != k.counter.acked:
                lost.append(f"key {vault}/{name}/{version}: GET shows tags {doc.get('tags')}, the "
                            f"export {k.counter.acked}")
            check_private_material(conn, kv, host, name, version, material, lost)
        k.dirty = False
    for vault, lc in m.lifecycle.items():
        if not (lc.dirty or everything):
            continue
        host = vault_host(vault, port)
        live, _ = conn.call("GET", f"/keys/{lc.name}?api-version={V_KEYS}", token=kv, host=host)
        deleted, _ = conn.call("GET", f"/deletedkeys/{lc.name}?api-version={V_KEYS}", token=kv,
                               host=host)
        want = (200, 404) if lc.state == "live" else (404, 200)
        if (live, deleted) != want:
            lost.append(f"key {vault}/{lc.name}: GET /keys {live}, GET /deletedkeys {deleted}, "
                        f"expected {lc.state}")
        lc.dirty = False


def check_private_material(conn, kv, host, name, version, material, lost):
    """The private key behind the version still matches its public key."""
    base = f"/keys/{name}/{version}"
    if material["kty"] == "RSA":
        secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        s1, wrapped = conn.call("POST", f"{base}/wrapkey?api-version={V_KEYS}",
                                {"alg": "RSA-OAEP", "value": secret}, kv, host)
        s2, unwrapped = (conn.call("POST", f"{base}/unwrapkey?api-version={V_KEYS}",
                                   {"alg": "RSA-OAEP", "value": wrapped["value"]}, kv, host)
                         if s1 == 200 else (s1, None))
        if s2 != 200 or unwrapped.get("value") != secret:
            lost.append(f"key {name}/{version}: wrap/unwrap failed ({s1}, {s2})")
    else:
        digest = hashlib.sha256(os.urandom(8)).digest()
        digest = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        s1, sig = conn.call("POST", f"{base}/sign?api-version={V_KEYS}",
                            {"alg": "ES256", "value": digest}, kv, host)
        s2, ver = (conn.call("POST", f"{base}/verify?api-version={V_KEYS}",
                             {"alg": "ES256", "digest": digest, "value": sig["value"]}, kv, host)
                   if s1 == 200 else (s1, None))
        if s2 != 200 or ver.get("value") is not True:
            lost.append(f"key {name}/{version}: sign/verify failed ({s1}, {s2})")


def check_round_trip(conn, problems):
    """The export (with secrets) is accepted back, and gives the same export again."""
    status, doc = conn.call("GET", "/_emulator/state?include=secrets")
    if status != 200 or not isinstance(doc, dict):
        problems.append(f"GET /_emulator/state?include=secrets answered {status}")
        return None
    status, res = conn.call("PUT", "/_emulator/state", doc)
    if status != 200:
        problems.append(f"PUT /_emulator/state refused the export: {status} {str(res)[:1000]}")
        return doc
    status, again = conn.call("GET", "/_emulator/state?include=secrets")
    if status != 200:
        problems.append(f"GET /_emulator/state after the PUT answered {status}")
    elif again != doc:
        diffs = [k for k in sorted(set(doc["state"]) | set(again["state"]))
                 if doc["state"].get(k) != again["state"].get(k)]
        diffs += [k for k in sorted(set(doc) | set(again))
                  if k != "state" and doc.get(k) != again.get(k)]
        problems.append(f"the export changed after PUT /_emulator/state of itself: {diffs}")
    return doc


# ---------------------------------------------------------------------------------------------

def token(conn, resource):
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": APP_ID,
                                   "client_secret": SECRET, "resource": resource})
    status, doc = conn.call("POST", f"/{TENANT}/oauth2/token", form,
                            ctype="application/x-www-form-urlencoded")
    if status != 200:
        raise TestFailure(f"token for {resource}: {status} {doc}")
    return doc["access_token"]


def setup(conn, h, m):
    """Resource group, the two key vaults (each with its deleted-and-recovered key)."""
    h.arm_token = token(conn, "https://management.azure.com/")
    h.kv_token = token(conn, "https://vault.azure.net")
    status, doc = conn.call("PUT", f"{RG_PATH}?api-version={V_RG}", {"location": "westeurope"},
                            h.arm_token)
    if status not in (200, 201):
        raise TestFailure(f"resource group: {status} {doc}")
    m.ack("resource_group")
    for vault in ("kva", "kvb"):
        status, doc = conn.call("PUT", vault_path(vault), vault_body({"n": "0"}), h.arm_token)
        if status not in (200, 201):
            raise TestFailure(f"vault {vault}: {status} {doc}")
        m.ack("vault_create")
        m.vaults[vault] = Named(vault)
        status, doc = conn.call("POST", f"/keys/lc/create?api-version={V_KEYS}",
                                {"kty": "EC", "crv": "P-256"}, h.kv_token,
                                vault_host(vault, h.port))
        if status != 200:
            raise TestFailure(f"key {vault}/lc: {status} {doc}")
        m.ack("key_create")
        m.lifecycle[vault] = LifecycleKey(vault, "lc", doc["key"]["kid"].rsplit("/", 1)[1],
                                          public_material(doc["key"]))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                             else os.path.join(root, "build", "cmk-emulator"))
    seed = int(os.environ.get("CMK_CRASH_SEED") or random.SystemRandom().randrange(1, 2**31))
    cycles = int(os.environ.get("CMK_CRASH_CYCLES") or 50)
    sabotage = os.environ.get("CMK_CRASH_SABOTAGE", "")
    rng = random.Random(seed)
    log(f"seed={seed} cycles={cycles} binary={binary} flags={EXTRA_FLAGS} (CMK_CRASH_SEED={seed} "
        "repeats the kill delays and the write choices)")
    work = tempfile.mkdtemp(prefix="cmk-crash.")
    # Every restart runs the same binary, even if the build directory is rebuilt meanwhile (the
    # linker replaces the file: a hard link keeps the one tested).
    tested = os.path.join(work, "cmk-emulator")
    try:
        os.link(binary, tested)
    except OSError:
        shutil.copy2(binary, tested)
    emu = Emulator(tested, work)
    m = Model()
    h = None
    lost, problems = [], []
    t0 = time.monotonic()
    ok = False
    early_kills = 0
    try:
        emu.start()
        ctx = ssl.create_default_context(cafile=emu.ca_file)
        h = Harness(m, ctx)
        h.port = emu.https_port
        conn = Conn(emu.https_port, ctx)
        setup(conn, h, m)
        conn.close()
        h.workers = [ArmWorker(h, random.Random(rng.random())),
                     KeysWorker(h, random.Random(rng.random()), "kva"),
                     KeysWorker(h, random.Random(rng.random()), "kvb")]
        for w in h.workers:
            w.start()
        for cycle in range(1, cycles + 1):
            h.resume(emu.https_port)
            kill_at = rng.uniform(*KILL_DELAY)
            time.sleep(kill_at)
            h.about_to_kill()
            if emu.proc.poll() is not None:
                raise TestFailure(f"cycle {cycle}: the emulator exited by itself "
                                  f"({emu.proc.returncode}) before the kill; its stderr:\n"
                                  f"{emu.stderr()}")
            emu.kill()
            h.park_all()
            if sabotage == "wal" and cycle == cycles // 2:
                # Test of the test: lose the commits not yet checkpointed; the run must fail.
                for suffix in ("-wal", "-shm"):
                    try:
                        os.remove(os.path.join(emu.state, "state.db" + suffix))
                    except FileNotFoundError:
                        pass
            if h.errors:
                raise TestFailure("a client thread failed:\n" + "\n".join(h.errors))
            t_kill = time.monotonic()
            if rng.random() < EARLY_KILL_SHARE:
                emu.start_and_kill(rng.uniform(0, 0.06))
                early_kills += 1
            emu.start()
            t_start = time.monotonic()
            h.port = emu.https_port
            conn = Conn(emu.https_port, ctx)
            before = len(lost) + len(problems)
            check_state_dir(emu.state, problems)
            status, doc = conn.call("GET", "/_emulator/state?include=secrets")
            if status != 200 or not isinstance(doc, dict):
                raise TestFailure(f"cycle {cycle}: GET /_emulator/state answered {status}")
            check_export(doc, m, lost, problems)
            check_apis(conn, h, m, lost, problems, everything=(cycle == cycles))
            t_apis = time.monotonic()
            check_round_trip(conn, problems)
            conn.close()
            if os.environ.get("CMK_CRASH_TIMING"):
                log(f"cycle {cycle}: start {t_start - t_kill:.3f} s, "
                    f"checks {t_apis - t_start:.3f} s, "
                    f"round trip {time.monotonic() - t_apis:.3f} s, {m.total_acked()} acked, "
                    f"export {len(json.dumps(doc)) // 1024} KiB, "
                    f"{len(doc['state'].get('operations', []))} operations")
            if m.unexpected:
                problems.extend(m.unexpected)
                m.unexpected.clear()
            if len(lost) + len(problems) > before:
                # Stop at the first cycle that lost something: later cycles would repeat it.
                raise TestFailure(f"stopped after cycle {cycle} of {cycles} (killed "
                                  f"{kill_at:.2f} s after the restart): {len(lost)} "
                                  f"acknowledged write(s) lost (LOST lines), {len(problems)} "
                                  f"other problem(s) (FAIL lines)")
            if cycle % 10 == 0 or cycle == cycles:
                log(f"cycle {cycle}/{cycles}: {m.total_acked()} acknowledged writes, "
                    f"{sum(m.unknown.values())} unanswered, {time.monotonic() - t0:.0f} s")
        h.stop()
        emu.stop()
        ok = True
    except TestFailure as e:
        problems.append(str(e))
    except KeyboardInterrupt:
        problems.append("interrupted")
    except Exception:
        problems.append("test error:\n" + traceback.format_exc())
    finally:
        emu.kill()
        if h is not None:
            h.stop()
        if os.environ.get("CMK_KEEP_WORK"):
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    acked = m.total_acked()
    log("acknowledged writes by kind: " + ", ".join(f"{k}={v}" for k, v in sorted(m.acked.items())))
    log("writes without an answer (killed in flight): " +
        (", ".join(f"{k}={v}" for k, v in sorted(m.unknown.items())) or "none") +
        f"; cluster writes refused 409 (operation running): {m.conflicts}; "
        f"vaults={len(m.vaults)} clusters={len(m.clusters)} keys={len(m.keys)} "
        f"key versions={sum(len(k.versions) for k in m.keys.values())}; "
        f"operations interrupted by kills: {len(m.interrupted)}; extra kills during a restart: "
        f"{early_kills}; dropped connections while "
        f"running: {sum(w.spurious for w in (h.workers if h else []))}; "
        f"{time.monotonic() - t0:.0f} s")
    for line in lost:
        print(f"LOST: {line}", file=sys.stderr)
    for line in problems:
        print(f"FAIL: {line}", file=sys.stderr)
    print(f"crash test: cycles={cycles if ok else 'incomplete'} acknowledged_writes={acked} "
          f"lost={len(lost)} seed={seed}", flush=True)
    return 0 if ok and not lost and not problems else 1


def _terminate(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
