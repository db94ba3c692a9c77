// Create new (a key vault, then a key in it) and the System assigned shortcut: the cluster has no
// system identity; Save creates it, grants it get, wrapKey and unwrapKey on the new vault's access
// policies, then sets the key (a pinned version chosen in Version). Notifications report each
// step; the vault page shows the grant.
import { browserTest, open, check, IDS, PORTAL_FLAGS } from './lib/harness.mjs';

await browserTest(import.meta.filename, PORTAL_FLAGS, async ({ page, emulator, shot }) => {
  await open(page, emulator, `#/encryption?id=${encodeURIComponent(IDS.cluster)}`);
  const pane = page.getByRole('region', { name: 'Encryption', exact: true });
  await pane.getByRole('radio', { name: 'On', exact: true }).check();
  await pane.getByRole('button', { name: 'Select key', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Select key', exact: true });
  const notifications = page.getByRole('region', { name: 'Notifications', exact: true });
  // Create new: a vault (soft delete and purge protection, the acting principal may use keys),
  // then a key in it.
  await dialog.getByRole('button', { name: 'Create new key vault', exact: true }).click();
  await dialog.getByRole('textbox', { name: 'New key vault name', exact: true }).fill('portal-kv');
  await dialog.getByRole('button', { name: 'Create key vault', exact: true }).click();
  await notifications.getByText('Create key vault portal-kv: key vault portal-kv created').waitFor();
  check(await dialog.getByRole('combobox', { name: 'Key vault', exact: true }).inputValue() === 'portal-kv', 'the new vault is chosen');
  await dialog.getByRole('button', { name: 'Create new key', exact: true }).click();
  await dialog.getByRole('textbox', { name: 'New key name', exact: true }).fill('portal-key');
  await dialog.getByRole('button', { name: 'Create key', exact: true }).click();
  await notifications.getByText(/Create key portal-key: version [0-9a-f]{32}/).waitFor();
  const key = dialog.getByRole('combobox', { name: 'Key', exact: true });
  check(await key.inputValue() === 'portal-key', 'the new key is chosen');
  await dialog.getByRole('checkbox', { name: 'Always use current key version', exact: true }).uncheck();
  const version = dialog.getByRole('combobox', { name: 'Version', exact: true });
  check(await version.isEnabled(), 'Version is enabled once the current version is not forced');
  await version.locator('option:not([value=""])').first().waitFor({ state: 'attached' });
  const pinned = await version.locator('option:not([value=""])').first().getAttribute('value');
  await version.selectOption(pinned);
  await dialog.getByRole('button', { name: 'Select', exact: true }).click();
  await pane.getByText(`version ${pinned}`).waitFor();

  const identityType = pane.getByRole('radiogroup', { name: 'Identity type', exact: true });
  check(await identityType.getByRole('radio', { name: 'System assigned', exact: true }).isChecked(), 'System assigned is the default');
  check(await pane.getByRole('combobox', { name: 'User assigned identity', exact: true }).isDisabled(),
    'the identity list is disabled for System assigned');
  await shot('system-assigned');
  await pane.getByRole('button', { name: 'Save', exact: true }).click();

  await notifications.getByText('Encryption settings of cluster cmkadx saved: Succeeded').waitFor();
  check(await notifications.getByText('Created the system-assigned identity of cluster cmkadx').isVisible(), 'identity created');
  check(await notifications.getByText('Granted get, wrapKey, unwrapKey on key vault portal-kv').isVisible(), 'access granted');
  await shot('saved');

  const keys = await emulator.admin('GET', 'kusto/keys');
  check(keys.value.length === 1 && keys.value[0].kid.endsWith(`/keys/portal-key/${pinned}`), `pinned version in use: ${JSON.stringify(keys)}`);

  // The cluster's new principal has exactly the portal's three permissions on the vault.
  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.getByRole('heading', { name: 'Key in use', exact: true }).waitFor();
  const identities = await page.locator('dt:text-is("Identities") + dd').textContent();
  const principal = (identities.match(/system-assigned principal ([0-9a-f-]{36})/) || [])[1];
  check(principal, `the overview shows the system identity: ${identities}`);
  await page.getByRole('link', { name: 'cmk-rg', exact: true }).click();
  await page.getByRole('link', { name: 'portal-kv', exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: principal });
  await row.waitFor();
  check((await row.textContent()).includes('get, wrapKey, unwrapKey'), `access policy of ${principal}: ${await row.textContent()}`);
  await shot('vault-access-policy');
});
