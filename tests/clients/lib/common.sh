# Helpers for the shell (az) scenarios; sourced. The runner (run_client_test.sh) has exported
# the proxy-mode environment and the CMK_* variables.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

# az_ok <args...>: runs az, prints its stdout; on failure shows the command and its stderr.
# The last command's stderr stays in $AZ_STDERR.
AZ_STDERR="$CMK_SCRATCH/az.stderr"
az_ok() {
  local out rc=0
  out="$(mktemp)"
  az "$@" >"$out" 2>"$AZ_STDERR" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "az $* -> exit $rc" >&2
    sed 's/^/  az stderr: /' "$AZ_STDERR" >&2
    rm -f "$out"
    return "$rc"
  fi
  cat "$out"; rm -f "$out"
}

# check_claims <jwt> <python expression over `c` (the payload) that must be true>...
# Decodes the payload without verifying it (as az does) and evaluates each assertion.
check_claims() {
  /usr/bin/python3 "$CMK_CLIENTS_LIB/claims.py" "$@"
}

# register_emu_cloud: endpoint mode. Registers and selects cloud "Emu" whose resource manager is
# https://localhost:<https port>/. az reads the AD endpoints from ARM's GET /metadata/endpoints;
# their loginEndpoint ends in /adfs, so MSAL treats the authority as ADFS and skips instance
# discovery (az 2.45 has no switch for it).
register_emu_cloud() {
  # az reads neither suffixes nor the Graph endpoint from the Azure Stack form of the metadata,
  # and `az keyvault create` refuses to run without both (it builds a Graph client even with
  # --no-self-perms, and never calls it then), so they are given here.
  az_ok cloud register -n Emu --cloud-config "{\"endpoints\": {
      \"resourceManager\": \"https://localhost:$CMK_HTTPS_PORT/\",
      \"microsoftGraphResourceId\": \"https://graph.microsoft.com/\"},
    \"suffixes\": {\"keyvaultDns\": \".vault.localhost\"}}" >/dev/null
  az_ok cloud set -n Emu >/dev/null
  expect_request GET "https://localhost:$CMK_HTTPS_PORT//metadata/endpoints?api-version=2015-01-01" 200  # az: "//"
  [ "$(cloud_setting endpoint_active_directory)" = "https://localhost:$CMK_HTTPS_PORT/adfs" ] ||
    fail "cloud Emu's AD endpoint is $(cloud_setting endpoint_active_directory), not https://localhost:$CMK_HTTPS_PORT/adfs"
}

# cloud_setting <key>: a value of cloud Emu as az stored it (clouds.config).
cloud_setting() {
  /usr/bin/python3 - "$AZURE_CONFIG_DIR/clouds.config" "$1" <<'PY'
import configparser, sys
p = configparser.ConfigParser()
p.read(sys.argv[1])
print(p["Emu"][sys.argv[2]])
PY
}

# expect_request <METHOD> <url prefix> <status>: the emulator's access log shows such a request.
expect_request() {
  grep -qE " $1 $(printf '%s' "$2" | sed 's/[][\.*^$?+(){}|/]/\\&/g')[^ ]* -> $3 " "$CMK_EMULATOR_LOG" ||
    fail "no '$1 $2... -> $3' in the emulator's access log: $(tail -n 30 "$CMK_EMULATOR_LOG")"
}

# only_loopback_requests: endpoint mode must not touch the real Azure host names (the proxy
# would serve them, so the refusal check alone would not notice).
only_loopback_requests() {
  local others
  others="$(grep -oE ' (GET|POST|PUT|PATCH|DELETE|HEAD) https?://[^/ ]+' "$CMK_EMULATOR_LOG" |
    grep -vE '://(localhost|127\.0\.0\.1)(:[0-9]+)?$' | sort -u || true)"
  [ -z "$others" ] || fail "endpoint mode reached real Azure host names: $others"
}

# access_token_checked: `az account get-access-token` for the current account; checks that its
# tenant and subscription are the fixture's and prints the access token.
access_token_checked() {
  local out
  out="$(az_ok account get-access-token -o json)" || fail "az account get-access-token failed"
  /usr/bin/python3 -c '
import json, os, sys
d = json.loads(sys.argv[1])
ok = (d.get("tenant") == os.environ["CMK_TENANT"] and d.get("subscription") == os.environ["CMK_SUBSCRIPTION"]
      and d.get("tokenType") == "Bearer" and d.get("expiresOn"))
if not ok:
    sys.exit("az account get-access-token: unexpected output: " + sys.argv[1])
print(d["accessToken"])' "$out"
}
