#!/usr/bin/env bash
# Customer-managed keys on a Kusto cluster, the seed workflow from nothing with Debian's az in
# proxy mode (issue 6), with the steps az 2.45 can do: az group create; az keyvault create
# --enable-purge-protection (soft delete is the default) --no-self-perms, then set-policy for the
# test principal; az keyvault key create (RSA-2048, with the PYTHONPATH shim of
# keyvault_keys_proxy.sh); az identity create; the cluster with that identity through `az rest`
# PUT + `az kusto cluster wait --created`; set-policy get/wrapKey/unwrapKey for the identity;
# `az rest` PATCH of keyVaultProperties (empty keyVersion) + `az kusto cluster wait --updated`;
# az kusto cluster show. Then the key refresh on the virtual clock (POST
# /_emulator/clock/advance): az keyvault key rotate -> the cluster wraps with the new version;
# az keyvault delete-policy -> Unavailable with the reason; set-policy again -> Running;
# keyVaultProperties {} turns CMK off. Negative: an RSA-3072 key makes `wait --updated` fail
# ("The operation failed": az shows no operation error) and leaves provisioningState Failed.
source "$CMK_CLIENTS_LIB/common.sh"
export PYTHONPATH="$CMK_SOURCE_DIR/tools/az_keyvault_shim"

RG=rg-cmkaz VAULT=kv-cmk-az CLUSTER=kccmkaz01
VAULT_URI="https://$VAULT.vault.azure.net/"
C="/subscriptions/$CMK_SUBSCRIPTION/resourceGroups/$RG/providers/Microsoft.Kusto/clusters/$CLUSTER"
CURL="https://management.azure.com$C?api-version=2022-11-11"
SUSPENDED="Suspended: the customer-managed key cannot be used. "

advance_clock() {
  curl -sf --noproxy '*' -X POST -H 'content-type: application/json' -d '{"seconds":61}' \
    "http://127.0.0.1:$CMK_HTTP_PORT/_emulator/clock/advance" >/dev/null || fail "clock advance failed"
}
# state and stateReason of the cluster, "|"-separated (az kusto cluster show).
cluster_state() {
  az_ok kusto cluster show -g $RG -n $CLUSTER --query "join('|', [state, stateReason || ''])" -o tsv
}
patch_cmk() {
  az_ok rest --method patch --url "$CURL" --body "{\"properties\":{\"keyVaultProperties\":$1}}" >/dev/null ||
    fail "az rest PATCH of keyVaultProperties $1 failed"
}

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"
az_ok group create -n $RG -l westeurope >/dev/null || fail "az group create failed"

vault="$(az_ok keyvault create -g $RG -n $VAULT -l westeurope --enable-purge-protection true --no-self-perms \
  --query "join('|', [to_string(properties.enableSoftDelete), to_string(properties.enablePurgeProtection), properties.vaultUri])" \
  -o tsv)" || fail "az keyvault create failed"
[ "$vault" = "true|true|$VAULT_URI" ] || fail "az keyvault create: '$vault'"
az_ok keyvault set-policy -n $VAULT --object-id "$CMK_SP_OBJECT_ID" --key-permissions all >/dev/null ||
  fail "az keyvault set-policy (test principal) failed"

v1="$(az_ok keyvault key create --vault-name $VAULT -n cmk1 --kty RSA --size 2048 --query key.kid -o tsv)" ||
  fail "az keyvault key create failed"
v1="${v1##*/}"
[ "${#v1}" = 32 ] || fail "key version '$v1'"

ident="$(az_ok identity create -g $RG -n id-cmkaz -l westeurope --query "join('|', [id, principalId])" -o tsv)" ||
  fail "az identity create failed"
IDENT_ID="${ident%%|*}" PRINCIPAL="${ident#*|}"
[ -n "$PRINCIPAL" ] && [ "$PRINCIPAL" != "$ident" ] || fail "az identity create: '$ident'"

az_ok rest --method put --url "$CURL" --body "{\"location\":\"westeurope\",
  \"sku\":{\"name\":\"Standard_E8ads_v5\",\"tier\":\"Standard\",\"capacity\":2},
  \"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"$IDENT_ID\":{}}}}" >/dev/null ||
  fail "az rest PUT of the cluster failed"
az_ok kusto cluster wait --created -g $RG -n $CLUSTER --interval 1 || fail "az kusto cluster wait --created"

grant() { az_ok keyvault set-policy -n $VAULT --object-id "$PRINCIPAL" --key-permissions get wrapKey unwrapKey >/dev/null ||
  fail "az keyvault set-policy (identity) failed"; }
revoke() { az_ok keyvault delete-policy -n $VAULT --object-id "$PRINCIPAL" >/dev/null || fail "az keyvault delete-policy failed"; }
grant

CMK="{\"keyVaultUri\":\"$VAULT_URI\",\"keyName\":\"cmk1\",\"keyVersion\":\"\",\"userIdentity\":\"$IDENT_ID\"}"
patch_cmk "$CMK"
az_ok kusto cluster wait --updated -g $RG -n $CLUSTER --interval 1 || fail "az kusto cluster wait --updated (CMK on)"
shown="$(az_ok kusto cluster show -g $RG -n $CLUSTER \
  --query "join('|', [provisioningState, state, keyVaultProperties.keyName, keyVaultProperties.keyVaultUri, keyVaultProperties.userIdentity])" \
  -o tsv)"
[ "$shown" = "Succeeded|Running|cmk1|$VAULT_URI|$IDENT_ID" ] || fail "az kusto cluster show: '$shown'"
expect_request POST "https://$VAULT.vault.azure.net/keys/cmk1/$v1/wrapkey" 200  # the cluster's own call

# Rotation: an empty keyVersion follows the newest version at the next refresh.
v2="$(az_ok keyvault key rotate --vault-name $VAULT -n cmk1 --query key.kid -o tsv)" || fail "az keyvault key rotate failed"
v2="${v2##*/}"
[ "${#v2}" = 32 ] && [ "$v2" != "$v1" ] || fail "rotated version '$v2' (was $v1)"
! grep -q "/keys/cmk1/$v2/wrapkey" "$CMK_EMULATOR_LOG" || fail "the cluster used the new version too early"
advance_clock
[ "$(cluster_state)" = "Running|" ] || fail "after rotation: $(cluster_state)"
expect_request POST "https://$VAULT.vault.azure.net/keys/cmk1/$v2/wrapkey" 200

# Revocation -> suspended; restored -> resumed.
revoke
[ "$(cluster_state)" = "Running|" ] || fail "suspended before the refresh interval passed"
advance_clock
state="$(cluster_state)"
case "$state" in "Unavailable|${SUSPENDED}KeyVaultAccessDenied"*) ;; *) fail "after revocation: '$state'" ;; esac
grant
advance_clock
[ "$(cluster_state)" = "Running|" ] || fail "after restoring: $(cluster_state)"

# CMK off.
patch_cmk '{}'
az_ok kusto cluster wait --updated -g $RG -n $CLUSTER --interval 1 || fail "az kusto cluster wait --updated (CMK off)"
off="$(az_ok kusto cluster show -g $RG -n $CLUSTER --query "join('|', [provisioningState, state, to_string(keyVaultProperties)])" -o tsv)"
[ "$off" = "Succeeded|Running|null" ] || fail "after {}: '$off'"

# Negative: an RSA-3072 key fails the operation.
az_ok keyvault key create --vault-name $VAULT -n cmk3072 --kty RSA --size 3072 >/dev/null || fail "RSA-3072 key create failed"
patch_cmk "{\"keyVaultUri\":\"$VAULT_URI\",\"keyName\":\"cmk3072\",\"keyVersion\":\"\",\"userIdentity\":\"$IDENT_ID\"}"
if az kusto cluster wait --updated -g $RG -n $CLUSTER --interval 1 2>"$CMK_SCRATCH/wait.err"; then
  fail "az kusto cluster wait --updated succeeded with an RSA-3072 key"
fi
grep -q "The operation failed" "$CMK_SCRATCH/wait.err" || fail "wait: $(cat "$CMK_SCRATCH/wait.err")"
[ "$(az_ok kusto cluster show -g $RG -n $CLUSTER --query provisioningState -o tsv)" = Failed ] ||
  fail "provisioningState after the RSA-3072 key is not Failed"
echo ok
