#!/usr/bin/env bash
# The Node helper (clients/node/cmk-emulator.mjs) as a user's test suite uses it: `node --test`
# on tests/helpers/node_helper_test.mjs, with the npm Azure SDK pinned by tests/clients/node, in a
# clean environment whose CA variables name the system bundle, as on many CI images.
set -euo pipefail
BIN="$(realpath "$1")"
SRC="${CMK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node is not installed"
[ -d "$SRC/tests/clients/node/node_modules/@azure/identity" ] ||
  fail "npm packages missing: run 'npm ci' in tests/clients/node (scripts/test does)"

mkdir -p "$WORK/home" "$WORK/run"
chmod 700 "$WORK/run"
# XDG_RUNTIME_DIR: the emulators of this test register where no other test looks.
cd "$WORK"
env -i PATH="$(dirname "$(command -v node)"):/usr/local/bin:/usr/bin:/bin" HOME="$WORK/home" LANG=C.UTF-8 \
  XDG_RUNTIME_DIR="$WORK/run" CMK_EMULATOR_BINARY="$BIN" \
  CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt SSL_CERT_DIR=/etc/ssl/certs \
  node --test "$SRC/tests/helpers/node_helper_test.mjs"
[ -z "$(ls -A "$WORK/run/cmk-emulator-"* 2>/dev/null)" ] || fail "registry entries left: $(ls "$WORK/run"/*)"
echo "node helper test passed"
