// bench/portal's browser half: node bench/portal_render.mjs <base URL> <runs>. For each view, one
// cold run, then <runs> runs in new tabs, then <runs> loads in one tab (a reload, as when the
// console is already open). The figure is the time from the start of navigation until the view is
// complete (every row in the DOM) and the next animation frame has started, i.e. the frame that
// paints it (the console records it in #main's data-frame-at: app.js).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [base, runs = '10'] = process.argv.slice(2);
const { chromium } = createRequire(join(process.env.CMK_PLAYWRIGHT, 'package.json'))('playwright-core');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-proxy-server'] });
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });

async function load(page, hash, path, rows, run) {
  await page.goto(`${base}/_emulator/portal/?run=${run}${hash}`);
  await page.waitForFunction((p) => {
    const main = document.getElementById('main');
    return main?.dataset.ready === p && main.dataset.frameAt;
  }, path, { timeout: 60000 });
  const ms = await page.evaluate(() => Number(document.getElementById('main').dataset.frameAt));
  const count = await page.locator('tbody tr').count();
  if (count < rows) throw new Error(`${hash}: ${count} rows, expected ${rows}`);
  return ms;
}

const summary = (times) => {
  times.sort((a, b) => a - b);
  return `median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, worst ${times[times.length - 1].toFixed(0)} ms`;
};

for (const [label, hash, path, rows] of [['Resources (1 000 resources)', '#/', '/', 1000],
  ['Journal (10 000 records, newest 200 shown)', '#/journal', '/journal', 200]]) {
  const fresh = [];
  let cold = 0;
  for (let i = 0; i <= Number(runs); i++) {
    const page = await context.newPage();
    const ms = await load(page, hash, path, rows, i);
    if (i === 0) cold = ms; else fresh.push(ms);
    await page.close();
  }
  const page = await context.newPage();
  await load(page, hash, path, rows, 'warm');
  const same = [];
  for (let i = 0; i < Number(runs); i++) same.push(await load(page, hash, path, rows, `same${i}`));
  await page.close();
  console.log(`${label}: cold ${cold.toFixed(0)} ms; new tab ${summary(fresh)}; same tab ${summary(same)} (${runs} runs each)`);
}
await browser.close();
