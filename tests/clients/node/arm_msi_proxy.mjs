// Node @azure/arm-msi in proxy mode with default settings: ManagedServiceIdentityClient creates,
// reads and lists a user-assigned identity (principalId/clientId filled in). Its resource group
// is created with a plain ARM PUT through @azure/core-rest-pipeline (no arm-resources package is
// pinned), which honours the same proxy settings as the SDK clients.
import { ClientSecretCredential } from "@azure/identity";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest } from "@azure/core-rest-pipeline";
import { SP_APP_ID, SP_SECRET, TENANT, env, expect, expectRequest } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
const token = await cred.getToken("https://management.azure.com/.default");
const rgUrl = `https://management.azure.com/subscriptions/${SUB}/resourceGroups/rg-node?api-version=2021-04-01`;
// The default pipeline carries the proxy policy (HTTPS_PROXY), as the SDK clients' do.
const put = await createPipelineFromOptions({}).sendRequest(createDefaultHttpClient(), createPipelineRequest({
  url: rgUrl, method: "PUT", body: JSON.stringify({ location: "westeurope" }),
  headers: createHttpHeaders({ authorization: `Bearer ${token.token}`, "content-type": "application/json" }),
}));
expect(put.status === 201, `resource group PUT: ${put.status} ${put.bodyAsText}`);

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
