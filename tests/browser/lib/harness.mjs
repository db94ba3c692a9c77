// What every browser test of the console shares: a fresh emulator on free ports (its own
// certificates), headless Debian chromium driven by playwright-core, screenshots into
// <build>/artifacts/browser, and a check that the page asked nothing of any other host.
// Environment (set by ctest): CMK_BINARY, CMK_SOURCE_DIR, CMK_PLAYWRIGHT (the playwright-core
// folder), CMK_ARTIFACTS_DIR.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { createInterface } from 'node:readline';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (the browser tests run under ctest)`);
  return v;
};

export function fail(message) { throw new Error(message); }
export function check(condition, message) { if (!condition) fail(message); }

export async function startEmulator(flags = []) {
  const work = mkdtempSync(join(tmpdir(), 'cmk-browser-'));
  const child = spawn(env('CMK_BINARY'), ['--https-port', '0', '--http-port', '0', '--certs-dir', join(work, 'certs'),
    '--log-level', 'warn', ...flags], { cwd: env('CMK_SOURCE_DIR'), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; if (log.length > 200000) log = log.slice(-100000); });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the emulator exited (${code}) before it was ready:\n${log}`)));
  });
  const ready = JSON.parse(line);
  check(ready.event === 'ready', `bad ready line: ${line}`);
  const base = `http://127.0.0.1:${ready.http_port}`;
  return {
    base, httpsPort: ready.https_port, work, log: () => log,
    async admin(method, path, body) {
      const res = await fetch(`${base}/_emulator/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (!res.ok) fail(`${method} /_emulator/${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}

// Runs `body({page, emulator, shot})` against a fresh emulator started with `flags`, in a fresh
// browser. Fails the process (exit 1) with the emulator's log on any error.
export async function browserTest(file, flags, body) {
  const name = basename(file).replace(/\.mjs$/, '');
  const artifacts = join(env('CMK_ARTIFACTS_DIR'), name);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const { chromium } = createRequire(join(env('CMK_PLAYWRIGHT'), 'package.json'))('playwright-core');
  const emulator = await startEmulator(flags);
  let browser;
  let shots = 0;
  let page;
  const shot = async (label) => {
    const path = join(artifacts, `${String(++shots).padStart(2, '0')}-${label}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  };
  try {
    browser = await chromium.launch({ executablePath: process.env.CMK_CHROMIUM || '/usr/bin/chromium', headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-proxy-server'] });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    context.setDefaultTimeout(15000);
    page = await context.newPage();
    const foreign = [];
    page.on('request', (r) => { if (!r.url().startsWith(emulator.base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url()); });
    const consoleErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await body({ page, emulator, shot, consoleErrors });
    await shot('end');
    check(foreign.length === 0, `the console requested other hosts: ${foreign.join(', ')}`);
    const unexpected = consoleErrors.filter((t) => !/status of (4|5)\d\d/.test(t));
    check(unexpected.length === 0, `errors in the page: ${unexpected.join(' | ')}`);
    console.log(`ok: ${name} (screenshots in ${artifacts})`);
  } catch (e) {
    if (page) await shot('failure').catch(() => {});
    console.error(`FAIL: ${name}: ${e.stack || e}`);
    console.error(`emulator log (tail):\n${emulator.log().slice(-6000)}`);
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
    await emulator.stop();
  }
}

// Opens the console at `hash` and waits until the view has rendered.
export async function open(page, emulator, hash = '#/') {
  await page.goto(`${emulator.base}/_emulator/portal/${hash}`);
  await waitReady(page, hash);
}

export async function waitReady(page, hash) {
  const path = hash.replace(/^#/, '').split('?')[0] || '/';
  await page.waitForFunction((p) => document.getElementById('main')?.dataset.ready === p, path);
}

export const IDS = {
  sub: '00000000-0000-0000-0000-000000000001',
  cluster: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/cmk-rg/providers/Microsoft.Kusto/clusters/cmkadx',
  vault: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/cmk-rg/providers/Microsoft.KeyVault/vaults/cmk-kv',
  identity: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/cmk-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cmk-identity',
  otherIdentity: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/cmk-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other-identity',
};
export const PORTAL_FLAGS = ['--fixture', 'fixtures/seed-vault-ready.json', '--fixture', 'tests/browser/fixtures/portal-cluster.json'];
export { readFileSync };
