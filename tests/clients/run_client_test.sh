#!/usr/bin/env bash
# Runs one real-client scenario against a fresh emulator:
#   tests/clients/run_client_test.sh tests/clients/<family>/<scenario>.{sh,py,mjs}
# Environment: CMK_BINARY (default build/cmk-emulator), CMK_SOURCE_DIR (default: this repo).
#
# 1. starts build/cmk-emulator on free ports with its own certificates and state, adding the
#    flags a scenario names on a line "cmk-emulator-flags: ..." (in a comment, any language;
#    relative paths in them, e.g. "--fixture fixtures/seed-cmk-enabled.json", are resolved
#    against CMK_SOURCE_DIR, where the emulator is started);
# 2. exports the proxy-mode environment (HTTPS_PROXY, NO_PROXY, the CA for requests/Node/OpenSSL),
#    an empty HOME and AZURE_CONFIG_DIR, and the CMK_* variables scenarios use (see below), after
#    clearing every inherited variable that could steer a client elsewhere;
# 3. runs the scenario: .sh with bash, .py with /usr/bin/python3 (Debian's python3-azure is only
#    there), .mjs with node (packages from tests/clients/node/node_modules), dotnet/<s>.cs as
#    `dotnet build/dotnet-clients/bin/Release/CmkClients.dll <s>` (built once by scripts/test:
#    cmk_setup_dotnet), .ps1 with pwsh 7.6.10 from build/tools (the same setup);
# 4. hermeticity check: GET /_emulator/proxy/refusals must report count 0, i.e. no client tried
#    to reach a host the emulator does not serve; otherwise the scenario fails, naming the hosts;
# 5. stops the emulator (SIGTERM) and requires a clean exit.
# A scenario whose client is missing fails (CI installs the clients; nothing is skipped).
set -uo pipefail

SCENARIO="$(realpath "${1:?usage: run_client_test.sh <scenario file>}")"
CMK_SOURCE_DIR="${CMK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CMK_BINARY="${CMK_BINARY:-$CMK_SOURCE_DIR/build/cmk-emulator}"
CLIENTS_DIR="$CMK_SOURCE_DIR/tests/clients"
family="$(basename "$(dirname "$SCENARIO")")"
# The C# scenarios sit in tests/clients/dotnet/scenarios/ (beside the project, not in it).
[ "$family" = scenarios ] && family="$(basename "$(dirname "$(dirname "$SCENARIO")")")"
name="$(basename "$SCENARIO")"

WORK="$(mktemp -d /tmp/cmk-client.XXXXXX)"
EMU_PID=""
say() { printf '[client-test %s/%s] %s\n' "$family" "$name" "$*" >&2; }
show_log() {
  say "emulator log (last 60 lines):"
  tail -n 60 "$WORK/emulator.err" >&2 || true
}
cleanup() {
  if [ -n "$EMU_PID" ]; then kill -TERM "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; fi
  if [ -n "${CMK_KEEP_WORK:-}" ]; then say "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
die() { say "FAIL: $*"; show_log; exit 1; }

[ -x "$CMK_BINARY" ] || die "emulator binary not found: $CMK_BINARY (build first)"
[ -f "$SCENARIO" ] || die "no such scenario: $SCENARIO"

# --- the client must be there (a missing client is a failure, not a skip)
case "$name" in
  *.sh)
    if [ "$family" = az ]; then command -v az >/dev/null || die "az is not installed (Debian package azure-cli)"; fi
    runner=(bash "$SCENARIO") ;;
  *.py)
    [ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing"
    /usr/bin/python3 -c 'import azure.identity' 2>/dev/null ||
      die "Debian's python3-azure is not importable from /usr/bin/python3"
    runner=(/usr/bin/python3 "$SCENARIO") ;;
  *.mjs)
    command -v node >/dev/null || die "node is not installed"
    [ -d "$CLIENTS_DIR/node/node_modules/@azure/identity" ] ||
      die "npm packages missing: run 'npm ci' in tests/clients/node (scripts/test does)"
    runner=(node "$SCENARIO") ;;
  *.cs)
    command -v dotnet >/dev/null || die "dotnet is not installed (the .NET SDK)"
    dll="${CMK_DOTNET_CLIENTS:-$CMK_SOURCE_DIR/build/dotnet-clients}/bin/Release/CmkClients.dll"
    [ -f "$dll" ] || die "the C# scenarios are not built: $dll (scripts/test builds them: cmk_setup_dotnet)"
    runner=(dotnet "$dll" "${name%.cs}") ;;
  *.ps1)
    pwsh="${CMK_PWSH:-$CMK_SOURCE_DIR/build/tools/pwsh}"
    [ -x "$pwsh" ] || die "pwsh is not installed: $pwsh (scripts/test installs it: cmk_setup_dotnet)"
    runner=("$pwsh" -NoLogo -NoProfile -NonInteractive -File "$SCENARIO") ;;
  *) die "unknown scenario type: $name" ;;
esac

# --- a fresh emulator on free ports
read -r -a scenario_flags < <(sed -n 's/.*cmk-emulator-flags:\(.*\)$/\1/p' "$SCENARIO" | head -n 1)
[ "${#scenario_flags[@]}" -gt 0 ] && say "emulator flags: ${scenario_flags[*]}"
CMK_BINARY="$(realpath "$CMK_BINARY")"
(cd "$CMK_SOURCE_DIR" && exec "$CMK_BINARY" --https-port 0 --http-port 0 --certs-dir "$WORK/certs" \
  --log-level info "${scenario_flags[@]}") \
  >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMU_PID=$!
for _ in $(seq 1 400); do
  [ -s "$WORK/emulator.out" ] && break
  kill -0 "$EMU_PID" 2>/dev/null || { EMU_PID=""; die "the emulator exited before it was ready"; }
  sleep 0.025
done
[ -s "$WORK/emulator.out" ] || die "the emulator printed no ready line"
read -r CMK_HTTPS_PORT CMK_HTTP_PORT CMK_CA_FILE < <(/usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
assert r["event"] == "ready", r
print(r["https_port"], r["http_port"], r["ca_file"])' <"$WORK/emulator.out") || die "bad ready line: $(cat "$WORK/emulator.out")"

# --- the environment: nothing inherited that could point a client elsewhere
for v in $(compgen -e); do
  case "$v" in
    AZURE_*|MSI_*|IDENTITY_*|IMDS_*|MSAL_*|ADAL_*|ARM_*|APPSETTING_*|PYTHONPATH|NODE_OPTIONS|NODE_PATH|\
    http_proxy|https_proxy|HTTP_PROXY|HTTPS_PROXY|no_proxy|NO_PROXY|ALL_PROXY|all_proxy|\
    REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|SSL_CERT_FILE|SSL_CERT_DIR|NODE_EXTRA_CA_CERTS|PSModulePath)
      unset "$v" ;;
  esac
done
mkdir -p "$WORK/home" "$WORK/azure" "$WORK/scratch"
export HOME="$WORK/home"
export HTTPS_PROXY="http://127.0.0.1:$CMK_HTTP_PORT" https_proxy="http://127.0.0.1:$CMK_HTTP_PORT"
export NO_PROXY="localhost,127.0.0.1,::1" no_proxy="localhost,127.0.0.1,::1"
export REQUESTS_CA_BUNDLE="$CMK_CA_FILE" NODE_EXTRA_CA_CERTS="$CMK_CA_FILE" SSL_CERT_FILE="$CMK_CA_FILE"
# az: its own config dir; no telemetry upload or survey prompt (they would leave the machine).
export AZURE_CONFIG_DIR="$WORK/azure" AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_SURVEY_MESSAGE=false \
  AZURE_CORE_NO_COLOR=true AZURE_CORE_ONLY_SHOW_ERRORS=true
# az's first command in an empty config dir checks for newer versions (handle_version_update:
# HEAD https://azure.microsoft.com, then GitHub), with no setting to turn it off. Through the
# proxy that is refused (harmless to az, but the hermeticity check would count it), so the config
# dir starts with a version-check record saying "checked just now, up to date".
if [ "$family" = az ] || [ "$family" = python ]; then
  /usr/bin/python3 - "$AZURE_CONFIG_DIR/versionCheck.json" <<'PY' 2>/dev/null || true
import datetime, json, sys
from azure.cli.core import __version__ as core
from azure.cli.telemetry import __version__ as telemetry
v = lambda x: {"local": x, "pypi": x}
json.dump({"versions": {"azure-cli": v(core), "core": v(core), "telemetry": v(telemetry)},
           "update_time": str(datetime.datetime.now())}, open(sys.argv[1], "w"))
PY
fi
# What scenarios read. The identities are those of fixtures/default.json (docs/identity.md).
export CMK_HTTPS_PORT CMK_HTTP_PORT CMK_CA_FILE CMK_SOURCE_DIR
export CMK_SCRATCH="$WORK/scratch" CMK_EMULATOR_LOG="$WORK/emulator.err"
export CMK_CLIENTS_LIB="$CLIENTS_DIR/lib"
export CMK_TENANT=72f988bf-0000-0000-0000-000000000001
export CMK_SUBSCRIPTION=00000000-0000-0000-0000-000000000001
export CMK_SP_APP_ID=11111111-1111-1111-1111-111111111111
export CMK_SP_OBJECT_ID=11111111-0000-0000-0000-000000000001
export CMK_SP_SECRET=emulator-secret
export PYTHONDONTWRITEBYTECODE=1
# .NET and pwsh: no telemetry or first-run work in the empty HOME; pwsh's update check off (it
# would ask a real host).
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 POWERSHELL_TELEMETRY_OPTOUT=1 \
  POWERSHELL_UPDATECHECK=Off DOTNET_CLI_HOME="$WORK/home"
export CMK_DOTNET_CLIENTS="${CMK_DOTNET_CLIENTS:-$CMK_SOURCE_DIR/build/dotnet-clients}"

# --- the scenario
say "emulator https=$CMK_HTTPS_PORT http=$CMK_HTTP_PORT"
(cd "$WORK/scratch" && "${runner[@]}")
rc=$?

# --- hermeticity: nothing tried to leave the machine through the proxy
refusals="$(curl -s --noproxy '*' "http://127.0.0.1:$CMK_HTTP_PORT/_emulator/proxy/refusals")" ||
  die "could not read /_emulator/proxy/refusals"
refused="$(/usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print(" ".join(sorted({x["target"] for x in r["value"]})) if r["count"] else "")' "$refusals")" ||
  die "bad refusals answer: $refusals"

if [ "$rc" -ne 0 ]; then
  [ -n "$refused" ] && say "also: the proxy refused CONNECT to: $refused"
  die "scenario exited with $rc"
fi
[ -z "$refused" ] || die "hermeticity: the client tried to reach hosts the emulator does not serve: $refused"

kill -TERM "$EMU_PID"
erc=0
wait "$EMU_PID" || erc=$?
EMU_PID=""
[ "$erc" -eq 0 ] || die "the emulator did not stop cleanly (exit $erc)"
if grep -q ' -> 500 ' "$WORK/emulator.err"; then die "the emulator answered 500 during the scenario"; fi
say "passed"
