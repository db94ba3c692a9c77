"""Python SDK (Debian python3-azure, azure-mgmt-kusto 3.1.0b1, api-version 2022-11-11) in proxy
mode with default settings: a leader and a follower cluster, then KustoManagementClient
databases.begin_create_or_update with a ReadWriteDatabase (durations as timedelta), get,
list_by_cluster, check_name_availability, attached_database_configurations.begin_create_or_update
(the follower gets a ReadOnlyFollowingDatabase), clusters.list_follower_databases on the leader,
the leader/follower rules (stop refused), then begin_delete of the attachment, the database and
the clusters."""
import datetime
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_SECRET, TENANT, expect, expect_request  # noqa: E402

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.mgmt.kusto import KustoManagementClient  # noqa: E402
from azure.mgmt.kusto.models import (  # noqa: E402
    AttachedDatabaseConfiguration, AzureSku, CheckNameRequest, Cluster, ReadOnlyFollowingDatabase,
    ReadWriteDatabase)
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
RG, LEADER, FOLLOWER = "rg-kdbpy", "kcleaderpy", "kcfollowpy"
BASE = f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Kusto/clusters"
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update(RG, {"location": "westeurope"})
kusto = KustoManagementClient(cred, SUB)


def wait(poller):
    return poller.result()


sku = AzureSku(name="Standard_E8ads_v5", tier="Standard", capacity=2)
leader = wait(kusto.clusters.begin_create_or_update(RG, LEADER, Cluster(location="westeurope", sku=sku),
                                                    polling_interval=0))
follower = wait(kusto.clusters.begin_create_or_update(RG, FOLLOWER, Cluster(location="westeurope", sku=sku),
                                                      polling_interval=0))

year, month = datetime.timedelta(days=365), datetime.timedelta(days=31)
db = wait(kusto.databases.begin_create_or_update(
    RG, LEADER, "db1", ReadWriteDatabase(location="westeurope", soft_delete_period=year, hot_cache_period=month),
    polling_interval=0))
expect(isinstance(db, ReadWriteDatabase), f"create returned {type(db).__name__}")
expect(db.provisioning_state == "Succeeded", f"after create: {db.provisioning_state}")
expect(db.name == f"{LEADER}/db1" and db.type == "Microsoft.Kusto/Clusters/Databases", f"name/type {db.name} {db.type}")
expect(db.soft_delete_period == year and db.hot_cache_period == month,
       f"periods {db.soft_delete_period} {db.hot_cache_period}")
expect_request("PUT", f"{BASE}/{LEADER}/databases/db1", 201)

got = kusto.databases.get(RG, LEADER, "db1")
expect(isinstance(got, ReadWriteDatabase) and got.is_followed is False, f"get: {got}")
names = [d.name for d in kusto.databases.list_by_cluster(RG, LEADER)]
expect(names == [f"{LEADER}/db1"], f"list_by_cluster: {names}")
taken = kusto.databases.check_name_availability(
    RG, LEADER, CheckNameRequest(name="db1", type="Microsoft.Kusto/clusters/databases"))
expect(taken.name_available is False and taken.reason == "AlreadyExists", f"check_name_availability: {taken}")

att = wait(kusto.attached_database_configurations.begin_create_or_update(
    RG, FOLLOWER, "att1",
    AttachedDatabaseConfiguration(location="westeurope", database_name="db1", cluster_resource_id=leader.id,
                                  default_principals_modification_kind="Union"),
    polling_interval=0))
expect(att.provisioning_state == "Succeeded" and att.attached_database_names == ["db1"], f"attachment: {att}")
expect_request("PUT", f"{BASE}/{FOLLOWER}/attachedDatabaseConfigurations/att1", 201)
replica = kusto.databases.get(RG, FOLLOWER, "db1")
expect(isinstance(replica, ReadOnlyFollowingDatabase), f"replica is {type(replica).__name__}")
expect(replica.leader_cluster_resource_id.lower() == leader.id.lower()
       and replica.attached_database_configuration_name == "att1"
       and replica.soft_delete_period == year, f"replica: {replica}")

followers = list(kusto.clusters.list_follower_databases(RG, LEADER))
expect(len(followers) == 1 and followers[0].attached_database_configuration_name == "att1"
       and followers[0].database_name == "db1"
       and followers[0].cluster_resource_id.lower() == follower.id.lower(), f"list_follower_databases: {followers}")
expect(kusto.databases.get(RG, LEADER, "db1").is_followed is True, "the leader's database is not followed")

try:
    kusto.clusters.begin_stop(RG, LEADER, polling_interval=0).result()
    expect(False, "a leader cluster was stopped")
except HttpResponseError as e:
    expect(e.status_code == 400 and e.error.code == "CannotStopLeaderOrFollowerCluster", f"stop: {e}")

wait(kusto.attached_database_configurations.begin_delete(RG, FOLLOWER, "att1", polling_interval=0))
try:
    kusto.databases.get(RG, FOLLOWER, "db1")
    expect(False, "the replica survived the detach")
except ResourceNotFoundError:
    pass
expect(kusto.databases.get(RG, LEADER, "db1").is_followed is False, "still followed after the detach")

wait(kusto.databases.begin_delete(RG, LEADER, "db1", polling_interval=0))
try:
    kusto.databases.get(RG, LEADER, "db1")
    expect(False, "the database survived its deletion")
except ResourceNotFoundError:
    pass
expect_request("DELETE", f"{BASE}/{LEADER}/databases/db1", 202)
for name in (FOLLOWER, LEADER):
    wait(kusto.clusters.begin_delete(RG, name, polling_interval=0))
print("ok")
