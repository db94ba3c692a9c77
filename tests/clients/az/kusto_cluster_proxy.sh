#!/usr/bin/env bash
# az (Debian azure-cli), default AzureCloud, proxy mode, the way Debian's
# az can drive a cluster: `az rest` PUT and PATCH (az rest does not poll), then
# `az kusto cluster wait --updated` (polls GET until provisioningState is terminal) and
# `az kusto cluster show`; then `az resource update --set properties.enablePurge=true`
# (GET, PUT of the whole resource with its read-only fields, poll, final GET). Key vault
# references need a real vault and key since CMK landed: cmk_seed_workflow_proxy.sh drives them.
source "$CMK_CLIENTS_LIB/common.sh"

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"
az_ok group create -n rg-az -l westeurope >/dev/null || fail "az group create failed"
C="/subscriptions/$CMK_SUBSCRIPTION/resourceGroups/rg-az/providers/Microsoft.Kusto/clusters/kcaz01"
az_ok rest --method put --url "https://management.azure.com$C?api-version=2022-11-11" \
  --body '{"location":"westeurope","sku":{"name":"Standard_E8ads_v5","tier":"Standard","capacity":2}}' >/dev/null ||
  fail "az rest PUT of the cluster failed"
az_ok kusto cluster wait --created -g rg-az -n kcaz01 --interval 1 || fail "az kusto cluster wait --created"
az_ok rest --method patch --url "https://management.azure.com$C?api-version=2022-11-11" \
  --body '{"properties":{"enableStreamingIngest":true}}' >/dev/null ||
  fail "az rest PATCH of the cluster failed"
az_ok kusto cluster wait --updated -g rg-az -n kcaz01 --interval 1 || fail "az kusto cluster wait --updated"
shown="$(az_ok kusto cluster show -g rg-az -n kcaz01 --query "[provisioningState, state, enableStreamingIngest]" -o tsv | tr '\n' ' ')"
[ "$shown" = "Succeeded Running true " ] || fail "az kusto cluster show: '$shown'"

updated="$(az_ok resource update --ids "$C" --set properties.enablePurge=true \
  --query "properties.[provisioningState, enablePurge, enableStreamingIngest]" -o tsv | tr '\n' ' ')"
[ "$updated" = "Succeeded true true " ] || fail "az resource update: '$updated'"
expect_request PATCH "https://management.azure.com$C?api-version=2022-11-11" 200
echo ok
