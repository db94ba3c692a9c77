// Node @azure/keyvault-certificates in proxy mode with default settings: a Self-issued
// certificate through the create poller, checked with node:crypto (subject, SANs, thumbprint,
// self-signature); its backing key signs through @azure/keyvault-keys and the certificate's
// public key verifies; its backing secret (PEM) holds the private key; PEM import, list,
// versions, update, policy, contacts, issuers, delete/recover/purge and backup/restore.
import { createHash, createPrivateKey, createPublicKey, verify, X509Certificate } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { CertificateClient } from "@azure/keyvault-certificates";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, env, expect, expectRequest, createResourceGroup } from "../lib/clienttest.mjs";

const SUB = env.CMK_SUBSCRIPTION;
const VAULT = "kv-certs-node";
const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
await createResourceGroup(cred, SUB, "rg-certsnode");
await new KeyVaultManagementClient(cred, SUB).vaults.beginCreateOrUpdateAndWait("rg-certsnode", VAULT, {
  location: "westeurope",
  properties: {
    tenantId: TENANT, sku: { family: "A", name: "standard" },
    accessPolicies: [{
      tenantId: TENANT, objectId: SP_OBJECT_ID,
      permissions: { certificates: ["all", "purge"], keys: ["all"], secrets: ["all"] },
    }],
  },
});

const url = `https://${VAULT}.vault.azure.net`;
const certs = new CertificateClient(url, cred);
const keys = new KeyClient(url, cred);
const secrets = new SecretClient(url, cred);
const fast = { intervalInMs: 200 };

const poller = await certs.beginCreateCertificate("web", {
  issuerName: "Self", subject: "CN=web.contoso.com", subjectAlternativeNames: { dnsNames: ["web.contoso.com"] },
  contentType: "application/x-pem-file", validityInMonths: 3,
}, fast);
const cert = await poller.pollUntilDone();
expectRequest("POST", `${url}/certificates/web/create`, 202);
const x = new X509Certificate(Buffer.from(cert.cer));
expect(x.subject === "CN=web.contoso.com", `subject ${x.subject}`);
expect(x.subjectAltName === "DNS:web.contoso.com", `SAN ${x.subjectAltName}`);
expect(x.verify(x.publicKey), "self-signed");
expect(Buffer.from(cert.properties.x509Thumbprint).equals(createHash("sha1").update(x.raw).digest()), "x5t");
expect(cert.keyId === `${url}/keys/web/${cert.properties.version}`, `kid ${cert.keyId}`);

const key = await keys.getKey("web", { version: cert.properties.version });
const digest = createHash("sha256").update("payload").digest();
const signed = await new CryptographyClient(key, cred).sign("RS256", digest);
expect(verify("sha256", Buffer.from("payload"), x.publicKey, Buffer.from(signed.result)), "key signs for the certificate");

const secret = await secrets.getSecret("web", { version: cert.properties.version });
expect(secret.properties.contentType === "application/x-pem-file" && secret.properties.managed === true, "PEM secret");
const privateKey = createPrivateKey(secret.value);
expect(createPublicKey(privateKey).export({ format: "der", type: "spki" })
  .equals(x.publicKey.export({ format: "der", type: "spki" })), "the secret holds the certificate's key");

// Import the same PEM under another name.
const imported = await certs.importCertificate("imported", Buffer.from(secret.value), {
  policy: { issuerName: "Unknown", subject: "CN=web.contoso.com", contentType: "application/x-pem-file" },
});
expect(Buffer.from(imported.cer).equals(Buffer.from(cert.cer)), "PEM import");

const names = [];
for await (const p of certs.listPropertiesOfCertificates()) names.push(p.name);
expect(JSON.stringify(names.sort()) === JSON.stringify(["imported", "web"]), `list ${names}`);
let versions = 0;
for await (const _ of certs.listPropertiesOfCertificateVersions("web")) versions++;
expect(versions === 1, `versions ${versions}`);
const updated = await certs.updateCertificateProperties("web", "", { tags: { env: "test" } });
expect(updated.properties.tags.env === "test", "update");
const policy = await certs.getCertificatePolicy("web");
expect(policy.subject === "CN=web.contoso.com" && policy.validityInMonths === 3, `policy ${policy.subject}`);
// updateCertificatePolicy of this SDK version answers {} whatever the service returns (it never
// reads the response), so the change is read back.
await certs.updateCertificatePolicy("web", { ...policy, validityInMonths: 6 });
const policy2 = await certs.getCertificatePolicy("web");
expect(policy2.validityInMonths === 6, `policy update ${JSON.stringify(policy2)}`);

await certs.setContacts([{ email: "ops@contoso.com", name: "Ops" }]);
expect((await certs.getContacts())[0].email === "ops@contoso.com", "contacts");
await certs.deleteContacts();
await certs.createIssuer("digi", "Test", { accountId: "acct", password: "hidden" });
const issuer = await certs.getIssuer("digi");
expect(issuer.provider === "Test" && issuer.accountId === "acct", `issuer ${JSON.stringify(issuer)}`);
await certs.deleteIssuer("digi");

const backup = await certs.backupCertificate("web");
await (await certs.beginDeleteCertificate("web", fast)).pollUntilDone();
await (await certs.beginRecoverDeletedCertificate("web", fast)).pollUntilDone();
expect((await keys.getKey("web")).id === cert.keyId, "the key came back");
await (await certs.beginDeleteCertificate("web", fast)).pollUntilDone();
await certs.purgeDeletedCertificate("web");
const restored = await certs.restoreCertificateBackup(backup);
expect(restored.id === cert.id, "restore");
console.log("ok");
