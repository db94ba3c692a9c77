// The Encryption pane by keyboard alone: from the Encryption tab, Tab and the arrow keys reach
// every control in order (Customer-managed key, Select key, Key vault, Create new key vault, Key,
// Create new key, Always use current key version, Select, Identity type, User assigned identity,
// Save), and Enter and the arrow keys operate them.
import { browserTest, open, check, IDS, PORTAL_FLAGS } from './lib/harness.mjs';

await browserTest(import.meta.filename, PORTAL_FLAGS, async ({ page, emulator, shot }) => {
  await open(page, emulator, `#/encryption?id=${encodeURIComponent(IDS.cluster)}`);
  const pane = page.getByRole('region', { name: 'Encryption', exact: true });
  const dialog = page.getByRole('dialog', { name: 'Select key', exact: true });
  const focused = async (locator, what) => {
    await page.waitForFunction(() => document.activeElement && document.activeElement !== document.body);
    check(await locator.evaluate((el) => el === document.activeElement), `focus should be on ${what}, is on ${
      await page.evaluate(() => document.activeElement.outerHTML.slice(0, 120))}`);
  };

  await page.getByRole('link', { name: 'Encryption', exact: true }).focus();
  await page.keyboard.press('Tab');
  await focused(pane.getByRole('radio', { name: 'Off', exact: true }), 'Off (the checked radio of Customer-managed key)');
  await page.keyboard.press('ArrowUp');
  await focused(pane.getByRole('radio', { name: 'On', exact: true }), 'On');
  check(await pane.getByRole('radio', { name: 'On', exact: true }).isChecked(), 'the arrow key selects On');

  await page.keyboard.press('Tab');
  await focused(pane.getByRole('button', { name: 'Select key', exact: true }), 'Select key');
  await page.keyboard.press('Enter');
  const vaultSelect = dialog.getByRole('combobox', { name: 'Key vault', exact: true });
  await focused(vaultSelect, 'Key vault (the panel opens on it)');
  await page.keyboard.press('ArrowDown');
  check(await vaultSelect.inputValue() === 'cmk-kv', 'ArrowDown chooses the vault');
  const keySelect = dialog.getByRole('combobox', { name: 'Key', exact: true });
  await keySelect.locator('option[value="cmk-key"]').waitFor({ state: 'attached' });
  await page.keyboard.press('Tab');
  await focused(dialog.getByRole('button', { name: 'Create new key vault', exact: true }), 'Create new key vault');
  await page.keyboard.press('Tab');
  await focused(keySelect, 'Key');
  await page.keyboard.press('ArrowDown');
  check(await keySelect.inputValue() === 'cmk-key', 'ArrowDown chooses the key');
  await page.keyboard.press('Tab');
  await focused(dialog.getByRole('button', { name: 'Create new key', exact: true }), 'Create new key');
  await page.keyboard.press('Tab');
  await focused(dialog.getByRole('checkbox', { name: 'Always use current key version', exact: true }),
    'Always use current key version (Version is disabled while it is checked)');
  await shot('keyboard-select-key');
  await page.keyboard.press('Tab');
  await focused(dialog.getByRole('button', { name: 'Select', exact: true }), 'Select');
  await page.keyboard.press('Enter');
  await focused(pane.getByRole('button', { name: 'Select key', exact: true }), 'Select key (focus returns)');
  await pane.getByText('Key: cmk-key in key vault cmk-kv').waitFor();

  await page.keyboard.press('Tab');
  await focused(pane.getByRole('radio', { name: 'System assigned', exact: true }), 'System assigned');
  await page.keyboard.press('ArrowDown');
  await focused(pane.getByRole('radio', { name: 'User assigned', exact: true }), 'User assigned');
  await page.keyboard.press('Tab');
  const identity = pane.getByRole('combobox', { name: 'User assigned identity', exact: true });
  await focused(identity, 'User assigned identity');
  check(await identity.inputValue() === IDS.identity, 'the cluster\'s identity is preselected');
  await page.keyboard.press('Tab');
  await focused(pane.getByRole('button', { name: 'Save', exact: true }), 'Save');
  await shot('keyboard-save');
  await page.keyboard.press('Enter');
  await page.getByRole('region', { name: 'Notifications', exact: true })
    .getByText('Encryption settings of cluster cmkadx saved: Succeeded').waitFor();
  const keys = await emulator.admin('GET', 'kusto/keys');
  check(keys.value.length === 1, 'the key is in use');
});
