#!/usr/bin/env bash
# az (Debian azure-cli), default AzureCloud, proxy mode: `az group create`, `az group exists`,
# `az identity create` / `show` / `list` (principalId and clientId filled in), `az group delete`
# (polls the deletion's Location until done), after which the group no longer exists.
source "$CMK_CLIENTS_LIB/common.sh"

az_ok login --service-principal -u "$CMK_SP_APP_ID" -p "$CMK_SP_SECRET" --tenant "$CMK_TENANT" >/dev/null ||
  fail "az login --service-principal failed"
az_ok group create -n rg-az -l westeurope >"$CMK_SCRATCH/group.json" || fail "az group create failed"
python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); assert g["name"]=="rg-az" and g["location"]=="westeurope", g' \
  "$CMK_SCRATCH/group.json" || fail "az group create output: $(cat "$CMK_SCRATCH/group.json")"
[ "$(az_ok group exists -n rg-az)" = "true" ] || fail "az group exists after create"

az_ok identity create -g rg-az -n id-az >"$CMK_SCRATCH/identity.json" || fail "az identity create failed"
principal="$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); assert len(i["principalId"])==36 and len(i["clientId"])==36, i; print(i["principalId"])' "$CMK_SCRATCH/identity.json")" ||
  fail "az identity create output: $(cat "$CMK_SCRATCH/identity.json")"
[ "$(az_ok identity show -g rg-az -n id-az --query principalId -o tsv)" = "$principal" ] || fail "az identity show"
[ "$(az_ok identity list -g rg-az --query 'length(@)' -o tsv)" = "1" ] || fail "az identity list"

az_ok group delete -n rg-az --yes || fail "az group delete failed"
[ "$(az_ok group exists -n rg-az)" = "false" ] || fail "the group exists after az group delete"
expect_request PUT "https://management.azure.com/subscriptions/$CMK_SUBSCRIPTION/resourcegroups/rg-az" 201
echo ok
