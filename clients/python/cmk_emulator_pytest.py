"""Start cmk-emulator for a test run and hand back its proxy-mode environment.

A pytest plugin (docs/test-helpers.md). With this folder on PYTHONPATH, load it with
`python3 -m pytest -p cmk_emulator_pytest` or `pytest_plugins = ["cmk_emulator_pytest"]` in the
root conftest.py. Fixtures:

    cmk_emulator      session-scoped: an emulator on free ports, stopped at the end of the
                      session. .env (the exports of `cmk-emulator env`), .https_port,
                      .http_port, .ca_file, .admin(path), .log_file.
    cmk_emulator_env  function-scoped: the same emulator, with its environment set in
                      os.environ for one test (the Azure SDK reads HTTPS_PROXY and
                      REQUESTS_CA_BUNDLE per request), restored afterwards.

Options: --cmk-emulator-binary PATH, --cmk-emulator-arg ARG (repeatable, e.g.
--cmk-emulator-arg=--strict-auth).

Without pytest, CmkEmulator is a context manager:

    with CmkEmulator(args=["--fixture", "fixtures/seed-cmk-enabled.json"]) as emu:
        subprocess.run(["az", "group", "list"], env={**os.environ, **emu.env}, check=True)

The binary is the one given, else $CMK_EMULATOR_BINARY, else build/cmk-emulator of the
repository this file is in, else cmk-emulator on PATH.
"""
import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

__all__ = ["CmkEmulator", "CmkEmulatorError", "find_binary"]


class CmkEmulatorError(RuntimeError):
    pass


def find_binary(binary=None):
    """The emulator binary: `binary`, $CMK_EMULATOR_BINARY, the repository's build/, or PATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        ("the binary argument", binary),
        ("CMK_EMULATOR_BINARY", os.environ.get("CMK_EMULATOR_BINARY")),
        ("the repository's build folder", os.path.join(here, "..", "..", "build", "cmk-emulator")),
        ("PATH", shutil.which("cmk-emulator")),
    ]
    for source, path in candidates:
        if not path:
            continue
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
        if source != "the repository's build folder":  # that one is only a guess
            raise CmkEmulatorError(f"{source} names {path}, which is not an executable file")
    raise CmkEmulatorError(
        "cmk-emulator not found: set CMK_EMULATOR_BINARY, build the repository "
        "(./scripts/run or cmake --build build) or put cmk-emulator on PATH")


class CmkEmulator:
    """An emulator process on free ports with its own certificates folder (unless given)."""

    def __init__(self, binary=None, args=(), certs_dir=None, cwd=None, timeout=60.0):
        self.binary = find_binary(binary)
        self.args = list(args)
        self.cwd = cwd
        self.timeout = timeout
        self._work = tempfile.mkdtemp(prefix="cmk-emulator.")
        self.certs_dir = os.path.abspath(certs_dir) if certs_dir else os.path.join(self._work, "certs")
        self.ready_file = os.path.join(self._work, "ready.json")
        self.log_file = os.path.join(self._work, "emulator.log")
        self.process = None
        self.https_port = self.http_port = None
        self.ca_file = None
        self.env = {}
        self.info = {}

    # --- lifecycle

    def start(self):
        argv = [self.binary, "--https-port", "0", "--http-port", "0", "--certs-dir", self.certs_dir,
                "--ready-file", self.ready_file] + self.args
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(argv, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log)
        # A test run that dies without stopping it would leave the emulator behind.
        atexit.register(self._kill_if_running)
        deadline = time.monotonic() + self.timeout
        while not self._ready_text():
            if self.process.poll() is not None:
                self._fail(f"the emulator exited ({self.process.returncode}) before it was ready")
            if time.monotonic() > deadline:
                self._fail(f"the emulator was not ready within {self.timeout:g} s")
            time.sleep(0.02)
        ready = json.loads(self._ready_text())
        self.https_port, self.http_port = ready["https_port"], ready["http_port"]
        self.ca_file = ready["ca_file"]
        # The emulator's own account of the environment, so it matches `cmk-emulator env`.
        self.info = self.admin("/_emulator/info")
        self.env = dict(self.info["environment"])
        return self

    def stop(self, check=True):
        """SIGTERM, then wait; returns the exit code. With check, anything but a clean exit raises."""
        if self.process is None:
            return None
        rc = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                rc = self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                rc = "killed after 20 s"
        else:
            rc = self.process.returncode
        self.process = None
        atexit.unregister(self._kill_if_running)
        if check and rc != 0:
            self._fail(f"the emulator did not stop cleanly ({rc})")
        shutil.rmtree(self._work, ignore_errors=True)
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        # Do not hide the test's own exception behind a stop failure.
        self.stop(check=exc[0] is None)

    # --- use

    def admin(self, path, method="GET", body=None):
        """The admin API on the HTTP port (never through a proxy): parsed JSON, or None if empty.
        An error status raises urllib.error.HTTPError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data,
                                     method=method, headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text.strip() else None

    @contextlib.contextmanager
    def environment(self, environ=None):
        """Sets the proxy-mode environment in `environ` (os.environ) for a `with` block."""
        environ = os.environ if environ is None else environ
        saved = {k: environ.get(k) for k in self.env}
        environ.update(self.env)
        try:
            yield self
        finally:
            for k, v in saved.items():
                if v is None:
                    environ.pop(k, None)
                else:
                    environ[k] = v

    def log(self):
        try:
            with open(self.log_file, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- internals

    def _ready_text(self):
        try:
            with open(self.ready_file) as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def _kill_if_running(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def _fail(self, message):
        tail = "".join(self.log().splitlines(keepends=True)[-40:])
        self._kill_if_running()
        raise CmkEmulatorError(f"{message}; emulator log ({self.log_file}):\n{tail}")


try:
    import pytest
except ImportError:  # the context manager works without pytest
    pytest = None

if pytest is not None:

    def pytest_addoption(parser):
        group = parser.getgroup("cmk-emulator")
        group.addoption("--cmk-emulator-binary", default=None,
                        help="cmk-emulator binary (default: $CMK_EMULATOR_BINARY, build/, PATH)")
        group.addoption("--cmk-emulator-arg", action="append", default=[],
                        help="extra emulator flag, repeatable: --cmk-emulator-arg=--strict-auth")

    @pytest.fixture(scope="session")
    def cmk_emulator(request):
        emulator = CmkEmulator(binary=request.config.getoption("--cmk-emulator-binary"),
                               args=request.config.getoption("--cmk-emulator-arg"))
        with emulator:
            yield emulator

    @pytest.fixture
    def cmk_emulator_env(cmk_emulator, monkeypatch):
        for k, v in cmk_emulator.env.items():
            monkeypatch.setenv(k, v)
        return cmk_emulator
