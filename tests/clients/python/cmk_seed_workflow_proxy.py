"""Customer-managed keys on a Kusto cluster, the seed workflow from nothing with Debian's
python3-azure in proxy mode (issue 6): resource group; vault with soft delete + purge protection
and an access policy for the test principal (azure.mgmt.keyvault); an RSA-2048 key (KeyClient);
a user-assigned identity (azure.mgmt.msi) and a cluster with it; get/wrapKey/unwrapKey for the
identity (update_access_policy add); begin_update with keyVaultProperties (empty keyVersion) to
Succeeded; get. Then the key refresh on the virtual clock (POST /_emulator/clock/advance):
rotate_key -> the cluster wraps with the new version; policy removed -> Unavailable with the
reason; policy restored -> Running; keyVaultProperties {} turns CMK off. Negative paths: an
RSA-3072 key and a vault without purge protection fail the operation, and the code
(UnsupportedKeyType / KeyVaultPurgeProtectionRequired) reaches HttpResponseError."""
import json
import os
import re
import sys
import urllib.request

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import (HTTP_PORT, SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, access_log, expect,  # noqa: E402
                        expect_request)

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.kusto.models import AzureSku, Cluster, ClusterUpdate, Identity, KeyVaultProperties  # noqa: E402
from azure.mgmt.msi import ManagedServiceIdentityClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
RG, LOC, VAULT, CLUSTER = "rg-cmkpy", "westeurope", "kv-cmk-py", "kccmkpy01"
VAULT_URI = f"https://{VAULT}.vault.azure.net/"
SUSPENDED = "Suspended: the customer-managed key cannot be used. "


def advance_clock(seconds=61):
    """The emulator's virtual clock (admin API, not through the proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(f"http://127.0.0.1:{HTTP_PORT}/_emulator/clock/advance", method="POST",
                                 data=json.dumps({"seconds": seconds}).encode(),
                                 headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=30) as r:
        expect(r.status == 200, f"clock advance: {r.status}")


def cluster_wrapped_with(vault, key, version):
    """The cluster's own Key Vault calls (through the emulator's endpoints) used this version."""
    expect_request("POST", f"https://{vault}.vault.azure.net/keys/{key}/{version}/wrapkey", 200)


cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update(RG, {"location": LOC})

# The vault: soft delete (the default) + purge protection; the test principal may manage keys.
kvm = KeyVaultManagementClient(cred, SUB)
me = {"tenant_id": TENANT, "object_id": SP_OBJECT_ID, "permissions": {"keys": ["all"]}}
vault = kvm.vaults.begin_create_or_update(RG, VAULT, {
    "location": LOC,
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [me], "enable_soft_delete": True, "enable_purge_protection": True},
}).result()
expect(vault.properties.enable_soft_delete and vault.properties.enable_purge_protection, f"{vault.properties}")
expect(vault.properties.vault_uri == VAULT_URI, vault.properties.vault_uri)

keys = KeyClient(VAULT_URI, cred)
key = keys.create_rsa_key("cmk1", size=2048)
v1 = key.properties.version
expect(len(key.key.n) == 256, "RSA-2048")

ident = ManagedServiceIdentityClient(cred, SUB).user_assigned_identities.create_or_update(
    RG, "id-cmkpy", {"location": LOC})

kusto = KustoManagementClient(cred, SUB)
created = kusto.clusters.begin_create_or_update(RG, CLUSTER, Cluster(
    location=LOC, sku=AzureSku(name="Standard_E8ads_v5", tier="Standard", capacity=2),
    identity=Identity(type="UserAssigned", user_assigned_identities={ident.id: {}})), polling_interval=0).result()
expect(created.provisioning_state == "Succeeded" and created.state == "Running",
       f"after create: {created.provisioning_state}/{created.state}")

# The identity may use the key: get, wrapKey, unwrapKey.
grant = {"tenant_id": TENANT, "object_id": ident.principal_id,
         "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}}
kvm.vaults.update_access_policy(RG, VAULT, "add", {"properties": {"access_policies": [grant]}})

cmk = KeyVaultProperties(key_name="cmk1", key_version="", key_vault_uri=VAULT_URI, user_identity=ident.id)
updated = kusto.clusters.begin_update(RG, CLUSTER, ClusterUpdate(key_vault_properties=cmk), polling_interval=0).result()
expect(updated.provisioning_state == "Succeeded" and updated.state == "Running",
       f"after enabling CMK: {updated.provisioning_state}/{updated.state}")
kvp = updated.key_vault_properties
expect(kvp and kvp.key_name == "cmk1" and kvp.key_vault_uri == VAULT_URI and kvp.user_identity == ident.id
       and not kvp.key_version, f"keyVaultProperties: {kvp}")
cluster_wrapped_with(VAULT, "cmk1", v1)

shown = kusto.clusters.get(RG, CLUSTER)
expect(shown.state == "Running" and shown.key_vault_properties.key_name == "cmk1" and not shown.state_reason,
       f"show: {shown.state}/{shown.state_reason}/{shown.key_vault_properties}")

# Rotation: an empty keyVersion follows the newest version at the next refresh.
v2 = keys.rotate_key("cmk1").properties.version
expect(v2 != v1, "rotate_key made no new version")
expect(not re.search(rf"/keys/cmk1/{v2}/wrapkey", access_log()), "the cluster used the new version too early")
advance_clock()
got = kusto.clusters.get(RG, CLUSTER)
expect(got.state == "Running" and not got.state_reason, f"after rotation: {got.state}/{got.state_reason}")
cluster_wrapped_with(VAULT, "cmk1", v2)

# Revocation: the identity loses its permissions -> suspended at the next refresh.
kvm.vaults.update_access_policy(RG, VAULT, "remove", {"properties": {"access_policies": [grant]}})
expect(kusto.clusters.get(RG, CLUSTER).state == "Running", "suspended before the refresh interval passed")
advance_clock()
got = kusto.clusters.get(RG, CLUSTER)
expect(got.state == "Unavailable" and (got.state_reason or "").startswith(SUSPENDED + "KeyVaultAccessDenied"),
       f"after revocation: {got.state}/{got.state_reason}")
expect(got.provisioning_state == "Succeeded", f"provisioningState {got.provisioning_state}")

# Restored: resumes by itself.
kvm.vaults.update_access_policy(RG, VAULT, "add", {"properties": {"access_policies": [grant]}})
advance_clock()
got = kusto.clusters.get(RG, CLUSTER)
expect(got.state == "Running" and not got.state_reason, f"after restoring: {got.state}/{got.state_reason}")

# CMK off: keyVaultProperties {}.
off = kusto.clusters.begin_update(RG, CLUSTER, ClusterUpdate(key_vault_properties=KeyVaultProperties()),
                                  polling_interval=0).result()
expect(off.provisioning_state == "Succeeded" and off.state == "Running", f"after {{}}: {off.provisioning_state}")
expect(not off.key_vault_properties or not off.key_vault_properties.key_name,
       f"keyVaultProperties after {{}}: {off.key_vault_properties}")
expect(not kusto.clusters.get(RG, CLUSTER).key_vault_properties, "keyVaultProperties still shown")
# No more key use: the revocation below does not suspend the cluster.
kvm.vaults.update_access_policy(RG, VAULT, "remove", {"properties": {"access_policies": [grant]}})
advance_clock()
expect(kusto.clusters.get(RG, CLUSTER).state == "Running", "a cluster without CMK was suspended")
kvm.vaults.update_access_policy(RG, VAULT, "add", {"properties": {"access_policies": [grant]}})


def expect_failed_update(props, code):
    try:
        kusto.clusters.begin_update(RG, CLUSTER, ClusterUpdate(key_vault_properties=props), polling_interval=0).result()
        expect(False, f"the update succeeded; expected {code}")
    except HttpResponseError as e:
        expect(e.error is not None and e.error.code == code, f"expected {code}, got {e.error and e.error.code}: {e}")
        expect(code in str(e), f"{code} not in the message: {e}")
    got = kusto.clusters.get(RG, CLUSTER)
    expect(got.provisioning_state == "Failed", f"provisioningState after {code}: {got.provisioning_state}")


# Negative: an RSA-3072 key.
keys.create_rsa_key("cmk3072", size=3072)
expect_failed_update(KeyVaultProperties(key_name="cmk3072", key_version="", key_vault_uri=VAULT_URI,
                                        user_identity=ident.id), "UnsupportedKeyType")

# Negative: a vault without purge protection (soft delete only).
NOPP = "kv-nopp-py"
nopp = kvm.vaults.begin_create_or_update(RG, NOPP, {
    "location": LOC,
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [me, grant]},
}).result()
expect(nopp.properties.enable_soft_delete and not nopp.properties.enable_purge_protection, f"{nopp.properties}")
KeyClient(f"https://{NOPP}.vault.azure.net/", cred).create_rsa_key("cmk1", size=2048)
expect_failed_update(KeyVaultProperties(key_name="cmk1", key_version="", key_vault_uri=f"https://{NOPP}.vault.azure.net/",
                                        user_identity=ident.id), "KeyVaultPurgeProtectionRequired")

# A good key again: the cluster recovers from Failed.
again = kusto.clusters.begin_update(RG, CLUSTER, ClusterUpdate(key_vault_properties=cmk), polling_interval=0).result()
expect(again.provisioning_state == "Succeeded" and again.state == "Running",
       f"after re-enabling: {again.provisioning_state}/{again.state}")
print("ok")
