// Node @azure/arm-msi in proxy mode with default settings: ManagedServiceIdentityClient creates,
// reads and lists a user-assigned identity (principalId/clientId filled in). Its resource group
// is created with a plain ARM PUT through @azure/core-rest-pipeline (no arm-resources package is
// pinned), which honours the same proxy settings as the SDK clients.
import { ClientSecretCredential } from "@azure/identity";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { SP_APP_ID, SP_SECRET, TENANT, env, expect, expectRequest, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, "rg-node");

const msi = new ManagedServiceIdentityClient(cred, SUB);
const ident = await msi.userAssignedIdentities.createOrUpdate("rg-node", "id-node", { location: "westeurope" });
expect(ident.principalId?.length === 36 && ident.clientId?.length === 36, `identity: ${JSON.stringify(ident)}`);
expect(ident.tenantId === TENANT, `tenantId ${ident.tenantId}`);
const got = await msi.userAssignedIdentities.get("rg-node", "id-node");
expect(got.principalId === ident.principalId, "get returns the same principalId");
const names = [];
for await (const i of msi.userAssignedIdentities.listByResourceGroup("rg-node")) names.push(i.name);
expect(names.length === 1 && names[0] === "id-node", `listByResourceGroup: ${names}`);
expectRequest("PUT", `https://management.azure.com/subscriptions/${SUB}/resourceGroups/rg-node/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-node`, 201);
console.log("ok");
