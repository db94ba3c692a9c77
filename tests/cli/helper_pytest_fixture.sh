#!/usr/bin/env bash
# The pytest fixture (clients/python/cmk_emulator_pytest.py) as a user's test suite loads it:
# `python3 -m pytest -p cmk_emulator_pytest` on tests/helpers/test_pytest_fixture.py, with
# Debian's python3-azure and pytest (/usr/bin/python3), in a clean environment whose CA variables
# name the system bundle, as on many CI images.
set -euo pipefail
BIN="$(realpath "$1")"
SRC="${CMK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

/usr/bin/python3 -m pytest --version >/dev/null 2>&1 ||
  fail "pytest is missing for /usr/bin/python3 (Debian package python3-pytest; scripts/test installs it)"
/usr/bin/python3 -c 'import azure.mgmt.resource, azure.identity' 2>/dev/null ||
  fail "Debian's python3-azure is not importable from /usr/bin/python3"

mkdir -p "$WORK/home" "$WORK/run"
chmod 700 "$WORK/run"
# XDG_RUNTIME_DIR: the emulators of this test register where no other test looks.
cd "$WORK"
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8 XDG_RUNTIME_DIR="$WORK/run" \
  PYTHONPATH="$SRC/clients/python" PYTHONDONTWRITEBYTECODE=1 CMK_EMULATOR_BINARY="$BIN" \
  CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt SSL_CERT_DIR=/etc/ssl/certs \
  REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
  /usr/bin/python3 -m pytest -p cmk_emulator_pytest -p no:cacheprovider -q \
  --rootdir "$WORK" "$SRC/tests/helpers/test_pytest_fixture.py"
[ -z "$(ls -A "$WORK/run/cmk-emulator-"* 2>/dev/null)" ] || fail "registry entries left: $(ls "$WORK/run"/*)"
echo "pytest fixture test passed"
