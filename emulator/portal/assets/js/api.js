// The console's only way out: fetch wrappers for the admin API, and for ARM and Key Vault
// through /_emulator/portal/api/ with a bearer token of the principal the console acts as.
const consoleToken = document.querySelector('meta[name="cmk-console-token"]').content;
const base = '/_emulator/';

export const API_VERSIONS = {
  kusto: '2023-08-15', keyvault: '2023-07-01', msi: '2023-01-31', resources: '2021-04-01',
  subscriptions: '2022-12-01', deployments: '2022-09-01', data: '7.4',
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.detail = message;
  }
}

let principal = sessionStorage.getItem('cmk-principal') || '';
// "<principal> <resource>" -> the promise of {token, expiresOn, objectId, tenantId}: calls made
// while a token is on its way share its request; a failed request is forgotten.
const tokens = new Map();

function remember(key, promise) {
  tokens.set(key, promise);
  promise.catch(() => { if (tokens.get(key) === promise) tokens.delete(key); });
  return promise;
}

// An empty principal is the directory's default one (the list may not have arrived yet).
function requestToken(who, resource) {
  return admin('POST', 'portal/token', who ? { principal: who, resource } : { resource })
    .then((t) => ({ token: t.access_token, expiresOn: t.expires_on, objectId: t.object_id, tenantId: t.tenant_id }));
}

export function actingAs() { return principal; }

// Object ids of the principals, as the list names them (id -> object id).
const objectIds = new Map();

// `objectId`: the principal's object id, when known: a token asked for as the default principal
// (before the list arrived) then serves this principal if it was issued to it.
export function actAs(id, objectId) {
  principal = id;
  sessionStorage.setItem('cmk-principal', id);
  if (id && objectId) objectIds.set(id, objectId);
}

async function send(url, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, headers: { 'X-Cmk-Console-Token': consoleToken, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) {
    const e = (json && json.error) || {};
    throw new ApiError(res.status, e.code || `HTTP ${res.status}`, e.message || text.slice(0, 300));
  }
  return { status: res.status, json, headers: res.headers };
}

export async function admin(method, path, body) {
  return (await send(base + path, { method, body })).json;
}

async function tokenOf(resource, who = principal) {
  const key = `${who} ${resource}`;
  let entry = tokens.get(key);
  if (!entry) {
    const early = who && objectIds.has(who) ? tokens.get(` ${resource}`) : undefined;
    const fresh = () => requestToken(who, resource);
    entry = remember(key, early ? early.then((t) => (t.objectId === objectIds.get(who) ? t : fresh()), fresh) : fresh());
  }
  const t = await entry;
  if (t.expiresOn - 120 > Date.now() / 1000) return t;
  if (tokens.get(key) !== entry) return tokenOf(resource, who); // renewed meanwhile
  return remember(key, requestToken(who, resource));
}

async function bearer(resource) { return (await tokenOf(resource)).token; }

// Asks for the token of `resource` now, so that a view's first call need not wait for it (its
// failure is left to that call to report).
export function warmToken(resource) { tokenOf(resource).catch(() => {}); }

// Who the console acts as: {objectId, tenantId} of the principal's token for `resource`.
export async function principalInfo(resource) {
  const { objectId, tenantId } = await tokenOf(resource);
  return { objectId, tenantId };
}

function withVersion(path, version) {
  return !version || path.includes('api-version=') ? path
    : `${path}${path.includes('?') ? '&' : '?'}api-version=${version}`;
}

// An ARM call: `path` is an ARM path ("/subscriptions/..."), `version` its api-version.
export async function arm(method, path, version, body) {
  const token = await bearer('arm');
  return send(`${base}portal/api/arm${withVersion(path, version)}`,
    { method, body, headers: { Authorization: `Bearer ${token}` } });
}

export async function armGet(path, version) { return (await arm('GET', path, version)).json; }

// Every item of an ARM list, following nextLink.
export async function armList(path, version) {
  let items = [];
  let next = withVersion(path, version);
  while (next) {
    const page = (await arm('GET', next, version)).json || {};
    items = items.concat(page.value || []);
    next = page.nextLink ? new URL(page.nextLink).pathname + new URL(page.nextLink).search : null;
  }
  return items;
}

// A Key Vault data-plane call on vault `name` ("/keys/k1/create").
export async function vault(name, method, path, body) {
  const token = await bearer('vault');
  return (await send(`${base}portal/api/vault/${encodeURIComponent(name)}${withVersion(path, API_VERSIONS.data)}`,
    { method, body, headers: { Authorization: `Bearer ${token}` } })).json;
}

// Every item of a Key Vault list on vault `name` ("/secrets?maxresults=25"), following nextLink.
export async function vaultList(name, path) {
  let items = [];
  for (let next = path; next;) {
    const page = (await vault(name, 'GET', next)) || {};
    items = items.concat(page.value || []);
    next = page.nextLink ? new URL(page.nextLink).pathname + new URL(page.nextLink).search : null;
  }
  return items;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits for a long-running ARM operation started by `response` and returns its outcome:
// {status: "Succeeded"|"Failed"|"Canceled", error: {code, message}|null, operationId}.
export async function settle(response) {
  const url = response.headers.get('Azure-AsyncOperation') || response.headers.get('Location');
  if (!url || response.status === 200 && !response.headers.get('Azure-AsyncOperation'))
    return { status: 'Succeeded', error: null };
  const u = new URL(url);
  const path = u.pathname + u.search;
  for (let i = 0; i < 600; i++) {
    const r = await arm('GET', path, '');
    const s = (r.json && r.json.status) || (r.status === 200 ? 'Succeeded' : 'InProgress');
    if (['Succeeded', 'Failed', 'Canceled'].includes(s))
      return { status: s, error: (r.json && r.json.error) || null, operationId: r.json && r.json.name };
    await sleep(i < 10 ? 150 : 500);
  }
  return { status: 'Failed', error: { code: 'Timeout', message: 'The operation did not finish.' } };
}
