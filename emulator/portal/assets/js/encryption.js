// A Kusto cluster's Encryption pane, as the Azure portal's: Customer-managed key On/Off, Select
// key (Key vault, Key, Version or "Always use current key version"), Identity type (System
// assigned / User assigned), Save; outcomes go to Notifications. Every step is an ordinary ARM
// or Key Vault call made as the principal the console acts as.
import { API_VERSIONS as V, ApiError, admin, arm, armGet, armList, principalInfo, settle, vault } from './api.js';
import { h, show, labelled, notify, act } from './dom.js';
import { crumbs, clusterTabs } from './resources.js';

const subOf = (id) => id.split('/')[2];
const KEY_PERMISSIONS = ['get', 'wrapKey', 'unwrapKey'];
const ALL_KEY_PERMISSIONS = ['get', 'list', 'create', 'update', 'import', 'delete', 'recover', 'backup',
  'restore', 'purge', 'encrypt', 'decrypt', 'wrapKey', 'unwrapKey', 'sign', 'verify', 'rotate'];
let uid = 0;

function radioGroup(legend, name, options, selected, onchange) {
  const id = `g${++uid}`;
  return h('fieldset', { role: 'radiogroup', 'aria-labelledby': id },
    h('legend', { id }, legend),
    options.map(([value, text]) => h('label', {},
      h('input', { type: 'radio', name, value, checked: value === selected, onchange: () => onchange(value) }), ' ', text)));
}

const option = (value, text, selected) => h('option', { value, selected: value === selected }, text);

// Why a finished operation failed, from its status body or else GET /_emulator/operations.
async function failure(outcome, clusterId) {
  if (outcome.error && outcome.error.code) return outcome.error;
  const ops = await admin('GET', `operations?status=Failed,Canceled&top=1&resource=${encodeURIComponent(clusterId)}`);
  return (ops.value && ops.value[0] && ops.value[0].error) || { code: outcome.status, message: '' };
}

async function patchCluster(id, body) {
  const res = await arm('PATCH', id, V.kusto, body);
  return settle(res);
}

export async function encryptionPane(params, current) {
  const id = params.get('id');
  const sub = subOf(id);
  const [cluster, vaults, identities] = await Promise.all([
    armGet(id, V.kusto),
    armList(`/subscriptions/${sub}/providers/Microsoft.KeyVault/vaults`, V.keyvault),
    armList(`/subscriptions/${sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`, V.msi)]);
  if (!current()) return;
  const kv = cluster.properties?.keyVaultProperties || {};
  const state = {
    on: !!kv.keyName,
    vault: kv.keyVaultUri ? new URL(kv.keyVaultUri).hostname.split('.')[0] : '',
    key: kv.keyName || '',
    version: kv.keyVersion || '',
    identityType: kv.keyName && kv.userIdentity ? 'user' : 'system',
    userIdentity: kv.userIdentity || Object.keys(cluster.identity?.userAssignedIdentities || {})[0] || identities[0]?.id || '',
  };

  const summary = h('p', { id: 'key-summary' });
  const describe = () => {
    summary.textContent = state.key
      ? `Key: ${state.key} in key vault ${state.vault}, ${state.version ? `version ${state.version}` : 'always the current key version'}`
      : 'No key selected.';
  };
  describe();

  // Select key: a panel with Key vault, Key, Version, "Always use current key version", Select.
  const vaultSelect = h('select', {}, option('', 'Choose a key vault', state.vault),
    vaults.map((v) => option(v.name, v.name, state.vault)));
  const keySelect = h('select', {});
  const versionSelect = h('select', {});
  const always = h('input', { type: 'checkbox', checked: !state.version });
  const panelMessage = h('p', { role: 'status' });
  const fill = (select, values, selected, empty) => {
    select.replaceChildren(option('', empty, selected), ...values.map(([v, t]) => option(v, t, selected)));
  };
  async function loadKeys() {
    fill(keySelect, [], '', 'Choose a key');
    fill(versionSelect, [], '', 'Choose a version');
    panelMessage.textContent = '';
    if (!vaultSelect.value) return;
    try {
      const keys = await vault(vaultSelect.value, 'GET', '/keys?maxresults=25');
      const names = (keys.value || []).map((k) => k.kid.split('/').pop());
      fill(keySelect, names.map((n) => [n, n]), state.vault === vaultSelect.value ? state.key : '', 'Choose a key');
      await loadVersions();
    } catch (e) {
      panelMessage.textContent = `Cannot list the keys of ${vaultSelect.value}: ${e.message}`;
    }
  }
  async function loadVersions() {
    fill(versionSelect, [], '', 'Choose a version');
    if (!keySelect.value) return;
    try {
      const list = await vault(vaultSelect.value, 'GET', `/keys/${encodeURIComponent(keySelect.value)}/versions?maxresults=25`);
      const versions = (list.value || []).sort((a, b) => (b.attributes?.created || 0) - (a.attributes?.created || 0));
      fill(versionSelect, versions.map((k) => {
        const v = k.kid.split('/').pop();
        return [v, `${v}${k.attributes?.enabled === false ? ' (disabled)' : ''}`];
      }), state.version, 'Choose a version');
    } catch (e) {
      panelMessage.textContent = `Cannot list the versions of ${keySelect.value}: ${e.message}`;
    }
  }
  vaultSelect.addEventListener('change', loadKeys);
  keySelect.addEventListener('change', loadVersions);
  const syncVersion = () => { versionSelect.disabled = always.checked; };
  always.addEventListener('change', syncVersion);
  syncVersion();

  const selectKeyButton = h('button', { type: 'button', 'aria-expanded': 'false' }, 'Select key');
  // "Create new", as in the Azure portal: a vault fit for a customer-managed key (soft delete,
  // purge protection, the cluster's region and group, full key permissions for the acting
  // principal), and an RSA 2048 key in the chosen vault.
  const createForm = (buttonText, inputLabel, submitText, create) => {
    const input = h('input', { type: 'text', pattern: '[A-Za-z0-9\\-]{3,127}', required: true });
    const form = h('form', { hidden: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (await act(`${submitText} ${name}`, () => create(name))) { form.hidden = true; toggle.focus(); }
    } }, labelled(inputLabel, input), h('button', { type: 'submit' }, submitText));
    const toggle = h('button', { type: 'button', onclick: () => { form.hidden = !form.hidden; if (!form.hidden) input.focus(); } }, buttonText);
    return [toggle, form];
  };
  const [newVaultButton, newVaultForm] = createForm('Create new key vault', 'New key vault name', 'Create key vault', async (name) => {
    const me = await principalInfo('arm');
    const res = await arm('PUT', `/subscriptions/${sub}/resourceGroups/${id.split('/')[4]}/providers/Microsoft.KeyVault/vaults/${encodeURIComponent(name)}`,
      V.keyvault, { location: cluster.location, properties: { tenantId: me.tenantId, sku: { family: 'A', name: 'standard' },
        enableSoftDelete: true, enablePurgeProtection: true,
        accessPolicies: [{ tenantId: me.tenantId, objectId: me.objectId, permissions: { keys: ALL_KEY_PERMISSIONS } }] } });
    const outcome = await settle(res);
    if (outcome.status !== 'Succeeded') throw new Error(`${outcome.error?.code}: ${outcome.error?.message}`);
    vaultSelect.append(option(name, name, ''));
    vaultSelect.value = name;
    await loadKeys();
    return `key vault ${name} created`;
  });
  const [newKeyButton, newKeyForm] = createForm('Create new key', 'New key name', 'Create key', async (name) => {
    if (!vaultSelect.value) throw new Error('choose a key vault first');
    const k = await vault(vaultSelect.value, 'POST', `/keys/${encodeURIComponent(name)}/create`, { kty: 'RSA', key_size: 2048 });
    keySelect.append(option(name, name, ''));
    keySelect.value = name;
    await loadVersions();
    return `version ${k.key.kid.split('/').pop()}`;
  });

  const panel = h('dialog', { 'aria-label': 'Select key' },
    h('div', {}, labelled('Key vault', vaultSelect), newVaultButton), newVaultForm,
    h('div', {}, labelled('Key', keySelect), newKeyButton), newKeyForm,
    h('div', {}, labelled('Version', versionSelect)),
    h('div', {}, h('label', {}, always, ' Always use current key version')),
    panelMessage,
    h('button', {
      type: 'button',
      onclick: () => {
        if (!vaultSelect.value || !keySelect.value || (!always.checked && !versionSelect.value)) {
          panelMessage.textContent = 'Choose a key vault, a key and a version (or always use the current key version).';
          return;
        }
        state.vault = vaultSelect.value;
        state.key = keySelect.value;
        state.version = always.checked ? '' : versionSelect.value;
        describe();
        panel.close();
        selectKeyButton.setAttribute('aria-expanded', 'false');
        selectKeyButton.focus();
      },
    }, 'Select'));
  selectKeyButton.addEventListener('click', async () => {
    if (panel.open) { panel.close(); selectKeyButton.setAttribute('aria-expanded', 'false'); return; }
    panel.show();
    selectKeyButton.setAttribute('aria-expanded', 'true');
    vaultSelect.focus();
    if (vaultSelect.value && keySelect.options.length <= 1) await loadKeys();
  });

  const identitySelect = h('select', {}, identities.map((i) => option(i.id, i.name, state.userIdentity)));
  const syncIdentity = () => { identitySelect.disabled = state.identityType !== 'user'; };
  identitySelect.addEventListener('change', () => { state.userIdentity = identitySelect.value; });
  syncIdentity();

  const settings = h('div', { hidden: !state.on },
    h('h3', {}, 'Key'), summary, selectKeyButton, panel,
    radioGroup('Identity type', 'identity-type', [['system', 'System assigned'], ['user', 'User assigned']],
      state.identityType, (v) => { state.identityType = v; syncIdentity(); }),
    h('div', {}, labelled('User assigned identity', identitySelect)));

  const saveButton = h('button', { type: 'button' }, 'Save');
  saveButton.addEventListener('click', async () => {
    saveButton.disabled = true;
    try {
      await save(id, state);
    } finally {
      saveButton.disabled = false;
    }
  });

  show(crumbs(id), h('h1', {}, `Cluster ${cluster.name}`), clusterTabs(id, 'encryption'),
    h('section', { 'aria-labelledby': 'encryption-title' },
      h('h2', { id: 'encryption-title' }, 'Encryption'),
      radioGroup('Customer-managed key', 'cmk', [['on', 'On'], ['off', 'Off']], state.on ? 'on' : 'off',
        (v) => { state.on = v === 'on'; settings.hidden = !state.on; }),
      settings, saveButton));
}

async function save(id, state) {
  const name = id.split('/').pop();
  const label = `Encryption settings of cluster ${name}`;
  try {
    if (!state.on) {
      const outcome = await patchCluster(id, { properties: { keyVaultProperties: {} } });
      return report(label, outcome, id, 'customer-managed key removed');
    }
    if (!state.key) { notify(`${label}: select a key first`, 'failed'); return; }
    const vaults = await armList(`/subscriptions/${subOf(id)}/providers/Microsoft.KeyVault/vaults`, V.keyvault);
    const v = vaults.find((x) => x.name.toLowerCase() === state.vault.toLowerCase());
    if (!v) { notify(`${label} failed: KeyVaultNotFound: no key vault ${state.vault}`, 'failed'); return; }
    let cluster = await armGet(id, V.kusto);
    const ids = cluster.identity?.userAssignedIdentities || {};
    const hasSystem = (cluster.identity?.type || '').includes('SystemAssigned');
    const wantUser = state.identityType === 'user';
    const userAssigned = Object.fromEntries(Object.keys(ids).map((k) => [k, {}]));
    const needsIdentity = wantUser
      ? !Object.keys(ids).some((k) => k.toLowerCase() === state.userIdentity.toLowerCase())
      : !hasSystem;
    if (needsIdentity) {
      if (wantUser) userAssigned[state.userIdentity] = {};
      const system = hasSystem || !wantUser;
      const users = Object.keys(userAssigned).length > 0;
      const type = system && users ? 'SystemAssigned, UserAssigned' : system ? 'SystemAssigned' : 'UserAssigned';
      const identity = users ? { type, userAssignedIdentities: userAssigned } : { type };
      const outcome = await patchCluster(id, { identity });
      if (outcome.status !== 'Succeeded') return report(label, outcome, id);
      notify(wantUser ? `Assigned identity ${state.userIdentity.split('/').pop()} to cluster ${name}`
        : `Created the system-assigned identity of cluster ${name}`, 'succeeded');
      cluster = await armGet(id, V.kusto);
    }
    if (!wantUser) {
      // The portal's shortcut: the system identity gets get, wrapKey and unwrapKey on the vault.
      await arm('PUT', `${v.id}/accessPolicies/add`, V.keyvault, {
        properties: { accessPolicies: [{ tenantId: cluster.identity.tenantId || v.properties.tenantId,
          objectId: cluster.identity.principalId, permissions: { keys: KEY_PERMISSIONS } }] },
      });
      notify(`Granted ${KEY_PERMISSIONS.join(', ')} on key vault ${v.name} to the system-assigned identity of cluster ${name}`, 'succeeded');
    }
    const outcome = await patchCluster(id, { properties: { keyVaultProperties: {
      keyVaultUri: v.properties.vaultUri, keyName: state.key, keyVersion: state.version,
      userIdentity: wantUser ? state.userIdentity : '' } } });
    return report(label, outcome, id, `key ${state.key} of ${v.name} in use`);
  } catch (e) {
    const text = e instanceof ApiError ? `${e.code}: ${e.detail}` : String(e.message || e);
    notify(`${label} failed: ${text}`, 'failed');
  }
}

async function report(label, outcome, id, success) {
  if (outcome.status === 'Succeeded') {
    notify(`${label} saved: Succeeded (${success || 'done'})`, 'succeeded');
    return;
  }
  const error = await failure(outcome, id);
  notify(`${label} ${outcome.status === 'Canceled' ? 'canceled' : 'failed'}: ${error.code}: ${error.message}`, 'failed');
}
