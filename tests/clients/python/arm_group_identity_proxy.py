"""Python SDK (Debian python3-azure) in proxy mode with default settings: ResourceManagementClient
creates a resource group, ManagedServiceIdentityClient creates and reads a user-assigned identity
(principalId/clientId filled in), the identity obtains a token as itself through the managed-
identity endpoint, and begin_delete of the group polls its Location until the group and the
identity are gone."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_SECRET, TENANT, check_claims, expect, expect_request  # noqa: E402

from azure.core.exceptions import ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential, ManagedIdentityCredential  # noqa: E402
from azure.mgmt.msi import ManagedServiceIdentityClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
resources = ResourceManagementClient(cred, SUB)
rg = resources.resource_groups.create_or_update("rg-py", {"location": "westeurope"})
expect(rg.name == "rg-py" and rg.location == "westeurope", f"resource group: {rg}")
expect(resources.resource_groups.check_existence("rg-py"), "check_existence after create")

msi = ManagedServiceIdentityClient(cred, SUB)
ident = msi.user_assigned_identities.create_or_update("rg-py", "id-py", {"location": "westeurope"})
expect(len(ident.principal_id) == 36 and len(ident.client_id) == 36, f"identity: {ident}")
expect(ident.tenant_id == TENANT, f"identity tenant {ident.tenant_id}")
got = msi.user_assigned_identities.get("rg-py", "id-py")
expect(got.principal_id == ident.principal_id, "get returns the same principalId")
names = [i.name for i in msi.user_assigned_identities.list_by_resource_group("rg-py")]
expect(names == ["id-py"], f"list_by_resource_group: {names}")

# The new identity is a principal at once: the App Service endpoint hands out its token.
os.environ["IDENTITY_ENDPOINT"] = f"http://127.0.0.1:{os.environ['CMK_HTTP_PORT']}/msi/token"
os.environ["IDENTITY_HEADER"] = "any"
tok = ManagedIdentityCredential(client_id=ident.client_id).get_token("https://vault.azure.net/.default")
check_claims(tok.token, oid=ident.principal_id, appid=ident.client_id, tid=TENANT, xms_mirid=ident.id)

poller = resources.resource_groups.begin_delete("rg-py", polling_interval=0)
poller.result()
expect(not resources.resource_groups.check_existence("rg-py"), "the group survived its deletion")
try:
    msi.user_assigned_identities.get("rg-py", "id-py")
    expect(False, "the identity survived its group")
except ResourceNotFoundError:
    pass
expect_request("DELETE", f"https://management.azure.com/subscriptions/{SUB}/resourcegroups/rg-py", 202)
print("ok")
