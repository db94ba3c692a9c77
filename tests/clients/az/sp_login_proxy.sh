#!/usr/bin/env bash
# az (Debian azure-cli), default AzureCloud, proxy mode: `az login --service-principal` with the
# fixture's service principal (OIDC discovery and the token on the real login host, then ARM's
# GET /subscriptions on management.azure.com, all through the emulator's proxy), then
# `az account get-access-token`: the token carries the tenant, the principal and az's ARM
# audience (https://management.core.windows.net/).
source "$CMK_CLIENTS_LIB/common.sh"

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"
expect_request POST "https://login.microsoftonline.com/$CMK_TENANT/oauth2/v2.0/token" 200
expect_request GET "https://management.azure.com/subscriptions?api-version=" 200

token="$(access_token_checked)"
check_claims "$token" "c['tid'] == env['CMK_TENANT']" "c['aud'] == 'https://management.core.windows.net/'" \
  "c['appid'] == env['CMK_SP_APP_ID']" "c['oid'] == env['CMK_SP_OBJECT_ID']" \
  "c['iss'] == 'https://sts.windows.net/' + env['CMK_TENANT'] + '/'"
echo ok
