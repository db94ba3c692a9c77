// Long lists are shown a page at a time: the resources (100 a page, with a filter over every
// column and a page number to type) and the request journal (the newest 100, then Older and
// Newest). 130 extra identities come from a fixture written here; 150 token requests fill the
// journal past one page. The console's files come from the versioned folder, cached for good.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserTest, open, check, PORTAL_FLAGS } from './lib/harness.mjs';

const SUB = '00000000-0000-0000-0000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'cmk-long-lists-'));
const fixture = join(dir, 'identities.json');
writeFileSync(fixture, JSON.stringify({
  version: 1,
  resourceGroups: [{ id: `/subscriptions/${SUB}/resourceGroups/many-rg`, location: 'westeurope' }],
  userAssignedIdentities: Array.from({ length: 130 }, (_, i) => ({
    id: `/subscriptions/${SUB}/resourceGroups/many-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${String(i).padStart(4, '0')}`,
    location: 'westeurope',
    properties: { principalId: `44444444-0000-0000-0000-${String(i).padStart(12, '0')}`, clientId: `55555555-0000-0000-0000-${String(i).padStart(12, '0')}` },
  })),
}));

const rowCount = (page) => page.locator('main tbody tr').count();

try {
  await browserTest(import.meta.filename, [...PORTAL_FLAGS, '--fixture', fixture], async ({ page, emulator, shot }) => {
    const assets = [];
    page.on('response', (r) => { if (r.url().includes('/_emulator/portal/v/')) assets.push([r.url(), r.headers()['cache-control']]); });
    await open(page, emulator, '#/');
    check(assets.length >= 5 && assets.every(([, c]) => c.includes('immutable')), `versioned files, cached for good: ${JSON.stringify(assets)}`);

    // --- resources: the first page, the next, a page typed by number
    const status = page.locator('main [role=status]').first();
    const first = (await status.textContent()).match(/^Showing 1 to 100 of (\d+) resources\.$/);
    check(first && Number(first[1]) >= 130, `first page: ${await status.textContent()}`);
    const total = Number(first[1]);
    check(await rowCount(page) === 100, `100 rows on the first page: ${await rowCount(page)}`);
    check(await page.getByRole('button', { name: 'Previous page' }).isDisabled(), 'no page before the first');
    await shot('resources-page-1');
    await page.getByRole('button', { name: 'Next page' }).click();
    check(await status.textContent() === `Showing 101 to ${total} of ${total} resources.`, `second page: ${await status.textContent()}`);
    check(await rowCount(page) === total - 100, `the rest on the second page: ${await rowCount(page)}`);
    check(await page.getByRole('button', { name: 'Next page' }).isDisabled(), 'no page after the last');
    const number = page.getByRole('spinbutton', { name: 'Page' });
    check(await number.inputValue() === '2', 'the page number follows');
    await number.fill('1');
    await number.press('Enter');
    check(await status.textContent() === `Showing 1 to 100 of ${total} resources.`, `page typed: ${await status.textContent()}`);

    // --- the filter: over every column, back to the first page, nothing matching said so
    const filter = page.getByRole('searchbox', { name: 'Filter resources' });
    await filter.fill('ID-012');
    check(await status.textContent() === `Showing 1 to 10 of 10 resources (filtered from ${total}).`, `filtered: ${await status.textContent()}`);
    const names = await page.locator('main tbody tr td:first-child').allTextContents();
    check(names.join() === Array.from({ length: 10 }, (_, i) => `id-012${i}`).join(), `filtered rows: ${names.join()}`);
    await filter.fill('microsoft.kusto');
    await page.getByRole('link', { name: 'cmkadx', exact: true }).waitFor();
    check(await rowCount(page) === 1, 'the type column is searched too');
    await filter.fill('no such resource');
    check(await status.textContent() === 'No resources match the filter.', `no match: ${await status.textContent()}`);
    check(await rowCount(page) === 0, 'no rows when nothing matches');
    await filter.fill('');
    check(await rowCount(page) === 100, 'the whole list again');
    await shot('resources-filtered');

    // --- the journal: the newest 100, then older ones, then the newest again
    for (let i = 0; i < 150; i++) {
      const res = await fetch(`${emulator.base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net`, { headers: { Metadata: 'true' } });
      await res.arrayBuffer();
    }
    await open(page, emulator, '#/journal');
    const seqs = async () => (await page.locator('main tbody tr td:first-child').allTextContents()).map(Number);
    const newest = await seqs();
    check(newest.length === 100 && newest[0] > newest[99], `the newest 100, newest first: ${newest.length}`);
    const journalStatus = await page.locator('main [role=status]').first().textContent();
    check(journalStatus.startsWith(`100 shown (#${newest[99]} to #${newest[0]}) of `), `journal status: ${journalStatus}`);
    check(await page.getByRole('button', { name: 'Newest', exact: true }).isDisabled(), 'already the newest');
    await page.getByRole('button', { name: 'Older', exact: true }).click();
    await page.getByRole('button', { name: 'Newest', exact: true }).and(page.locator(':enabled')).waitFor();
    const older = await seqs();
    check(older.length > 0 && older[0] === newest[99] - 1, `the page before: starts at #${older[0]}, the last page ended at #${newest[99]}`);
    await shot('journal-older');
    await page.getByRole('button', { name: 'Newest', exact: true }).click();
    await page.getByRole('button', { name: 'Newest', exact: true }).and(page.locator(':disabled')).waitFor();
    check((await seqs())[0] >= newest[0], 'back to the newest');
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
