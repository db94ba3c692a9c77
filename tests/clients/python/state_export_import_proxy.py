# cmk-emulator-flags: --fixture fixtures/seed-cmk-enabled.json
"""State export, reset and import (issue 8), with Debian's python3-azure in proxy mode as the
client that builds and then checks the state: on top of fixtures/seed-cmk-enabled.json the SDKs
add a resource group, a key (and wrap a value with it) and a tag on the cluster; the state is
exported with secrets; POST /_emulator/reset takes the emulator back to the fixture (the SDKs
see the additions gone, the fixture's cluster still running on its key); PUT /_emulator/state
brings the export back (the SDKs see the additions again, the key unwraps what it wrapped before
the reset, the cluster's tag is there)."""
import json
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_SECRET, TENANT, admin, expect  # noqa: E402

from azure.core.exceptions import ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.kusto.models import ClusterUpdate  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
RG, VAULT, CLUSTER = "cmk-rg", "cmk-kv", "cmkadx"
VAULT_URI = f"https://{VAULT}.vault.azure.net/"
SECRET = b"\x07" * 32

cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
groups = ResourceManagementClient(cred, SUB).resource_groups
keys = KeyClient(VAULT_URI, cred)
kusto = KustoManagementClient(cred, SUB)


def gone(call, what):
    try:
        call()
    except ResourceNotFoundError:
        return
    expect(False, f"{what} still exists")


# What the clients add to the fixture's world.
groups.create_or_update("extra-rg", {"location": "northeurope", "tags": {"made": "by-sdk"}})
extra = keys.create_rsa_key("extra", size=2048, tags={"made": "by-sdk"})
wrapped = CryptographyClient(extra, cred).wrap_key(KeyWrapAlgorithm.rsa_oaep_256, SECRET).encrypted_key
kusto.clusters.begin_update(RG, CLUSTER, ClusterUpdate(tags={"stage": "exported"})).result()

exported = admin("GET", "state?include=secrets")
public = admin("GET", "state")
expect('"material"' in json.dumps(exported), "the secret export carries key material")
expect('"material"' not in json.dumps(public) and SP_SECRET not in json.dumps(public),
       "the public export carries no key material or secret")
expect(exported["state"]["keys"]["cmk-kv"]["keys"][1]["name"] == "extra", "the export lists the new key")

# Reset: the fixture's world again.
expect(admin("POST", "reset") == {"status": "reset"}, "reset")
gone(lambda: groups.get("extra-rg"), "resource group extra-rg")
gone(lambda: keys.get_key("extra"), "key extra")
cluster = kusto.clusters.get(RG, CLUSTER)
expect(cluster.state == "Running" and not (cluster.tags or {}).get("stage"), f"cluster after reset: {cluster.state} {cluster.tags}")

# Import: the exported world again, exactly.
expect(admin("PUT", "state", exported) == {"status": "replaced"}, "import")
expect(groups.get("extra-rg").tags == {"made": "by-sdk"}, "resource group back")
back = keys.get_key("extra")
expect(back.properties.version == extra.properties.version and back.key.n == extra.key.n, "key back, same version and modulus")
unwrapped = CryptographyClient(back, cred).unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped).key
expect(unwrapped == SECRET, "the key unwraps what it wrapped before the reset")
cluster = kusto.clusters.get(RG, CLUSTER)
expect(cluster.state == "Running" and cluster.tags.get("stage") == "exported", f"cluster back: {cluster.state} {cluster.tags}")
expect(admin("GET", "state?include=secrets") == exported, "export after import equals the export")
print("ok")
