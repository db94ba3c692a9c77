#!/usr/bin/env bash
# az (Debian azure-cli), default AzureCloud, proxy mode: `az keyvault create
# --enable-purge-protection true` (GET first, which must be 404, then PUT), `az keyvault show`,
# `az keyvault set-policy` with get/wrapKey/unwrapKey (az finds the vault's resource group through
# GET /subscriptions/{sub}/resources?$filter), `az keyvault delete` (soft delete) and
# `az keyvault list-deleted`; turning purge protection off is refused with the service's words.
source "$CMK_CLIENTS_LIB/common.sh"

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"
az_ok group create -n rg-kv -l westeurope >/dev/null || fail "az group create failed"
# --no-self-perms: otherwise az asks Microsoft Graph for the caller's object id.
az_ok keyvault create -g rg-kv -n kv-az -l westeurope --enable-purge-protection true --no-self-perms \
  >"$CMK_SCRATCH/vault.json" || fail "az keyvault create failed"
python3 - "$CMK_SCRATCH/vault.json" <<'PY' || fail "az keyvault create output: $(cat "$CMK_SCRATCH/vault.json")"
import json, sys
v = json.load(open(sys.argv[1]))
p = v["properties"]
assert v["name"] == "kv-az" and p["enablePurgeProtection"] is True and p["enableSoftDelete"] is True, p
assert p["vaultUri"] == "https://kv-az.vault.azure.net/", p["vaultUri"]
PY
expect_request GET "https://management.azure.com/subscriptions/$CMK_SUBSCRIPTION/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-az" 404

[ "$(az_ok keyvault show -n kv-az --query properties.enablePurgeProtection -o tsv)" = "true" ] ||
  fail "az keyvault show (vault found by name through /resources)"
oid=22222222-0000-0000-0000-000000000002
az_ok keyvault set-policy -n kv-az --object-id "$oid" --key-permissions get wrapKey unwrapKey >/dev/null ||
  fail "az keyvault set-policy failed"
perms="$(az_ok keyvault show -n kv-az --query "properties.accessPolicies[?objectId=='$oid'].permissions.keys | [0]" -o tsv | tr '\t\n' '  ')"
for p in get wrapKey unwrapKey; do
  grep -qiw "$p" <<<"$perms" || fail "set-policy did not grant $p (got: $perms)"
done

if az keyvault update -n kv-az --enable-purge-protection false >/dev/null 2>"$CMK_SCRATCH/pp.err"; then
  fail "purge protection was turned off"
fi
grep -q "irreversible" "$CMK_SCRATCH/pp.err" || fail "unexpected error: $(cat "$CMK_SCRATCH/pp.err")"

az_ok keyvault delete -n kv-az >/dev/null || fail "az keyvault delete failed"
[ "$(az_ok keyvault list-deleted --query "[?name=='kv-az'] | length(@)" -o tsv)" = "1" ] ||
  fail "the deleted vault is not listed"
echo ok
