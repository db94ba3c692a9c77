// The console: a router on location.hash and the "Act as" choice of principal.
import { admin, actAs, actingAs } from './api.js';
import { h, show, errorText } from './dom.js';
import * as resources from './resources.js';
import { encryptionPane } from './encryption.js';
import { vaultPage, keyPage } from './vault.js';
import * as panels from './panels.js';

const routes = {
  '/': resources.home,
  '/group': resources.group,
  '/resource': resources.overview,
  '/encryption': encryptionPane,
  '/vault': vaultPage,
  '/key': keyPage,
  '/journal': panels.journal,
  '/faults': panels.faults,
  '/clock': panels.clock,
  '/operations': panels.operations,
  '/state': panels.state,
};

let generation = 0;
async function route() {
  const mine = ++generation;
  panels.stopLive();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const view = routes[path];
  const params = new URLSearchParams(query || '');
  for (const a of document.querySelectorAll('nav a'))
    a.toggleAttribute('aria-current', a.getAttribute('href') === `#${path}`);
  if (!view) { show(h('h1', {}, 'Not found'), h('p', {}, `No page ${path}.`)); return; }
  try {
    await view(params, () => mine === generation);
  } catch (e) {
    if (mine === generation) show(h('h1', {}, 'Error'), errorText(e));
  }
  if (mine !== generation) return;
  const main = document.getElementById('main');
  main.dataset.ready = path;
  // When the view was built, and the next frame after it (the paint): bench/portal reads these.
  main.dataset.builtAt = performance.now().toFixed(1);
  requestAnimationFrame(() => { main.dataset.frameAt = performance.now().toFixed(1); });
}

async function principals() {
  const select = document.getElementById('principal');
  const list = await admin('GET', 'portal/principals');
  if (actingAs() && !list.value.some((p) => p.id === actingAs())) { actAs(list.default); route(); }
  if (!actingAs()) actAs(list.default);
  select.replaceChildren(...list.value.map((p) =>
    h('option', { value: p.id, selected: p.id === actingAs() },
      `${p.displayName} (${p.kind === 'servicePrincipal' ? 'service principal' : 'managed identity'})`)));
  select.addEventListener('change', () => { actAs(select.value); route(); });
}

window.addEventListener('hashchange', route);
// The first view loads while the list of principals does: until it arrives, calls are made as
// the default principal (the token endpoint's choice when none is named).
route();
principals().catch((e) => show(h('h1', {}, 'Error'), errorText(e)));
