// The vault's Secrets and Certificates tabs. Secrets: more than one page of them listed; set one
// (its value stays off the page until Show value), a new version, disable it (its value is then
// refused), delete and recover.
// Certificates: a self-signed one created from the form, pending while the virtual clock is frozen
// and completed once it is advanced (the console polls the operation), its subject and thumbprint
// matching the downloaded .cer, then deleted and purged. The access-policy editor grants secret
// and certificate permissions. Each write is checked from outside the page: a data-plane or ARM
// read of the test's own, with a token of its own.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserTest, open, check } from './lib/harness.mjs';

const VAULT = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/cert-rg/providers/Microsoft.KeyVault/vaults/cert-kv';

// A call of the test's own through the console's road to ARM or to vault cert-kv, with a token
// the emulator issues to the default principal: {status, json}.
async function outside(emulator, kind, method, path, body) {
  const page = await (await fetch(`${emulator.base}/_emulator/portal/`)).text();
  const consoleToken = page.match(/name="cmk-console-token" content="([0-9a-f]+)"/)[1];
  const headers = { 'X-Cmk-Console-Token': consoleToken, 'Content-Type': 'application/json' };
  const t = await (await fetch(`${emulator.base}/_emulator/portal/token`, { method: 'POST', headers,
    body: JSON.stringify({ resource: kind === 'arm' ? 'arm' : 'vault' }) })).json();
  const prefix = kind === 'arm' ? 'arm' : 'vault/cert-kv';
  const version = kind === 'arm' ? '2023-07-01' : '7.4';
  const res = await fetch(`${emulator.base}/_emulator/portal/api/${prefix}${path}${path.includes('?') ? '&' : '?'}api-version=${version}`,
    { method, headers: { ...headers, Authorization: `Bearer ${t.access_token}` }, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

await browserTest(import.meta.filename, ['--fixture', 'fixtures/seed-vault-certificates.json'], async ({ page, emulator, shot }) => {
  const notifications = page.getByRole('region', { name: 'Notifications', exact: true });
  const heading = (text) => page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor();
  const dd = (term) => page.locator(`dt:text-is("${term}") + dd`);
  const asked = [];
  page.on('dialog', (d) => { asked.push(d.message()); d.accept(); });
  const data = (method, path, body) => outside(emulator, 'vault', method, path, body);

  // --- secrets: more than a page of them (25), set from outside, all listed
  for (let i = 0; i < 27; i++) await data('PUT', `/secrets/bulk-${String(i).padStart(2, '0')}`, { value: `v${i}` });
  const first = 'first-value-9f3b2c', second = 'second-value-71ad04';
  await open(page, emulator, `#/secrets?vault=${encodeURIComponent(VAULT)}`);
  await heading('Secrets of key vault cert-kv');
  check(await page.getByRole('link', { name: /^bulk-\d\d$/ }).count() === 27, 'every page of the list is shown');
  await page.getByRole('textbox', { name: 'Secret name', exact: true }).fill('app-password');
  await page.getByLabel('Secret value', { exact: true }).fill(first);
  await page.getByRole('textbox', { name: 'Content type', exact: true }).fill('text/plain');
  await page.getByRole('button', { name: 'Set secret', exact: true }).click();
  const set = notifications.getByText(/Set secret app-password in cert-kv: version [0-9a-f]{32}/);
  await set.waitFor();
  check(!(await set.textContent()).includes(first), 'Notifications never carry the value');
  await page.getByRole('link', { name: 'app-password', exact: true }).click();
  await heading('Secret app-password');
  let read = await data('GET', '/secrets/app-password');
  check(read.status === 200 && read.json.value === first && read.json.contentType === 'text/plain', `the secret was set: ${JSON.stringify(read)}`);
  check(!(await page.content()).includes(first), 'the value is not on the page before Show value');
  await page.getByRole('button', { name: 'Show value', exact: true }).click();
  const valueBox = page.getByLabel('Secret value', { exact: true });
  check((await valueBox.textContent()) === first, `Show value shows it: ${await valueBox.textContent()}`);
  await shot('secret-value-shown');
  await page.getByRole('button', { name: 'Hide value', exact: true }).click();
  await valueBox.waitFor({ state: 'detached' });
  check(!(await page.content()).includes(first), 'Hide value takes it off the page');

  await page.getByLabel('New value', { exact: true }).fill(second);
  await page.getByRole('button', { name: 'Set new version', exact: true }).click();
  const newVersion = notifications.getByText(/Set a new version of secret app-password: version [0-9a-f]{32}/);
  await newVersion.waitFor();
  const v2 = (await newVersion.textContent()).match(/version ([0-9a-f]{32})/)[1];
  await page.getByRole('cell', { name: v2, exact: true }).waitFor();
  check(await page.getByRole('button', { name: /^Disable version [0-9a-f]{32}$/ }).count() === 2, 'two versions are listed');
  check((await dd('Current version').textContent()) === v2, 'the new version is the current one');
  read = await data('GET', '/secrets/app-password');
  check(read.json.value === second && read.json.id.endsWith(v2), `the new version is the secret's value: ${JSON.stringify(read.json.id)}`);

  await page.getByRole('button', { name: `Disable version ${v2}`, exact: true }).click();
  await page.getByRole('button', { name: `Enable version ${v2}`, exact: true }).waitFor();
  read = await data('GET', `/secrets/app-password/${v2}`);
  check(read.status === 403, `a disabled version is refused: ${read.status}`);
  await page.getByRole('button', { name: `Show value of version ${v2}`, exact: true }).click();
  await notifications.getByText(new RegExp(`Show value of version ${v2} of secret app-password failed: Forbidden`)).waitFor();
  await shot('secret-version-disabled');

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await heading('Secrets of key vault cert-kv');
  await notifications.getByText('Delete secret app-password: done').waitFor();
  check(asked.some((m) => m.includes('Delete secret app-password')), 'Delete asks first');
  check((await data('GET', '/deletedsecrets/app-password')).status === 200, 'the secret is among the deleted ones');
  await page.getByRole('button', { name: 'Recover app-password', exact: true }).click();
  await notifications.getByText('Recover secret app-password: done').waitFor();
  await page.getByRole('link', { name: 'app-password', exact: true }).waitFor();
  read = await data('GET', '/secrets/app-password/versions');
  check(read.status === 200 && read.json.value.length === 2, `recovered with both versions: ${JSON.stringify(read)}`);

  // --- certificates: pending on a frozen clock, completed once it moves
  await emulator.admin('PUT', 'clock', { frozen: true });
  await page.getByRole('navigation', { name: 'Key vault' }).getByRole('link', { name: 'Certificates', exact: true }).click();
  await heading('Certificates of key vault cert-kv');
  await page.getByRole('textbox', { name: 'Certificate name', exact: true }).fill('web-tls');
  await page.getByRole('textbox', { name: 'Subject', exact: true }).fill('CN=web.contoso.test');
  await page.getByRole('textbox', { name: 'DNS names', exact: true }).fill('web.contoso.test, www.contoso.test');
  await page.getByRole('spinbutton', { name: 'Validity (months)', exact: true }).fill('6');
  await page.getByRole('combobox', { name: 'Key type', exact: true }).selectOption('RSA');
  await page.getByRole('combobox', { name: 'Key size', exact: true }).selectOption('2048');
  await page.getByRole('combobox', { name: 'Secret content type', exact: true }).selectOption('application/x-pem-file');
  await page.getByRole('button', { name: 'Create certificate', exact: true }).click();
  await notifications.getByText('Create certificate web-tls in cert-kv: operation inProgress').waitFor();
  await heading('Certificate web-tls');
  check((await dd('Status').textContent()) === 'inProgress', `pending while the clock stands: ${await dd('Status').textContent()}`);
  check((await data('GET', '/certificates/web-tls/pending')).json.status === 'inProgress', 'the operation is in progress');
  await shot('certificate-pending');

  await emulator.admin('POST', 'clock/advance', { seconds: 5 });
  await notifications.getByText('Certificate web-tls: operation completed').waitFor();
  await dd('Status').filter({ hasText: /^completed$/ }).waitFor();
  const thumb = (await dd('Thumbprint').textContent()).trim();
  check(/^[0-9A-F]{40}$/.test(thumb), `a thumbprint: ${thumb}`);
  check((await dd('Subject').textContent()) === 'CN=web.contoso.test', `the subject: ${await dd('Subject').textContent()}`);
  check((await dd('DNS names').textContent()) === 'web.contoso.test, www.contoso.test', 'the DNS names');
  await page.getByRole('cell', { name: 'CN=web.contoso.test', exact: true }).waitFor();
  const cert = await data('GET', '/certificates/web-tls');
  check(cert.status === 200 && Buffer.from(cert.json.x5t, 'base64url').toString('hex').toUpperCase() === thumb,
    `the page's thumbprint is the certificate's: ${JSON.stringify(cert.json.x5t)}`);
  await shot('certificate-completed');

  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download certificate (.cer)', exact: true }).click()]);
  check(download.suggestedFilename() === 'web-tls.cer', `the file name: ${download.suggestedFilename()}`);
  const file = join(emulator.work, 'web-tls.cer');
  await download.saveAs(file);
  const der = readFileSync(file);
  check(der.equals(Buffer.from(cert.json.cer, 'base64')), 'the .cer is the certificate\'s DER');
  const x509 = new X509Certificate(der);
  check(x509.subject === 'CN=web.contoso.test' && x509.fingerprint.replace(/:/g, '') === thumb,
    `the downloaded certificate: ${x509.subject} ${x509.fingerprint}`);
  check(x509.subjectAltName === 'DNS:web.contoso.test, DNS:www.contoso.test', `its SANs: ${x509.subjectAltName}`);

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await heading('Certificates of key vault cert-kv');
  await page.getByRole('button', { name: 'Purge web-tls', exact: true }).click();
  await notifications.getByText('Purge certificate web-tls: done').waitFor();
  await page.getByText('No deleted certificates.', { exact: true }).waitFor();
  check(asked.some((m) => m.includes('Purge certificate web-tls')), 'Purge asks first');
  check((await data('GET', '/deletedcertificates/web-tls')).status === 404, 'purged: not among the deleted ones');
  check((await data('GET', '/certificates/web-tls')).status === 404, 'purged: gone');
  await shot('certificate-purged');

  // --- access policies: secret and certificate permissions
  await page.getByRole('navigation', { name: 'Key vault' }).getByRole('link', { name: 'Overview', exact: true }).click();
  await heading('Key vault cert-kv');
  const other = '33333333-0000-0000-0000-000000000003';
  await page.getByRole('textbox', { name: 'Object id', exact: true }).fill(other);
  const group = (name) => page.getByRole('group', { name, exact: true });
  await group('Secret permissions').getByRole('checkbox', { name: 'get', exact: true }).check();
  await group('Secret permissions').getByRole('checkbox', { name: 'list', exact: true }).check();
  await group('Certificate permissions').getByRole('checkbox', { name: 'get', exact: true }).check();
  await page.getByRole('button', { name: 'Add access policy', exact: true }).click();
  await notifications.getByText(`Add access policy for ${other}: done`).waitFor();
  const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: other, exact: true }) });
  await row.waitFor();
  check((await row.getByRole('cell').allTextContents()).slice(1, 4).join('|') === '|get, list|get', `the policy's row: ${await row.textContent()}`);
  const arm = await outside(emulator, 'arm', 'GET', VAULT);
  const entry = arm.json.properties.accessPolicies.find((ap) => ap.objectId === other);
  check(entry && JSON.stringify(entry.permissions.secrets) === '["get","list"]' && JSON.stringify(entry.permissions.certificates) === '["get"]',
    `the vault's access policy: ${JSON.stringify(entry)}`);
});
