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

// The principal acted as in this tab ('' until the list of principals arrives: the default one).
let principal = (() => { try { return sessionStorage.getItem('cmk-principal') || ''; } catch { return ''; } })();
// "<principal> <resource>" -> the promise of {token, expiresOn, objectId, tenantId}: calls made
// while a token is on its way share its request; a failed request is forgotten.
const tokens = new Map();

function remember(key, promise) {
  tokens.set(key, promise);
  promise.catch(() => { if (tokens.get(key) === promise) tokens.delete(key); });
  return promise;
}

// Tokens are kept for the console's other tabs too, in this origin's local storage under this
// start's console token: a new tab then makes its first call at once instead of asking for a
// token first. Another start of the emulator has another console token, and its page drops what
// the earlier starts kept.
const KEPT = `cmk-tokens ${consoleToken}`;
try {
  for (const name of Object.keys(localStorage))
    if (name.startsWith('cmk-tokens ') && name !== KEPT) localStorage.removeItem(name);
} catch { /* storage off: nothing kept, every tab asks for its own tokens */ }

function keptTokens() {
  try { return JSON.parse(localStorage.getItem(KEPT)) || {}; } catch { return {}; }
}

const fresh = (t) => t && t.expiresOn - 120 > Date.now() / 1000;

// Keeps token `t` under `key` ("<principal> <resource>"), or forgets the one there (t null).
function keep(key, t) {
  const kept = keptTokens();
  for (const k of Object.keys(kept)) if (!fresh(kept[k])) delete kept[k];
  if (t) kept[key] = t; else delete kept[key];
  try { localStorage.setItem(KEPT, JSON.stringify(kept)); } catch { /* storage full or off: ask again next time */ }
}

// An empty principal is the directory's default one (the list may not have arrived yet).
function requestToken(who, resource) {
  return admin('POST', 'portal/token', who ? { principal: who, resource } : { resource })
    .then((t) => {
      const token = { token: t.access_token, expiresOn: t.expires_on, objectId: t.object_id, tenantId: t.tenant_id };
      keep(`${who} ${resource}`, token);
      return token;
    });
}

export function actingAs() { return principal; }

// Object ids of the principals, as the list names them (id -> object id).
const objectIds = new Map();

// `objectId`: the principal's object id, when known: a token asked for as the default principal
// (before the list arrived) then serves this principal if it was issued to it.
export function actAs(id, objectId) {
  principal = id;
  try { sessionStorage.setItem('cmk-principal', id); } catch { /* storage off: this page only */ }
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
    const kept = keptTokens()[key];
    const early = who && objectIds.has(who) ? tokens.get(` ${resource}`) : undefined;
    const ask = () => requestToken(who, resource);
    entry = remember(key, fresh(kept) ? Promise.resolve({ ...kept, kept: true })
      : early ? early.then((t) => (t.objectId === objectIds.get(who) ? t : ask()), ask) : ask());
  }
  const t = await entry;
  if (fresh(t)) return t;
  if (tokens.get(key) !== entry) return tokenOf(resource, who); // renewed meanwhile
  return remember(key, requestToken(who, resource));
}

// `call(token)` with the acting principal's token for `resource`. A token kept by an earlier tab
// that the emulator no longer takes (the tokens were revoked since) is dropped, and the call made
// once more with a new one.
async function withToken(resource, call) {
  const t = await tokenOf(resource);
  try {
    const result = await call(t.token);
    delete t.kept; // taken once, so as good as a new one
    return result;
  } catch (e) {
    if (!t.kept || !(e instanceof ApiError) || e.status !== 401) throw e;
    const key = `${principal} ${resource}`;
    const entry = tokens.get(key);
    if (entry && await entry.catch(() => null) === t) { // not replaced by a concurrent call yet
      keep(key, null);
      tokens.delete(key);
    }
    return call((await tokenOf(resource)).token);
  }
}

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
  return withToken('arm', (token) => send(`${base}portal/api/arm${withVersion(path, version)}`,
    { method, body, headers: { Authorization: `Bearer ${token}` } }));
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
  return (await withToken('vault', (token) => send(
    `${base}portal/api/vault/${encodeURIComponent(name)}${withVersion(path, API_VERSIONS.data)}`,
    { method, body, headers: { Authorization: `Bearer ${token}` } }))).json;
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
