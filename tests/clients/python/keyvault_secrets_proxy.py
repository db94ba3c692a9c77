# cmk-emulator-flags: --journal-bodies
"""Python SecretClient (Debian python3-azure, azure-keyvault-secrets) in proxy mode with defaults:
the vault is made through ARM with an access policy for the test principal; then the challenge
dance, set (new versions), get latest and by version, list and list versions (paged, no values),
update properties (content type, tags, expiry, disable: get refused as Key Vault refuses it, then
enable), the 25600-character limit, delete/list deleted/get deleted/recover, backup, purge and
restore, the retention purge on the virtual clock, an access policy without set, and the secret
value kept out of the journal."""
import os
import re
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import (SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, access_log, admin, expect,  # noqa: E402
                        expect_request, journal)

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.secrets import SecretClient  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
VAULT = "kv-secrets-py"
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update("rg-secretspy", {"location": "westeurope"})
vaults = KeyVaultManagementClient(cred, SUB).vaults


def make_vault(name, secret_permissions):
    vaults.begin_create_or_update("rg-secretspy", name, {
        "location": "westeurope",
        "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                       "access_policies": [{"tenant_id": TENANT, "object_id": SP_OBJECT_ID,
                                            "permissions": {"secrets": secret_permissions}}]},
    }).result()


make_vault(VAULT, ["all", "purge"])
url = f"https://{VAULT}.vault.azure.net"
secrets = SecretClient(url, cred)

VALUE = "Server=db.internal;User=app;Password=s3cr3t-py-7c1d"
s1 = secrets.set_secret("conn", VALUE, content_type="text/plain", tags={"env": "ci"})
expect(s1.value == VALUE and s1.properties.content_type == "text/plain", f"set: {s1.properties}")
expect(s1.id.startswith(f"{url}/secrets/conn/") and len(s1.properties.version) == 32, f"id {s1.id}")
expect(s1.properties.tags == {"env": "ci"} and s1.properties.enabled, f"{s1.properties.tags}")
expect(s1.properties.recovery_level == "Recoverable+Purgeable", f"{s1.properties.recovery_level}")
expect_request("PUT", f"{url}/secrets/conn", 401)  # the challenge
s2 = secrets.set_secret("conn", "second")
expect(s2.properties.version != s1.properties.version, "a set makes a new version")
expect(secrets.get_secret("conn").value == "second", "get latest")
expect(secrets.get_secret("conn", s1.properties.version).value == VALUE, "get by version")

for i in range(30):  # more than one page (25 at most per page)
    secrets.set_secret(f"bulk-{i:02d}", f"v{i}")
names = [p.name for p in secrets.list_properties_of_secrets()]
expect(len(names) == 31 and names[0] == "bulk-00" and "conn" in names, f"{len(names)} names: {names[:3]}")
expect_request("GET", f"{url}/secrets?api-version=", 200)
expect(re.search(re.escape(f"GET {url}/secrets?api-version=") + r"[^&\s]+&\$skiptoken=\S+ -> 200 ", access_log()),
       "the nextLink was not followed")
versions = list(secrets.list_properties_of_secret_versions("conn"))
expect(sorted(v.version for v in versions) == sorted([s1.properties.version, s2.properties.version]),
       f"versions {[v.version for v in versions]}")

expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
updated = secrets.update_secret_properties("conn", s1.properties.version, content_type="application/json",
                                           tags={"env": "prod"}, expires_on=expires)
expect(updated.content_type == "application/json" and updated.tags == {"env": "prod"}
       and updated.expires_on == expires, f"update: {updated}")
secrets.update_secret_properties("conn", enabled=False)
try:
    secrets.get_secret("conn")
    expect(False, "a disabled secret was read")
except HttpResponseError as e:
    expect(e.status_code == 403 and e.error.code == "Forbidden"
           and "Operation get is not allowed on a disabled secret." in str(e), f"disabled: {e}")
secrets.update_secret_properties("conn", enabled=True)
expect(secrets.get_secret("conn").value == "second", "enabled again")

try:
    secrets.set_secret("huge", "x" * 25601)
    expect(False, "a secret over 25600 characters was set")
except HttpResponseError as e:
    expect(e.status_code == 400 and "25600" in str(e), f"limit: {e}")

deleted = secrets.begin_delete_secret("conn").result()
expect(deleted.recovery_id == f"{url}/deletedsecrets/conn" and deleted.scheduled_purge_date
       and deleted.deleted_date, f"{deleted}")
try:
    secrets.set_secret("conn", "again")
    expect(False, "a soft-deleted name was reused")
except ResourceExistsError as e:
    expect("deleted but recoverable" in str(e), f"{e}")
expect([d.name for d in secrets.list_deleted_secrets()] == ["conn"], "list deleted")
expect(secrets.get_deleted_secret("conn").name == "conn", "get deleted")
recovered = secrets.begin_recover_deleted_secret("conn").result()
expect(recovered.name == "conn" and secrets.get_secret("conn").value == "second", "recovered")

backup = secrets.backup_secret("conn")
expect(VALUE.encode() not in backup and b"second" not in backup, "the backup is sealed")
secrets.begin_delete_secret("conn").wait()
secrets.purge_deleted_secret("conn")
try:
    secrets.get_deleted_secret("conn")
    expect(False, "purged secret still listed")
except ResourceNotFoundError:
    pass
restored = secrets.restore_secret_backup(backup)
expect(restored.name == "conn" and restored.version == s2.properties.version, f"restored {restored}")
expect(secrets.get_secret("conn", s1.properties.version).value == VALUE, "restore brought every version back")

# The retention (90 days) runs on the virtual clock.
secrets.begin_delete_secret("bulk-00").wait()
admin("POST", "clock/advance", {"days": 91})
try:
    secrets.get_deleted_secret("bulk-00")
    expect(False, "a deleted secret outlived its retention")
except ResourceNotFoundError:
    pass

# An access policy with get and list only: set is refused in Key Vault's words.
make_vault("kv-secrets-ro", ["get", "list"])
ro = SecretClient("https://kv-secrets-ro.vault.azure.net", cred)
try:
    ro.set_secret("x", "y")
    expect(False, "set without the permission")
except HttpResponseError as e:
    expect(e.status_code == 403 and "does not have secrets set permission" in str(e), f"{e}")
expect(list(ro.list_properties_of_secrets()) == [], "list with the permission")

records = journal(path="/secrets/conn*")
expect(records, "the journal recorded the secret requests")
expect(any("<redacted>" in str(r) for r in records), "bodies are journaled, values redacted")
expect(all(VALUE not in str(r) for r in journal()), "a secret value reached the journal")
print("ok")
