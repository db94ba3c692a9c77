// The emulator's own panels, over the admin API: request journal, fault rules, virtual clock,
// long-running operations (and their policy, and key refresh), state export/import/reset.
import { admin } from './api.js';
import { h, show, props, table, labelled, act, errorText } from './dom.js';

import { startLive, stopLive } from './live.js';
const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

export async function journal(params, current) {
  const fields = {
    method: h('input', { type: 'text', size: 7, value: params.get('method') || '' }),
    path: h('input', { type: 'text', size: 30, value: params.get('path') || '' }),
    status: h('input', { type: 'text', size: 5, value: params.get('status') || '' }),
    surface: h('select', {}, ['', 'arm', 'keyvault', 'login', 'msi'].map((s) =>
      h('option', { value: s, selected: s === (params.get('surface') || '') }, s || 'any'))),
  };
  const faultedOnly = h('input', { type: 'checkbox', checked: params.get('faulted') === 'true' });
  const live = h('input', { type: 'checkbox' });
  const body = h('div', {});
  // A page of the newest records; paging back asks for those before the oldest one shown.
  const PAGE = 100;
  let before = null;
  const query = () => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    for (const [k, el] of Object.entries(fields)) if (el.value.trim()) q.set(k, el.value.trim());
    if (faultedOnly.checked) q.set('faulted', 'true');
    if (before) q.set('before', before);
    return q;
  };
  const older = h('button', { type: 'button', onclick: () => { before = older.dataset.before; load(); } }, 'Older');
  const newest = h('button', { type: 'button', onclick: () => { before = null; load(); } }, 'Newest');
  async function load() {
    try {
      const j = await admin('GET', `requests?${query()}`);
      const rows = j.value.slice().reverse();
      const range = rows.length ? ` (#${rows[rows.length - 1].seq} to #${rows[0].seq})` : '';
      older.dataset.before = rows.length ? String(rows[rows.length - 1].seq) : '';
      older.disabled = rows.length < PAGE;
      newest.disabled = !before;
      body.replaceChildren(h('p', { role: 'status' }, `${j.count} shown${range} of ${j.total} recorded (capacity ${j.capacity}).`),
        h('div', { class: 'records' }, table(['#', 'Time', 'Surface', 'Method', 'Host', 'Path', 'Status', 'Caller', 'Fault'], rows.map((r) => [
          String(r.seq), r.time, r.surface, r.method, r.host, r.path + (r.query ? `?${r.query}` : ''), String(r.status),
          r.emulatorCaller ? `emulator: ${r.emulatorCaller.split('/').pop()}` : r.principal?.appid || r.principal?.oid || '',
          r.fault ? `fault: ${r.fault}` : '']), (i) => (rows[i].fault ? { class: 'faulted' } : {}))));
    } catch (e) { body.replaceChildren(errorText(e)); }
  }
  live.addEventListener('change', () => { stopLive(); if (live.checked) startLive(load, 2000); });
  await load();
  if (!current()) return;
  show(h('h1', {}, 'Request journal'),
    h('form', { class: 'filters', 'aria-label': 'Journal filter', onsubmit: (ev) => { ev.preventDefault(); before = null; load(); } },
      labelled('Method', fields.method), labelled('Path (glob)', fields.path), labelled('Status', fields.status),
      labelled('Surface', fields.surface), h('label', {}, faultedOnly, ' Faulted only'),
      h('button', { type: 'submit' }, 'Filter'), h('label', {}, live, ' Live'),
      h('button', { type: 'button', onclick: async () => { if (await act('Clear the journal', () => { before = null; return admin('DELETE', 'requests'); })) load(); } }, 'Clear journal')),
    body, h('nav', { class: 'pages', 'aria-label': 'Pages of the journal' }, newest, ' ', older));
}

export async function faults(_params, current) {
  const [rules, presets] = await Promise.all([admin('GET', 'faults'), admin('GET', 'faults/presets')]);
  if (!current()) return;
  const custom = h('textarea', { rows: 5, cols: 70, 'aria-label': 'Fault rule (JSON)' });
  show(h('h1', {}, 'Fault rules'),
    h('h2', {}, 'Active rules'),
    rules.value.length ? table(['Name', 'Rule', 'Matched', 'Hits', 'Exhausted', ''], rules.value.map((r) => [
      r.name, JSON.stringify({ match: r.match, limit: r.limit, action: r.action }), String(r.matched ?? 0), String(r.hits ?? 0),
      r.exhausted ? 'yes' : 'no',
      h('button', { type: 'button', 'aria-label': `Remove ${r.name}`, onclick: async () => {
        if (await act(`Remove fault rule ${r.name}`, () => admin('DELETE', `faults/${encodeURIComponent(r.name)}`))) rerender();
      } }, 'Remove')])) : h('p', {}, 'No fault rules.'),
    h('h2', {}, 'Presets'),
    table(['Preset', 'What it does', ''], Object.entries(presets).map(([name, p]) => [name, p.description,
      h('button', { type: 'button', 'aria-label': `Add ${name}`, onclick: async () => {
        if (await act(`Add fault preset ${name}`, () => admin('POST', 'faults', { preset: name }))) rerender();
      } }, 'Add')])),
    h('h2', {}, 'Add a rule'),
    h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      if (await act('Add fault rule', () => admin('POST', 'faults', custom.value))) rerender();
    } }, custom, h('div', {}, h('button', { type: 'submit' }, 'Add rule'))));
}

export async function clock(_params, current) {
  const c = await admin('GET', 'clock');
  if (!current()) return;
  const amount = h('input', { type: 'number', min: '0', step: 'any', value: '61' });
  const unit = h('select', {}, ['seconds', 'minutes', 'hours', 'days'].map((u) => h('option', { value: u }, u)));
  show(h('h1', {}, 'Virtual clock'),
    props([['Now', c.now], ['Offset', `${c.offset_s} s`], ['Frozen', c.frozen ? 'yes' : 'no']]),
    h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      if (await act(`Advance the clock by ${amount.value} ${unit.value}`, async () =>
        `now ${(await admin('POST', 'clock/advance', { [unit.value]: Number(amount.value) })).now}`)) rerender();
    } }, labelled('Advance by', amount), labelled('Unit', unit), h('button', { type: 'submit' }, 'Advance')),
    h('button', { type: 'button', onclick: async () => {
      if (await act(c.frozen ? 'Resume the clock' : 'Freeze the clock', () => admin('PUT', 'clock', { frozen: !c.frozen }))) rerender();
    } }, c.frozen ? 'Resume' : 'Freeze'));
}

export async function operations(_params, current) {
  const [running, finished, policy, keys] = await Promise.all([admin('GET', 'operations'),
    admin('GET', 'operations?status=Succeeded,Failed,Canceled&top=50'), admin('GET', 'lro-policy'), admin('GET', 'kusto/keys')]);
  if (!current()) return;
  const policyText = h('textarea', { rows: 8, cols: 70, 'aria-label': 'LRO policy (JSON)' }, JSON.stringify(policy, null, 2));
  const refresh = h('input', { type: 'number', min: '1', value: String(keys.value[0]?.refreshSeconds || 60) });
  const opRow = (o) => [o.kind, o.resource.split('/').pop(), o.status, o.startTime, o.endTime || '',
    o.error ? `${o.error.code}: ${o.error.message}` : '', o.injectedFault || ''];
  show(h('h1', {}, 'Long-running operations'),
    h('h2', {}, 'Running'),
    running.value.length ? table(['Kind', 'Resource', 'Status', 'Started', 'Held', ''], running.value.map((o) => [
      o.kind, o.resource.split('/').pop(), o.status, o.startTime, o.held ? 'held' : '',
      o.held ? h('button', { type: 'button', 'aria-label': `Release ${o.id}`, onclick: async () => {
        if (await act(`Release operation ${o.id}`, () => admin('POST', `operations/${encodeURIComponent(o.id)}/release`))) rerender();
      } }, 'Release') : ''])) : h('p', {}, 'None running.'),
    h('button', { type: 'button', onclick: async () => { if (await act('Release all held operations', () => admin('POST', 'operations/release'))) rerender(); } }, 'Release all'),
    h('h2', {}, 'Finished'),
    table(['Kind', 'Resource', 'Status', 'Started', 'Ended', 'Error', 'Injected fault'], finished.value.map(opRow)),
    h('h2', {}, 'LRO policy'),
    h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      if (await act('Set the LRO policy', () => admin('PUT', 'lro-policy', policyText.value))) rerender();
    } }, policyText, h('div', {}, h('button', { type: 'submit' }, 'Set policy'),
      h('button', { type: 'button', onclick: async () => { if (await act('Reset the LRO policy', () => admin('DELETE', 'lro-policy'))) rerender(); } }, 'Default policy'))),
    h('h2', {}, 'Key refresh'),
    table(['Cluster', 'Key', 'Usable', 'Last check', 'Next check'], keys.value.map((k) => [k.cluster.split('/').pop(), k.kid, k.usable ? 'yes' : 'no', k.checkedAt, k.nextCheck])),
    h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      if (await act('Set the key refresh interval', () => admin('PUT', 'kusto/keys/refresh', { seconds: Number(refresh.value) }))) rerender();
    } }, labelled('Refresh interval (seconds)', refresh), h('button', { type: 'submit' }, 'Set interval')));
}

function download(name, text) {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

export async function state(_params, current) {
  const refusals = await admin('GET', 'proxy/refusals');
  if (!current()) return;
  const file = h('input', { type: 'file', accept: 'application/json,.json' });
  show(h('h1', {}, 'State'),
    h('p', {}, 'Export the whole state as a fixture, import one (it replaces everything), or go back to the start fixtures.'),
    h('button', { type: 'button', onclick: () => act('Export the state', async () => {
      download('cmk-state.json', JSON.stringify(await admin('GET', 'state'), null, 2));
      return 'without secrets';
    }) }, 'Export'),
    h('button', { type: 'button', onclick: () => {
      if (!confirm('The export will hold private keys and secrets in clear text. Export with secrets?')) return;
      act('Export the state with secrets', async () => {
        download('cmk-state-with-secrets.json', JSON.stringify(await admin('GET', 'state?include=secrets'), null, 2));
        return 'with secrets';
      });
    } }, 'Export with secrets'),
    h('form', { onsubmit: async (ev) => {
      ev.preventDefault();
      if (!file.files[0]) return;
      if (!confirm('Importing replaces the whole state. Continue?')) return;
      await act('Import the state', async () => { await admin('PUT', 'state', await file.files[0].text()); });
    } }, labelled('State file', file), h('button', { type: 'submit' }, 'Import')),
    h('button', { type: 'button', onclick: () => {
      if (!confirm('Reset to the start fixtures? Everything created since is lost.')) return;
      act('Reset the state', () => admin('POST', 'reset'));
    } }, 'Reset'),
    h('h2', {}, 'Proxy refusals'),
    h('p', {}, `${refusals.count} connection(s) to hosts the emulator does not serve were refused.`),
    table(['Target', 'When'], refusals.value.map((r) => [r.target, new Date(r.unix * 1000).toISOString()])));
}
