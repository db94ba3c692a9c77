// The Faults panel adds the keyvault-outage preset; the vault page then fails to list keys; the
// journal view (filtered to faulted requests) marks those requests with the rule; the rule's
// counters show the hits; Remove takes the rule away and the vault answers again.
import { browserTest, open, check, IDS, PORTAL_FLAGS } from './lib/harness.mjs';

await browserTest(import.meta.filename, PORTAL_FLAGS, async ({ page, emulator, shot }) => {
  await open(page, emulator, '#/faults');
  check(await page.getByText('No fault rules.').isVisible(), 'no rules at start');
  await page.getByRole('button', { name: 'Add keyvault-outage', exact: true }).click();
  const notifications = page.getByRole('region', { name: 'Notifications', exact: true });
  await notifications.getByText('Add fault preset keyvault-outage: done').waitFor();
  await page.getByRole('button', { name: 'Remove keyvault-outage', exact: true }).waitFor();
  await shot('preset-added');

  await open(page, emulator, `#/vault?id=${encodeURIComponent(IDS.vault)}`);
  await page.getByRole('alert').getByText(/ServiceUnavailable/).waitFor();
  await shot('vault-outage');

  await page.getByRole('link', { name: 'Journal', exact: true }).click();
  await page.getByRole('checkbox', { name: 'Faulted only', exact: true }).check();
  await page.getByRole('textbox', { name: 'Path (glob)', exact: true }).fill('/keys*');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  const faulted = page.locator('tr.faulted');
  await faulted.first().waitFor();
  const row = await faulted.first().textContent();
  check(row.includes('fault: keyvault-outage') && row.includes('503') && row.includes('cmk-kv.vault.azure.net'), `faulted row: ${row}`);
  check(await page.locator('tbody tr:not(.faulted)').count() === 0, 'the filter keeps only faulted requests');
  await shot('journal-faulted');

  await page.getByRole('link', { name: 'Faults', exact: true }).click();
  // Wait for the Faults view itself: until it renders, the journal's rows (which also name the
  // rule) are still on the page.
  await page.getByRole('heading', { name: 'Fault rules', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Remove keyvault-outage', exact: true }).waitFor();
  const rule = page.getByRole('row').filter({ hasText: 'keyvault-outage' }).first();
  const cells = await rule.getByRole('cell').allTextContents();
  check(Number(cells[3]) >= 1, `the rule counts its hits: ${cells.join(' | ')}`);
  await page.getByRole('button', { name: 'Remove keyvault-outage', exact: true }).click();
  await page.getByText('No fault rules.').waitFor();
  const rules = await emulator.admin('GET', 'faults');
  check(rules.value.length === 0, 'the rule is gone');

  await open(page, emulator, `#/vault?id=${encodeURIComponent(IDS.vault)}`);
  await page.getByRole('link', { name: 'cmk-key', exact: true }).waitFor();

  // The unfiltered journal shows the console's own calls, with the acting principal.
  await open(page, emulator, '#/journal');
  await page.getByRole('cell', { name: 'management.azure.com', exact: true }).first().waitFor();
  await shot('journal');
});
