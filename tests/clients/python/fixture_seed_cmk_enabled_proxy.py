# cmk-emulator-flags: --fixture fixtures/seed-cmk-enabled.json --seed 7
"""The seed workflow's last step given as a fixture (issue 8), seen by Debian's python3-azure in
proxy mode: fixtures/seed-cmk-enabled.json starts the emulator with resource group cmk-rg, identity
cmk-identity (fixed principal and client ids), vault cmk-kv (soft delete, purge protection, an
access policy for the identity), RSA-2048 key cmk-key (fixed version) and cluster cmkadx Running
with its customer-managed key in use. The SDKs read it back as if clients had built it; the
cluster used the key at start (the access log shows its wrapKey); the key works for the test
principal; a rotation is followed at the next key refresh."""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import HTTP_PORT, SP_APP_ID, SP_SECRET, TENANT, expect, expect_request  # noqa: E402

from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.msi import ManagedServiceIdentityClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
RG, VAULT, KEY, CLUSTER = "cmk-rg", "cmk-kv", "cmk-key", "cmkadx"
VAULT_URI = f"https://{VAULT}.vault.azure.net/"
VERSION = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
PRINCIPAL, CLIENT = "22222222-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002"

cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
rg = ResourceManagementClient(cred, SUB).resource_groups.get(RG)
expect(rg.location == "westeurope" and rg.tags == {"purpose": "cmk-seed"}, f"resource group: {rg}")

ident = ManagedServiceIdentityClient(cred, SUB).user_assigned_identities.get(RG, "cmk-identity")
expect(ident.principal_id == PRINCIPAL and ident.client_id == CLIENT and ident.tenant_id == TENANT,
       f"identity: {ident.principal_id}/{ident.client_id}/{ident.tenant_id}")

vault = KeyVaultManagementClient(cred, SUB).vaults.get(RG, VAULT)
expect(vault.properties.enable_soft_delete and vault.properties.enable_purge_protection
       and vault.properties.vault_uri == VAULT_URI, f"vault: {vault.properties}")
expect(any(p.object_id == PRINCIPAL and sorted(p.permissions.keys) == ["get", "unwrapKey", "wrapKey"]
           for p in vault.properties.access_policies), f"access policies: {vault.properties.access_policies}")

keys = KeyClient(VAULT_URI, cred)
key = keys.get_key(KEY)
expect(key.properties.version == VERSION and len(key.key.n) == 256 and key.properties.enabled,
       f"key: {key.properties.version}, {len(key.key.n) * 8} bits")
expect(key.properties.expires_on is not None and key.properties.tags == {"use": "adx-cmk"},
       f"attributes: {key.properties.expires_on} {key.properties.tags}")
crypto = CryptographyClient(key, cred)
wrapped = crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep, b"\x01" * 32)
expect(crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key).key == b"\x01" * 32, "unwrap")

kusto = KustoManagementClient(cred, SUB)
cluster = kusto.clusters.get(RG, CLUSTER)
expect(cluster.state == "Running" and cluster.provisioning_state == "Succeeded" and not cluster.state_reason,
       f"cluster: {cluster.state}/{cluster.provisioning_state}/{cluster.state_reason}")
kvp = cluster.key_vault_properties
expect(kvp and kvp.key_name == KEY and kvp.key_vault_uri == VAULT_URI and kvp.user_identity == ident.id,
       f"keyVaultProperties: {kvp}")
expect(cluster.identity.user_assigned_identities[ident.id].principal_id == PRINCIPAL,
       f"cluster identity: {cluster.identity}")
# At start, the cluster wrapped a data-encryption key with the fixture's key, as its identity.
expect_request("POST", f"{VAULT_URI}keys/{KEY}/{VERSION}/wrapkey", 200)

# Rotation is followed at the next refresh (virtual clock), as for a cluster clients built.
v2 = keys.rotate_key(KEY).properties.version
expect(v2 != VERSION, "rotate_key made no new version")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(f"http://127.0.0.1:{HTTP_PORT}/_emulator/clock/advance", method="POST",
                             data=json.dumps({"seconds": 61}).encode(), headers={"Content-Type": "application/json"})
with opener.open(req, timeout=30) as r:
    expect(r.status == 200, f"clock advance: {r.status}")
expect(kusto.clusters.get(RG, CLUSTER).state == "Running", "after rotation")
expect_request("POST", f"{VAULT_URI}keys/{KEY}/{v2}/wrapkey", 200)
print("ok")
