// Fault injection and the journal with the npm SDKs in proxy mode (issue 7):
// - an injected 429 with Retry-After on a vault PUT: @azure/arm-keyvault waits, retries, succeeds;
// - an injected 503 on the token endpoint: @azure/identity gives up with its authentication error
//   (AuthenticationRequiredError, "temporarily_unavailable") after its retries (every attempt
//   journaled);
// - an injected failure of the CMK operation: @azure/arm-kusto's poller rejects with the code;
// - a connection reset on a Key Vault unwrap: @azure/keyvault-keys retries it by default (core-rest-
//   pipeline retries ECONNRESET whatever the method) and succeeds.
// The journal (GET /_emulator/requests) shows each of these, with the fault that acted.
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { KustoManagementClient } from "@azure/arm-kusto";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { randomBytes } from "node:crypto";
import { SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, admin, env, expect, fail, journal, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const RG = "rg-faults-node";
const LOC = "westeurope";
const VAULT = "kv-faults-node";
const VAULT_URI = `https://${VAULT}.vault.azure.net/`;
const CLUSTER = "kcfaultsnode";
const fast = { updateIntervalInMs: 10 };
const faults = (...rules) => admin("PUT", "faults", rules);
const summary = (records) => JSON.stringify(records.map((r) => [r.status, r.fault]));

const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, RG, { location: LOC });

// 1. ARM throttling on the vault PUT: one 429 with Retry-After: 1, then the real answer.
await faults({
  name: "throttle-vault", match: { surface: "arm", method: "PUT", path: `*/vaults/${VAULT}` },
  limit: { first: 1 }, action: { type: "throttle", retryAfter: 1 },
});
const kvm = new KeyVaultManagementClient(cred, SUB);
const vault = await kvm.vaults.beginCreateOrUpdateAndWait(RG, VAULT, {
  location: LOC,
  properties: {
    tenantId: TENANT, sku: { family: "A", name: "standard" }, enablePurgeProtection: true,
    accessPolicies: [{ tenantId: TENANT, objectId: SP_OBJECT_ID, permissions: { keys: ["all"] } }],
  },
}, fast);
expect(vault.properties.vaultUri === VAULT_URI, `vault: ${JSON.stringify(vault.properties)}`);
const vaultPuts = await journal({ method: "PUT", path: `*/vaults/${VAULT}` });
expect(summary(vaultPuts) === JSON.stringify([[429, "throttle-vault: throttle 429 Retry-After 1"], [200, null]]),
  `journal: ${summary(vaultPuts)}`);

// 2. The token endpoint down: a fresh credential gives up after its retries.
await faults({ name: "login-down", match: { surface: "login", path: "*/token" }, action: { type: "status", status: 503 } });
await admin("DELETE", "requests");
try {
  await new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET).getToken("https://management.azure.com/.default");
  fail("getToken succeeded while the token endpoint answers 503");
} catch (e) {
  // @azure/identity 4 names Entra's "temporarily_unavailable" an AuthenticationRequiredError.
  expect(["AuthenticationError", "AuthenticationRequiredError"].includes(e.name) &&
    String(e.message).includes("temporarily_unavailable"), `expected an authentication error, got ${e.name}: ${e.message}`);
}
const attempts = await journal({ surface: "login", faulted: "true" });
expect(attempts.length >= 2 && attempts.every((r) => r.status === 503),
  `token requests answered 503: ${summary(attempts)} (expected the credential to retry)`);
await faults();

// 3. The CMK operation fails with an injected code: the poller rejects with it.
const kusto = new KustoManagementClient(cred, SUB);
await kusto.clusters.beginCreateOrUpdateAndWait(RG, CLUSTER, {
  location: LOC, sku: { name: "Standard_E8ads_v5", tier: "Standard", capacity: 2 }, identity: { type: "SystemAssigned" },
}, fast);
await faults({
  name: "cmk-fails", match: { operation: "Microsoft.Kusto/clusters/write", method: "PATCH" },
  action: { type: "lro", outcome: "fail", code: "InjectedKeyVaultOutage", message: "Key Vault could not be reached (injected)." },
});
try {
  await kusto.clusters.beginUpdateAndWait(RG, CLUSTER,
    { keyVaultProperties: { keyVaultUri: VAULT_URI, keyName: "cmk", keyVersion: "" } }, fast);
  fail("the CMK update succeeded despite the fault");
} catch (e) {
  expect(String(e.message).startsWith("The long-running operation has failed. InjectedKeyVaultOutage. "),
    `expected InjectedKeyVaultOutage in the error: ${e}`);
}
expect((await kusto.clusters.get(RG, CLUSTER)).provisioningState === "Failed", "provisioningState is not Failed");
await faults();

// 4. A reset connection on unwrapKey: retried by default.
const key = await new KeyClient(VAULT_URI, cred).createRsaKey("cmk", { keySize: 2048 });
const crypto = new CryptographyClient(key.id, cred);
const cek = randomBytes(32);
const wrapped = await crypto.wrapKey("RSA-OAEP", cek);
await faults({ name: "reset-unwrap", match: { operation: "keys/unwrapKey" }, limit: { first: 1 }, action: { type: "reset" } });
await admin("DELETE", "requests");
const unwrapped = await crypto.unwrapKey("RSA-OAEP", wrapped.result);
expect(Buffer.compare(Buffer.from(unwrapped.result), cek) === 0, "unwrapped key differs");
const unwraps = await journal({ path: `/keys/cmk/${key.properties.version}/unwrapkey` });
expect(summary(unwraps) === JSON.stringify([[503, "reset-unwrap: reset"], [200, null]]), `journal: ${summary(unwraps)}`);
expect(!JSON.stringify(unwraps).includes(cek.toString("base64url")), "the key appears in the journal");
console.log("ok");
