// What every page of the console shares: the page state, a tiny element builder (values always go
// in as text, never as HTML), the JSON API client (the session's CSRF token on every POST) and the
// small page parts (title, tables, fields, the status line).
export const main = document.getElementById('main');
const statusBox = document.getElementById('status');
// `cleanup`: what the current page started (timers, the live stream), undone when the page changes.
export const state = { me: null, csrf: null, caps: null, chart: null, cleanup: [], onSignedOut: null };

export function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return el;
}
export const when = (t) => (t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '—');
export const age = (s) => (s === null || s === undefined ? '—' : s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);
export const badge = (t, cls = t) => h('span', { class: `badge ${cls}` }, t);
export const can = (p) => Boolean(state.me && state.me.permissions.includes(p));

export function say(text) {
  statusBox.textContent = text;
  clearTimeout(say.t);
  say.t = setTimeout(() => (statusBox.textContent = ''), 5000);
}

export async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': state.csrf ?? '' }, body: JSON.stringify(body) };
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && path !== '/api/login') {
    state.me = null;
    state.onSignedOut?.();
  }
  if (!res.ok) throw new Error(data.error ?? `HTTP ${res.status}`);
  return data;
}

export function show(title, ...content) {
  main.replaceChildren(h('h1', {}, title), ...content.filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · Moat`;
}

export function table(headers, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', {}, caption ? h('caption', { class: 'muted' }, caption) : null, h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows)));
}

export function field(label, name, value = '', attrs = {}) {
  return h('label', {}, label, h('input', { name, value, ...attrs }));
}

/** Runs what the current page started to stop (timers, streams). */
export function leavePage() {
  for (const f of state.cleanup.splice(0)) f();
}
