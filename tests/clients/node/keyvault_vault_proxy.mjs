// Node @azure/arm-keyvault in proxy mode with default settings: KeyVaultManagementClient creates a
// vault with purge protection (beginCreateOrUpdateAndWait), grants get/wrapKey/unwrapKey through
// updateAccessPolicy("add"), reads it back, and sees purge protection refuse to go off.
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { SP_APP_ID, SP_SECRET, TENANT, env, expect, fail, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, "rg-kvnode");

const kv = new KeyVaultManagementClient(cred, SUB);
const vault = await kv.vaults.beginCreateOrUpdateAndWait("rg-kvnode", "kv-node", {
  location: "westeurope",
  properties: { tenantId: TENANT, sku: { family: "A", name: "standard" }, accessPolicies: [], enablePurgeProtection: true },
});
expect(vault.properties.enableSoftDelete === true && vault.properties.enablePurgeProtection === true,
  `vault: ${JSON.stringify(vault.properties)}`);
expect(vault.properties.vaultUri === "https://kv-node.vault.azure.net/", vault.properties.vaultUri);

const oid = "44444444-0000-0000-0000-000000000004";
await kv.vaults.updateAccessPolicy("rg-kvnode", "kv-node", "add", {
  properties: { accessPolicies: [{ tenantId: TENANT, objectId: oid, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] },
});
const got = await kv.vaults.get("rg-kvnode", "kv-node");
const entry = got.properties.accessPolicies.find((p) => p.objectId === oid);
expect(entry && entry.permissions.keys.sort().join(",") === "get,unwrapKey,wrapKey", `policies: ${JSON.stringify(got.properties.accessPolicies)}`);

try {
  await kv.vaults.update("rg-kvnode", "kv-node", { properties: { enablePurgeProtection: false } });
  fail("purge protection was turned off");
} catch (e) {
  expect(e.statusCode === 400 && String(e.message).includes("irreversible"), `unexpected error: ${e}`);
}
console.log("ok");
