"""The portal's "customer-managed key with a system-assigned identity" shortcut as plain ARM calls
with Debian's python3-azure in proxy mode (docs/cmk.md): a cluster
created without any identity; (1) PATCH identity SystemAssigned, which gives it a principal id;
(2) an access policy with get/wrapKey/unwrapKey for that principal (update_access_policy add);
(3) PATCH keyVaultProperties with no userIdentity, which makes the cluster use its system
identity. Done out of order, step 3 fails: without a system identity at once (400
SystemIdentityRequired), without the policy in the operation (KeyVaultAccessDenied)."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, expect, expect_request  # noqa: E402

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.kusto.models import AzureSku, Cluster, ClusterUpdate, Identity, KeyVaultProperties  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
RG, LOC, VAULT, CLUSTER = "rg-portal", "westeurope", "kv-portal-py", "kcportalpy"
VAULT_URI = f"https://{VAULT}.vault.azure.net/"

cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update(RG, {"location": LOC})
kvm = KeyVaultManagementClient(cred, SUB)
me = {"tenant_id": TENANT, "object_id": SP_OBJECT_ID, "permissions": {"keys": ["all"]}}
kvm.vaults.begin_create_or_update(RG, VAULT, {
    "location": LOC,
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [me], "enable_purge_protection": True},
}).result()
version = KeyClient(VAULT_URI, cred).create_rsa_key("cmk", size=2048).properties.version

kusto = KustoManagementClient(cred, SUB)
created = kusto.clusters.begin_create_or_update(RG, CLUSTER, Cluster(
    location=LOC, sku=AzureSku(name="Standard_E8ads_v5", tier="Standard", capacity=2)), polling_interval=0).result()
expect(created.identity is None or created.identity.type == "None", f"identity at creation: {created.identity}")

cmk = ClusterUpdate(key_vault_properties=KeyVaultProperties(key_vault_uri=VAULT_URI, key_name="cmk", key_version=""))


def expect_refused(code):
    try:
        kusto.clusters.begin_update(RG, CLUSTER, cmk, polling_interval=0).result()
        expect(False, f"the update succeeded; expected {code}")
    except HttpResponseError as e:
        expect(e.error is not None and e.error.code == code, f"expected {code}, got {e.error and e.error.code}: {e}")


# Out of order: no system identity yet.
expect_refused("SystemIdentityRequired")

# (1) The system identity.
with_identity = kusto.clusters.begin_update(RG, CLUSTER, ClusterUpdate(identity=Identity(type="SystemAssigned")),
                                            polling_interval=0).result()
principal = with_identity.identity.principal_id
expect(with_identity.identity.type == "SystemAssigned" and principal and
       with_identity.identity.tenant_id == TENANT, f"identity: {with_identity.identity}")

# Out of order: the identity may not use the key yet.
expect_refused("KeyVaultAccessDenied")

# (2) The access policy the portal adds.
kvm.vaults.update_access_policy(RG, VAULT, "add", {"properties": {"access_policies": [
    {"tenant_id": TENANT, "object_id": principal, "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}}]}})
policies = kvm.vaults.get(RG, VAULT).properties.access_policies
expect(any(p.object_id == principal and sorted(p.permissions.keys) == ["get", "unwrapKey", "wrapKey"]
           for p in policies), f"policies: {policies}")

# (3) The key, used through the system identity.
done = kusto.clusters.begin_update(RG, CLUSTER, cmk, polling_interval=0).result()
expect(done.provisioning_state == "Succeeded" and done.state == "Running",
       f"after enabling: {done.provisioning_state}/{done.state}")
kvp = done.key_vault_properties
expect(kvp.key_name == "cmk" and kvp.key_vault_uri == VAULT_URI and not kvp.user_identity, f"{kvp}")
expect_request("POST", f"{VAULT_URI}keys/cmk/{version}/wrapkey", 200)
expect_request("POST", f"{VAULT_URI}keys/cmk/{version}/unwrapkey", 200)
print("ok")
