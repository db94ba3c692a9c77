"""The seed workflow's ARM template tab with Debian's python3-azure in proxy mode (issue 10):
vault (soft delete + purge protection), RSA-2048 key, user-assigned identity allowed get/wrapKey/
unwrapKey; ResourceManagementClient.deployments.begin_what_if, then begin_create_or_update with
tests/clients/lib/templates/kusto_cmk_cluster.json: the cluster (concat('kusto',
uniqueString(resourceGroup().id))) ends Succeeded with CMK in use; the deployment, its outputs and
deployment_operations.list report it. Negative: a vault without purge protection fails the
deployment, and KeyVaultPurgeProtectionRequired reaches HttpResponseError."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, expect, expect_request  # noqa: E402

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.msi import ManagedServiceIdentityClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
LOC = "westeurope"


def strip_comments(text):
    """The template file has // and /* */ comments (ARM and az accept them; json does not)."""
    out, i, in_string = [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


import json  # noqa: E402

with open(os.path.join(os.environ["CMK_CLIENTS_LIB"], "templates", "kusto_cmk_cluster.json"), encoding="utf-8") as f:
    TEMPLATE = json.loads(strip_comments(f.read()))

cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
rmc = ResourceManagementClient(cred, SUB)
kvm = KeyVaultManagementClient(cred, SUB)
msi = ManagedServiceIdentityClient(cred, SUB)
kusto = KustoManagementClient(cred, SUB)


def setup(rg, vault, purge_protection):
    """A group, a vault with an RSA-2048 key cmk1 and an identity allowed to use it: the parameters."""
    rg_id = rmc.resource_groups.create_or_update(rg, {"location": LOC}).id
    ident = msi.user_assigned_identities.create_or_update(rg, "id-" + vault, {"location": LOC})
    policies = [{"tenant_id": TENANT, "object_id": SP_OBJECT_ID, "permissions": {"keys": ["all"]}},
                {"tenant_id": TENANT, "object_id": ident.principal_id,
                 "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}}]
    props = {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"}, "access_policies": policies}
    if purge_protection:
        props["enable_purge_protection"] = True
    v = kvm.vaults.begin_create_or_update(rg, vault, {"location": LOC, "properties": props}).result()
    KeyClient(v.properties.vault_uri, cred).create_rsa_key("cmk1", size=2048)
    params = {"keyVaultUri": {"value": v.properties.vault_uri}, "keyName": {"value": "cmk1"},
              "userIdentity": {"value": ident.id}}
    return rg_id, ident.id, params


def deployment(params):
    return {"properties": {"template": TEMPLATE, "parameters": params, "mode": "Incremental"}}


# Success.
RG = "rg-deploy-py"
rg_id, ident_id, params = setup(RG, "kv-deploy-py", True)
changes = rmc.deployments.begin_what_if(RG, "seed", deployment(params), polling_interval=0).result().changes
expect([c.change_type for c in changes] == ["Create"], f"what-if: {changes}")
expect("/providers/Microsoft.Kusto/clusters/kusto" in changes[0].resource_id, changes[0].resource_id)

done = rmc.deployments.begin_create_or_update(RG, "seed", deployment(params), polling_interval=0).result()
expect(done.properties.provisioning_state == "Succeeded", f"deployment: {done.properties.provisioning_state}")
cluster = done.properties.outputs["clusterName"]["value"]
expect(cluster.startswith("kusto") and len(cluster) == 18, f"cluster name {cluster}")
expect(done.properties.output_resources[0].id == f"{rg_id}/providers/Microsoft.Kusto/clusters/{cluster}",
       f"outputResources: {done.properties.output_resources}")

c = kusto.clusters.get(RG, cluster)
expect(c.provisioning_state == "Succeeded" and c.state == "Running", f"cluster: {c.provisioning_state}/{c.state}")
expect(c.key_vault_properties.key_name == "cmk1" and c.key_vault_properties.user_identity == ident_id,
       f"keyVaultProperties: {c.key_vault_properties}")
expect(c.sku.name == "Standard_E8ads_v5", c.sku.name)
expect_request("POST", "https://kv-deploy-py.vault.azure.net/keys/cmk1/", 200)  # the cluster's own key use

ops = [o for o in rmc.deployment_operations.list(RG, "seed") if o.properties.provisioning_operation == "Create"]
expect(len(ops) == 1 and ops[0].properties.provisioning_state == "Succeeded"
       and ops[0].properties.target_resource.resource_name == cluster, f"operations: {ops}")
expect(rmc.deployments.get(RG, "seed").properties.provisioning_state == "Succeeded", "get")

# Negative: a vault without purge protection.
RG2 = "rg-deploy-py2"
_, _, params2 = setup(RG2, "kv-deploy-py-nopp", False)
try:
    rmc.deployments.begin_create_or_update(RG2, "seed", deployment(params2), polling_interval=0).result()
    expect(False, "the deployment with a vault lacking purge protection succeeded")
except HttpResponseError as e:
    expect("KeyVaultPurgeProtectionRequired" in str(e), f"error: {e}")
    expect(e.error is not None and e.error.code == "DeploymentFailed", f"code: {e.error and e.error.code}")
failed = rmc.deployments.get(RG2, "seed")
expect(failed.properties.provisioning_state == "Failed", failed.properties.provisioning_state)
op = next(iter(rmc.deployment_operations.list(RG2, "seed")))
expect(op.properties.provisioning_state == "Failed"
       and op.properties.status_message.error.code == "KeyVaultPurgeProtectionRequired",
       f"failed operation: {op.properties.status_message}")
print("ok")
