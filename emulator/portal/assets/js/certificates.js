// A key vault's certificates: the list, a new self-signed certificate (issuer Self), deleted
// certificates (Recover, Purge); a certificate's page: its pending operation, polled until it ends,
// its versions with thumbprint, subject and expiry, Enable/Disable, Download (.cer), Delete.
import { vault, vaultList } from './api.js';
import { h, show, props, table, link, labelled, act, errorText, notify, date, rerender } from './dom.js';
import { crumbs, vaultTabs } from './resources.js';
import { startLive, stopLive } from './live.js';

const q = encodeURIComponent;
const last = (id) => id.split('/').pop();
const KEY_SIZES = { RSA: ['2048', '3072', '4096'], EC: ['P-256', 'P-384', 'P-521'] };
const CONTENT_TYPES = [['application/x-pkcs12', 'PKCS #12'], ['application/x-pem-file', 'PEM']];

const bytesOf = (b64) => Uint8Array.from(atob(b64.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
// x5t (SHA-1, base64url) as the hex thumbprint the Azure portal shows.
const thumbprint = (x5t) => (x5t ? [...bytesOf(x5t)].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase() : '');

// The subject of a DER certificate ("CN=app, O=Contoso"), read with a minimal DER walk:
// Certificate > tbsCertificate > [version], serial, signature, issuer, validity, subject.
const NAMES = { '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'E' };
function node(b, at) {
  let len = b[at + 1], start = at + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + b[start++];
  }
  return { tag: b[at], start, end: start + len };
}
function inside(b, n) {
  const out = [];
  for (let at = n.start; at < n.end; at = out[out.length - 1].end) out.push(node(b, at));
  return out;
}
function oid(b, n) {
  const parts = [Math.floor(b[n.start] / 40), b[n.start] % 40];
  for (let i = n.start + 1, v = 0; i < n.end; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) { parts.push(v); v = 0; }
  }
  return parts.join('.');
}
export function subjectOf(cer) {
  try {
    const b = bytesOf(cer);
    let fields = inside(b, inside(b, node(b, 0))[0]);
    if (fields[0].tag === 0xa0) fields = fields.slice(1);
    return inside(b, fields[4]).flatMap((set) => inside(b, set).map((pair) => {
      const [type, value] = inside(b, pair);
      const o = oid(b, type);
      return `${NAMES[o] || o}=${new TextDecoder().decode(b.subarray(value.start, value.end))}`;
    })).join(', ');
  } catch { return ''; }
}

export async function certificatesPage(params, current) {
  const id = params.get('vault');
  const name = last(id);
  let certificates = [], deleted = [], error = null;
  try {
    [certificates, deleted] = await Promise.all([vaultList(name, '/certificates?maxresults=25&includePending=true'),
      vaultList(name, '/deletedcertificates?maxresults=25').catch(() => [])]);
  } catch (e) { error = e; }
  if (!current()) return;
  show(crumbs(id), vaultTabs(id, 'certificates'), h('h1', {}, `Certificates of key vault ${name}`),
    error ? errorText(error) : certificates.length ? table(['Certificate', 'Thumbprint', 'Enabled', 'Expires', 'Updated'],
      certificates.map((c) => {
        const cn = last(c.id);
        return [link(`#/certificate?vault=${q(id)}&name=${q(cn)}`, cn), c.x5t ? thumbprint(c.x5t) : 'pending',
          c.attributes?.enabled ? 'yes' : 'no', date(c.attributes?.exp), date(c.attributes?.updated)];
      })) : h('p', { class: 'muted' }, 'No certificates.'),
    createForm(id, name),
    h('h2', {}, 'Deleted certificates'),
    deleted.length ? table(['Certificate', 'Deleted', 'Purge date', ''], deleted.map((c) => {
      const cn = last(c.id);
      return [cn, date(c.deletedDate), date(c.scheduledPurgeDate), h('span', {},
        h('button', { type: 'button', 'aria-label': `Recover ${cn}`, onclick: async () => {
          if (await act(`Recover certificate ${cn}`, () => vault(name, 'POST', `/deletedcertificates/${q(cn)}/recover`))) rerender();
        } }, 'Recover'),
        h('button', { type: 'button', 'aria-label': `Purge ${cn}`, onclick: async () => {
          if (!confirm(`Purge certificate ${cn} for good? Its key and secret go with it.`)) return;
          if (await act(`Purge certificate ${cn}`, () => vault(name, 'DELETE', `/deletedcertificates/${q(cn)}`))) rerender();
        } }, 'Purge'))];
    })) : h('p', { class: 'muted' }, 'No deleted certificates.'));
}

// "New self-signed certificate": the policy of an issuer-Self create.
function createForm(id, name) {
  const certName = h('input', { type: 'text', pattern: '[A-Za-z0-9\\-]{1,127}', required: true });
  const subject = h('input', { type: 'text', required: true, placeholder: 'CN=app.contoso.com', size: 30 });
  const dns = h('input', { type: 'text', placeholder: 'app.contoso.com, www.contoso.com', size: 30 });
  const months = h('input', { type: 'number', min: '1', max: '1200', value: '12', required: true });
  const size = h('select', {});
  const fillSizes = () => size.replaceChildren(...KEY_SIZES[kty.value].map((s) => h('option', { value: s }, s)));
  const kty = h('select', { onchange: fillSizes }, Object.keys(KEY_SIZES).map((k) => h('option', { value: k }, k)));
  fillSizes();
  const contentType = h('select', {}, CONTENT_TYPES.map(([v, t]) => h('option', { value: v }, t)));
  return h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const cn = certName.value;
      const policy = {
        issuer: { name: 'Self' },
        key_props: { kty: kty.value, ...(kty.value === 'EC' ? { crv: size.value } : { key_size: Number(size.value) }),
          exportable: true, reuse_key: false },
        secret_props: { contentType: contentType.value },
        x509_props: { subject: subject.value.trim(), validity_months: Number(months.value),
          sans: { dns_names: dns.value.split(/[\s,]+/).filter((d) => d) } },
      };
      if (await act(`Create certificate ${cn} in ${name}`, async () =>
        `operation ${(await vault(name, 'POST', `/certificates/${q(cn)}/create`, { policy })).status}`))
        location.hash = `#/certificate?vault=${q(id)}&name=${q(cn)}`;
    },
  }, h('fieldset', {}, h('legend', {}, 'New self-signed certificate'),
    h('div', {}, labelled('Certificate name', certName), labelled('Subject', subject), labelled('DNS names', dns)),
    h('div', {}, labelled('Validity (months)', months), labelled('Key type', kty), labelled('Key size', size),
      labelled('Secret content type', contentType)),
    h('button', { type: 'submit' }, 'Create certificate')));
}

function download(cn, cer) {
  const a = h('a', { href: URL.createObjectURL(new Blob([bytesOf(cer)], { type: 'application/pkix-cert' })), download: `${cn}.cer` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export async function certificatePage(params, current) {
  const id = params.get('vault'), cn = params.get('name');
  const name = last(id);
  const base = `/certificates/${q(cn)}`;
  const [cert, list] = await Promise.all([vault(name, 'GET', base), vaultList(name, `${base}/versions?maxresults=25`)]);
  const operation = cert.pending ? await vault(name, 'GET', `${base}/pending`).catch(() => null) : null;
  // Newest first (the list is in creation order; the sort is stable). The 25 newest versions'
  // certificates are read for their subject (the policy's subject is today's, not the version's).
  list.reverse().sort((a, b) => (b.attributes?.created || 0) - (a.attributes?.created || 0));
  const versions = await Promise.all(list.map((v, i) => (v.x5t && i < 25 ? vault(name, 'GET', `${base}/${last(v.id)}`)
    .then((full) => ({ ...v, subject: subjectOf(full.cer || '') })).catch(() => v) : v)));
  if (!current()) return;
  const policy = cert.policy || {};
  const key = policy.key_props || {};
  const running = operation && operation.status === 'inProgress';
  show(crumbs(id), vaultTabs(id, 'certificates'), h('h1', {}, `Certificate ${cn}`),
    h('p', {}, link(`#/certificates?vault=${q(id)}`, `Back to the certificates of ${name}`)),
    props([['Current version', last(cert.id)], ['Subject', cert.cer ? subjectOf(cert.cer) : policy.x509_props?.subject],
      ['DNS names', (policy.x509_props?.sans?.dns_names || []).join(', ')], ['Thumbprint', thumbprint(cert.x5t)],
      ['Not before', date(cert.attributes?.nbf)], ['Expires', date(cert.attributes?.exp)],
      ['Key', `${key.kty || ''} ${key.crv || key.key_size || ''}`], ['Issuer', policy.issuer?.name],
      ['Secret content type', policy.secret_props?.contentType], ['Enabled', String(cert.attributes?.enabled !== false)],
      cert.sid && ['Secret', link(`#/secret?vault=${q(id)}&name=${q(cn)}`, `${cn} (the key and certificate chain)`)]]),
    cert.cer && h('button', { type: 'button', onclick: () => download(cn, cert.cer) }, 'Download certificate (.cer)'),
    h('button', { type: 'button', onclick: async () => {
      if (!confirm(`Delete certificate ${cn}? Its key and secret go with it.`)) return;
      if (await act(`Delete certificate ${cn}`, () => vault(name, 'DELETE', base))) location.hash = `#/certificates?vault=${q(id)}`;
    } }, 'Delete'),
    operation && [h('h2', {}, 'Certificate operation'),
      props([['Status', operation.status], ['Details', operation.status_details],
        ['Issuer', operation.issuer?.name], ['Error', operation.error && `${operation.error.code}: ${operation.error.message}`],
        ['Request id', operation.request_id]]),
      running && h('p', { class: 'muted' }, 'Waiting for the operation to end (checked every second).'),
      running && h('button', { type: 'button', onclick: async () => {
        if (await act(`Cancel the operation of certificate ${cn}`, () => vault(name, 'PATCH', `${base}/pending`,
          { cancellation_requested: true }))) rerender();
      } }, 'Cancel operation')],
    h('h2', {}, 'Versions'),
    table(['Version', 'Thumbprint', 'Subject', 'Expires', 'Enabled', ''], versions.map((v) => {
      const ver = last(v.id);
      const enabled = v.attributes?.enabled !== false;
      return [ver, v.x5t ? thumbprint(v.x5t) : 'pending', v.subject, date(v.attributes?.exp), enabled ? 'yes' : 'no',
        v.x5t && h('button', { type: 'button', 'aria-label': `${enabled ? 'Disable' : 'Enable'} version ${ver}`, onclick: async () => {
          if (await act(`${enabled ? 'Disable' : 'Enable'} version ${ver} of certificate ${cn}`,
            () => vault(name, 'PATCH', `${base}/${ver}`, { attributes: { enabled: !enabled } }))) rerender();
        } }, enabled ? 'Disable' : 'Enable')];
    })));
  if (running) {
    // Each poll is a read of the operation, which is what lets the emulator complete it.
    let ended = false;
    startLive(async () => {
      const now = await vault(name, 'GET', `${base}/pending`).catch(() => null);
      if (ended || !current() || !now || now.status === 'inProgress') return;
      ended = true;
      stopLive();
      notify(`Certificate ${cn}: operation ${now.status}${now.error ? ` (${now.error.code}: ${now.error.message})` : ''}`,
        now.status === 'completed' ? 'succeeded' : 'failed');
      rerender();
    }, 1000);
  }
}
