// A key the chosen identity may not use: User assigned with 'other-identity', which no access
// policy names. Save assigns the identity, then the key operation fails, and Notifications show
// the failed operation's error code and message. The key settings stay as they were.
import { browserTest, open, check, IDS, PORTAL_FLAGS } from './lib/harness.mjs';

await browserTest(import.meta.filename, PORTAL_FLAGS, async ({ page, emulator, shot }) => {
  await open(page, emulator, `#/encryption?id=${encodeURIComponent(IDS.cluster)}`);
  const pane = page.getByRole('region', { name: 'Encryption', exact: true });
  await pane.getByRole('radio', { name: 'On', exact: true }).check();
  await pane.getByRole('button', { name: 'Select key', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Select key', exact: true });
  await dialog.getByRole('combobox', { name: 'Key vault', exact: true }).selectOption('cmk-kv');
  await dialog.locator('option[value="cmk-key"]').waitFor({ state: 'attached' });
  await dialog.getByRole('combobox', { name: 'Key', exact: true }).selectOption('cmk-key');
  await dialog.getByRole('button', { name: 'Select', exact: true }).click();
  await pane.getByRole('radio', { name: 'User assigned', exact: true }).check();
  await pane.getByRole('combobox', { name: 'User assigned identity', exact: true }).selectOption(IDS.otherIdentity);
  await pane.getByRole('button', { name: 'Save', exact: true }).click();

  const notifications = page.getByRole('region', { name: 'Notifications', exact: true });
  const failed = notifications.getByText(/Encryption settings of cluster cmkadx failed: KeyVaultAccessDenied: /);
  await failed.waitFor();
  await shot('access-denied');
  const text = await failed.textContent();
  const ops = await emulator.admin('GET', 'operations?status=Failed');
  check(ops.value.length >= 1 && ops.value[0].error.code === 'KeyVaultAccessDenied', `the failed operation: ${JSON.stringify(ops.value[0])}`);
  check(text.includes(ops.value[0].error.message), `Notifications carry the operation's message: ${text}`);
  const keys = await emulator.admin('GET', 'kusto/keys');
  check(keys.value.length === 0, 'no key is in use after the failure');
});
