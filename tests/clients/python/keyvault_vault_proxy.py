"""Python KeyVaultManagementClient (Debian python3-azure) in proxy mode with defaults: create a
vault with soft delete and purge protection, update_access_policy (add get/wrapKey/unwrapKey for
an identity, then remove one), check_name_availability, and the refusal to turn purge protection
off reaching the client as HttpResponseError."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_SECRET, TENANT, expect  # noqa: E402

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update("rg-kvpy", {"location": "westeurope"})
kv = KeyVaultManagementClient(cred, SUB)
vault = kv.vaults.begin_create_or_update("rg-kvpy", "kv-py", {
    "location": "westeurope",
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [], "enable_purge_protection": True},
}).result()
expect(vault.properties.enable_soft_delete and vault.properties.enable_purge_protection, f"{vault.properties}")
expect(vault.properties.vault_uri == "https://kv-py.vault.azure.net/", vault.properties.vault_uri)

oid = "33333333-0000-0000-0000-000000000003"
entry = {"tenant_id": TENANT, "object_id": oid, "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}}
res = kv.vaults.update_access_policy("rg-kvpy", "kv-py", "add", {"properties": {"access_policies": [entry]}})
got = kv.vaults.get("rg-kvpy", "kv-py").properties.access_policies
expect(len(got) == 1 and sorted(got[0].permissions.keys) == ["get", "unwrapKey", "wrapKey"], f"{got}")
entry["permissions"]["keys"] = ["unwrapKey"]
kv.vaults.update_access_policy("rg-kvpy", "kv-py", "remove", {"properties": {"access_policies": [entry]}})
got = kv.vaults.get("rg-kvpy", "kv-py").properties.access_policies
expect(sorted(got[0].permissions.keys) == ["get", "wrapKey"], f"after remove: {got}")

name = kv.vaults.check_name_availability({"name": "kv-py", "type": "Microsoft.KeyVault/vaults"})
expect(name.name_available is False, f"{name}")
try:
    kv.vaults.update("rg-kvpy", "kv-py", {"properties": {"enable_purge_protection": False}})
    expect(False, "purge protection was turned off")
except HttpResponseError as e:
    expect("irreversible" in str(e), f"unexpected error: {e}")
print("ok")
