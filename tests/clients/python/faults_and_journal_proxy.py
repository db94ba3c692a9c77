"""Fault injection and the journal with Debian's python3-azure in proxy mode (issue 7):
- an injected 429 with Retry-After on ARM: the SDK waits, retries and succeeds;
- an injected 503 on the token endpoint: ClientAuthenticationError once the credential's retries
  are spent (every attempt journaled);
- an injected failure of the CMK operation: the poller ends Failed and HttpResponseError carries
  the injected code;
- a connection reset on a Key Vault unwrap: with default settings azure-core does not retry a
  POST after a broken connection (the error reaches the caller); allowing POST retries
  for the call (retry_on_methods), it retries and succeeds.
The journal (GET /_emulator/requests) shows each of these, with the fault that acted."""
import base64
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, admin, expect, journal  # noqa: E402

from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ServiceRequestError,  # noqa: E402
                                   ServiceResponseError)
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.kusto.models import AzureSku, Cluster, ClusterUpdate, Identity, KeyVaultProperties  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
RG, LOC, VAULT, CLUSTER = "rg-faults", "westeurope", "kv-faults-py", "kcfaultspy"
VAULT_URI = f"https://{VAULT}.vault.azure.net/"


def faults(*rules):
    admin("PUT", "faults", list(rules))


cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
rmc = ResourceManagementClient(cred, SUB)

# 1. ARM throttling: one 429 with Retry-After: 1, then the real answer.
faults({"name": "throttle-rg", "match": {"surface": "arm", "method": "PUT", "path": f"/subscriptions/*/resourcegroups/{RG}"},
        "limit": {"first": 1}, "action": {"type": "throttle", "retryAfter": 1}})
group = rmc.resource_groups.create_or_update(RG, {"location": LOC})
expect(group.name == RG, f"group: {group}")
puts = journal(method="PUT", path=f"/subscriptions/*/resourcegroups/{RG}")
expect([r["status"] for r in puts] == [429, 201], f"journal: {[(r['status'], r['fault']) for r in puts]}")
expect(puts[0]["fault"] == "throttle-rg: throttle 429 Retry-After 1", f"fault: {puts[0]['fault']}")
expect(puts[0]["principal"]["appid"] == SP_APP_ID, f"principal: {puts[0]['principal']}")

# 2. The token endpoint down: a fresh credential (no cached token) gives up with the SDK's
#    authentication error after its own retries.
faults({"name": "login-down", "match": {"surface": "login", "path": "*/token"},
        "action": {"type": "status", "status": 503}})
admin("DELETE", "requests")
try:
    ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET).get_token("https://management.azure.com/.default")
    expect(False, "get_token succeeded while the token endpoint answers 503")
except ClientAuthenticationError as e:
    expect("503" in str(e) or "temporarily_unavailable" in str(e) or "unavailable" in str(e).lower(), f"{e}")
attempts = journal(surface="login", faulted="true")
expect(len(attempts) >= 2, f"token requests answered 503: {len(attempts)} (expected the credential to retry)")
expect(all(r["status"] == 503 for r in attempts), f"{[r['status'] for r in attempts]}")
faults()

# 3. The CMK operation fails with an injected code: the poller reports it.
kusto = KustoManagementClient(cred, SUB)
kusto.clusters.begin_create_or_update(RG, CLUSTER, Cluster(
    location=LOC, sku=AzureSku(name="Standard_E8ads_v5", tier="Standard", capacity=2),
    identity=Identity(type="SystemAssigned")), polling_interval=0).result()
faults({"name": "cmk-fails", "match": {"operation": "Microsoft.Kusto/clusters/write", "method": "PATCH"},
        "action": {"type": "lro", "outcome": "fail", "code": "InjectedKeyVaultOutage",
                   "message": "Key Vault could not be reached (injected)."}})
try:
    kusto.clusters.begin_update(RG, CLUSTER, ClusterUpdate(key_vault_properties=KeyVaultProperties(
        key_vault_uri=VAULT_URI, key_name="cmk", key_version="")), polling_interval=0).result()
    expect(False, "the CMK update succeeded despite the fault")
except HttpResponseError as e:
    expect(e.error is not None and e.error.code == "InjectedKeyVaultOutage", f"code: {e.error and e.error.code}: {e}")
expect(kusto.clusters.get(RG, CLUSTER).provisioning_state == "Failed", "provisioningState is not Failed")
patched = journal(method="PATCH", faulted="true")
expect(len(patched) == 1 and patched[0]["fault"] == "cmk-fails: lro fail InjectedKeyVaultOutage", f"{patched}")
faults()

# 4. A reset connection on unwrapKey.
kvm = KeyVaultManagementClient(cred, SUB)
kvm.vaults.begin_create_or_update(RG, VAULT, {"location": LOC, "properties": {
    "tenant_id": TENANT, "sku": {"family": "A", "name": "standard"}, "enable_purge_protection": True,
    "access_policies": [{"tenant_id": TENANT, "object_id": SP_OBJECT_ID, "permissions": {"keys": ["all"]}}]}}).result()
key = KeyClient(VAULT_URI, cred).create_rsa_key("cmk", size=2048)
crypto = CryptographyClient(key, cred)
cek = os.urandom(32)
wrapped = crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep, cek).encrypted_key
reset_once = {"name": "reset-unwrap", "match": {"operation": "keys/unwrapKey"}, "limit": {"first": 1},
              "action": {"type": "reset"}}

faults(reset_once)
try:
    crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped)
    expect(False, "unwrap succeeded through a reset connection")
except (ServiceRequestError, ServiceResponseError) as e:
    # Through the proxy, urllib3 words it "Cannot connect to proxy" (ServiceRequestError).
    print(f"default settings: {type(e).__name__}: {e}")

faults(reset_once)
admin("DELETE", "requests")
got = crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped,
                        retry_on_methods=["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"])
expect(got.key == cek, "unwrapped key differs")
unwraps = journal(path=f"/keys/cmk/{key.properties.version}/unwrapkey")
expect([(r["status"], r["fault"]) for r in unwraps] == [(503, "reset-unwrap: reset"), (200, None)],
       f"journal: {[(r['status'], r['fault']) for r in unwraps]}")
expect(base64.b64encode(cek).decode() not in str(unwraps), "the key appears in the journal")
expect(admin("GET", "faults")["value"][0]["hits"] == 1, "the rule's hit count")
print("ok")
