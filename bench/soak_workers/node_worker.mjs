// Soak worker: the seed workflow in a loop with the npm SDKs pinned in tests/clients/node (proxy
// mode). Started by bench/soak, which exported the proxy-mode environment and the CMK_*
// variables; argv[2] is the worker's name. Same steps and protocol as python_worker.py: JSON
// lines on stdout ("start", "error", "written", "cleaned", "exit"), the driver's "go"/"stop" on
// stdin after "written" and after "cleaned". Fresh credential and clients every iteration.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(new URL("../../tests/clients/node/package.json", import.meta.url));
const { ClientSecretCredential } = require("@azure/identity");
const { KeyVaultManagementClient } = require("@azure/arm-keyvault");
const { KustoManagementClient } = require("@azure/arm-kusto");
const { ManagedServiceIdentityClient } = require("@azure/arm-msi");
const { KeyClient } = require("@azure/keyvault-keys");
const { createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest } =
  require("@azure/core-rest-pipeline");

const env = process.env;
const TENANT = env.CMK_TENANT, APP = env.CMK_SP_APP_ID, SECRET = env.CMK_SP_SECRET;
const SP_OBJECT_ID = env.CMK_SP_OBJECT_ID, SUB = env.CMK_SUBSCRIPTION;
const LOC = "westeurope";
const WORKER = process.argv[2];
const CLEANUP_SECONDS = Number(env.CMK_SOAK_CLEANUP_SECONDS ?? "240");
const poll = { updateIntervalInMs: 1000 };
const now = () => Date.now() / 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const emit = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function driverSays() {
  const { value, done } = await lines.next();
  return done ? "stop" : (value.trim() || "stop");
}

function describe(e) {
  return {
    type: e?.name ?? typeof e, status: e?.statusCode ?? null,
    code: e?.code ?? e?.details?.error?.code ?? null, msg: String(e?.message ?? e).slice(0, 800),
  };
}

class Failed extends Error {}
let attempted = new Set();

async function step(i, name, fn, phase = "workflow") {
  attempted.add(name);
  const t0 = now();
  try {
    return await fn();
  } catch (e) {
    emit({ ev: "error", w: WORKER, i, step: name, phase, t0, t1: now(), ...describe(e) });
    throw new Failed(name);
  }
}

function check(i, name, cond, what) {
  if (!cond) {
    emit({ ev: "error", w: WORKER, i, step: name, phase: "workflow", t0: now(), t1: now(),
      type: "CheckFailed", status: null, code: null, msg: String(what).slice(0, 800) });
    throw new Failed(name);
  }
}

// Resource groups by plain ARM calls through core-rest-pipeline's default pipeline (retries,
// proxy policy), as tests/clients/lib/clienttest.mjs does: no @azure/arm-resources is pinned.
async function arm(cred, method, url, body) {
  const token = await cred.getToken("https://management.azure.com/.default");
  const r = await createPipelineFromOptions({}).sendRequest(createDefaultHttpClient(), createPipelineRequest({
    url, method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: createHttpHeaders({ authorization: `Bearer ${token.token}`, "content-type": "application/json" }),
  }));
  return r;
}
const groupUrl = (rg) => `https://management.azure.com/subscriptions/${SUB}/resourceGroups/${rg}?api-version=2021-04-01`;
async function createGroup(cred, rg) {
  const r = await arm(cred, "PUT", groupUrl(rg), { location: LOC });
  if (r.status !== 200 && r.status !== 201) throw Object.assign(new Error(`group PUT: ${r.status} ${r.bodyAsText}`), { statusCode: r.status });
}
async function groupExists(cred, rg) {
  const r = await arm(cred, "HEAD", groupUrl(rg));
  if (r.status === 204) return true;
  if (r.status === 404) return false;
  throw Object.assign(new Error(`group HEAD: ${r.status}`), { statusCode: r.status });
}
async function deleteGroup(cred, rg) {
  const r = await arm(cred, "DELETE", groupUrl(rg));
  if (r.status === 404 || r.status === 200 || r.status === 204) return;
  if (r.status !== 202) throw Object.assign(new Error(`group DELETE: ${r.status} ${r.bodyAsText}`), { statusCode: r.status });
  const location = r.headers.get("location");
  for (;;) {
    await sleep(1000 * Number(r.headers.get("retry-after") ?? "1"));
    const p = await arm(cred, "GET", location);
    if (p.status === 200 || p.status === 204) return;
    if (p.status !== 202) throw Object.assign(new Error(`group delete poll: ${p.status} ${p.bodyAsText}`), { statusCode: p.status });
  }
}

async function iteration(i) {
  const tag = `${WORKER}${String(i).padStart(5, "0")}`;
  const rg = `rg-soak-${tag}`, vault = `kv-${tag}`, cluster = `soak${tag}`, identName = `id-${tag}`;
  const vaultUri = `https://${vault}.vault.azure.net/`;
  const acked = { rg };
  // A fresh credential and fresh clients, as a new CI job (or a rerun of one) would have.
  const clients = () => {
    const cred = new ClientSecretCredential(TENANT, APP, SECRET);
    return { cred, kvm: new KeyVaultManagementClient(cred, SUB), msi: new ManagedServiceIdentityClient(cred, SUB),
      kusto: new KustoManagementClient(cred, SUB), keys: new KeyClient(vaultUri, cred) };
  };
  const { cred, kvm, msi, kusto, keys } = clients();
  let ok = false;
  attempted = new Set();
  emit({ ev: "start", w: WORKER, i, t: now() });
  try {
    await step(i, "group", () => createGroup(cred, rg));
    acked.group = true;
    const me = { tenantId: TENANT, objectId: SP_OBJECT_ID, permissions: { keys: ["all"] } };
    const v = await step(i, "vault", () => kvm.vaults.beginCreateOrUpdateAndWait(rg, vault, {
      location: LOC,
      properties: {
        tenantId: TENANT, sku: { family: "A", name: "standard" }, accessPolicies: [me],
        enableSoftDelete: true, enablePurgeProtection: true, softDeleteRetentionInDays: 7,
      },
    }, poll));
    check(i, "vault", v.properties.enablePurgeProtection === true && v.properties.vaultUri === vaultUri,
      `vault: ${JSON.stringify(v.properties)}`);
    acked.vault = vault;
    const key = await step(i, "key", () => keys.createRsaKey("cmk", { keySize: 2048 }));
    acked.key = { name: "cmk", kid: key.id, n_sha256: createHash("sha256").update(key.key.n).digest("hex") };
    const ident = await step(i, "identity", () => msi.userAssignedIdentities.createOrUpdate(rg, identName, { location: LOC }));
    acked.identity = { id: ident.id, principalId: ident.principalId };
    const grant = { tenantId: TENANT, objectId: ident.principalId, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } };
    await step(i, "grant", () => kvm.vaults.updateAccessPolicy(rg, vault, "add", { properties: { accessPolicies: [grant] } }));
    acked.grant = ident.principalId;
    const c = await step(i, "cluster", () => kusto.clusters.beginCreateOrUpdateAndWait(rg, cluster, {
      location: LOC, sku: { name: "Standard_E8ads_v5", tier: "Standard", capacity: 2 },
      identity: { type: "UserAssigned", userAssignedIdentities: { [ident.id]: {} } },
    }, poll));
    check(i, "cluster", c.provisioningState === "Succeeded", `after create: ${c.provisioningState}`);
    acked.cluster = { name: cluster, cmk: null };
    const cmk = { keyName: "cmk", keyVersion: "", keyVaultUri: vaultUri, userIdentity: ident.id };
    const u = await step(i, "cmk", () => kusto.clusters.beginUpdateAndWait(rg, cluster, { keyVaultProperties: cmk }, poll));
    check(i, "cmk", u.provisioningState === "Succeeded" && u.keyVaultProperties?.keyName === "cmk",
      `after CMK: ${u.provisioningState} ${JSON.stringify(u.keyVaultProperties)}`);
    acked.cluster.cmk = cmk;
    const got = await step(i, "readback", () => kusto.clusters.get(rg, cluster));
    const kvp = got.keyVaultProperties;
    check(i, "readback", got.provisioningState === "Succeeded" && kvp?.keyName === "cmk" &&
      kvp?.keyVaultUri === vaultUri && kvp?.userIdentity === ident.id,
      `read back: ${got.provisioningState} ${JSON.stringify(kvp)}`);
    ok = true;
  } catch (e) {
    if (!(e instanceof Failed)) throw e;
  }
  emit({ ev: "written", w: WORKER, i, t: now(), ok, acked });
  if ((await driverSays()) === "stop") return false;

  // Cleanup: retried (each failure reported) until everything is gone or CLEANUP_SECONDS passed;
  // each attempt with fresh clients (MSAL keeps a token endpoint's 5xx for 60 s per credential).
  const deadline = now() + CLEANUP_SECONDS;
  let gone = false;
  while (!gone && now() < deadline) {
    const { cred, kvm, msi, kusto } = clients();
    try {
      // A group already gone (an earlier attempt's delete went through although its client gave
      // up) took everything in it: deleting its cluster now would only be refused.
      if (attempted.has("group") && !(await step(i, "group-exists", () => groupExists(cred, rg), "cleanup"))) {
        gone = true;
        break;
      }
      if (attempted.has("cluster")) await step(i, "delete-cluster", () => kusto.clusters.beginDeleteAndWait(rg, cluster, poll), "cleanup");
      if (attempted.has("identity")) await step(i, "delete-identity", () => msi.userAssignedIdentities.delete(rg, identName), "cleanup");
      if (attempted.has("vault")) await step(i, "delete-vault", () => kvm.vaults.delete(rg, vault), "cleanup");
      if (attempted.has("group")) await step(i, "delete-group", () => deleteGroup(cred, rg), "cleanup");
      gone = true;
    } catch (e) {
      if (!(e instanceof Failed)) throw e;
      await sleep(2000);
    }
  }
  emit({ ev: "cleaned", w: WORKER, i, t: now(), ok: gone });
  return (await driverSays()) !== "stop";
}

for (let i = 0; await iteration(i); i++);
emit({ ev: "exit", w: WORKER, t: now() });
process.exit(0);
