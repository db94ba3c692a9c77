#!/usr/bin/env bash
# The seed workflow's ARM template tab with Debian's az in proxy mode (issue 10): vault (soft
# delete + purge protection), RSA-2048 key, user-assigned identity with get/wrapKey/unwrapKey, then
# `az deployment group what-if` / `create` with tests/clients/lib/templates/kusto_cmk_cluster.json
# (comments in it; az splices it into the body behind an unquoted key). The cluster, named
# concat('kusto', uniqueString(resourceGroup().id)), ends Succeeded with CMK in use (its own
# wrapKey call); `az deployment group show` and `az deployment operation group list` report it.
# Negative: the same template against a vault without purge protection fails the deployment with
# KeyVaultPurgeProtectionRequired; `az deployment group validate` of a template calling an unknown
# function fails with InvalidTemplate.
source "$CMK_CLIENTS_LIB/common.sh"
export PYTHONPATH="$CMK_SOURCE_DIR/tools/az_keyvault_shim"

RG=rg-deploy-az RG2=rg-deploy-az2
TEMPLATE="$CMK_SCRATCH/seed.json"
cp "$CMK_CLIENTS_LIB/templates/kusto_cmk_cluster.json" "$TEMPLATE"

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"

# vault_with_key <rg> <vault> <purge protection flag args...>: a vault, the test principal's
# policy, an RSA-2048 key cmk1.
vault_with_key() {
  local rg=$1 vault=$2
  shift 2
  az_ok keyvault create -g "$rg" -n "$vault" -l westeurope --no-self-perms "$@" >/dev/null ||
    fail "az keyvault create $vault failed"
  az_ok keyvault set-policy -n "$vault" --object-id "$CMK_SP_OBJECT_ID" --key-permissions all >/dev/null ||
    fail "az keyvault set-policy (test principal) on $vault failed"
  az_ok keyvault key create --vault-name "$vault" -n cmk1 --kty RSA --size 2048 >/dev/null ||
    fail "az keyvault key create in $vault failed"
}
# identity <rg> <name> <vault>: a user-assigned identity allowed get/wrapKey/unwrapKey; prints its id.
identity() {
  local out
  out="$(az_ok identity create -g "$1" -n "$2" -l westeurope --query "join('|', [id, principalId])" -o tsv)" ||
    fail "az identity create $2 failed"
  az_ok keyvault set-policy -n "$3" --object-id "${out#*|}" --key-permissions get wrapKey unwrapKey >/dev/null ||
    fail "az keyvault set-policy (identity) on $3 failed"
  echo "${out%%|*}"
}
sub_rg_id() { echo "/subscriptions/$CMK_SUBSCRIPTION/resourceGroups/$1"; }
# The cluster name the template computes: concat('kusto', uniqueString(resourceGroup().id)),
# from the deployment's own output.
az_ok group create -n $RG -l westeurope >/dev/null || fail "az group create failed"
vault_with_key $RG kv-deploy-az --enable-purge-protection true
IDENT="$(identity $RG id-deploy-az kv-deploy-az)"
PARAMS=(keyVaultUri=https://kv-deploy-az.vault.azure.net/ keyName=cmk1 "userIdentity=$IDENT")

# what-if before anything exists: the cluster would be created.
whatif="$(az_ok deployment group what-if -g $RG --template-file "$TEMPLATE" --parameters "${PARAMS[@]}" \
  --no-pretty-print --query "changes[].[changeType, resourceId]" -o tsv)" || fail "az deployment group what-if failed"
case "$whatif" in "Create"*"/providers/Microsoft.Kusto/clusters/kusto"*) ;; *) fail "what-if: '$whatif'" ;; esac

created="$(az_ok deployment group create -g $RG --template-file "$TEMPLATE" --parameters "${PARAMS[@]}" \
  --query "join('|', [properties.provisioningState, properties.outputs.clusterName.value])" -o tsv)" ||
  fail "az deployment group create failed"
state="${created%%|*}" CLUSTER="${created#*|}"
[ "$state" = Succeeded ] || fail "az deployment group create: '$created'"
[[ "$CLUSTER" =~ ^kusto[a-z2-7]{13}$ ]] || fail "cluster name '$CLUSTER' is not kusto + uniqueString"

# The body az sent: the template behind an unquoted key (JsonCTemplatePolicy), comments and all.
expect_request PUT "https://management.azure.com/subscriptions/$CMK_SUBSCRIPTION/resourcegroups/$RG/providers/Microsoft.Resources/deployments/seed" 201
expect_request PUT "https://management.azure.com/subscriptions/$CMK_SUBSCRIPTION/resourceGroups/$RG/providers/Microsoft.Kusto/clusters/$CLUSTER" 201
expect_request POST "https://kv-deploy-az.vault.azure.net/keys/cmk1/" 200  # the cluster's own wrapkey/unwrapkey

shown="$(az_ok deployment group show -g $RG -n seed \
  --query "join('|', [properties.provisioningState, properties.mode, properties.outputResources[0].id, properties.outputs.clusterUri.value])" -o tsv)" ||
  fail "az deployment group show failed"
[ "$shown" = "Succeeded|Incremental|$(sub_rg_id $RG)/providers/Microsoft.Kusto/clusters/$CLUSTER|https://$CLUSTER.westeurope.kusto.windows.net" ] ||
  fail "az deployment group show: '$shown'"

ops="$(az_ok deployment operation group list -g $RG -n seed \
  --query "[?properties.provisioningOperation=='Create'].join('|', [properties.provisioningState, properties.targetResource.resourceType, properties.targetResource.resourceName])" -o tsv)" ||
  fail "az deployment operation group list failed"
[ "$ops" = "Succeeded|Microsoft.Kusto/clusters|$CLUSTER" ] || fail "az deployment operation group list: '$ops'"

cluster="$(az_ok kusto cluster show -g $RG -n "$CLUSTER" \
  --query "join('|', [provisioningState, state, keyVaultProperties.keyName, keyVaultProperties.userIdentity, sku.name])" -o tsv)" ||
  fail "az kusto cluster show failed"
[ "$cluster" = "Succeeded|Running|cmk1|$IDENT|Standard_E8ads_v5" ] || fail "az kusto cluster show: '$cluster'"

# Negative: a vault without purge protection (soft delete only) in another group.
az_ok group create -n $RG2 -l westeurope >/dev/null || fail "az group create $RG2 failed"
vault_with_key $RG2 kv-deploy-nopp
IDENT2="$(identity $RG2 id-deploy-nopp kv-deploy-nopp)"
if az deployment group create -g $RG2 --template-file "$TEMPLATE" \
  --parameters keyVaultUri=https://kv-deploy-nopp.vault.azure.net/ keyName=cmk1 "userIdentity=$IDENT2" \
  >"$CMK_SCRATCH/nopp.out" 2>"$CMK_SCRATCH/nopp.err"; then
  fail "the deployment with a vault lacking purge protection succeeded"
fi
grep -q "KeyVaultPurgeProtectionRequired" "$CMK_SCRATCH/nopp.err" ||
  fail "az did not report KeyVaultPurgeProtectionRequired: $(cat "$CMK_SCRATCH/nopp.err")"
failed="$(az_ok deployment group show -g $RG2 -n seed \
  --query "join('|', [properties.provisioningState, properties.error.code, properties.error.details[0].details[0].code])" -o tsv)"
[ "$failed" = "Failed|DeploymentFailed|KeyVaultPurgeProtectionRequired" ] || fail "failed deployment: '$failed'"
op_error="$(az_ok deployment operation group list -g $RG2 -n seed --query "[0].properties.statusMessage.error.code" -o tsv)"
[ "$op_error" = KeyVaultPurgeProtectionRequired ] || fail "failed operation: '$op_error'"

# validate: an unknown function is InvalidTemplate, with where it is.
sed 's/uniqueString(resourceGroup().id)/uniqueStrung(resourceGroup().id)/' "$TEMPLATE" >"$CMK_SCRATCH/bad.json"
if az deployment group validate -g $RG --template-file "$CMK_SCRATCH/bad.json" --parameters "${PARAMS[@]}" \
  >/dev/null 2>"$CMK_SCRATCH/bad.err"; then
  fail "az deployment group validate accepted an unknown function"
fi
grep -q "InvalidTemplate" "$CMK_SCRATCH/bad.err" && grep -q "uniqueStrung" "$CMK_SCRATCH/bad.err" &&
  grep -q "parameters.clusterName.defaultValue" "$CMK_SCRATCH/bad.err" ||
  fail "validate: $(cat "$CMK_SCRATCH/bad.err")"
echo ok
