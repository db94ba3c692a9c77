// After a key rotation, an advance of the virtual clock past the key refresh interval shows the
// new version in use on the cluster's overview (the cluster follows the current version). All
// through the console: the key page's Rotate, the Clock panel, the cluster overview.
import { browserTest, open, check, IDS } from './lib/harness.mjs';

await browserTest(import.meta.filename, ['--fixture', 'fixtures/seed-cmk-enabled.json'], async ({ page, emulator, shot }) => {
  await open(page, emulator, `#/resource?id=${encodeURIComponent(IDS.cluster)}`);
  const versionCell = page.locator('dt:text-is("Version") + dd');
  const before = (await versionCell.textContent()).trim();
  check(/^[0-9a-f]{32}$/.test(before), `a version in use at start: ${before}`);

  await page.getByRole('link', { name: 'cmk-rg', exact: true }).click();
  await page.getByRole('link', { name: 'cmk-kv', exact: true }).click();
  await page.getByRole('link', { name: 'cmk-key', exact: true }).click();
  await page.getByRole('button', { name: 'Rotate', exact: true }).click();
  const notifications = page.getByRole('region', { name: 'Notifications', exact: true });
  const rotated = notifications.getByText(/Rotate key cmk-key: new version [0-9a-f]{32}/);
  await rotated.waitFor();
  const after = (await rotated.textContent()).match(/new version ([0-9a-f]{32})/)[1];
  check(after !== before, 'rotation made a new version');
  await page.getByRole('cell', { name: after, exact: true }).waitFor();
  await shot('rotated');

  // Still the old version until the refresh interval (60 s of virtual time) has passed.
  await open(page, emulator, `#/resource?id=${encodeURIComponent(IDS.cluster)}`);
  check((await versionCell.textContent()).trim() === before, 'the old version stays until the next refresh');
  await page.getByRole('link', { name: 'Clock', exact: true }).click();
  await page.getByRole('spinbutton', { name: 'Advance by', exact: true }).fill('61');
  await page.getByRole('combobox', { name: 'Unit', exact: true }).selectOption('seconds');
  await page.getByRole('button', { name: 'Advance', exact: true }).click();
  await notifications.getByText(/Advance the clock by 61 seconds: now/).waitFor();
  await shot('clock-advanced');

  await open(page, emulator, `#/resource?id=${encodeURIComponent(IDS.cluster)}`);
  check((await versionCell.textContent()).trim() === after, `the new version is in use: ${await versionCell.textContent()}`);
  check((await page.locator('dt:text-is("State") + dd').textContent()).trim() === 'Running', 'the cluster runs');
  await shot('overview-new-version');
});
