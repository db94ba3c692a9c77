// Key vault pages: the vault (keys, deleted keys, access policies) and a key (versions,
// enable/disable, rotate, delete); secrets.js and certificates.js hold the vault's other tabs.
// Data-plane calls go to the vault as the acting principal, so its access policies (or RBAC)
// decide them.
import { API_VERSIONS as V, arm, armGet, vault } from './api.js';
import { h, show, props, table, link, labelled, act, errorText, date, rerender } from './dom.js';
import { crumbs, vaultTabs } from './resources.js';

// What an access policy may grant, per kind of object (Key Vault's permission names).
const PERMISSIONS = {
  keys: ['get', 'list', 'create', 'update', 'import', 'delete', 'recover', 'backup', 'restore', 'purge',
    'encrypt', 'decrypt', 'wrapKey', 'unwrapKey', 'sign', 'verify', 'rotate'],
  secrets: ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore', 'purge'],
  certificates: ['get', 'list', 'update', 'create', 'import', 'delete', 'recover', 'backup', 'restore', 'purge',
    'managecontacts', 'getissuers', 'listissuers', 'setissuers', 'deleteissuers', 'manageissuers'],
};
const KIND_TITLES = { keys: 'Key permissions', secrets: 'Secret permissions', certificates: 'Certificate permissions' };

export async function vaultPage(params, current) {
  const id = params.get('id');
  const v = await armGet(id, V.keyvault);
  const name = v.name;
  let keys = [], deleted = [], keysError = null;
  try {
    [keys, deleted] = await Promise.all([
      vault(name, 'GET', '/keys?maxresults=25').then((r) => r.value || []),
      vault(name, 'GET', '/deletedkeys?maxresults=25').then((r) => r.value || []).catch(() => [])]);
  } catch (e) { keysError = e; }
  if (!current()) return;
  const p = v.properties || {};
  const newKey = h('input', { type: 'text', pattern: '[A-Za-z0-9\\-]{1,127}' });
  const policies = p.accessPolicies || [];
  const objectInput = h('input', { type: 'text', size: 38 });
  const checks = Object.fromEntries(Object.entries(PERMISSIONS).map(([kind, perms]) =>
    [kind, perms.map((perm) => h('input', { type: 'checkbox', value: perm }))]));
  const policyCall = (kind, entry) => arm('PUT', `${id}/accessPolicies/${kind}`, V.keyvault,
    { properties: { accessPolicies: [entry] } });
  show(crumbs(id), vaultTabs(id, 'overview'), h('h1', {}, `Key vault ${name}`),
    h('h2', {}, 'Overview'),
    props([['Vault URI', p.vaultUri], ['Location', v.location], ['Soft delete', String(p.enableSoftDelete !== false)],
      ['Purge protection', String(!!p.enablePurgeProtection)],
      ['Permission model', p.enableRbacAuthorization ? 'Azure RBAC' : 'access policies']]),
    h('h2', {}, 'Keys'),
    keysError ? errorText(keysError) : table(['Key', 'Enabled', 'Updated'], keys.map((k) => {
      const kn = k.kid.split('/').pop();
      return [link(`#/key?vault=${encodeURIComponent(id)}&name=${encodeURIComponent(kn)}`, kn),
        k.attributes?.enabled ? 'yes' : 'no', date(k.attributes?.updated)];
    })),
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (await act(`Create key ${newKey.value} in ${name}`, async () => {
          const k = await vault(name, 'POST', `/keys/${encodeURIComponent(newKey.value)}/create`, { kty: 'RSA', key_size: 2048 });
          return `version ${k.key.kid.split('/').pop()}`;
        })) rerender();
      },
    }, labelled('New key name', newKey), h('button', { type: 'submit' }, 'Create key')),
    h('h2', {}, 'Deleted keys'),
    deleted.length ? table(['Key', 'Deleted', 'Purge date', ''], deleted.map((k) => {
      const kn = k.kid.split('/').pop();
      return [kn, date(k.deletedDate), date(k.scheduledPurgeDate), h('span', {},
        h('button', { type: 'button', 'aria-label': `Recover ${kn}`, onclick: async () => {
          if (await act(`Recover key ${kn}`, () => vault(name, 'POST', `/deletedkeys/${encodeURIComponent(kn)}/recover`))) rerender();
        } }, 'Recover'),
        h('button', { type: 'button', 'aria-label': `Purge ${kn}`, onclick: async () => {
          if (!confirm(`Purge key ${kn} for good?`)) return;
          if (await act(`Purge key ${kn}`, () => vault(name, 'DELETE', `/deletedkeys/${encodeURIComponent(kn)}`))) rerender();
        } }, 'Purge'))];
    })) : h('p', { class: 'muted' }, 'No deleted keys.'),
    h('h2', {}, 'Access policies'),
    table(['Object id', ...Object.values(KIND_TITLES), ''], policies.map((ap) => [ap.objectId,
      ...Object.keys(PERMISSIONS).map((kind) => (ap.permissions?.[kind] || []).join(', ')),
      h('button', { type: 'button', 'aria-label': `Remove access policy of ${ap.objectId}`, onclick: async () => {
        if (await act(`Remove access policy of ${ap.objectId}`, () => policyCall('remove', ap))) rerender();
      } }, 'Remove')])),
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        const permissions = Object.fromEntries(Object.entries(checks).map(([kind, boxes]) =>
          [kind, boxes.filter((c) => c.checked).map((c) => c.value)]));
        if (await act(`Add access policy for ${objectInput.value}`, () => policyCall('add',
          { tenantId: p.tenantId, objectId: objectInput.value.trim(), permissions }))) rerender();
      },
    }, h('fieldset', {}, h('legend', {}, 'Add access policy'),
      h('div', {}, labelled('Object id', objectInput)),
      Object.entries(checks).map(([kind, boxes]) => h('fieldset', {}, h('legend', {}, KIND_TITLES[kind]),
        boxes.map((c) => h('label', {}, c, ' ', c.value)))),
      h('button', { type: 'submit' }, 'Add access policy'))));
}

export async function keyPage(params, current) {
  const id = params.get('vault'), kn = params.get('name');
  const name = id.split('/').pop();
  const base = `/keys/${encodeURIComponent(kn)}`;
  const [latest, versions] = await Promise.all([
    vault(name, 'GET', base), vault(name, 'GET', `${base}/versions?maxresults=25`).then((r) => r.value || [])]);
  if (!current()) return;
  versions.sort((a, b) => (b.attributes?.created || 0) - (a.attributes?.created || 0));
  const currentVersion = latest.key.kid.split('/').pop();
  show(crumbs(id), h('h1', {}, `Key ${kn}`), h('p', {}, link(`#/vault?id=${encodeURIComponent(id)}`, `Back to key vault ${name}`)),
    props([['Current version', currentVersion], ['Type', `${latest.key.kty} ${latest.key.n ? (atob(latest.key.n.replace(/-/g, '+').replace(/_/g, '/')).length * 8) : ''}`],
      ['Operations', (latest.key.key_ops || []).join(', ')], ['Enabled', String(latest.attributes?.enabled)]]),
    h('button', { type: 'button', onclick: async () => {
      if (await act(`Rotate key ${kn}`, async () => `new version ${(await vault(name, 'POST', `${base}/rotate`)).key.kid.split('/').pop()}`)) rerender();
    } }, 'Rotate'),
    h('button', { type: 'button', onclick: async () => {
      if (!confirm(`Delete key ${kn}?`)) return;
      if (await act(`Delete key ${kn}`, () => vault(name, 'DELETE', base))) location.hash = `#/vault?id=${encodeURIComponent(id)}`;
    } }, 'Delete'),
    h('h2', {}, 'Versions'),
    table(['Version', 'Enabled', 'Created', ''], versions.map((k) => {
      const ver = k.kid.split('/').pop();
      const enabled = k.attributes?.enabled !== false;
      return [ver, enabled ? 'yes' : 'no', date(k.attributes?.created),
        h('button', { type: 'button', 'aria-label': `${enabled ? 'Disable' : 'Enable'} version ${ver}`, onclick: async () => {
          if (await act(`${enabled ? 'Disable' : 'Enable'} version ${ver} of ${kn}`,
            () => vault(name, 'PATCH', `${base}/${ver}`, { attributes: { enabled: !enabled } }))) rerender();
        } }, enabled ? 'Disable' : 'Enable')];
    })));
}
