// The console: a router on location.hash and the "Act as" choice of principal.
import { admin, actAs, actingAs, warmToken } from './api.js';
import { h, show, errorText } from './dom.js';
import { stopLive } from './live.js';
import { home, group, overview } from './resources.js';
import { journal, faults, clock, operations, state } from './panels.js';

// The modules of the views in the top bar (the resource browser and the emulator's panels) are
// loaded with the console, so that a first screen asks for its data while the page is still
// being set up; the modules of the other views are loaded when first shown.
const lazy = (module, name) => async (...args) => (await import(module))[name](...args);
const routes = {
  '/': home,
  '/group': group,
  '/resource': overview,
  '/encryption': lazy('./encryption.js', 'encryptionPane'),
  '/vault': lazy('./vault.js', 'vaultPage'),
  '/key': lazy('./vault.js', 'keyPage'),
  '/secrets': lazy('./secrets.js', 'secretsPage'),
  '/secret': lazy('./secrets.js', 'secretPage'),
  '/certificates': lazy('./certificates.js', 'certificatesPage'),
  '/certificate': lazy('./certificates.js', 'certificatePage'),
  '/journal': journal,
  '/faults': faults,
  '/clock': clock,
  '/operations': operations,
  '/state': state,
};

// The emulator's own panels call the admin API only; every other view starts with an ARM call.
const ADMIN_ONLY = new Set(['/journal', '/faults', '/clock', '/operations', '/state']);

// The view's path and its query: "#/vault?id=..." -> ["/vault", "id=..."].
const here = () => (location.hash.replace(/^#/, '') || '/').split('?');

let generation = 0;
async function route() {
  const mine = ++generation;
  stopLive();
  const [path, query] = here();
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
  // When the view was built, and when the frame showing it has been laid out and painted (a task
  // queued from the frame's callback runs after its rendering): bench/portal reads these.
  main.dataset.builtAt = performance.now().toFixed(1);
  await new Promise((painted) => requestAnimationFrame(() => setTimeout(painted)));
  if (mine === generation) main.dataset.paintedAt = performance.now().toFixed(1);
}

async function principals() {
  const select = document.getElementById('principal');
  const list = await admin('GET', 'portal/principals');
  const objectIdOf = (id) => list.value.find((p) => p.id === id)?.objectId;
  if (actingAs() && !list.value.some((p) => p.id === actingAs())) { actAs(list.default, objectIdOf(list.default)); route(); }
  if (!actingAs()) actAs(list.default, objectIdOf(list.default));
  select.replaceChildren(...list.value.map((p) =>
    h('option', { value: p.id, selected: p.id === actingAs() },
      `${p.displayName} (${p.kind === 'servicePrincipal' ? 'service principal' : 'managed identity'})`)));
  select.addEventListener('change', () => { actAs(select.value, objectIdOf(select.value)); route(); });
}

window.addEventListener('hashchange', route);
// The first view comes first, the list of principals once it is painted: with a thousand managed
// identities the list and the select's options cost more than the first screen itself. Until
// the list arrives, calls are made as the default principal (the token endpoint's choice when
// none is named) or the one chosen earlier in this tab.
if (!ADMIN_ONLY.has(here()[0])) warmToken('arm');
route().finally(() => principals().catch((e) => show(h('h1', {}, 'Error'), errorText(e))));
