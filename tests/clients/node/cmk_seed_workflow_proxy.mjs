// Customer-managed keys on a Kusto cluster, the seed workflow from nothing with the npm SDKs in
// proxy mode (issue 6): resource group (plain ARM PUT, as in arm_msi_proxy.mjs); vault with soft
// delete + purge protection and an access policy for the test principal (@azure/arm-keyvault);
// an RSA-2048 key (@azure/keyvault-keys); a user-assigned identity (@azure/arm-msi) and a cluster
// with it (@azure/arm-kusto); get/wrapKey/unwrapKey for the identity (updateAccessPolicy "add");
// beginUpdateAndWait with keyVaultProperties (empty keyVersion) to Succeeded; get. Then the key
// refresh on the virtual clock (POST /_emulator/clock/advance): rotateKey -> the cluster wraps
// with the new version; policy removed -> Unavailable with the reason; restored -> Running;
// keyVaultProperties {} turns CMK off. Negative paths: an RSA-3072 key and a vault without purge
// protection fail the operation; core-lro 2.x rejects with a plain Error whose message carries
// the operation's error code ("The long-running operation has failed. <code>. <message>").
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { KustoManagementClient } from "@azure/arm-kusto";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { KeyClient } from "@azure/keyvault-keys";
import { readFileSync } from "node:fs";
import { HTTP_PORT, SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, env, expect, expectRequest, fail, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const RG = "rg-cmknode";
const LOC = "westeurope";
const VAULT = "kv-cmk-node";
const VAULT_URI = `https://${VAULT}.vault.azure.net/`;
const CLUSTER = "kccmknode01";
const SUSPENDED = "Suspended: the customer-managed key cannot be used. ";
const fast = { updateIntervalInMs: 10 };

// The emulator's virtual clock (admin API, not through the proxy).
async function advanceClock(seconds = 61) {
  const r = await fetch(`http://127.0.0.1:${HTTP_PORT}/_emulator/clock/advance`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ seconds }),
  });
  expect(r.status === 200, `clock advance: ${r.status} ${await r.text()}`);
}
// The cluster's own Key Vault calls (through the emulator's endpoints) used this version.
const clusterWrappedWith = (vault, key, version) =>
  expectRequest("POST", `https://${vault}.vault.azure.net/keys/${key}/${version}/wrapkey`, 200);

const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, RG, { location: LOC });

// The vault: soft delete + purge protection; the test principal may manage keys.
const kvm = new KeyVaultManagementClient(cred, SUB);
const me = { tenantId: TENANT, objectId: SP_OBJECT_ID, permissions: { keys: ["all"] } };
const vault = await kvm.vaults.beginCreateOrUpdateAndWait(RG, VAULT, {
  location: LOC,
  properties: {
    tenantId: TENANT, sku: { family: "A", name: "standard" }, accessPolicies: [me],
    enableSoftDelete: true, enablePurgeProtection: true,
  },
});
expect(vault.properties.enableSoftDelete === true && vault.properties.enablePurgeProtection === true,
  `vault: ${JSON.stringify(vault.properties)}`);
expect(vault.properties.vaultUri === VAULT_URI, vault.properties.vaultUri);

const keys = new KeyClient(VAULT_URI, cred);
const key = await keys.createRsaKey("cmk1", { keySize: 2048 });
const v1 = key.properties.version;
expect(key.key.n.length === 256, "RSA-2048");

const ident = await new ManagedServiceIdentityClient(cred, SUB).userAssignedIdentities.createOrUpdate(
  RG, "id-cmknode", { location: LOC });

const kusto = new KustoManagementClient(cred, SUB);
const created = await kusto.clusters.beginCreateOrUpdateAndWait(RG, CLUSTER, {
  location: LOC,
  sku: { name: "Standard_E8ads_v5", tier: "Standard", capacity: 2 },
  identity: { type: "UserAssigned", userAssignedIdentities: { [ident.id]: {} } },
}, fast);
expect(created.provisioningState === "Succeeded" && created.state === "Running",
  `after create: ${created.provisioningState}/${created.state}`);

// The identity may use the key: get, wrapKey, unwrapKey.
const grant = { tenantId: TENANT, objectId: ident.principalId, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } };
const policy = (kind) => kvm.vaults.updateAccessPolicy(RG, VAULT, kind, { properties: { accessPolicies: [grant] } });
await policy("add");

const cmk = { keyName: "cmk1", keyVersion: "", keyVaultUri: VAULT_URI, userIdentity: ident.id };
const updated = await kusto.clusters.beginUpdateAndWait(RG, CLUSTER, { keyVaultProperties: cmk }, fast);
expect(updated.provisioningState === "Succeeded" && updated.state === "Running",
  `after enabling CMK: ${updated.provisioningState}/${updated.state}`);
const kvp = updated.keyVaultProperties;
expect(kvp?.keyName === "cmk1" && kvp?.keyVaultUri === VAULT_URI && kvp?.userIdentity === ident.id && !kvp?.keyVersion,
  `keyVaultProperties: ${JSON.stringify(kvp)}`);
clusterWrappedWith(VAULT, "cmk1", v1);

const shown = await kusto.clusters.get(RG, CLUSTER);
expect(shown.state === "Running" && shown.keyVaultProperties?.keyName === "cmk1" && !shown.stateReason,
  `show: ${shown.state}/${shown.stateReason}/${JSON.stringify(shown.keyVaultProperties)}`);

// Rotation: an empty keyVersion follows the newest version at the next refresh.
const v2 = (await keys.rotateKey("cmk1")).properties.version;
expect(v2 && v2 !== v1, "rotateKey made no new version");
expect(!readFileSync(env.CMK_EMULATOR_LOG, "utf8").includes(`/keys/cmk1/${v2}/wrapkey`),
  "the cluster used the new version too early");
await advanceClock();
let got = await kusto.clusters.get(RG, CLUSTER);
expect(got.state === "Running" && !got.stateReason, `after rotation: ${got.state}/${got.stateReason}`);
clusterWrappedWith(VAULT, "cmk1", v2);

// Revocation: the identity loses its permissions -> suspended at the next refresh.
await policy("remove");
expect((await kusto.clusters.get(RG, CLUSTER)).state === "Running", "suspended before the refresh interval passed");
await advanceClock();
got = await kusto.clusters.get(RG, CLUSTER);
expect(got.state === "Unavailable" && (got.stateReason ?? "").startsWith(`${SUSPENDED}KeyVaultAccessDenied`),
  `after revocation: ${got.state}/${got.stateReason}`);
expect(got.provisioningState === "Succeeded", `provisioningState ${got.provisioningState}`);

// Restored: resumes by itself.
await policy("add");
await advanceClock();
got = await kusto.clusters.get(RG, CLUSTER);
expect(got.state === "Running" && !got.stateReason, `after restoring: ${got.state}/${got.stateReason}`);

// CMK off: keyVaultProperties {}.
const off = await kusto.clusters.beginUpdateAndWait(RG, CLUSTER, { keyVaultProperties: {} }, fast);
expect(off.provisioningState === "Succeeded" && off.state === "Running", `after {}: ${off.provisioningState}/${off.state}`);
expect(!off.keyVaultProperties?.keyName, `keyVaultProperties after {}: ${JSON.stringify(off.keyVaultProperties)}`);
expect(!(await kusto.clusters.get(RG, CLUSTER)).keyVaultProperties, "keyVaultProperties still shown");
// No more key use: a revocation does not suspend the cluster.
await policy("remove");
await advanceClock();
expect((await kusto.clusters.get(RG, CLUSTER)).state === "Running", "a cluster without CMK was suspended");
await policy("add");

async function expectFailedUpdate(props, code) {
  try {
    await kusto.clusters.beginUpdateAndWait(RG, CLUSTER, { keyVaultProperties: props }, fast);
    fail(`the update succeeded; expected ${code}`);
  } catch (e) {
    expect(String(e.message).startsWith(`The long-running operation has failed. ${code}. `),
      `expected ${code} in the error: ${e}`);
  }
  const c = await kusto.clusters.get(RG, CLUSTER);
  expect(c.provisioningState === "Failed", `provisioningState after ${code}: ${c.provisioningState}`);
}

// Negative: an RSA-3072 key.
await keys.createRsaKey("cmk3072", { keySize: 3072 });
await expectFailedUpdate({ ...cmk, keyName: "cmk3072" }, "UnsupportedKeyType");

// Negative: a vault without purge protection (soft delete only).
const NOPP = "kv-nopp-node";
const nopp = await kvm.vaults.beginCreateOrUpdateAndWait(RG, NOPP, {
  location: LOC,
  properties: { tenantId: TENANT, sku: { family: "A", name: "standard" }, accessPolicies: [me, grant] },
});
expect(nopp.properties.enableSoftDelete === true && !nopp.properties.enablePurgeProtection,
  `vault without purge protection: ${JSON.stringify(nopp.properties)}`);
await new KeyClient(`https://${NOPP}.vault.azure.net/`, cred).createRsaKey("cmk1", { keySize: 2048 });
await expectFailedUpdate({ ...cmk, keyVaultUri: `https://${NOPP}.vault.azure.net/` }, "KeyVaultPurgeProtectionRequired");

// A good key again: the cluster recovers from Failed.
const again = await kusto.clusters.beginUpdateAndWait(RG, CLUSTER, { keyVaultProperties: cmk }, fast);
expect(again.provisioningState === "Succeeded" && again.state === "Running",
  `after re-enabling: ${again.provisioningState}/${again.state}`);
console.log("ok");
