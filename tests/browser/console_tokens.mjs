// The console asks for one token per principal and resource: the first screen's concurrent calls
// share one request, the token asked for before the list of principals arrived (as the default
// principal) serves that principal once the list names it, and only a new resource or another
// principal in "Act as" makes a new request. A new tab takes the tokens the first one was given
// (one that the emulator refuses, once revoked, is dropped and asked for again), and asks for the
// lists of the subscriptions seen before together with the list of subscriptions. A browser that
// keeps no site data gets a working console all the same.
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

  // A new tab: its first screen is made with the ARM token kept by the first tab, and the lists
  // of the subscription seen there are asked for before the list of subscriptions has arrived.
  const tab = await page.context().newPage();
  const tabAsked = [];
  const sent = [];
  tab.on('request', (r) => {
    if (r.url().endsWith('/_emulator/portal/token')) tabAsked.push(JSON.parse(r.postData() || '{}'));
    if (r.url().includes('/_emulator/portal/api/arm/')) sent.push({ url: r.url(), at: sent.length });
  });
  let subscriptionsAnswered = -1;
  tab.on('response', (r) => {
    if (/\/api\/arm\/subscriptions\?/.test(r.url())) subscriptionsAnswered = sent.length;
  });
  await open(tab, emulator, '#/');
  check(tabAsked.length === 0, `a new tab asks for no ARM token: ${JSON.stringify(tabAsked)}`);
  const resourcesAt = sent.findIndex((r) => r.url.includes(`/subscriptions/${IDS.sub}/resources?`));
  check(resourcesAt >= 0 && subscriptionsAnswered >= 0 && resourcesAt < subscriptionsAnswered,
    `the subscription's resources are asked for before the subscriptions list arrives: ${JSON.stringify(sent)}`);
  check(await tab.getByRole('link', { name: 'cmkadx', exact: true }).count() === 1, 'the new tab lists the cluster');
  await tab.close();

  // Kept tokens revoked since: the first calls are refused (401), the console drops the token
  // and asks for a new one, once for the calls made together.
  const third = await page.context().newPage();
  const thirdAsked = [];
  third.on('request', (r) => { if (r.url().endsWith('/_emulator/portal/token')) thirdAsked.push(r.url()); });
  await emulator.admin('POST', 'tokens/revoke');
  await open(third, emulator, '#/');
  check(thirdAsked.length === 1, `a refused kept token is asked for again, once: ${thirdAsked.length} requests`);
  check(await third.getByRole('link', { name: 'cmkadx', exact: true }).count() === 1, 'the third tab lists the cluster');
  await third.close();

  // A browser that keeps no site data (reading its storage throws): the console still works,
  // asking for its own tokens.
  const bare = await page.context().browser().newContext();
  await bare.addInitScript(() => {
    for (const name of ['localStorage', 'sessionStorage'])
      Object.defineProperty(window, name, { get() { throw new DOMException('site data is off', 'SecurityError'); } });
  });
  const fourth = await bare.newPage();
  const errors = [];
  fourth.on('pageerror', (e) => errors.push(String(e)));
  await open(fourth, emulator, '#/');
  check(await fourth.getByRole('link', { name: 'cmkadx', exact: true }).count() === 1, 'without storage the console lists the cluster');
  check(errors.length === 0, `no error in the page without storage: ${errors.join(' | ')}`);
  await bare.close();
});
