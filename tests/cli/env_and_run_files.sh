#!/usr/bin/env bash
# Black-box test of `cmk-emulator env` and of --ready-file/--pid-file: env exports CURL_CA_BUNDLE;
# it finds a running emulator's ports and CA from another folder, and its exports let curl reach
# the emulator by a real host name with CURL_CA_BUNDLE and SSL_CERT_DIR preset to the system
# bundle; among several it takes the newest and says so, or the one the flags or the current
# folder's certs/ca.pem pick; entries of killed emulators are dropped; it warns when the CA file
# does not exist; the ready and pid files appear once ready and go on SIGTERM or a failed start.
set -euo pipefail
BIN="$(realpath "$1")"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
exported() { sed -n "s/^export $1='\(.*\)'\$/\1/p" "$2"; }

# This test's emulators register where no other test's do.
export XDG_RUNTIME_DIR="$WORK/run"
mkdir -p "$XDG_RUNTIME_DIR" "$WORK/elsewhere" "$WORK/one" "$WORK/two"
chmod 700 "$XDG_RUNTIME_DIR"
REGISTRY="$XDG_RUNTIME_DIR/cmk-emulator-$(id -u)"
for v in HTTPS_PROXY https_proxy NO_PROXY no_proxy REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE \
  SSL_CERT_DIR NODE_EXTRA_CA_CERTS; do unset "$v"; done

# start NAME [flags...]: an emulator on free ports from $WORK/NAME with certs $WORK/NAME/certs,
# waited for through its ready file, as docs/test-helpers.md shows.
start() {
  local name="$1"
  shift
  (cd "$WORK/$name" && exec "$BIN" --https-port 0 --http-port 0 --certs-dir certs \
    --ready-file "$WORK/$name/ready.json" --pid-file "$WORK/$name/pid" "$@") \
    >"$WORK/$name/out" 2>"$WORK/$name/err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  for _ in $(seq 1 400); do
    [ -s "$WORK/$name/ready.json" ] && return 0
    kill -0 "$LAST_PID" 2>/dev/null || fail "$name exited before it was ready: $(cat "$WORK/$name/err")"
    sleep 0.05
  done
  fail "$name wrote no ready file"
}

stop() {  # stop PID: SIGTERM and a clean exit
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  [ "$rc" -eq 0 ] || fail "SIGTERM did not stop $1 cleanly (exit $rc)"
}

# --- --ready-file and --pid-file: written once ready, owner-only, the ready line's JSON
start one
ONE=$LAST_PID
ONE_HTTP="$(json "$WORK/one/ready.json" http_port)"
ONE_CA="$WORK/one/certs/ca.pem"
[ "$(json "$WORK/one/ready.json" event)" = ready ] || fail "ready file: $(cat "$WORK/one/ready.json")"
[ "$(json "$WORK/one/ready.json" ca_file)" = "$ONE_CA" ] || fail "ready file CA: $(cat "$WORK/one/ready.json")"
for _ in $(seq 1 100); do [ -s "$WORK/one/out" ] && break; sleep 0.05; done
[ "$(head -n1 "$WORK/one/out")" = "$(cat "$WORK/one/ready.json")" ] ||
  fail "the ready file differs from the ready line: $(cat "$WORK/one/ready.json") vs $(cat "$WORK/one/out")"
[ "$(cat "$WORK/one/pid")" = "$ONE" ] || fail "pid file holds $(cat "$WORK/one/pid"), not $ONE"
for f in ready.json pid; do
  [ "$(stat -c %a "$WORK/one/$f")" = 600 ] || fail "$f is not owner-only"
done
[ "$(stat -c %a "$REGISTRY")" = 700 ] || fail "the registry folder is not owner-only"
[ "$(stat -c %a "$REGISTRY/$ONE.json")" = 600 ] || fail "the registry entry is missing or not owner-only"

# --- env from another folder finds it, exports CURL_CA_BUNDLE, and says nothing on stderr
(cd "$WORK/elsewhere" && "$BIN" env) >"$WORK/env" 2>"$WORK/env.err"
[ "$(exported HTTPS_PROXY "$WORK/env")" = "http://127.0.0.1:$ONE_HTTP" ] || fail "env proxy: $(cat "$WORK/env")"
for v in CURL_CA_BUNDLE REQUESTS_CA_BUNDLE SSL_CERT_FILE NODE_EXTRA_CA_CERTS; do
  [ "$(exported "$v" "$WORK/env")" = "$ONE_CA" ] || fail "env $v: $(cat "$WORK/env")"
done
[ ! -s "$WORK/env.err" ] || fail "env with one emulator running spoke: $(cat "$WORK/env.err")"

# --- eval it where CURL_CA_BUNDLE and SSL_CERT_DIR name the system bundle (many CI images)
(
  cd "$WORK/elsewhere"
  export CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt SSL_CERT_DIR=/etc/ssl/certs
  eval "$("$BIN" env)"
  curl -sSf https://management.azure.com/_emulator/health | grep -q '"status":"ok"'
) || fail "curl through env's exports with the system CA variables preset"

# --- two running: the newest, and a note; --http-port or this folder's certs/ca.pem pick
start two
TWO=$LAST_PID
TWO_HTTP="$(json "$WORK/two/ready.json" http_port)"
(cd "$WORK/elsewhere" && "$BIN" env) >"$WORK/env" 2>"$WORK/env.err"
[ "$(exported HTTPS_PROXY "$WORK/env")" = "http://127.0.0.1:$TWO_HTTP" ] || fail "env took $(cat "$WORK/env"), not the newest"
grep -q "2 emulators are running; using the newest, pid $TWO" "$WORK/env.err" || fail "no note: $(cat "$WORK/env.err")"
grep -q "http port $ONE_HTTP" "$WORK/env.err" || fail "the note does not name the other: $(cat "$WORK/env.err")"
(cd "$WORK/elsewhere" && "$BIN" env --http-port "$ONE_HTTP") >"$WORK/env" 2>/dev/null
[ "$(exported CURL_CA_BUNDLE "$WORK/env")" = "$ONE_CA" ] || fail "env --http-port: $(cat "$WORK/env")"
(cd "$WORK/one" && "$BIN" env) >"$WORK/env" 2>/dev/null
[ "$(exported HTTPS_PROXY "$WORK/env")" = "http://127.0.0.1:$ONE_HTTP" ] ||
  fail "env in the folder of the older one: $(cat "$WORK/env")"

# --- a killed emulator's entry is dropped, and deleted
kill -KILL "$TWO"
wait "$TWO" 2>/dev/null || true
[ -f "$REGISTRY/$TWO.json" ] || fail "SIGKILL cannot have removed the entry"
(cd "$WORK/elsewhere" && "$BIN" env) >"$WORK/env" 2>"$WORK/env.err"
[ "$(exported HTTPS_PROXY "$WORK/env")" = "http://127.0.0.1:$ONE_HTTP" ] || fail "env took the killed one: $(cat "$WORK/env")"
[ ! -e "$REGISTRY/$TWO.json" ] || fail "the killed emulator's entry was not deleted"
[ ! -s "$WORK/env.err" ] || fail "env spoke: $(cat "$WORK/env.err")"

# --- SIGTERM: the ready file, pid file and registry entry go
stop "$ONE"
for f in "$WORK/one/ready.json" "$WORK/one/pid" "$REGISTRY/$ONE.json"; do
  [ ! -e "$f" ] || fail "$f survived a clean stop"
done

# --- nothing running: env follows its defaults and warns that the CA does not exist
(cd "$WORK/elsewhere" && "$BIN" env) >"$WORK/env" 2>"$WORK/env.err"
[ "$(exported HTTPS_PROXY "$WORK/env")" = "http://127.0.0.1:8080" ] || fail "env defaults: $(cat "$WORK/env")"
[ "$(exported CURL_CA_BUNDLE "$WORK/env")" = "$WORK/elsewhere/certs/ca.pem" ] || fail "env CA: $(cat "$WORK/env")"
grep -q "warning: the CA file $WORK/elsewhere/certs/ca.pem does not exist" "$WORK/env.err" ||
  fail "no warning of the missing CA: $(cat "$WORK/env.err")"
grep -q "no emulator is running" "$WORK/env.err" || fail "the warning does not say why: $(cat "$WORK/env.err")"
# Where the CA exists, no warning (the folder the first one ran in).
(cd "$WORK/one" && "$BIN" env) >/dev/null 2>"$WORK/env.err"
[ ! -s "$WORK/env.err" ] || fail "env warned though certs/ca.pem exists: $(cat "$WORK/env.err")"

# --- a failed start leaves neither file, not even a leftover ready file of an earlier run
echo '{"event":"ready","https_port":1,"http_port":2,"ca_file":"stale"}' >"$WORK/one/ready.json"
rc=0
(cd "$WORK/one" && "$BIN" --https-port 0 --http-port 0 --certs-dir certs --fixture "$WORK/no-such.json" \
  --ready-file "$WORK/one/ready.json" --pid-file "$WORK/one/pid") >/dev/null 2>"$WORK/one/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a missing fixture was accepted"
[ ! -e "$WORK/one/ready.json" ] || fail "the leftover ready file survived a failed start"
[ ! -e "$WORK/one/pid" ] || fail "the pid file survived a failed start"
[ -z "$(ls -A "$REGISTRY")" ] || fail "registry entries left: $(ls "$REGISTRY")"

echo "env and run files test passed"
