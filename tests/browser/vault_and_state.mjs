// Key vault pages and the State panel: create a key, disable and enable a version, delete the key
// and recover it, then a purge the access policy refuses (the fixture's principal has "all" key
// permissions, which do not include purge: Key Vault's Forbidden in Notifications);
// "Export with secrets" asks first: dismissed, nothing is downloaded; accepted, the export carries
// the key material and client secrets that the plain export leaves out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserTest, open, check, IDS, PORTAL_FLAGS } from './lib/harness.mjs';

await browserTest(import.meta.filename, PORTAL_FLAGS, async ({ page, emulator, shot }) => {
  const notifications = page.getByRole('region', { name: 'Notifications', exact: true });
  let answer = 'accept';
  const asked = [];
  page.on('dialog', (d) => { asked.push(d.message()); answer === 'accept' ? d.accept() : d.dismiss(); });

  await open(page, emulator, `#/vault?id=${encodeURIComponent(IDS.vault)}`);
  await page.getByRole('textbox', { name: 'New key name', exact: true }).fill('portal-test');
  await page.getByRole('button', { name: 'Create key', exact: true }).click();
  await notifications.getByText(/Create key portal-test in cmk-kv: version [0-9a-f]{32}/).waitFor();
  await page.getByRole('link', { name: 'portal-test', exact: true }).click();
  const disable = page.getByRole('button', { name: /^Disable version [0-9a-f]{32}$/ });
  await disable.click();
  await page.getByRole('button', { name: /^Enable version [0-9a-f]{32}$/ }).waitFor();
  check(await page.getByRole('cell', { name: 'no', exact: true }).count() === 1, 'the version shows as disabled');
  await shot('version-disabled');
  await page.getByRole('button', { name: /^Enable version/ }).click();
  await disable.waitFor();

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await notifications.getByText('Delete key portal-test: done').waitFor();
  check(asked.some((m) => m.includes('Delete key portal-test')), 'Delete asks first');
  await page.getByRole('button', { name: 'Recover portal-test', exact: true }).click();
  await notifications.getByText('Recover key portal-test: done').waitFor();
  await page.getByRole('link', { name: 'portal-test', exact: true }).click();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('button', { name: 'Purge portal-test', exact: true }).click();
  await notifications.getByText(/Purge key portal-test failed: Forbidden: .* does not have keys purge permission/).waitFor();
  await shot('purge-refused');
  check(await page.getByRole('button', { name: 'Purge portal-test', exact: true }).isVisible(), 'the key stays deleted, not purged');

  await page.getByRole('link', { name: 'State', exact: true }).click();
  const downloads = [];
  page.on('download', (d) => downloads.push(d));
  answer = 'dismiss';
  await page.getByRole('button', { name: 'Export with secrets', exact: true }).click();
  check(asked.some((m) => m.includes('private keys and secrets')), 'the secret export asks first');
  const [plain] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export', exact: true }).click()]);
  answer = 'accept';
  const [secret] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export with secrets', exact: true }).click()]);
  check(downloads.length === 2, `only the accepted exports download: ${downloads.map((d) => d.suggestedFilename())}`);
  const dir = emulator.work;
  await plain.saveAs(join(dir, 'plain.json'));
  await secret.saveAs(join(dir, 'secret.json'));
  const plainText = readFileSync(join(dir, 'plain.json'), 'utf8');
  const secretText = readFileSync(join(dir, 'secret.json'), 'utf8');
  check(!plainText.includes('"material"') && !plainText.includes('emulator-secret'), 'the plain export holds no key material or secret');
  check(secretText.includes('"material"') && secretText.includes('emulator-secret'), 'the export with secrets holds them');
  await notifications.getByText('Export the state with secrets: with secrets').waitFor();
});
