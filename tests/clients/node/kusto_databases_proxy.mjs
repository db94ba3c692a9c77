// Node @azure/arm-kusto (api-version 2023-08-15) in proxy mode with default settings: a leader and
// a follower cluster, then databases.beginCreateOrUpdateAndWait (ReadWrite, ISO-8601 periods),
// get, listByCluster, attachedDatabaseConfigurations.beginCreateOrUpdateAndWait (the follower
// gets a ReadOnlyFollowing database), clusters.listFollowerDatabases on the leader, the
// leader/follower rules (deleting the leader refused), clusters.beginDetachFollowerDatabasesAndWait
// from the leader, and the deletions.
import { ClientSecretCredential } from "@azure/identity";
import { KustoManagementClient } from "@azure/arm-kusto";
import { SP_APP_ID, SP_SECRET, TENANT, env, expect, expectRequest, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const RG = "rg-kdbnode";
const LEADER = "kcleadernode";
const FOLLOWER = "kcfollownode";
const BASE = `https://management.azure.com/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Kusto/clusters`;
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, RG);

const kusto = new KustoManagementClient(cred, SUB);
const fast = { updateIntervalInMs: 10 };
const sku = { name: "Standard_E8ads_v5", tier: "Standard", capacity: 2 };
const leader = await kusto.clusters.beginCreateOrUpdateAndWait(RG, LEADER, { location: "westeurope", sku }, fast);
const follower = await kusto.clusters.beginCreateOrUpdateAndWait(RG, FOLLOWER, { location: "westeurope", sku }, fast);

const db = await kusto.databases.beginCreateOrUpdateAndWait(RG, LEADER, "db1", {
  kind: "ReadWrite", location: "westeurope", softDeletePeriod: "P365D", hotCachePeriod: "P31D",
}, fast);
expect(db.kind === "ReadWrite" && db.provisioningState === "Succeeded", `after create: ${JSON.stringify(db)}`);
expect(db.name === `${LEADER}/db1` && db.softDeletePeriod === "P365D" && db.hotCachePeriod === "P31D",
  `database: ${JSON.stringify(db)}`);
expectRequest("PUT", `${BASE}/${LEADER}/databases/db1`, 201);

const got = await kusto.databases.get(RG, LEADER, "db1");
expect(got.kind === "ReadWrite" && got.isFollowed === false, `get: ${JSON.stringify(got)}`);
const names = [];
for await (const d of kusto.databases.listByCluster(RG, LEADER)) names.push(d.name);
expect(JSON.stringify(names) === JSON.stringify([`${LEADER}/db1`]), `listByCluster: ${names}`);

const att = await kusto.attachedDatabaseConfigurations.beginCreateOrUpdateAndWait(RG, FOLLOWER, "att1", {
  location: "westeurope", databaseName: "*", clusterResourceId: leader.id,
  defaultPrincipalsModificationKind: "Union", databaseNamePrefix: "l_",
}, fast);
expect(att.provisioningState === "Succeeded" && JSON.stringify(att.attachedDatabaseNames) === '["l_db1"]',
  `attachment: ${JSON.stringify(att)}`);
const replica = await kusto.databases.get(RG, FOLLOWER, "l_db1");
expect(replica.kind === "ReadOnlyFollowing" && replica.originalDatabaseName === "db1" &&
  replica.leaderClusterResourceId.toLowerCase() === leader.id.toLowerCase(), `replica: ${JSON.stringify(replica)}`);

const followers = [];
for await (const f of kusto.clusters.listFollowerDatabases(RG, LEADER)) followers.push(f);
expect(followers.length === 1 && followers[0].attachedDatabaseConfigurationName === "att1" &&
  followers[0].databaseName === "*" && followers[0].clusterResourceId.toLowerCase() === follower.id.toLowerCase(),
  `listFollowerDatabases: ${JSON.stringify(followers)}`);

let refused = null;
try {
  await kusto.clusters.beginDeleteAndWait(RG, LEADER, fast);
} catch (e) {
  refused = e;
}
expect(refused?.statusCode === 400 && refused?.code === "CannotDeleteLeaderCluster",
  `deleting the leader: ${refused?.statusCode} ${refused?.code} ${refused?.message}`);

await kusto.clusters.beginDetachFollowerDatabasesAndWait(RG, LEADER, {
  clusterResourceId: follower.id, attachedDatabaseConfigurationName: "att1",
}, fast);
expectRequest("POST", `${BASE}/${LEADER}/detachFollowerDatabases`, 202);
let gone = false;
try {
  await kusto.attachedDatabaseConfigurations.get(RG, FOLLOWER, "att1");
} catch (e) {
  gone = e.statusCode === 404;
}
expect(gone, "the attachment survived the detach");
expect((await kusto.databases.get(RG, LEADER, "db1")).isFollowed === false, "still followed after the detach");

await kusto.databases.beginDeleteAndWait(RG, LEADER, "db1", fast);
expectRequest("DELETE", `${BASE}/${LEADER}/databases/db1`, 202);
for (const name of [FOLLOWER, LEADER]) await kusto.clusters.beginDeleteAndWait(RG, name, fast);
console.log("ok");
