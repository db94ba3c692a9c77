// The seed's Portal steps with a user-assigned identity: Resources > cluster > Encryption,
// Customer-managed key On, Select key (Key vault, Key, Always use current key version), Select,
// Identity type User assigned, Save: Notifications report success, the overview shows the key in
// use, and the journal shows the PATCH made as the acting principal through ARM. Then Off and
// Save remove the key.
import { browserTest, open, check, IDS, PORTAL_FLAGS } from './lib/harness.mjs';

await browserTest(import.meta.filename, PORTAL_FLAGS, async ({ page, emulator, shot }) => {
  await open(page, emulator, '#/');
  await page.getByRole('link', { name: 'cmkadx', exact: true }).click();
  await page.getByRole('heading', { name: 'Overview', exact: true }).waitFor();
  check(await page.getByText('Microsoft-managed keys').isVisible(), 'a new cluster should use Microsoft-managed keys');
  await page.getByRole('link', { name: 'Encryption', exact: true }).click();
  const pane = page.getByRole('region', { name: 'Encryption', exact: true });
  await pane.waitFor();
  await shot('encryption-off');

  await pane.getByRole('radiogroup', { name: 'Customer-managed key', exact: true }).getByRole('radio', { name: 'On', exact: true }).check();
  await pane.getByRole('button', { name: 'Select key', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Select key', exact: true });
  await dialog.getByRole('combobox', { name: 'Key vault', exact: true }).selectOption('cmk-kv');
  await dialog.getByRole('combobox', { name: 'Key', exact: true }).locator('option', { hasText: 'cmk-key' }).waitFor({ state: 'attached' });
  await dialog.getByRole('combobox', { name: 'Key', exact: true }).selectOption('cmk-key');
  const always = dialog.getByRole('checkbox', { name: 'Always use current key version', exact: true });
  check(await always.isChecked(), '"Always use current key version" should start checked');
  check(await dialog.getByRole('combobox', { name: 'Version', exact: true }).isDisabled(), 'Version is disabled while the current version is used');
  await shot('select-key');
  await dialog.getByRole('button', { name: 'Select', exact: true }).click();
  check(!(await dialog.isVisible()), 'Select closes the key panel');
  await pane.getByText('Key: cmk-key in key vault cmk-kv, always the current key version').waitFor();

  await pane.getByRole('radiogroup', { name: 'Identity type', exact: true }).getByRole('radio', { name: 'User assigned', exact: true }).check();
  await pane.getByRole('combobox', { name: 'User assigned identity', exact: true }).selectOption(IDS.identity);
  await pane.getByRole('button', { name: 'Save', exact: true }).click();
  const notifications = page.getByRole('region', { name: 'Notifications', exact: true });
  await notifications.getByText('Encryption settings of cluster cmkadx saved: Succeeded').waitFor();
  await shot('saved');

  // Through ARM as the default fixture principal, journaled like any client's call.
  const patches = await emulator.admin('GET', `requests?method=PATCH&path=${encodeURIComponent('*/clusters/cmkadx')}`);
  check(patches.value.length >= 1, 'the PATCH of the cluster is in the journal');
  const last = patches.value[patches.value.length - 1];
  check(last.surface === 'arm' && last.host === 'management.azure.com', `journaled as an ARM call: ${JSON.stringify(last)}`);
  check(last.principal && last.principal.appid === '11111111-1111-1111-1111-111111111111', 'made as the default service principal');
  const keys = await emulator.admin('GET', 'kusto/keys');
  check(keys.value.length === 1 && keys.value[0].kid.includes('/keys/cmk-key/'), `the cluster uses cmk-key: ${JSON.stringify(keys)}`);
  const version = keys.value[0].kid.split('/').pop();

  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.getByRole('heading', { name: 'Key in use', exact: true }).waitFor();
  await page.getByText(version, { exact: true }).waitFor();
  check(await page.getByText('https://cmk-kv.vault.azure.net/').isVisible(), 'the overview shows the vault');
  await shot('overview-key-in-use');

  await page.getByRole('link', { name: 'Encryption', exact: true }).click();
  await pane.getByRole('radio', { name: 'Off', exact: true }).check();
  check(!(await pane.getByRole('button', { name: 'Select key', exact: true }).isVisible()), 'Off hides the key settings');
  await pane.getByRole('button', { name: 'Save', exact: true }).click();
  await notifications.getByText('customer-managed key removed').waitFor();
  const after = await emulator.admin('GET', 'kusto/keys');
  check(after.value.length === 0, `Off removed the key: ${JSON.stringify(after)}`);
  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.getByText('Microsoft-managed keys').waitFor();
});
