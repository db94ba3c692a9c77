#!/usr/bin/env bash
# Black-box test of the binary: ready line, health over HTTPS, the proxy front door, the
# certificate's names and extensions, CA reuse across restarts, clean stop on SIGTERM, fixture
# errors, example fixtures, --seed, and `cmk-emulator env`.
set -euo pipefail
BIN="$1"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/err" ] && tail -20 "$WORK/err" >&2; exit 1; }

start() {  # start [extra flags...]: runs the binary, waits for its ready line
  "$BIN" --https-port 0 --http-port 0 --certs-dir "$WORK/certs" "$@" >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  for _ in $(seq 1 200); do
    [ -s "$WORK/out" ] && break
    kill -0 "$PID" 2>/dev/null || fail "the emulator exited before it was ready"
    sleep 0.05
  done
  READY="$(head -n1 "$WORK/out")"
  HTTPS_PORT="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["https_port"])' "$READY")"
  HTTP_PORT="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["http_port"])' "$READY")"
  CA="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ca_file"])' "$READY")"
}

stop() {
  kill -TERM "$PID"
  local rc=0
  wait "$PID" || rc=$?
  PID=""
  [ "$rc" -eq 0 ] || fail "SIGTERM did not stop the emulator cleanly (exit $rc)"
}

# --- ready line: exactly one JSON line on stdout with the documented fields
start
python3 - "$READY" <<'PY' || fail "ready line malformed: $READY"
import json, sys
r = json.loads(sys.argv[1])
assert r["event"] == "ready" and set(r) == {"event", "https_port", "http_port", "ca_file"}, r
assert r["https_port"] > 0 and r["http_port"] > 0
PY
[ "$CA" = "$WORK/certs/ca.pem" ] || fail "ca_file is $CA"

# --- health over HTTPS, verified against the CA
curl -sf --cacert "$CA" "https://localhost:$HTTPS_PORT/_emulator/health" | grep -q '"status":"ok"' ||
  fail "health over HTTPS"
curl -sf --cacert "$CA" "https://127.0.0.1:$HTTPS_PORT/_emulator/health" >/dev/null || fail "health via IP SAN"

# --- proxy mode: a real hostname through CONNECT
curl -sf -x "http://127.0.0.1:$HTTP_PORT" --cacert "$CA" \
  "https://management.azure.com/_emulator/health" | grep -q '"status":"ok"' || fail "health through the proxy"
curl -sf -x "http://127.0.0.1:$HTTP_PORT" --cacert "$CA" \
  "https://login.microsoftonline.com/_emulator/health" >/dev/null || fail "login host through the proxy"
code="$(curl -s -o /dev/null -w '%{http_connect}' -x "http://127.0.0.1:$HTTP_PORT" https://example.com/ || true)"
[ "$code" = "403" ] || fail "CONNECT example.com:443 answered $code, not 403"
grep -q "refused CONNECT to 'example.com:443'" "$WORK/err" || fail "the refusal was not logged"
# Plain HTTP on the proxy port (admin, managed identity).
curl -sf "http://127.0.0.1:$HTTP_PORT/_emulator/ca.pem" | cmp -s - "$CA" || fail "ca.pem over HTTP"

# --- certificate: chain, names, extensions, key permissions
openssl verify -CAfile "$CA" "$WORK/certs/server.pem" | grep -q ': OK' || fail "openssl verify"
text="$(openssl x509 -in "$WORK/certs/server.pem" -noout -text)"
for name in "DNS:localhost" "IP Address:127.0.0.1" "IP Address:0:0:0:0:0:0:0:1" "DNS:\*.vault.localhost" \
  "DNS:login.microsoftonline.com" "DNS:login.windows.net" "DNS:management.azure.com" \
  "DNS:management.core.windows.net" "DNS:\*.vault.azure.net"; do
  grep -q "$name" <<<"$text" || fail "server certificate lacks SAN $name"
done
for ext in "Authority Key Identifier" "Subject Key Identifier" "CA:FALSE" "TLS Web Server Authentication"; do
  grep -q "$ext" <<<"$text" || fail "server certificate lacks $ext"
done
ca_ski="$(openssl x509 -in "$CA" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' ')"
aki="$(openssl x509 -in "$WORK/certs/server.pem" -noout -ext authorityKeyIdentifier | tail -n1 | tr -d ' ' | sed 's/^keyid://')"
[ -n "$ca_ski" ] && [ "$ca_ski" = "$aki" ] || fail "AKI ($aki) does not match the CA's SKI ($ca_ski)"
for key in ca-key.pem server-key.pem; do
  [ "$(stat -c %a "$WORK/certs/$key")" = "600" ] || fail "$key is not owner-only"
done
grep -q "BEGIN" "$WORK/err" && fail "key or certificate material appeared in the log"

# --- clean stop, then a restart reuses the same CA
ca_before="$(sha256sum "$CA" | cut -d' ' -f1)"
stop
start --log-level warn
[ "$(sha256sum "$CA" | cut -d' ' -f1)" = "$ca_before" ] || fail "the restart replaced the CA"
curl -sf --cacert "$CA" "https://localhost:$HTTPS_PORT/_emulator/health" >/dev/null || fail "health after restart"
[ "$(wc -l <"$WORK/out")" -eq 1 ] || fail "stdout carries more than the ready line"
stop

# --- an invalid fixture stops the start with file, path and problem
echo '{"tenants": [{"id": "not-a-guid"}]}' >"$WORK/bad.json"
rc=0
"$BIN" --https-port 0 --http-port 0 --certs-dir "$WORK/certs" --fixture "$WORK/bad.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$rc" -ne 0 ] || fail "an invalid fixture did not stop the start"
grep -q 'bad.json: $.tenants\[0\].id: must be a GUID' "$WORK/err" || fail "fixture error message: $(cat "$WORK/err")"
[ ! -s "$WORK/out" ] || fail "a failed start printed a ready line"

# --- the default fixture file loads; so does the seed workflow's last step, seeded
start --fixture "$CMK_SOURCE_DIR/fixtures/default.json"
stop
start --fixture "$CMK_SOURCE_DIR/fixtures/seed-cmk-enabled.json" --seed 11
stop
rc=0
"$BIN" --https-port 0 --http-port 0 --certs-dir "$WORK/certs" --seed many >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$rc" -ne 0 ] || fail "--seed took a value that is not a number"

# --- --state-durability: power-loss or kill, and only with --state-dir
for bad in "--state-durability nope --state-dir $WORK/state" "--state-durability kill"; do
  rc=0
  # shellcheck disable=SC2086 # the flags are meant to split
  "$BIN" --https-port 0 --http-port 0 --certs-dir "$WORK/certs" $bad >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "$bad was accepted"
  [ ! -s "$WORK/out" ] || fail "$bad printed a ready line"
done
grep -q "requires --state-dir" "$WORK/err" || fail "--state-durability without --state-dir: $(cat "$WORK/err")"
start --state-dir "$WORK/state" --state-durability kill
stop
[ -f "$WORK/state/state.db" ] || fail "--state-durability kill made no state.db"

# --- env prints the proxy-mode exports
"$BIN" env --http-port 18080 --certs-dir "$WORK/certs" >"$WORK/env"
grep -qx "export HTTPS_PROXY='http://127.0.0.1:18080'" "$WORK/env" || fail "env: $(cat "$WORK/env")"
grep -qx "export REQUESTS_CA_BUNDLE='$WORK/certs/ca.pem'" "$WORK/env" || fail "env CA: $(cat "$WORK/env")"
for v in NO_PROXY NODE_EXTRA_CA_CERTS SSL_CERT_FILE; do grep -q "^export $v=" "$WORK/env" || fail "env lacks $v"; done

echo "binary smoke test passed"
