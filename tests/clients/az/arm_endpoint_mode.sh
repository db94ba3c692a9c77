#!/usr/bin/env bash
# az (Debian azure-cli), endpoint mode: after `az cloud register` against
# https://localhost:<port>/metadata/endpoints, the ARM commands work against the emulator by
# address alone: `az group create`, `az identity create`, `az keyvault create
# --enable-purge-protection true` + `az keyvault set-policy`, `az rest` PUT/PATCH of a Kusto
# cluster + `az kusto cluster wait` + `az kusto cluster show`, `az resource update --set`, and
# `az group delete`. No request may reach a real Azure host name.
source "$CMK_CLIENTS_LIB/common.sh"

register_emu_cloud
ARM="https://localhost:$CMK_HTTPS_PORT"
az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"

az_ok group create -n rg-ep -l westeurope >/dev/null || fail "az group create failed"
principal="$(az_ok identity create -g rg-ep -n id-ep --query principalId -o tsv)" || fail "az identity create failed"
[ "${#principal}" = 36 ] || fail "az identity create: principalId '$principal'"

az_ok keyvault create -g rg-ep -n kv-ep -l westeurope --enable-purge-protection true --no-self-perms \
  --query properties.enablePurgeProtection -o tsv >"$CMK_SCRATCH/pp" || fail "az keyvault create failed"
[ "$(cat "$CMK_SCRATCH/pp")" = "true" ] || fail "az keyvault create: purge protection $(cat "$CMK_SCRATCH/pp")"
az_ok keyvault set-policy -n kv-ep --object-id "$principal" --key-permissions get wrapKey unwrapKey >/dev/null ||
  fail "az keyvault set-policy failed"
perms="$(az_ok keyvault show -n kv-ep --query "properties.accessPolicies[?objectId=='$principal'].permissions.keys | [0]" -o tsv | tr '\t\n' '  ')"
grep -qiw unwrapKey <<<"$perms" || fail "set-policy did not grant unwrapKey (got: $perms)"

C="/subscriptions/$CMK_SUBSCRIPTION/resourceGroups/rg-ep/providers/Microsoft.Kusto/clusters/kcep01"
az_ok rest --method put --url "$ARM$C?api-version=2024-04-13" \
  --body '{"location":"westeurope","sku":{"name":"Standard_E8ads_v5","tier":"Standard","capacity":2}}' >/dev/null ||
  fail "az rest PUT of the cluster failed"
az_ok kusto cluster wait --created -g rg-ep -n kcep01 --interval 1 || fail "az kusto cluster wait --created"
az_ok rest --method patch --url "$ARM$C?api-version=2024-04-13" --body '{"properties":{"enableStreamingIngest":true}}' \
  >/dev/null || fail "az rest PATCH of the cluster failed"
az_ok kusto cluster wait --updated -g rg-ep -n kcep01 --interval 1 || fail "az kusto cluster wait --updated"
shown="$(az_ok kusto cluster show -g rg-ep -n kcep01 --query "[provisioningState, state, enableStreamingIngest]" -o tsv | tr '\n' ' ')"
[ "$shown" = "Succeeded Running true " ] || fail "az kusto cluster show: '$shown'"
updated="$(az_ok resource update --ids "$C" --set properties.enablePurge=true --query properties.enablePurge -o tsv)"
[ "$updated" = "true" ] || fail "az resource update: '$updated'"

az_ok group delete -n rg-ep --yes || fail "az group delete failed"
[ "$(az_ok group exists -n rg-ep)" = "false" ] || fail "the group exists after az group delete"
expect_request PUT "$ARM/subscriptions/$CMK_SUBSCRIPTION/resourcegroups/rg-ep" 201
expect_request PATCH "$ARM$C?api-version=2024-04-13" 200
only_loopback_requests
echo ok
