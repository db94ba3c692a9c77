// The Node helper (clients/node/cmk-emulator.mjs), used as docs/test-helpers.md says: the npm
// Azure SDK in this process after applyToThisProcess(), the environment handed to a child process
// (curl), and a clean stop. Run by tests/cli/helper_node.sh with `node --test` in a clean
// environment whose CA variables name the system bundle, as on many CI images, and by
// docs/test-helpers.md.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { startEmulator } from "../../clients/node/cmk-emulator.mjs";

// The npm packages the client tests pin (tests/clients/node).
const requireSdk = createRequire(new URL("../clients/node/package.json", import.meta.url));
const { ClientSecretCredential } = requireSdk("@azure/identity");
const { ManagedServiceIdentityClient } = requireSdk("@azure/arm-msi");
const pipeline = requireSdk("@azure/core-rest-pipeline");

// The default fixture's tenant, subscription and service principal (docs/identity.md).
const TENANT = "72f988bf-0000-0000-0000-000000000001";
const SUBSCRIPTION = "00000000-0000-0000-0000-000000000001";
const SP_APP_ID = "11111111-1111-1111-1111-111111111111";
const SP_SECRET = "emulator-secret";

const outerEnv = { ...process.env };
let emu;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  if (emu) await emu.stop();
});

test("startEmulator hands back ports, CA and the proxy-mode environment", async () => {
  assert.ok(emu.httpsPort > 0 && emu.httpPort > 0);
  assert.ok(existsSync(emu.caFile));
  assert.equal(emu.env.HTTPS_PROXY, `http://127.0.0.1:${emu.httpPort}`);
  for (const name of ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"]) {
    assert.equal(emu.env[name], emu.caFile, name);
  }
  assert.equal((await emu.admin("/_emulator/health")).status, "ok");
  await assert.rejects(emu.admin("/_emulator/no-such-thing"), /404/);
});

test("the npm Azure SDK in this process reaches the emulator through its proxy", async () => {
  emu.applyToThisProcess();
  assert.equal(process.env.HTTPS_PROXY, emu.env.HTTPS_PROXY);
  const cred = new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET);
  const token = await cred.getToken("https://management.azure.com/.default");
  // A resource group by a plain ARM PUT (no arm-resources package is pinned); the same pipeline
  // and proxy settings as the SDK clients.
  const put = await pipeline.createPipelineFromOptions({}).sendRequest(pipeline.createDefaultHttpClient(),
    pipeline.createPipelineRequest({
      url: `https://management.azure.com/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-node-helper?api-version=2021-04-01`,
      method: "PUT",
      body: JSON.stringify({ location: "westeurope" }),
      headers: pipeline.createHttpHeaders({ authorization: `Bearer ${token.token}`, "content-type": "application/json" }),
    }));
  assert.equal(put.status, 201, put.bodyAsText);
  const msi = new ManagedServiceIdentityClient(cred, SUBSCRIPTION);
  const identity = await msi.userAssignedIdentities.createOrUpdate("rg-node-helper", "id-node-helper",
    { location: "westeurope" });
  assert.equal(identity.tenantId, TENANT);
  assert.equal(identity.principalId.length, 36);
  const journal = (await emu.admin("/_emulator/requests")).value;
  assert.ok(journal.some((r) => r.method === "PUT" && r.host === "management.azure.com" &&
    r.path.includes("/userAssignedIdentities/id-node-helper")), JSON.stringify(journal));
  assert.equal((await emu.admin("/_emulator/proxy/refusals")).count, 0);
});

test("the environment makes curl trust the emulator despite preset CA variables", () => {
  // What many CI images preset: without CURL_CA_BUNDLE in the exports, curl would trust only this.
  const system = { CURL_CA_BUNDLE: "/etc/ssl/certs/ca-certificates.crt", SSL_CERT_DIR: "/etc/ssl/certs" };
  const out = spawnSync("curl", ["-sSf", "https://management.azure.com/_emulator/health"],
    { env: { ...outerEnv, ...system, ...emu.env }, encoding: "utf8", timeout: 60000 });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /"status":"ok"/);
});

test("stop() ends the emulator cleanly and takes back what applyToThisProcess set", async () => {
  const other = await startEmulator();
  other.applyToThisProcess();
  assert.equal(process.env.HTTPS_PROXY, other.env.HTTPS_PROXY);
  const runtimeDir = process.env.XDG_RUNTIME_DIR?.startsWith("/") ? process.env.XDG_RUNTIME_DIR : "/tmp";
  const registry = `${runtimeDir}/cmk-emulator-${process.getuid()}`;
  assert.ok(readdirSync(registry).includes(`${other.pid}.json`), "registered for cmk-emulator env");
  assert.equal(await other.stop(), 0);
  assert.notEqual(process.env.HTTPS_PROXY, other.env.HTTPS_PROXY);
  assert.throws(() => process.kill(other.pid, 0), { code: "ESRCH" });
  assert.ok(!readdirSync(registry).includes(`${other.pid}.json`), "registry entry removed");
});
