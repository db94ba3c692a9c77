// bench/portal's browser half: node bench/portal_render.mjs <base URL> <runs> <browser>...
// For each browser (a path: Debian's chromium-headless-shell, the engine alone, as playwright runs
// headless by default, and chromium, the whole browser in its headless mode) and each view:
// <runs> first visits (cold: each in a new browser context, nothing of the console cached), then
// <runs> loads in new tabs of a context that has loaded the console before (its files cached),
// then <runs> loads in one tab (a reload, as when the console is already open). The figure is
// the time from the start of navigation until the view is complete (its rows in the DOM) and the
// frame showing it has been laid out and painted (the console records it in #main's
// data-painted-at: app.js).
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';

const [base, runs = '10', ...browsers] = process.argv.slice(2);
const { chromium } = createRequire(join(process.env.CMK_PLAYWRIGHT, 'package.json'))('playwright-core');
const VIEWPORT = { viewport: { width: 1400, height: 900 } };

// Waits without running anything in the page until it is done: a check run in the page while it
// loads (playwright's waitForFunction polls every frame, and its first call compiles playwright's
// helper script there) takes the main thread from the console and adds 20-50 ms to the figure.
// The console asks for the list of principals once the first view is painted (app.js), so that
// request, seen from outside, says the figure is recorded.
async function load(page, hash, path, rows, status, run) {
  const principals = page.waitForRequest((r) => r.url().endsWith('/_emulator/portal/principals'), { timeout: 60000 });
  await page.goto(`${base}/_emulator/portal/?run=${run}${hash}`, { waitUntil: 'commit' });
  await principals;
  await page.waitForFunction((p) => {
    const main = document.getElementById('main');
    return main?.dataset.ready === p && main.dataset.paintedAt;
  }, path, { timeout: 60000 });
  const ms = await page.evaluate(() => Number(document.getElementById('main').dataset.paintedAt));
  const count = await page.locator('tbody tr').count();
  if (count < rows) throw new Error(`${hash}: ${count} rows, expected ${rows}`);
  const said = await page.locator('#main [role=status]').first().textContent();
  if (!said.includes(status)) throw new Error(`${hash}: the view says "${said}", expected "${status}"`);
  // Each load starts on an idle browser, as when somebody opens the console: the list of
  // principals (a thousand of them, after the figure) is in the page before the next load.
  await page.waitForFunction(() => document.querySelector('#principal option'), null, { timeout: 60000 });
  return ms;
}

// A closed tab's process takes a while to go; the next tab is not opened while it does.
const settle = () => new Promise((resolve) => setTimeout(resolve, 250));

const summary = (times) => {
  times.sort((a, b) => a - b);
  return `median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, worst ${times[times.length - 1].toFixed(0)} ms`;
};

const VIEWS = [
  ['Resources (1 000 resources, the first 100 shown)', '', '/', 100, 'Showing 1 to 100 of 1000 resources'],
  ['Journal (10 000 records, the newest 100 shown)', '#/journal', '/journal', 100, 'of 10000 recorded']];

for (const executablePath of browsers) {
  const browser = await chromium.launch({ executablePath, headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-proxy-server'] });
  // A browser already running, as a user's is: it has shown a page before the console's.
  const warm = await browser.newContext(VIEWPORT);
  await (await warm.newPage()).goto('data:text/html,<p>A page before the console</p>');
  await warm.close();
  const context = await browser.newContext(VIEWPORT);
  for (const [label, hash, path, rows, status] of VIEWS) {
    const cold = [], fresh = [], same = [];
    for (let i = 0; i < Number(runs); i++) {
      const first = await browser.newContext(VIEWPORT);
      cold.push(await load(await first.newPage(), hash, path, rows, status, `cold${i}`));
      await first.close();
      await settle();
    }
    for (let i = 0; i <= Number(runs); i++) { // the first one fills the cache, not counted
      const page = await context.newPage();
      const ms = await load(page, hash, path, rows, status, i);
      if (i > 0) fresh.push(ms);
      await page.close();
      await settle();
    }
    const page = await context.newPage();
    await load(page, hash, path, rows, status, 'warm');
    for (let i = 0; i < Number(runs); i++) same.push(await load(page, hash, path, rows, status, `same${i}`));
    await page.close();
    console.log(`${basename(executablePath)}: ${label}: first visit ${summary(cold)}; new tab ${summary(fresh)}; ` +
      `same tab ${summary(same)} (${runs} runs each)`);
  }
  await browser.close();
}
