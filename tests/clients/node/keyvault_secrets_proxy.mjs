// Node @azure/keyvault-secrets in proxy mode with default settings: the vault is made through ARM
// with an access policy for the test principal; SecretClient sets secrets (new versions), gets
// the latest and a version, lists secrets (over more than one page) and versions without values,
// updates properties (content type, tags, not-before, disable: get refused with 403
// SecretDisabled, then enable), is refused a value over 25600 characters, deletes, lists and gets
// deleted secrets, recovers, backs up, purges and restores.
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { SecretClient } from "@azure/keyvault-secrets";
import { SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, env, expect, expectRequest, fail, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const VAULT = "kv-secrets-node";
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, "rg-secretsnode");
await new KeyVaultManagementClient(cred, SUB).vaults.beginCreateOrUpdateAndWait("rg-secretsnode", VAULT, {
  location: "westeurope",
  properties: {
    tenantId: TENANT, sku: { family: "A", name: "standard" },
    accessPolicies: [{ tenantId: TENANT, objectId: SP_OBJECT_ID, permissions: { secrets: ["all", "purge"] } }],
  },
});

const url = `https://${VAULT}.vault.azure.net`;
const secrets = new SecretClient(url, cred);
const VALUE = "AccountKey=node-s3cr3t-91e2==";
const s1 = await secrets.setSecret("storage", VALUE, { contentType: "text/plain", tags: { app: "ingest" } });
expect(s1.value === VALUE && s1.properties.contentType === "text/plain", `set ${JSON.stringify(s1.properties)}`);
expect(s1.properties.id.startsWith(`${url}/secrets/storage/`) && s1.properties.version.length === 32,
  `id ${s1.properties.id}`);
expect(s1.properties.tags.app === "ingest" && s1.properties.recoverableDays === 90, "tags, recoverableDays");
expectRequest("PUT", `${url}/secrets/storage`, 401);  // the challenge
const s2 = await secrets.setSecret("storage", "rotated");
expect(s2.properties.version !== s1.properties.version, "a set makes a new version");
expect((await secrets.getSecret("storage")).value === "rotated", "get latest");
expect((await secrets.getSecret("storage", { version: s1.properties.version })).value === VALUE, "get by version");

for (let i = 0; i < 27; i++) await secrets.setSecret(`many-${String(i).padStart(2, "0")}`, `v${i}`);
const names = [];
for await (const p of secrets.listPropertiesOfSecrets()) {
  expect(p.value === undefined, "a list item carries a value");
  names.push(p.name);
}
expect(names.length === 28 && names[0] === "many-00" && names.includes("storage"), `${names.length} names`);
const versions = [];
for await (const p of secrets.listPropertiesOfSecretVersions("storage")) versions.push(p.version);
expect(versions.sort().join() === [s1.properties.version, s2.properties.version].sort().join(), `versions ${versions}`);

const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
const updated = await secrets.updateSecretProperties("storage", s2.properties.version,
  { contentType: "application/json", tags: { app: "ingest", tier: "hot" }, notBefore });
expect(updated.contentType === "application/json" && updated.tags.tier === "hot"
  && updated.notBefore.getTime() === notBefore.getTime(), `update ${JSON.stringify(updated)}`);
// Key Vault serves a secret outside its validity window; a disabled one it refuses.
expect((await secrets.getSecret("storage")).value === "rotated", "not yet valid is served");
await secrets.updateSecretProperties("storage", s2.properties.version, { enabled: false });
try {
  await secrets.getSecret("storage");
  fail("a disabled secret was read");
} catch (e) {
  expect(e.statusCode === 403 && e.code === "Forbidden"
    && e.message.includes("Operation get is not allowed on a disabled secret."), `disabled: ${e.message}`);
}
await secrets.updateSecretProperties("storage", s2.properties.version, { enabled: true });

try {
  await secrets.setSecret("huge", "x".repeat(25601));
  fail("a value over 25600 characters was set");
} catch (e) {
  expect(e.statusCode === 400 && e.code === "BadParameter" && e.message.includes("25600"), `limit: ${e.message}`);
}

const poller = await secrets.beginDeleteSecret("storage");
const deleted = await poller.pollUntilDone();
expect(deleted.properties.recoveryId === `${url}/deletedsecrets/storage` && deleted.properties.scheduledPurgeDate,
  `deleted ${JSON.stringify(deleted.properties)}`);
try {
  await secrets.setSecret("storage", "again");
  fail("a soft-deleted name was reused");
} catch (e) {
  expect(e.statusCode === 409 && e.message.includes("deleted but recoverable"), `${e.message}`);
}
const deletedNames = [];
for await (const d of secrets.listDeletedSecrets()) deletedNames.push(d.name);
expect(deletedNames.join() === "storage", `deleted ${deletedNames}`);
expect((await secrets.getDeletedSecret("storage")).name === "storage", "get deleted");
await (await secrets.beginRecoverDeletedSecret("storage")).pollUntilDone();
expect((await secrets.getSecret("storage")).value === "rotated", "recovered");

const backup = await secrets.backupSecret("storage");
expect(!Buffer.from(backup).toString("latin1").includes("rotated"), "the backup is sealed");
await (await secrets.beginDeleteSecret("storage")).pollUntilDone();
await secrets.purgeDeletedSecret("storage");
try {
  await secrets.getDeletedSecret("storage");
  fail("a purged secret is still there");
} catch (e) {
  expect(e.statusCode === 404 && e.code === "SecretNotFound", `${e.code}`);
}
const restored = await secrets.restoreSecretBackup(backup);
expect(restored.name === "storage" && restored.version === s2.properties.version, `restored ${restored.version}`);
expect((await secrets.getSecret("storage", { version: s1.properties.version })).value === VALUE, "restored versions");
console.log("ok");
