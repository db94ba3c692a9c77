#!/usr/bin/env bash
# az (Debian azure-cli), endpoint mode, managed identity: MSI_ENDPOINT=http://127.0.0.1:<http
# port>/msi/token `az login --identity` (az's msrestazure path: POST, Metadata: true, form
# resource=<the cloud's AD resource id>; az reads `tid` from the token, then GETs
# /subscriptions), then `az account get-access-token` (az does not cache MSI tokens: it POSTs
# again, so MSI_ENDPOINT stays set). The token speaks for the emulator's host identity
# (GET /_emulator/msi). No request may reach a real Azure host name.
source "$CMK_CLIENTS_LIB/common.sh"

register_emu_cloud
AUD="$(cloud_setting endpoint_active_directory_resource_id)"
export MSI_ENDPOINT="http://127.0.0.1:$CMK_HTTP_PORT/msi/token"

az_ok login --identity >/dev/null || fail "az login --identity failed"
expect_request POST "http://127.0.0.1:$CMK_HTTP_PORT/msi/token" 200
expect_request GET "https://localhost:$CMK_HTTPS_PORT/subscriptions?api-version=" 200

token="$(access_token_checked)"
MI_PRINCIPAL_ID="$(curl -s --noproxy '*' "http://127.0.0.1:$CMK_HTTP_PORT/_emulator/msi" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["resolved"]["principalId"])')" ||
  fail "GET /_emulator/msi"
export MI_PRINCIPAL_ID
check_claims "$token" "c['tid'] == env['CMK_TENANT']" "c['aud'] == '$AUD'" "c['idtyp'] == 'app'" \
  "c['oid'] == env['MI_PRINCIPAL_ID']"
only_loopback_requests
echo ok
