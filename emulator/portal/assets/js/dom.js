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

// Replaces the content of <main> and moves the focus there, for keyboard and screen readers.
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

export function table(headers, rows, rowAttrs) {
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((r, i) => h('tr', rowAttrs ? rowAttrs(i) : {}, r.map((c) => h('td', {}, c))))));
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
