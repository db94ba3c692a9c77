// A key vault's secrets: the list, Set a secret, deleted secrets (Recover, Purge); a secret's page:
// its versions, a new version, Enable/Disable, Delete. A value is fetched and shown only on "Show
// value" (lists carry no values), and never goes into Notifications.
import { vault, vaultList } from './api.js';
import { h, show, props, table, link, labelled, act, errorText, date, rerender } from './dom.js';
import { crumbs, vaultTabs } from './resources.js';

const q = encodeURIComponent;
const last = (id) => id.split('/').pop();
const NAME_PATTERN = '[A-Za-z0-9\\-]{1,127}';

// Value and content type inputs, shared by "Set a secret" and "New version".
function valueInputs(contentType = '') {
  return {
    value: h('input', { type: 'password', autocomplete: 'off', required: true }),
    contentType: h('input', { type: 'text', value: contentType, placeholder: 'text/plain' }),
  };
}

export async function secretsPage(params, current) {
  const id = params.get('vault');
  const name = last(id);
  let secrets = [], deleted = [], error = null;
  try {
    [secrets, deleted] = await Promise.all([vaultList(name, '/secrets?maxresults=25'),
      vaultList(name, '/deletedsecrets?maxresults=25').catch(() => [])]);
  } catch (e) { error = e; }
  if (!current()) return;
  const newName = h('input', { type: 'text', pattern: NAME_PATTERN, required: true });
  const inputs = valueInputs();
  show(crumbs(id), vaultTabs(id, 'secrets'), h('h1', {}, `Secrets of key vault ${name}`),
    error ? errorText(error) : secrets.length ? table(['Secret', 'Content type', 'Enabled', 'Updated', 'Managed by'], secrets.map((s) => {
      const sn = last(s.id);
      return [link(`#/secret?vault=${q(id)}&name=${q(sn)}`, sn), s.contentType, s.attributes?.enabled ? 'yes' : 'no',
        date(s.attributes?.updated), s.managed ? 'certificate' : ''];
    })) : h('p', { class: 'muted' }, 'No secrets.'),
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        const sn = newName.value;
        if (await act(`Set secret ${sn} in ${name}`, async () => {
          const s = await vault(name, 'PUT', `/secrets/${q(sn)}`, body(inputs));
          return `version ${last(s.id)}`;
        })) rerender();
      },
    }, h('fieldset', {}, h('legend', {}, 'Set a secret'),
      labelled('Secret name', newName), labelled('Secret value', inputs.value), labelled('Content type', inputs.contentType),
      h('button', { type: 'submit' }, 'Set secret'))),
    h('h2', {}, 'Deleted secrets'),
    deleted.length ? table(['Secret', 'Deleted', 'Purge date', ''], deleted.map((s) => {
      const sn = last(s.id);
      return [sn, date(s.deletedDate), date(s.scheduledPurgeDate), h('span', {},
        h('button', { type: 'button', 'aria-label': `Recover ${sn}`, onclick: async () => {
          if (await act(`Recover secret ${sn}`, () => vault(name, 'POST', `/deletedsecrets/${q(sn)}/recover`))) rerender();
        } }, 'Recover'),
        h('button', { type: 'button', 'aria-label': `Purge ${sn}`, onclick: async () => {
          if (!confirm(`Purge secret ${sn} for good?`)) return;
          if (await act(`Purge secret ${sn}`, () => vault(name, 'DELETE', `/deletedsecrets/${q(sn)}`))) rerender();
        } }, 'Purge'))];
    })) : h('p', { class: 'muted' }, 'No deleted secrets.'));
}

function body(inputs) {
  const b = { value: inputs.value.value };
  if (inputs.contentType.value.trim()) b.contentType = inputs.contentType.value.trim();
  return b;
}

export async function secretPage(params, current) {
  const id = params.get('vault'), sn = params.get('name');
  const name = last(id);
  const base = `/secrets/${q(sn)}`;
  // The list holds no values; it is in creation order, so the newest version comes first once
  // reversed (a stable sort keeps that order between versions made in the same second).
  const versions = (await vaultList(name, `${base}/versions?maxresults=25`)).reverse()
    .sort((a, b) => (b.attributes?.created || 0) - (a.attributes?.created || 0));
  if (!current()) return;
  const newest = versions[0] || { id: '', attributes: {} };
  const inputs = valueInputs(newest.contentType || '');
  const valueBox = h('div', { hidden: true });
  const hideValue = () => { valueBox.replaceChildren(); valueBox.hidden = true; };
  const showValue = async (version) => {
    const what = version ? `version ${version} of secret ${sn}` : `secret ${sn}`;
    let value = null;
    const shown = await act(`Show value of ${what}`, async () => {
      value = (await vault(name, 'GET', version ? `${base}/${version}` : base)).value;
      return 'shown';
    });
    if (!shown || !current()) return;
    const hide = h('button', { type: 'button', onclick: hideValue }, 'Hide value');
    valueBox.replaceChildren(h('h2', {}, version ? `Value of version ${version}` : 'Value of the current version'),
      h('pre', { 'aria-label': 'Secret value', tabindex: 0 }, value), hide);
    valueBox.hidden = false;
    hide.focus();
  };
  show(crumbs(id), vaultTabs(id, 'secrets'), h('h1', {}, `Secret ${sn}`),
    h('p', {}, link(`#/secrets?vault=${q(id)}`, `Back to the secrets of ${name}`)),
    props([['Current version', last(newest.id)], ['Content type', newest.contentType],
      ['Enabled', String(newest.attributes?.enabled !== false)], ['Updated', date(newest.attributes?.updated)],
      ['Expires', date(newest.attributes?.exp)], newest.managed && ['Managed by', 'a certificate of the same name']]),
    h('button', { type: 'button', onclick: () => showValue('') }, 'Show value'),
    h('button', { type: 'button', onclick: async () => {
      if (!confirm(`Delete secret ${sn}?`)) return;
      if (await act(`Delete secret ${sn}`, () => vault(name, 'DELETE', base))) location.hash = `#/secrets?vault=${q(id)}`;
    } }, 'Delete'),
    valueBox,
    h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (await act(`Set a new version of secret ${sn}`, async () => `version ${last((await vault(name, 'PUT', base, body(inputs))).id)}`))
          rerender();
      },
    }, h('fieldset', {}, h('legend', {}, 'New version'),
      labelled('New value', inputs.value), labelled('Content type', inputs.contentType),
      h('button', { type: 'submit' }, 'Set new version'))),
    h('h2', {}, 'Versions'),
    table(['Version', 'Enabled', 'Content type', 'Created', 'Expires', ''], versions.map((s) => {
      const ver = last(s.id);
      const enabled = s.attributes?.enabled !== false;
      return [ver, enabled ? 'yes' : 'no', s.contentType, date(s.attributes?.created), date(s.attributes?.exp), h('span', {},
        h('button', { type: 'button', 'aria-label': `Show value of version ${ver}`, onclick: () => showValue(ver) }, 'Show value'),
        h('button', { type: 'button', 'aria-label': `${enabled ? 'Disable' : 'Enable'} version ${ver}`, onclick: async () => {
          if (await act(`${enabled ? 'Disable' : 'Enable'} version ${ver} of secret ${sn}`,
            () => vault(name, 'PATCH', `${base}/${ver}`, { attributes: { enabled: !enabled } }))) rerender();
        } }, enabled ? 'Disable' : 'Enable'))];
    })));
}
