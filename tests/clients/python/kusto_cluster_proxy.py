"""Python SDK (Debian python3-azure, azure-mgmt-kusto 3.1.0b1, api-version 2022-11-11) in proxy
mode with default settings: a resource group and a user-assigned identity, then
KustoManagementClient begin_create_or_update (polls the LRO to a Running cluster with the
identity filled in), get, begin_update of enablePurge (the SDK also sends its nine model
defaults, which must not reset create-time or earlier settings) and begin_delete (404
afterwards). Key vault references need a real vault and key since CMK landed: they are driven by
cmk_seed_workflow_proxy.py."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_SECRET, TENANT, expect, expect_request  # noqa: E402

from azure.core.exceptions import ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.kusto.models import (  # noqa: E402
    AzureSku, Cluster, ClusterUpdate, Identity)
from azure.mgmt.msi import ManagedServiceIdentityClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
RG, NAME = "rg-kpy", "kcpy01"
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update(RG, {"location": "westeurope"})
ident = ManagedServiceIdentityClient(cred, SUB).user_assigned_identities.create_or_update(
    RG, "id-kpy", {"location": "westeurope"})

kusto = KustoManagementClient(cred, SUB)
params = Cluster(
    location="West Europe",
    sku=AzureSku(name="Standard_E8ads_v5", tier="Standard", capacity=2),
    identity=Identity(type="UserAssigned", user_assigned_identities={ident.id: {}}),
    enable_double_encryption=True,
    enable_streaming_ingest=True,
)
created = kusto.clusters.begin_create_or_update(RG, NAME, params, polling_interval=0).result()
expect(created.provisioning_state == "Succeeded" and created.state == "Running",
       f"after create: {created.provisioning_state}/{created.state}")
expect(created.uri == f"https://{NAME}.westeurope.kusto.windows.net", f"uri {created.uri}")
expect(created.type == "Microsoft.Kusto/Clusters", f"type {created.type}")
uami = created.identity.user_assigned_identities[ident.id]
expect(uami.principal_id == ident.principal_id and uami.client_id == ident.client_id,
       f"identity not filled in: {created.identity}")
expect_request("PUT", f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/{RG}"
               f"/providers/Microsoft.Kusto/clusters/{NAME}", 201)

got = kusto.clusters.get(RG, NAME)
expect(got.id == created.id and got.enable_double_encryption, f"get: {got}")

updated = kusto.clusters.begin_update(RG, NAME, ClusterUpdate(enable_purge=True),
                                      if_match="*", polling_interval=0).result()
expect(updated.provisioning_state == "Succeeded" and updated.state == "Running",
       f"after update: {updated.provisioning_state}/{updated.state}")
expect(updated.enable_purge is True, f"enablePurge: {updated.enable_purge}")
# The SDK sent enableDoubleEncryption=false and enableStreamingIngest=false as model defaults.
expect(updated.enable_double_encryption is True, "the SDK's default enableDoubleEncryption=false clobbered it")
expect(updated.enable_streaming_ingest is True, "the SDK's default enableStreamingIngest=false clobbered it")
expect_request("PATCH", f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/{RG}"
               f"/providers/Microsoft.Kusto/clusters/{NAME}", 200)

names = [c.name for c in kusto.clusters.list_by_resource_group(RG)]
expect(names == [NAME], f"list_by_resource_group: {names}")

kusto.clusters.begin_delete(RG, NAME, polling_interval=0).result()
try:
    kusto.clusters.get(RG, NAME)
    expect(False, "the cluster survived its deletion")
except ResourceNotFoundError:
    pass
expect_request("DELETE", f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/{RG}"
               f"/providers/Microsoft.Kusto/clusters/{NAME}", 202)
print("ok")
