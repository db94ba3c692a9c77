// The console asks for one token per principal and resource: the first screen's concurrent calls
// share one request, the token asked for before the list of principals arrived (as the default
// principal) serves that principal once the list names it, and only a new resource or another
// principal in "Act as" makes a new request.
import { browserTest, open, waitReady, check, IDS, PORTAL_FLAGS } from './lib/harness.mjs';

await browserTest(import.meta.filename, PORTAL_FLAGS, async ({ page, emulator }) => {
  const asked = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/_emulator/portal/token')) asked.push(JSON.parse(r.postData() || '{}'));
  });
  await open(page, emulator, '#/');
  await page.locator('#principal option').first().waitFor({ state: 'attached' });
  await page.getByRole('link', { name: 'cmk-rg', exact: true }).click();
  await waitReady(page, '#/group');
  check(asked.length === 1 && asked[0].resource === 'arm', `one ARM token for the first screens: ${JSON.stringify(asked)}`);
  const principals = await page.evaluate(async () => (await fetch('/_emulator/portal/principals',
    { headers: { 'X-Cmk-Console-Token': document.querySelector('meta[name="cmk-console-token"]').content } })).json());
  const fallback = principals.value.find((p) => p.id === principals.default);

  await open(page, emulator, `#/vault?id=${encodeURIComponent(IDS.vault)}`);
  await page.getByRole('link', { name: 'cmk-key', exact: true }).click();
  await waitReady(page, '#/key');
  // The same page (a change of the hash): the ARM token is reused, the vault's is a new one.
  check(asked.length === 2 && asked[1].principal === fallback.id && asked[1].resource === 'vault',
    `one vault token for the vault and key pages: ${JSON.stringify(asked)}`);

  // Another principal: the key page again, as that principal (its answer may be Forbidden; the
  // view is rebuilt either way), with one new token request.
  const other = principals.value.find((p) => p.id !== principals.default);
  await page.evaluate(() => { document.getElementById('main').dataset.ready = ''; });
  await page.getByRole('combobox', { name: 'Act as', exact: true }).selectOption(other.id);
  await waitReady(page, '#/key');
  check(asked.length === 3 && asked[2].principal === other.id && asked[2].resource === 'vault',
    `one vault token for the principal chosen: ${JSON.stringify(asked)}`);
});
