// Node @azure/keyvault-keys in proxy mode with default settings: the vault is made through ARM
// with an access policy for the test principal; KeyClient creates RSA and EC keys,
// CryptographyClient wraps (RSA-OAEP locally, RSA-OAEP-256 on the server) and unwraps on the
// server, encrypts/decrypts, signs/verifies; then rotate and the rotation policy, disable,
// delete/recover, backup, purge and restore.
import { createHash, randomBytes } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, env, expect, expectRequest, fail, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const VAULT = "kv-keys-node";
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, "rg-keysnode");
await new KeyVaultManagementClient(cred, SUB).vaults.beginCreateOrUpdateAndWait("rg-keysnode", VAULT, {
  location: "westeurope",
  properties: {
    tenantId: TENANT, sku: { family: "A", name: "standard" },
    accessPolicies: [{ tenantId: TENANT, objectId: SP_OBJECT_ID, permissions: { keys: ["all", "purge"] } }],
  },
});

const url = `https://${VAULT}.vault.azure.net`;
const keys = new KeyClient(url, cred);
const rsa = await keys.createRsaKey("cmk1", { keySize: 2048 });
expect(rsa.id.startsWith(`${url}/keys/cmk1/`) && rsa.properties.version.length === 32, `kid ${rsa.id}`);
expect(rsa.key.n.length === 256 && Buffer.from(rsa.key.e).toString("hex") === "010001", "RSA-2048 public key");
expect(rsa.key.d === undefined, "private member in the bundle");
expect((await keys.getKey("cmk1")).id === rsa.id, "get latest");
expectRequest("POST", `https://${VAULT}.vault.azure.net/keys/cmk1/create`, 401);

const crypto = new CryptographyClient(rsa.id, cred);
const dek = randomBytes(32);
for (const alg of ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]) {
  const wrapped = await crypto.wrapKey(alg, dek);
  expect(wrapped.keyID === rsa.id, `wrap kid ${wrapped.keyID}`);
  const unwrapped = await crypto.unwrapKey(alg, wrapped.result);
  expect(Buffer.from(unwrapped.result).equals(dek), `${alg} round trip`);
}
// Node wraps RSA-OAEP-256 on the server; unwrap is always remote.
expectRequest("POST", `https://${VAULT}.vault.azure.net/keys/cmk1/${rsa.properties.version}/wrapkey`, 200);
expectRequest("POST", `https://${VAULT}.vault.azure.net/keys/cmk1/${rsa.properties.version}/unwrapkey`, 200);

const enc = await crypto.encrypt({ algorithm: "RSA-OAEP-256", plaintext: Buffer.from("plaintext") });
const dec = await crypto.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: enc.result });
expect(Buffer.from(dec.result).toString() === "plaintext", "decrypt");
const digest = createHash("sha256").update("message").digest();
const signed = await crypto.sign("RS256", digest);
expect((await crypto.verify("RS256", digest, signed.result)).result === true, "RS256 verify");
expect((await crypto.verify("RS256", createHash("sha256").update("other").digest(), signed.result)).result === false,
  "RS256 verify of another digest");

const ec = await keys.createEcKey("sig1", { curve: "P-384" });
const ecCrypto = new CryptographyClient(ec, cred);
const digest384 = createHash("sha384").update("message").digest();
const ecSig = await ecCrypto.sign("ES384", digest384);
expect(ecSig.result.length === 96, "ES384 signature is r||s");
expect((await ecCrypto.verify("ES384", digest384, ecSig.result)).result === true, "ES384 verify");

const rotated = await keys.rotateKey("cmk1");
expect(rotated.properties.version !== rsa.properties.version, "rotate made a new version");
let versions = 0;
for await (const _ of keys.listPropertiesOfKeyVersions("cmk1")) versions++;
expect(versions === 2, `${versions} versions`);
const policy = await keys.getKeyRotationPolicy("cmk1");
expect(policy.lifetimeActions?.[0]?.action === "Notify", `policy ${JSON.stringify(policy)}`);
const updated = await keys.updateKeyRotationPolicy("cmk1", {
  lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }], expiresIn: "P1Y",
});
expect(updated.expiresIn === "P1Y" && updated.lifetimeActions[0].timeAfterCreate === "P90D", `updated ${JSON.stringify(updated)}`);

await keys.updateKeyProperties("cmk1", rotated.properties.version, { enabled: false });
// Key Vault still reads a disabled key (enabled: false); only its use is refused.
const disabled = await keys.getKey("cmk1");
expect(disabled.properties.enabled === false, `disabled: ${JSON.stringify(disabled.properties)}`);
await keys.updateKeyProperties("cmk1", rotated.properties.version, { enabled: true });

const names = [];
for await (const k of keys.listPropertiesOfKeys()) names.push(k.name);
expect(names.sort().join(",") === "cmk1,sig1", `keys: ${names}`);

const deleted = await (await keys.beginDeleteKey("sig1")).pollUntilDone();
expect(deleted.properties.recoveryId === `${url}/deletedkeys/sig1` && deleted.properties.scheduledPurgeDate, `deleted ${JSON.stringify(deleted)}`);
try {
  await keys.createEcKey("sig1");
  fail("a soft-deleted name was reused");
} catch (e) {
  expect(e.statusCode === 409 && String(e.message).includes("deleted but recoverable"), `reuse: ${e}`);
}
expect((await keys.getDeletedKey("sig1")).name === "sig1", "get deleted");
const recovered = await (await keys.beginRecoverDeletedKey("sig1")).pollUntilDone();
expect(recovered.id === ec.id, `recovered ${recovered.id}`);

const backup = await keys.backupKey("sig1");
await (await keys.beginDeleteKey("sig1")).pollUntilDone();
await keys.purgeDeletedKey("sig1");
const restored = await keys.restoreKeyBackup(backup);
expect(restored.id === ec.id && Buffer.from(restored.key.x).equals(Buffer.from(ec.key.x)), "restore brought the same key back");
console.log("ok");
