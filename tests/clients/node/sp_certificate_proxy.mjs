// Node ClientCertificateCredential with default settings in proxy mode: a certificate made here
// with the openssl command, an application id the default fixture does not know (non-strict mode
// admits it on the fly, docs/identity.md). MSAL signs a client assertion with the key; the token
// says so (appidacr 2) and @azure/arm-kusto's list call is accepted by ARM. Then
// DefaultAzureCredential from the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID,
// AZURE_CLIENT_CERTIFICATE_PATH: its EnvironmentCredential).
import { ClientCertificateCredential, DefaultAzureCredential } from "@azure/identity";
import { writeFileSync } from "node:fs";
import { KustoManagementClient } from "@azure/arm-kusto";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TENANT, V1_ISSUER, checkClaims, env, expect, expectRequest } from "../lib/clienttest.mjs";

const dir = env.CMK_SCRATCH;
execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=cmk-emulator client test",
  "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
const pem = readFileSync(join(dir, "key.pem"), "utf8") + readFileSync(join(dir, "cert.pem"), "utf8");

const appId = randomUUID();
const cred = new ClientCertificateCredential(TENANT, appId, { certificate: pem });
const tok = await cred.getToken("https://management.azure.com/.default");
checkClaims(tok.token, { aud: "https://management.azure.com", tid: TENANT, iss: V1_ISSUER, appid: appId, appidacr: "2", idtyp: "app" });
expectRequest("POST", `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`, 200);

const clusters = [];
for await (const c of new KustoManagementClient(cred, env.CMK_SUBSCRIPTION).clusters.list()) clusters.push(c);
expect(clusters.length === 0, `clusters: ${JSON.stringify(clusters)}`);
expectRequest("GET", `https://management.azure.com/subscriptions/${env.CMK_SUBSCRIPTION}/providers/Microsoft.Kusto/clusters`, 200);

writeFileSync(join(dir, "client.pem"), pem);
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: appId, AZURE_CLIENT_CERTIFICATE_PATH: join(dir, "client.pem") });
const viaEnv = await new DefaultAzureCredential().getToken("https://management.azure.com/.default");
checkClaims(viaEnv.token, { aud: "https://management.azure.com", tid: TENANT, appid: appId, appidacr: "2" });
console.log("ok");
