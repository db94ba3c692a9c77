// Helpers for the Node scenarios (run by run_client_test.sh, which has exported the proxy-mode
// environment and the CMK_* variables).
import dns from "node:dns";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export const env = process.env;
export const TENANT = env.CMK_TENANT;
export const SP_APP_ID = env.CMK_SP_APP_ID;
export const SP_OBJECT_ID = env.CMK_SP_OBJECT_ID;
export const SP_SECRET = env.CMK_SP_SECRET;
export const HTTP_PORT = Number(env.CMK_HTTP_PORT);
export const V1_ISSUER = `https://sts.windows.net/${TENANT}/`;

export function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

export function expect(cond, msg) {
  if (!cond) fail(msg);
}

function decodeSegment(seg) {
  return JSON.parse(Buffer.from(seg, "base64url").toString("utf8"));
}

// Asserts claim === value for each entry of `expected`; returns the claims.
export function checkClaims(token, expected) {
  const parts = token.split(".");
  expect(parts.length === 3, `access token is not a JWS compact token (${parts.length} parts)`);
  const header = decodeSegment(parts[0]);
  const c = decodeSegment(parts[1]);
  expect(header.alg === "RS256", `alg is ${header.alg}`);
  for (const [k, v] of Object.entries(expected)) {
    expect(c[k] === v, `claim ${k} is ${JSON.stringify(c[k])}, expected ${JSON.stringify(v)}; claims: ${JSON.stringify(c)}`);
  }
  expect(Number.isInteger(c.exp) && Number.isInteger(c.iat) && c.exp > c.iat, `exp/iat: ${c.exp}/${c.iat}`);
  return c;
}

// The emulator's access log shows `method urlPrefix...` answered with `status`.
export function expectRequest(method, urlPrefix, status) {
  const log = readFileSync(env.CMK_EMULATOR_LOG, "utf8");
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(` ${esc(method)} ${esc(urlPrefix)}\\S* -> ${status} `);
  expect(re.test(log), `no '${method} ${urlPrefix}... -> ${status}' in the emulator's access log:\n${log.slice(-3000)}`);
}

// The managed identity the emulator's MSI endpoints speak for (GET /_emulator/msi).
export async function hostIdentity() {
  const r = await fetch(`http://127.0.0.1:${HTTP_PORT}/_emulator/msi`);
  const { resolved } = await r.json();
  expect(resolved && resolved.clientId && resolved.principalId, `GET /_emulator/msi: ${JSON.stringify(resolved)}`);
  return resolved;
}

// A managed-identity token: the host identity's ids, the tenant, the v1 issuer.
export async function checkManagedIdentityToken(token, aud) {
  const mi = await hostIdentity();
  return checkClaims(token, {
    aud, tid: TENANT, iss: V1_ISSUER, idtyp: "app",
    oid: mi.principalId, appid: mi.clientId, xms_mirid: mi.resourceId,
  });
}

// Makes `hostname` resolve to 127.0.0.1 in this process only. It stands in for the /etc/hosts line
// a user adds for endpoint mode (`127.0.0.1 kv1.vault.localhost`, docs/clients.md), which a test cannot add
// hermetically: Debian resolves no *.vault.localhost name by itself. node:net looks up through
// dns.lookup at connect time, so wrapping it before the first connection does what a `--import`
// preload would; every other name resolves as usual and nothing else in the client changes.
export function resolveToLoopback(hostname) {
  const wanted = hostname.toLowerCase();
  const real = dns.lookup;
  dns.lookup = function lookup(host, options, callback) {
    const name = typeof host === "string" && host.toLowerCase() === wanted ? "127.0.0.1" : host;
    return real.call(this, name, options, callback);
  };
}

// Endpoint mode: `hostname` is reached directly, as NO_PROXY already makes localhost and 127.0.0.1.
// HTTPS_PROXY stays set, so a stray request for a real Azure host still lands on the emulator's
// front door and shows up (onlyLoopbackRequests, the runner's refusal check). Call it before the
// first client is made: @azure/core-rest-pipeline reads NO_PROXY once.
export function bypassProxyFor(hostname) {
  for (const v of ["NO_PROXY", "no_proxy"]) env[v] = [env[v], hostname].filter(Boolean).join(",");
}

// Endpoint mode must not touch the real Azure host names (the proxy would serve them, so the
// refusal check alone would not notice): every request in the access log went to localhost,
// 127.0.0.1 or one of `allowedHosts`.
export function onlyLoopbackRequests(...allowedHosts) {
  const hosts = new Set(["localhost", "127.0.0.1", ...allowedHosts.map((h) => h.toLowerCase())]);
  const log = readFileSync(env.CMK_EMULATOR_LOG, "utf8");
  const seen = new Set([...log.matchAll(/ (?:GET|POST|PUT|PATCH|DELETE|HEAD) https?:\/\/([^/: ]+)/g)].map((m) => m[1]));
  const others = [...seen].filter((h) => !hosts.has(h));
  expect(others.length === 0, `endpoint mode reached other hosts: ${others.join(" ")}`);
}

// The emulator's admin API (not through the proxy): /_emulator/<path>; returns parsed JSON.
export async function admin(method, path, body) {
  const r = await fetch(`http://127.0.0.1:${HTTP_PORT}/_emulator/${path}`, {
    method, headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  expect(r.status === 200, `${method} /_emulator/${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

// The journal's records matching the filters (GET /_emulator/requests), oldest first.
export async function journal(filters = {}) {
  const q = new URLSearchParams({ limit: "1000", ...filters });
  return (await admin("GET", `requests?${q}`)).value;
}

// A resource group by a plain ARM PUT (no @azure/arm-resources is pinned), through
// @azure/core-rest-pipeline's default pipeline, which carries the proxy policy (HTTPS_PROXY) as the
// SDK clients' pipelines do. `endpoint`: ARM's base URL (endpoint mode: https://localhost:<port>).
const requireFromNode = createRequire(new URL("../node/package.json", import.meta.url));
export async function createResourceGroup(cred, subscription, name,
  { location = "westeurope", endpoint = "https://management.azure.com" } = {}) {
  const { createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest } =
    requireFromNode("@azure/core-rest-pipeline");
  const token = await cred.getToken("https://management.azure.com/.default");
  const put = await createPipelineFromOptions({}).sendRequest(createDefaultHttpClient(), createPipelineRequest({
    url: `${endpoint}/subscriptions/${subscription}/resourceGroups/${name}?api-version=2021-04-01`,
    method: "PUT", body: JSON.stringify({ location }),
    headers: createHttpHeaders({ authorization: `Bearer ${token.token}`, "content-type": "application/json" }),
  }));
  expect(put.status === 201, `resource group PUT: ${put.status} ${put.bodyAsText}`);
}
