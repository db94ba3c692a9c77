#!/usr/bin/env bash
# az (Debian azure-cli), endpoint mode: cloud "Emu" registered with ARM at https://localhost:<port>/
# (AD endpoints from GET /metadata/endpoints: an ADFS authority https://localhost:<port>/adfs, so
# MSAL skips instance discovery, reads /adfs/.well-known/openid-configuration and POSTs
# /adfs/oauth2/token), `az login --service-principal`, then `az account get-access-token`.
# No request may reach a real Azure host name.
source "$CMK_CLIENTS_LIB/common.sh"

register_emu_cloud
AUD="$(cloud_setting endpoint_active_directory_resource_id)"
[ -n "$AUD" ] || fail "cloud Emu has no active directory resource id"

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"
expect_request GET "https://localhost:$CMK_HTTPS_PORT/adfs/.well-known/openid-configuration" 200
expect_request POST "https://localhost:$CMK_HTTPS_PORT/adfs/oauth2/token" 200
expect_request GET "https://localhost:$CMK_HTTPS_PORT/subscriptions?api-version=" 200

token="$(access_token_checked)"
check_claims "$token" "c['tid'] == env['CMK_TENANT']" "c['aud'] == '$AUD'" \
  "c['appid'] == env['CMK_SP_APP_ID']" "c['oid'] == env['CMK_SP_OBJECT_ID']"
only_loopback_requests
echo ok
