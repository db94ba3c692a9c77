#!/usr/bin/env bash
# az (Debian azure-cli), default AzureCloud, proxy mode, with the PYTHONPATH shim its key commands
# need on Debian (tools/az_keyvault_shim): a vault with an access policy for the test
# principal, then `az keyvault key create/show/encrypt/decrypt` against the emulator's real RSA
# key (az encrypts locally with n/e; decrypt runs on the server). az 2.45 runs `key delete` and
# `key recover` on the track-1 client Debian lacks, so they are not driven here.
source "$CMK_CLIENTS_LIB/common.sh"
export PYTHONPATH="$CMK_SOURCE_DIR/tools/az_keyvault_shim"

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"
az_ok group create -n rg-kvkeys -l westeurope >/dev/null || fail "az group create failed"
az_ok keyvault create -g rg-kvkeys -n kv-az-keys -l westeurope --no-self-perms >/dev/null ||
  fail "az keyvault create failed"
az_ok keyvault set-policy -n kv-az-keys --object-id "$CMK_SP_OBJECT_ID" \
  --key-permissions get list create delete recover encrypt decrypt >/dev/null || fail "az keyvault set-policy failed"

az_ok keyvault key create --vault-name kv-az-keys -n cmk1 --kty RSA --size 2048 >"$CMK_SCRATCH/key.json" ||
  fail "az keyvault key create failed"
kid="$(python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["key"]; assert k["kty"]=="RSA", k; print(k["kid"])' \
  "$CMK_SCRATCH/key.json")" || fail "az keyvault key create output: $(cat "$CMK_SCRATCH/key.json")"
case "$kid" in https://kv-az-keys.vault.azure.net/keys/cmk1/*) ;; *) fail "kid $kid" ;; esac
expect_request POST "https://kv-az-keys.vault.azure.net/keys/cmk1/create" 401  # the challenge first
expect_request POST "https://kv-az-keys.vault.azure.net/keys/cmk1/create" 200

[ "$(az_ok keyvault key show --vault-name kv-az-keys -n cmk1 --query key.kid -o tsv)" = "$kid" ] ||
  fail "az keyvault key show"

plain="$(printf 'a data encryption key' | base64)"
cipher="$(az_ok keyvault key encrypt --vault-name kv-az-keys -n cmk1 --algorithm RSA-OAEP-256 \
  --value "$plain" --data-type base64 --query result -o tsv)" || fail "az keyvault key encrypt failed"
back="$(az_ok keyvault key decrypt --vault-name kv-az-keys -n cmk1 --algorithm RSA-OAEP-256 \
  --value "$cipher" --data-type base64 --query result -o tsv)" || fail "az keyvault key decrypt failed"
[ "$back" = "$plain" ] || fail "decrypt gave $back, expected $plain"
expect_request POST "https://kv-az-keys.vault.azure.net/keys/cmk1/" 200

echo ok
