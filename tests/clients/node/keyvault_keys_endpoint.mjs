// Node @azure/keyvault-keys in endpoint mode, no proxy for the emulator's names:
// ClientSecretCredential against the emulator's login on https://localhost:<port>, the vault made
// through ARM there, then the same key scenario twice:
// (a) https://<vault>.vault.localhost:<port> with default client settings (the challenge names
//     https://vault.localhost:<port>, which passes the SDK's resource check);
// (b) https://localhost:<port> with disableChallengeResourceVerification (no vault in the host
//     name: the emulator serves the only vault there).
// Each: create RSA-2048, get, wrap locally with n/e and unwrap on the server, encrypt/decrypt,
// sign/verify, delete and recover.
import { constants, createHash, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import {
  SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, bypassProxyFor, env, expect, expectRequest, fail,
  onlyLoopbackRequests, resolveToLoopback, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const VAULT = "kv-ep-node";
const VAULT_HOST = `${VAULT}.vault.localhost`;
const EMU = `https://localhost:${env.CMK_HTTPS_PORT}`;

resolveToLoopback(VAULT_HOST); // the /etc/hosts line of the recipe in docs/clients.md
bypassProxyFor(VAULT_HOST);

// disableInstanceDiscovery: MSAL would otherwise ask login.microsoftonline.com.
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET, { authorityHost: EMU, disableInstanceDiscovery: true });
const armScope = "https://management.azure.com/.default";
await createResourceGroup(cred, SUB, "rg-keysepnode", { endpoint: EMU });
// @azure/arm-keyvault 5 takes the scope as credentials.scopes (older clients: credentialScopes).
await new KeyVaultManagementClient(cred, SUB, { endpoint: EMU, credentials: { scopes: [armScope] } })
  .vaults.beginCreateOrUpdateAndWait("rg-keysepnode", VAULT, {
    location: "westeurope",
    properties: {
      tenantId: TENANT, sku: { family: "A", name: "standard" },
      accessPolicies: [{ tenantId: TENANT, objectId: SP_OBJECT_ID, permissions: { keys: ["all"] } }],
    },
  });

async function scenario(url, name, options = {}) {
  const keys = new KeyClient(url, cred, options);
  const created = await keys.createRsaKey(name, { keySize: 2048 });
  // The kid is on the host the client used, so clients built on it keep talking to it.
  expect(created.id.startsWith(`${url}/keys/${name}/`) && created.properties.version.length === 32, `kid ${created.id}`);
  expect(created.key.n.length === 256 && Buffer.from(created.key.e).toString("hex") === "010001", "RSA-2048 public key");
  expect((await keys.getKey(name)).id === created.id, "get latest");
  expectRequest("POST", `${url}/keys/${name}/create`, 401); // the challenge (one per client in Node)

  const crypto = new CryptographyClient(created.id, cred, options);
  // Wrap locally with the public key alone, as a service holding a DEK would; unwrap remotely.
  const jwk = { kty: "RSA", n: Buffer.from(created.key.n).toString("base64url"), e: Buffer.from(created.key.e).toString("base64url") };
  const dek = randomBytes(32);
  const wrapped = publicEncrypt({ key: createPublicKey({ key: jwk, format: "jwk" }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, dek);
  const unwrapped = await crypto.unwrapKey("RSA-OAEP", wrapped);
  expect(Buffer.from(unwrapped.result).equals(dek) && unwrapped.keyID === created.id, `unwrap: kid ${unwrapped.keyID}`);
  const version = created.properties.version;
  expectRequest("POST", `${url}/keys/${name}/${version}/unwrapkey`, 200);
  // Node wraps RSA-OAEP-256 on the server.
  const serverWrapped = await crypto.wrapKey("RSA-OAEP-256", dek);
  expect(Buffer.from((await crypto.unwrapKey("RSA-OAEP-256", serverWrapped.result)).result).equals(dek), "RSA-OAEP-256 round trip");
  expectRequest("POST", `${url}/keys/${name}/${version}/wrapkey`, 200);

  const enc = await crypto.encrypt({ algorithm: "RSA-OAEP-256", plaintext: Buffer.from("plaintext") });
  const dec = await crypto.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: enc.result });
  expect(Buffer.from(dec.result).toString() === "plaintext", "decrypt");
  const digest = createHash("sha256").update("message").digest();
  const signed = await crypto.sign("RS256", digest);
  expect((await crypto.verify("RS256", digest, signed.result)).result === true, "RS256 verify");
  expect((await crypto.verify("RS256", createHash("sha256").update("other").digest(), signed.result)).result === false,
    "RS256 verify of another digest");
  expectRequest("POST", `${url}/keys/${name}/${version}/sign`, 200);

  const deleted = await (await keys.beginDeleteKey(name)).pollUntilDone();
  expect(deleted.properties.recoveryId === `${url}/deletedkeys/${name}`, `recovery id ${deleted.properties.recoveryId}`);
  const recovered = await (await keys.beginRecoverDeletedKey(name)).pollUntilDone();
  expect(recovered.id === created.id, `recovered ${recovered.id}`);
  expect(Buffer.from((await crypto.unwrapKey("RSA-OAEP", wrapped)).result).equals(dek), "unwrap after recovery");
}

// (a) the vault's own host name, default settings.
await scenario(`https://${VAULT_HOST}:${env.CMK_HTTPS_PORT}`, "cmk-a");
// (b) the emulator's address itself. No parent domain can pass the resource check there:
// with defaults the SDK refuses the challenge, so (b) runs with it off.
try {
  await new KeyClient(EMU, cred).getKey("cmk-a");
  fail("the SDK accepted the challenge of https://localhost with verification on");
} catch (e) {
  expect(String(e.message).includes("disableChallengeResourceVerification"), `${e}`);
}
await scenario(EMU, "cmk-b", { disableChallengeResourceVerification: true });

onlyLoopbackRequests(VAULT_HOST);
console.log("ok");
