// Node @azure/arm-kusto in proxy mode with default settings: a resource group (plain ARM PUT
// through @azure/core-rest-pipeline, as in arm_msi_proxy.mjs) and a user-assigned identity
// (@azure/arm-msi), then KustoManagementClient clusters.beginCreateOrUpdateAndWait (a Running
// cluster with the identity filled in), get, beginUpdateAndWait of enablePurge (core-lro takes
// the Location URL's body as the result) and beginDeleteAndWait. Key vault references need a real
// vault and key since CMK landed: cmk_seed_workflow_proxy.mjs drives them.
import { ClientSecretCredential } from "@azure/identity";
import { KustoManagementClient } from "@azure/arm-kusto";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { SP_APP_ID, SP_SECRET, TENANT, env, expect, expectRequest, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const RG = "rg-knode";
const NAME = "kcnode01";
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, RG);
const ident = await new ManagedServiceIdentityClient(cred, SUB).userAssignedIdentities.createOrUpdate(
  RG, "id-knode", { location: "westeurope" });

const kusto = new KustoManagementClient(cred, SUB);
const fast = { updateIntervalInMs: 10 };
const created = await kusto.clusters.beginCreateOrUpdateAndWait(RG, NAME, {
  location: "westeurope",
  sku: { name: "Standard_E8ads_v5", tier: "Standard", capacity: 2 },
  identity: { type: "UserAssigned", userAssignedIdentities: { [ident.id]: {} } },
  enableDoubleEncryption: true,
}, fast);
expect(created.provisioningState === "Succeeded" && created.state === "Running",
  `after create: ${created.provisioningState}/${created.state}`);
expect(created.uri === `https://${NAME}.westeurope.kusto.windows.net`, `uri ${created.uri}`);
const uami = created.identity?.userAssignedIdentities?.[ident.id];
expect(uami?.principalId === ident.principalId && uami?.clientId === ident.clientId,
  `identity not filled in: ${JSON.stringify(created.identity)}`);

const got = await kusto.clusters.get(RG, NAME);
expect(got.id === created.id && got.enableDoubleEncryption === true, `get: ${JSON.stringify(got)}`);

const updated = await kusto.clusters.beginUpdateAndWait(RG, NAME, { enablePurge: true }, { ifMatch: "*", ...fast });
expect(updated.provisioningState === "Succeeded", `after update: ${updated.provisioningState}/${updated.state}`);
expect(updated.enablePurge === true, `enablePurge: ${updated.enablePurge}`);
expect(updated.enableDoubleEncryption === true, "enableDoubleEncryption was reset by the update");
expectRequest("PATCH", `https://management.azure.com/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Kusto/clusters/${NAME}`, 200);

await kusto.clusters.beginDeleteAndWait(RG, NAME, fast);
let gone = false;
try {
  await kusto.clusters.get(RG, NAME);
} catch (e) {
  gone = e.statusCode === 404;
}
expect(gone, "the cluster survived its deletion");
expectRequest("DELETE", `https://management.azure.com/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Kusto/clusters/${NAME}`, 202);
console.log("ok");
