// A tiny element builder: h('tag', {attr: value, onclick: fn}, children...). Text is always set
// as text (never parsed as HTML), so nothing a resource or a request carries can inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces the content of <main> with `children`.
export function show(...children) {
  const main = document.getElementById('main');
  main.replaceChildren();
  append(main, children);
  return main;
}

export function props(pairs) {
  return h('dl', { class: 'props' },
    pairs.filter((p) => p).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === undefined || v === null || v === '' ? '—' : v)]));
}

const head = (headers) => h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x))));
const row = (cells, attrs = {}) => h('tr', attrs, cells.map((c) => h('td', {}, c)));

export function table(headers, rows, rowAttrs) {
  return h('table', {}, head(headers), h('tbody', {}, rows.map((r, i) => row(r, rowAttrs ? rowAttrs(i) : {}))));
}

// A table shown a page at a time, as the portal's lists are ("Showing 1 to 100 of 1000 records"),
// with a filter over every column: the browser's layout of a thousand rows costs more than the
// rest of a first screen, and nobody reads them at once. `cellsOf(item)` gives a row's cells; it
// is called for the rows shown, and for all of them once a filter is typed.
export function pagedTable(headers, items, cellsOf, { pageSize = 100, noun = 'records' } = {}) {
  let matching = items;
  let page = 0;
  const texts = new Map();
  const textOf = (item) => {
    if (!texts.has(item))
      texts.set(item, cellsOf(item).map((c) => (c instanceof Node ? c.textContent : String(c ?? ''))).join('\n').toLowerCase());
    return texts.get(item);
  };
  const pageCount = () => Math.max(1, Math.ceil(matching.length / pageSize));
  const status = h('p', { role: 'status', class: 'muted' });
  const tbody = h('tbody');
  const number = h('input', { type: 'number', min: 1, value: 1, size: 4, 'aria-label': 'Page', class: 'page-number' });
  const of = h('span');
  const previous = h('button', { type: 'button', 'aria-label': 'Previous page', onclick: () => go(page - 1) }, '‹ Previous');
  const next = h('button', { type: 'button', 'aria-label': 'Next page', onclick: () => go(page + 1) }, 'Next ›');
  function go(to) {
    page = Math.min(Math.max(0, Number.isFinite(to) ? to : 0), pageCount() - 1);
    const from = page * pageSize;
    const rows = matching.slice(from, from + pageSize);
    tbody.replaceChildren(...rows.map((item) => row(cellsOf(item))));
    const filtered = matching === items ? '' : ` (filtered from ${items.length})`;
    status.textContent = rows.length ? `Showing ${from + 1} to ${from + rows.length} of ${matching.length} ${noun}${filtered}.`
      : `No ${noun} match the filter.`;
    number.value = String(page + 1);
    number.max = String(pageCount());
    of.textContent = ` of ${pageCount()} `;
    previous.disabled = page === 0;
    next.disabled = page >= pageCount() - 1;
  }
  number.addEventListener('change', () => go(Number(number.value) - 1));
  const filter = h('input', { type: 'search', placeholder: 'Filter for any field…', 'aria-label': `Filter ${noun}` });
  filter.addEventListener('input', () => {
    const wanted = filter.value.trim().toLowerCase();
    matching = wanted ? items.filter((item) => textOf(item).includes(wanted)) : items;
    go(0);
  });
  go(0);
  return h('div', { class: 'paged' },
    h('div', { class: 'paged-head' }, filter, status),
    h('table', {}, head(headers), tbody),
    items.length > pageSize && h('nav', { class: 'pages', 'aria-label': `Pages of ${noun}` },
      previous, ' Page ', number, of, next));
}

export function link(href, text) { return h('a', { href }, text); }

// A labelled control: <label>Text <control></label>.
export function labelled(text, control) { return h('label', {}, text, ' ', control); }

export function errorText(e) { return h('p', { class: 'error', role: 'alert' }, String(e.message || e)); }

// Notifications: the outcome of every action, newest first.
export function notify(text, kind = 'info') {
  const list = document.getElementById('notification-list');
  list.prepend(h('li', { class: kind }, h('time', {}, new Date().toLocaleTimeString()), ' ', text));
  while (list.children.length > 50) list.lastElementChild.remove();
}

// Runs an action and reports it in Notifications: `fn` returns text for success.
export async function act(label, fn) {
  try {
    const message = await fn();
    notify(`${label}: ${typeof message === 'string' && message ? message : 'done'}`, 'succeeded');
    return true;
  } catch (e) {
    notify(`${label} failed: ${e.message || e}`, 'failed');
    return false;
  }
}

// A Key Vault time (seconds since the epoch) as ISO-8601, or '' when absent.
export const date = (s) => (s ? new Date(s * 1000).toISOString().replace('.000', '') : '');

// Shows the current view again (after an action changed what it shows).
export const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
