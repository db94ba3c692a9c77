// The resource browser: subscriptions, resource groups, their resources, and overview pages.
import { API_VERSIONS as V, actingAs, admin, armGet, armList } from './api.js';
import { h, show, props, table, pagedTable, link } from './dom.js';

export const TYPES = {
  cluster: 'microsoft.kusto/clusters',
  vault: 'microsoft.keyvault/vaults',
  identity: 'microsoft.managedidentity/userassignedidentities',
};

export function versionFor(type) {
  const t = (type || '').toLowerCase();
  if (t.startsWith('microsoft.kusto/')) return V.kusto;
  if (t.startsWith('microsoft.keyvault/')) return V.keyvault;
  if (t.startsWith('microsoft.managedidentity/')) return V.msi;
  if (t.startsWith('microsoft.resources/deployments')) return V.deployments;
  return V.resources;
}

export function typeOfId(id) {
  const parts = id.split('/');
  const at = parts.findIndex((p) => p.toLowerCase() === 'providers');
  return at < 0 ? '' : `${parts[at + 1]}/${parts[at + 2]}`;
}

const groupOf = (id) => (id.match(/\/resourceGroups\/([^/]+)/i) || [])[1] || '';

export function resourceHref(id, type = typeOfId(id)) {
  const t = type.toLowerCase();
  if (t === TYPES.vault) return `#/vault?id=${encodeURIComponent(id)}`;
  return `#/resource?id=${encodeURIComponent(id)}`;
}

function resourceTable(list) {
  return pagedTable(['Name', 'Type', 'Resource group', 'Location'], list,
    (r) => [link(resourceHref(r.id, r.type), r.name), r.type, groupOf(r.id), r.location], { noun: 'resources' });
}

// The subscriptions the principal acted as saw on the last visit: their lists are asked for
// alongside the list of subscriptions instead of after it, one round trip less before the first
// screen. A subscription gone since costs one unused call; a new one is listed once the
// subscriptions arrive. `key`: where they are kept for the principal.
function seenSubscriptions(key) {
  try {
    const ids = JSON.parse(localStorage.getItem(key));
    return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [];
  } catch { return []; }
}

export async function home(_params, current) {
  const lists = new Map();
  const listsOf = (sub) => {
    if (!lists.has(sub)) {
      const base = `/subscriptions/${encodeURIComponent(sub)}`;
      const both = Promise.all([armList(`${base}/resourcegroups`, V.resources), armList(`${base}/resources`, V.resources)]);
      both.catch(() => {}); // reported when used; a gone subscription's lists are not
      lists.set(sub, both);
    }
    return lists.get(sub);
  };
  const seen = `cmk-subscriptions ${actingAs()}`;
  seenSubscriptions(seen).forEach(listsOf);
  const subs = await armList('/subscriptions', V.subscriptions);
  try { localStorage.setItem(seen, JSON.stringify(subs.map((s) => s.subscriptionId))); } catch { /* not kept */ }
  const sections = await Promise.all(subs.map(async (s) => {
    const [groups, all] = await listsOf(s.subscriptionId);
    return h('section', { 'aria-label': s.displayName },
      h('h2', {}, `${s.displayName} `, h('span', { class: 'muted' }, s.subscriptionId)),
      h('h3', {}, 'Resource groups'),
      groups.length ? h('ul', {}, groups.map((g) =>
        h('li', {}, link(`#/group?sub=${s.subscriptionId}&rg=${encodeURIComponent(g.name)}`, g.name), ` (${g.location})`)))
        : h('p', { class: 'muted' }, 'No resource groups.'),
      h('h3', {}, `All resources (${all.length})`),
      all.length ? resourceTable(all) : h('p', { class: 'muted' }, 'No resources.'));
  }));
  if (!current()) return;
  show(h('h1', {}, 'Resources'), subs.length ? sections : h('p', {}, 'No subscriptions.'));
}

export async function group(params, current) {
  const sub = params.get('sub'), rg = params.get('rg');
  const base = `/subscriptions/${sub}/resourceGroups/${encodeURIComponent(rg)}`;
  const [list, deployments] = await Promise.all([
    armList(`${base}/resources`, V.resources),
    armList(`${base}/providers/Microsoft.Resources/deployments`, V.deployments).catch(() => [])]);
  if (!current()) return;
  show(h('p', { class: 'crumbs' }, link('#/', 'Resources'), ' › ', rg),
    h('h1', {}, `Resource group ${rg}`),
    h('h2', {}, 'Resources'), list.length ? resourceTable(list) : h('p', { class: 'muted' }, 'No resources.'),
    h('h2', {}, 'Deployments'),
    deployments.length ? table(['Name', 'Provisioning state', 'Timestamp'], deployments.map((d) =>
      [link(`#/resource?id=${encodeURIComponent(d.id)}`, d.name), d.properties?.provisioningState, d.properties?.timestamp]))
      : h('p', { class: 'muted' }, 'No deployments.'));
}

export function crumbs(id) {
  const sub = (id.match(/\/subscriptions\/([^/]+)/i) || [])[1];
  const rg = groupOf(id);
  return h('p', { class: 'crumbs' }, link('#/', 'Resources'), ' › ',
    link(`#/group?sub=${sub}&rg=${encodeURIComponent(rg)}`, rg), ' › ', id.split('/').pop());
}

export function clusterTabs(id, selected) {
  const e = encodeURIComponent(id);
  return h('nav', { class: 'tabs', 'aria-label': 'Cluster' },
    h('a', { href: `#/resource?id=${e}`, 'aria-current': selected === 'overview' ? 'page' : null }, 'Overview'),
    h('a', { href: `#/encryption?id=${e}`, 'aria-current': selected === 'encryption' ? 'page' : null }, 'Encryption'));
}

// The vault's pages: overview (with keys and access policies), secrets, certificates.
export function vaultTabs(id, selected) {
  const e = encodeURIComponent(id);
  const tab = (name, href, text) => h('a', { href, 'aria-current': selected === name ? 'page' : null }, text);
  return h('nav', { class: 'tabs', 'aria-label': 'Key vault' },
    tab('overview', `#/vault?id=${e}`, 'Overview'), tab('secrets', `#/secrets?vault=${e}`, 'Secrets'),
    tab('certificates', `#/certificates?vault=${e}`, 'Certificates'));
}

function identityText(identity) {
  if (!identity || !identity.type || identity.type === 'None') return 'None';
  const parts = [identity.type];
  if (identity.principalId) parts.push(`system-assigned principal ${identity.principalId}`);
  for (const uid of Object.keys(identity.userAssignedIdentities || {}))
    parts.push(`user-assigned ${uid.split('/').pop()}`);
  return parts.join('; ');
}

// The key in use, as the cluster (ARM) and the emulator's key tracking (admin) show it.
export async function keyInUse(cluster) {
  const kv = cluster.properties?.keyVaultProperties;
  const keys = await admin('GET', 'kusto/keys');
  const mine = (keys.value || []).find((k) => k.cluster.toLowerCase() === cluster.id.toLowerCase());
  return { kv, mine };
}

async function clusterOverview(id, current) {
  const c = await armGet(id, V.kusto);
  const { kv, mine } = await keyInUse(c);
  if (!current()) return;
  const version = mine?.kid ? mine.kid.split('/').pop() : '';
  const reason = c.properties?.stateReason || '';
  show(crumbs(id), h('h1', {}, `Cluster ${c.name}`), clusterTabs(id, 'overview'),
    h('h2', {}, 'Overview'),
    props([['State', c.properties?.state], ['Provisioning state', c.properties?.provisioningState],
      ['Location', c.location], ['URI', c.properties?.uri], ['SKU', c.sku ? `${c.sku.name} × ${c.sku.capacity}` : ''],
      ['Identities', identityText(c.identity)]]),
    h('h2', {}, 'Key in use'),
    kv && kv.keyName ? props([['Key vault', kv.keyVaultUri], ['Key', kv.keyName],
      ['Version', version || kv.keyVersion || ''],
      ['Version setting', kv.keyVersion ? 'pinned' : 'always the current version'],
      ['Identity', kv.userIdentity || 'system assigned'],
      ['Last refresh', mine?.checkedAt], ['Next refresh', mine?.nextCheck],
      ['Key usable', mine ? (mine.usable ? 'yes' : 'no') : ''],
      ['Suspension reason', reason.startsWith('Suspended') ? reason : 'none']])
      : h('p', {}, 'Microsoft-managed keys (no customer-managed key).'));
}

export async function overview(params, current) {
  const id = params.get('id');
  const type = typeOfId(id).toLowerCase();
  if (type === TYPES.cluster) return clusterOverview(id, current);
  const r = await armGet(id, versionFor(type));
  if (!current()) return;
  const p = r.properties || {};
  const pairs = [['Type', r.type || typeOfId(id)], ['Location', r.location], ['Provisioning state', p.provisioningState]];
  if (type === TYPES.identity)
    pairs.push(['Principal id', p.principalId], ['Client id', p.clientId], ['Tenant id', p.tenantId]);
  if (type === 'microsoft.resources/deployments')
    pairs.push(['Timestamp', p.timestamp], ['Mode', p.mode],
      ['Resources', (p.outputResources || []).map((o) => o.id.split('/').pop()).join(', ')],
      ['Error', p.error ? `${p.error.code}: ${p.error.message}` : '']);
  show(crumbs(id), h('h1', {}, r.name || id.split('/').pop()), h('h2', {}, 'Overview'), props(pairs),
    h('details', {}, h('summary', {}, 'JSON'), h('pre', {}, JSON.stringify(r, null, 2))));
}
