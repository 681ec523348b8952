// The Moat console's UI: one page, hash routes, plain DOM, talking to the JSON API of the same
// origin (src/admin/api-*.ts). Every value from the server is put in the page as text (never as
// HTML); the only HTML shown is the quarantine preview, inside a sandboxed frame the server serves
// under its own CSP. State changes send the session's CSRF token in X-CSRF-Token.
const main = document.getElementById('main');
const statusBox = document.getElementById('status');
const state = { me: null, csrf: null, poll: null, chart: null };

function h(tag, attrs = {}, ...kids) {
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
const when = (t) => (t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '—');
const age = (s) => (s === null || s === undefined ? '—' : s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);
const badge = (t, cls = t) => h('span', { class: `badge ${cls}` }, t);
const can = (p) => Boolean(state.me && state.me.permissions.includes(p));

function say(text) {
  statusBox.textContent = text;
  clearTimeout(say.t);
  say.t = setTimeout(() => (statusBox.textContent = ''), 5000);
}

async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': state.csrf ?? '' }, body: JSON.stringify(body) };
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && path !== '/api/login') {
    state.me = null;
    render();
  }
  if (!res.ok) throw new Error(data.error ?? `HTTP ${res.status}`);
  return data;
}

function show(title, ...content) {
  main.replaceChildren(h('h1', {}, title), ...content.filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · Moat`;
}

function table(headers, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', {}, caption ? h('caption', { class: 'muted' }, caption) : null, h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows)));
}

function field(label, name, value = '', attrs = {}) {
  return h('label', {}, label, h('input', { name, value, ...attrs }));
}

// ---- login -----------------------------------------------------------------------------------
function loginView(info) {
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'login', 'aria-label': 'Log in' },
    h('h1', {}, 'Log in to Moat'),
    info.setupNeeded ? h('p', { class: 'error' }, info.setupHint) : null,
    field('User name', 'name', '', { autocomplete: 'username', required: true, id: 'login-name' }),
    field('Password', 'password', '', { type: 'password', autocomplete: 'current-password', required: true, id: 'login-password' }),
    h('button', { type: 'submit' }, 'Log in'),
    err,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      const r = await api('/api/login', { name: f.get('name'), password: f.get('password') });
      state.me = r.user;
      state.csrf = r.csrf;
      location.hash = can('view') ? '#/dashboard' : '#/quarantine';
      render();
    } catch (e) {
      err.textContent = e.message;
    }
  });
  main.replaceChildren(form);
  form.querySelector('input').focus();
}

// ---- dashboard -------------------------------------------------------------------------------
const KINDS = ['accept', 'tag', 'quarantine', 'reject', 'defer', 'delivered', 'bounced'];
const COLORS = { accept: '#1a7f37', tag: '#4ac26b', quarantine: '#bf8700', reject: '#cf222e', defer: '#8250df', delivered: '#0969da', bounced: '#57606a' };

function drawChart(box, series) {
  if (!series || typeof uPlot === 'undefined') return;
  const xs = series.counts.accept.map((_, i) => (series.from + i * series.bucketMs) / 1000);
  const data = [xs, ...KINDS.map((k) => series.counts[k])];
  const opts = {
    width: Math.max(280, box.clientWidth || 600),
    height: 220,
    series: [{}, ...KINDS.map((k) => ({ label: k, stroke: COLORS[k], width: 2, points: { show: false } }))],
    axes: [{}, { size: 40 }],
  };
  if (state.chart) state.chart.destroy();
  state.chart = new uPlot(opts, data, box);
}

// The cluster's nodes (PostgreSQL store): heartbeat, workers, own queue, LAN servers, scanners.
function nodesTable(nodes, self, error) {
  const rows = nodes.map((n) =>
    h('tr', { 'data-node': n.node, 'data-status': n.status, 'data-stale': String(n.stale) },
      h('td', {}, n.node, n.node === self ? ' (this node)' : ''),
      h('td', {}, badge(n.status, n.status === 'ok' ? 'ok' : 'bad'), n.stale && n.status !== 'stale' ? [' ', badge('stale', 'bad')] : null),
      h('td', { class: 'num' }, `${n.lastBeatAgeS} s ago`),
      h('td', { class: 'num' }, `${n.ready}/${n.workers}`),
      h('td', { class: 'num' }, n.queue.size, n.queue.oldestAgeS === null ? '' : `, oldest ${age(n.queue.oldestAgeS)}`),
      h('td', {}, n.relays.length === 0 ? '—' : n.relays.map((r) => badge(r.target, r.reachable ? 'ok' : 'bad'))),
      h('td', {}, n.checks.length === 0 ? badge('healthy', 'ok') : n.checks.map((c) => badge(`${c.check}: ${c.failures}`, 'bad')))));
  return h('section', { class: 'wide', id: 'nodes' }, h('h2', {}, 'Cluster nodes'), error ? h('p', { class: 'muted' }, `node list unavailable: ${error}`) : null,
    nodes.length === 0 ? h('p', { class: 'muted' }, 'none') : table(['node', 'state', 'last heartbeat', 'workers', 'queue', 'LAN servers', 'scanners and checks'], rows));
}

async function dashboardView() {
  const range = new URLSearchParams(location.hash.split('?')[1] ?? '').get('range') ?? 'hour';
  const picker = h('select', { id: 'range', 'aria-label': 'Time range' }, ['hour', 'day', 'week'].map((r) => h('option', { value: r, selected: r === range }, `last ${r}`)));
  picker.addEventListener('change', () => (location.hash = `#/dashboard?range=${picker.value}`));
  const body = h('div', { id: 'dash' });
  show('Dashboard', h('div', { class: 'actions' }, picker, h('span', { class: 'muted', id: 'updated' })), body);
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'Messages per interval by outcome' });
  const cards = h('div', { class: 'cards', id: 'totals' });
  const rest = h('div', { class: 'grid' });
  body.append(cards, h('h2', {}, 'Messages over time'), chartBox, rest);
  const refresh = async () => {
    const d = await api(`/api/dashboard?range=${range}`);
    const updated = document.getElementById('updated');
    if (!updated) return;
    updated.textContent = `updated ${when(d.now)} UTC`;
    cards.replaceChildren(
      ...KINDS.map((k) => h('div', { class: 'card', 'data-kind': k }, h('div', { class: 'n' }, d.totals[k]), h('div', { class: 'k' }, k))),
      h('div', { class: 'card', 'data-kind': 'queue' }, h('div', { class: 'n' }, d.queue.size), h('div', { class: 'k' }, `in queue, oldest ${age(Math.max(0, ...d.queue.shards.map((s) => s.oldestAgeS ?? 0)) || null)}`)),
      h('div', { class: 'card', 'data-kind': 'quarantined' }, h('div', { class: 'n' }, d.quarantine ?? '—'), h('div', { class: 'k' }, 'in quarantine')),
    );
    if (!d.messageLog) chartBox.replaceChildren(h('p', { class: 'muted' }, 'The message log is disabled: no counts.'));
    else drawChart(chartBox, d.series);
    const VERDICTS = ['accept', 'tag', 'quarantine', 'reject', 'defer'];
    const all = VERDICTS.reduce((n, k) => n + d.totals[k], 0) || 1;
    const top = (title, rows, cols) => h('section', {}, h('h2', {}, title), rows.length === 0 ? h('p', { class: 'muted' }, 'none') : table(cols[0], rows.map(cols[1])));
    rest.replaceChildren(
      top('Verdict mix', VERDICTS.filter((k) => d.totals[k] > 0), [['verdict', 'messages', 'share'], (k) => h('tr', {}, h('td', {}, badge(k)), h('td', { class: 'num' }, d.totals[k]), h('td', { class: 'num' }, `${Math.round((100 * d.totals[k]) / all)} %`))]),
      top('Top symbols', d.topSymbols, [['symbol', 'check', 'hits', 'refused'], (s) => h('tr', {}, h('td', {}, s.symbol), h('td', {}, s.check), h('td', { class: 'num' }, s.n), h('td', { class: 'num' }, s.refused))]),
      top('Top refusing checks', d.topRefusingChecks, [['check', 'refused'], (s) => h('tr', {}, h('td', {}, s.check), h('td', { class: 'num' }, s.refused))]),
      top('Top sender domains', d.topSenderDomains, [['domain', 'messages'], (s) => h('tr', {}, h('td', {}, s.value), h('td', { class: 'num' }, s.n))]),
      top('Top client IPs', d.topClients, [['client', 'messages'], (s) => h('tr', {}, h('td', {}, h('a', { href: `#/messages?client=${encodeURIComponent(s.value)}` }, s.value)), h('td', { class: 'num' }, s.n))]),
      top('LAN servers', d.relays.flatMap((r) => r.hosts.map((x) => ({ ...x, domain: r.domain }))), [
        ['domain', 'server', 'last attempt', 'state'],
        (x) => h('tr', {}, h('td', {}, x.domain), h('td', {}, x.host), h('td', {}, x.last ? when(x.last.time) : '—'), h('td', {}, x.last ? badge(x.last.outcome === 'delivered' ? 'reachable' : x.last.outcome, x.last.outcome === 'delivered' ? 'ok' : 'bad') : badge('unknown'))),
      ]),
      top('Scanners and checks', d.checks, [['check', 'failures', 'state'], (c) => h('tr', {}, h('td', {}, c.check), h('td', { class: 'num' }, c.failures), h('td', {}, c.failures === 0 ? badge('healthy', 'ok') : badge(c.symbols.join(', '), 'bad')))]),
      h('section', {}, h('h2', {}, 'Gateway'), h('p', {}, d.health.ok ? badge('all workers ready', 'ok') : badge('workers not ready', 'bad'), ' ', JSON.stringify(d.health.detail))),
    );
    if (d.nodes) rest.append(nodesTable(d.nodes, d.self, d.nodesError));
  };
  await refresh();
  state.poll = setInterval(() => refresh().catch((e) => say(e.message)), 5000);
}

// ---- message tracking ------------------------------------------------------------------------
async function messagesView(query) {
  const q = new URLSearchParams(query);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search messages' },
    field('Sender', 'sender', q.get('sender') ?? ''),
    field('Recipient', 'recipient', q.get('recipient') ?? ''),
    field('Client IP', 'client', q.get('client') ?? ''),
    field('Subject', 'subject', q.get('subject') ?? ''),
    field('Queue id', 'queueId', q.get('queueId') ?? ''),
    field('Since (2h or a date)', 'since', q.get('since') ?? ''),
    h('label', {}, 'Verdict', h('select', { name: 'action' }, ['', 'accept', 'tag', 'quarantine', 'reject', 'defer', 'abandoned'].map((a) => h('option', { value: a, selected: a === (q.get('action') ?? '') }, a || 'any')))),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, String(v));
    location.hash = `#/messages?${p}`;
  });
  const results = h('div', { id: 'results' });
  show('Message tracking', form, results);
  q.set('contains', '1');
  const page = await api(`/api/messages?${q}`);
  results.replaceChildren(
    page.items.length === 0
      ? h('p', {}, 'No message matches.')
      : table(
          ['time (UTC)', 'queue id', 'node', 'from', 'to', 'subject', 'verdict', 'score', 'state'],
          page.items.map((m) =>
            h('tr', {}, h('td', {}, when(m.time)), h('td', {}, h('a', { href: `#/message/${encodeURIComponent(m.queueId)}` }, m.queueId)), h('td', {}, m.node ?? ''), h('td', {}, m.sender ?? '—'), h('td', {}, m.recipients.join(', ')), h('td', {}, m.subject ?? ''), h('td', {}, badge(m.action)), h('td', { class: 'num' }, m.score), h('td', {}, m.state ? badge(m.state) : '')),
          ),
          `${page.items.length} shown, newest first`,
        ),
  );
}

async function messageView(id) {
  const r = await api(`/api/messages/${encodeURIComponent(id)}`);
  const s = r.story;
  const e = s.entry;
  const parts = [];
  if (e) {
    parts.push(
      h('p', {}, badge(e.action), ' ', e.verdict ? `score ${e.verdict.score}` : '', s.state ? ' · now ' : '', s.state ? badge(s.state) : '', s.node ? ` · received by ${s.node}` : ''),
      h('h2', {}, 'Symbols'),
      e.verdict.findings.length === 0
        ? h('p', {}, 'none')
        : table(['symbol', 'score', 'check', 'phase', 'description'], e.verdict.findings.map((f) => h('tr', {}, h('td', {}, f.symbol), h('td', { class: 'num' }, f.score), h('td', {}, f.check), h('td', {}, f.phase), h('td', {}, f.description ?? '', f.detail ? ` (${f.detail})` : '')))),
    );
  }
  if (s.events.length > 0) {
    parts.push(h('h2', {}, 'Delivery'), table(['time (UTC)', 'event', 'recipients', 'server', 'reply'], s.events.map((ev) => (ev.kind === 'attempt' ? h('tr', {}, h('td', {}, when(ev.time)), h('td', {}, badge(ev.outcome)), h('td', {}, ev.recipients.join(', ')), h('td', {}, ev.relay ?? '—'), h('td', {}, ev.reply)) : h('tr', {}, h('td', {}, when(ev.time)), h('td', {}, badge(ev.state)), h('td', {}), h('td', {}), h('td', {}))))));
  }
  show(`Message ${id}`, ...parts, h('h2', {}, 'The whole story (as moat explain prints it)'), h('pre', { id: 'explain' }, r.text));
}

// ---- quarantine ------------------------------------------------------------------------------
async function quarantineView(query) {
  const q = new URLSearchParams(query);
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the quarantine' }, field('Sender', 'sender', q.get('sender') ?? ''), field('Recipient', 'recipient', q.get('recipient') ?? ''), field('Subject', 'subject', q.get('subject') ?? ''), field('Min score', 'minScore', q.get('minScore') ?? '', { inputmode: 'decimal', size: 5 }), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, String(v));
    location.hash = `#/quarantine?${p}`;
  });
  const list = await api(`/api/quarantine?${q}`);
  const act = can('quarantine.act');
  const boxes = [];
  const bulk = async (action) => {
    const ids = boxes.filter((b) => b.checked).map((b) => b.value);
    if (ids.length === 0) return say('Select messages first.');
    if (action === 'delete' && !confirm(`Delete ${ids.length} message(s)?`)) return undefined;
    const r = await api('/api/quarantine/bulk', { ids, action });
    say(Object.entries(r.results).map(([k, v]) => `${k}: ${v}`).join('; '));
    return route();
  };
  const rows = list.items.map((m) => {
    const box = h('input', { type: 'checkbox', value: m.id, 'aria-label': `select ${m.id}` });
    boxes.push(box);
    return h('tr', {}, act ? h('td', {}, box) : null, h('td', {}, when(m.receivedAt)), h('td', {}, h('a', { href: `#/quarantine/${m.id}` }, m.subject ?? '(no subject)')), h('td', {}, m.from), h('td', { class: 'hide-sm' }, m.recipients.join(', ')), h('td', { class: 'num' }, m.score ?? ''), h('td', { class: 'hide-sm' }, m.symbols.join(' ')));
  });
  show(
    'Quarantine',
    form,
    act ? h('div', { class: 'actions' }, h('button', { onclick: () => bulk('release').catch((e) => say(e.message)) }, 'Release selected'), state.me && h('button', { class: 'danger', onclick: () => bulk('delete').catch((e) => say(e.message)) }, 'Delete selected')) : null,
    list.items.length === 0 ? h('p', {}, 'The quarantine is empty.') : table([act ? 'select' : null, 'received (UTC)', 'subject', 'from', 'to', 'score', 'symbols'].filter(Boolean).map((x) => x), rows, `${list.total} of ${list.all} quarantined`),
  );
}

async function quarantineItemView(id) {
  const p = await api(`/api/quarantine/${encodeURIComponent(id)}`);
  const act = async (what, learn) => {
    if (what === 'delete' && !confirm('Delete this message for good?')) return;
    try {
      const r = await api(`/api/quarantine/${encodeURIComponent(id)}/${what}`, learn ? { learn: true } : {});
      say(`${what}: ${r.result}`);
      location.hash = '#/quarantine';
    } catch (e) {
      say(e.message);
    }
  };
  const learn = state.caps?.learn === true;
  show(
    p.subject ?? '(no subject)',
    can('quarantine.act')
      ? h('div', { class: 'actions' }, h('button', { id: 'release', onclick: () => act('release', false) }, 'Release'), learn ? h('button', { class: 'secondary', onclick: () => act('release', true) }, 'Release and train as ham') : null, h('button', { id: 'delete', class: 'danger', onclick: () => act('delete', false) }, 'Delete'), learn ? h('button', { class: 'danger', onclick: () => act('delete', true) }, 'Delete and train as spam') : null)
      : null,
    h('table', { class: 'summary' }, h('tbody', {}, [
      h('tr', {}, h('th', { scope: 'row' }, 'From'), h('td', {}, p.from)),
      h('tr', {}, h('th', { scope: 'row' }, 'To'), h('td', {}, p.recipients.join(', '))),
      h('tr', {}, h('th', { scope: 'row' }, 'Received'), h('td', {}, `${when(p.receivedAt)} UTC from ${p.client.ip} (${p.client.helo})`)),
      h('tr', {}, h('th', { scope: 'row' }, 'Score'), h('td', {}, p.verdict ? `${p.verdict.score}: ${p.verdict.symbols.map((s) => `${s.name} ${s.score}`).join(', ')}` : '—')),
    ])),
    p.problems.length ? h('p', { class: 'error' }, p.problems.join('; ')) : null,
    h('h2', {}, 'Attachments (listed, never opened)'),
    p.attachments.length === 0 ? h('p', {}, 'none') : table(['name', 'type', 'sniffed', 'size'], p.attachments.map((a) => h('tr', {}, h('td', {}, a.filename ?? a.path), h('td', {}, a.contentType), h('td', {}, a.sniffedType ?? ''), h('td', { class: 'num' }, a.size)))),
    p.hasHtml ? h('h2', {}, `HTML (sanitised; ${p.remoteImagesBlocked} remote image(s) blocked)`) : null,
    p.hasHtml ? h('iframe', { class: 'preview', title: 'Sanitised HTML preview', sandbox: '', src: `/api/quarantine/${encodeURIComponent(id)}/html`, referrerpolicy: 'no-referrer' }) : null,
    h('h2', {}, 'Text'),
    h('pre', {}, p.text || '(no text part)', p.textTruncated ? '\n… (truncated)' : ''),
    h('h2', {}, 'Headers'),
    h('pre', {}, p.headers.map((x) => `${x.name}: ${x.value}`).join('\n')),
  );
}

// ---- queue -----------------------------------------------------------------------------------
async function queueView() {
  const q = await api('/api/queue');
  const op = async (id, what) => {
    if (what !== 'retry' && !confirm(`${what} ${id}?`)) return;
    try {
      const r = await api(`/api/queue/${encodeURIComponent(id)}/${what}`, {});
      say(`${what} ${id}: ${r.result}`);
      await queueView();
    } catch (e) {
      say(e.message);
    }
  };
  const actions = can('queue.act');
  show(
    'Queue',
    actions ? h('div', { class: 'actions' }, h('button', { onclick: () => api('/api/queue/flush', {}).then((r) => say(`retrying ${r.count}`), (e) => say(e.message)) }, 'Retry all now')) : null,
    q.items.length === 0
      ? h('p', {}, 'The queue is empty.')
      : table(
          ['received (UTC)', 'queue id', 'from', 'recipients and last reply', 'attempts', 'next try', actions ? 'actions' : null].filter(Boolean),
          q.items.map((i) =>
            h('tr', {}, h('td', {}, when(i.receivedAt)), h('td', {}, h('a', { href: `#/message/${i.id}` }, i.id)), h('td', {}, i.from || '<>'), h('td', {}, i.recipients.map((r) => h('div', {}, `${r.address} `, badge(r.status), r.lastReply ? ` ${r.lastReply}` : ''))), h('td', { class: 'num' }, i.attempts), h('td', {}, i.active ? 'delivering' : when(i.nextAttemptAt)), actions ? h('td', {}, h('div', { class: 'actions' }, h('button', { class: 'secondary', onclick: () => op(i.id, 'retry') }, 'Retry'), h('button', { class: 'secondary', onclick: () => op(i.id, 'bounce') }, 'Bounce'), h('button', { class: 'danger', onclick: () => op(i.id, 'delete') }, 'Delete'))) : null),
          ),
          `${q.total} queued`,
        ),
  );
}

// ---- config ----------------------------------------------------------------------------------
async function configView() {
  const c = await api('/api/config');
  const text = h('textarea', { id: 'config-edit', rows: 12, cols: 80, 'aria-label': 'A config to check' });
  const out = h('div', { role: 'status' });
  const check = h('button', {}, 'Check this config');
  check.addEventListener('click', async () => {
    try {
      const r = await api('/api/config/check', { yaml: text.value });
      out.replaceChildren(r.ok ? h('p', {}, badge('valid', 'ok')) : h('ul', { class: 'error' }, r.errors.map((e) => h('li', {}, `${e.path || '(top)'}: ${e.message}`))));
    } catch (e) {
      out.textContent = e.message;
    }
  });
  show('Configuration', h('p', { class: 'muted' }, 'The running config with defaults filled in; secrets are masked. The console never writes the config file: check an edited one here, then write it and send SIGHUP.'), h('pre', { id: 'config' }, c.yaml), h('h2', {}, 'Check an edited config'), text, h('div', { class: 'actions' }, check), out);
}

// ---- routing ---------------------------------------------------------------------------------
async function route() {
  clearInterval(state.poll);
  if (state.chart) {
    state.chart.destroy();
    state.chart = null;
  }
  const [path, query = ''] = location.hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('nav a')) {
    a.toggleAttribute('hidden', !can(a.dataset.perm));
    if (a.getAttribute('href') === `#/${parts[0] ?? ''}` || (parts[0] === 'message' && a.getAttribute('href') === '#/messages')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const dflt = can('view') ? 'dashboard' : 'quarantine';
  try {
    switch (parts[0] ?? dflt) {
      case 'dashboard': return await dashboardView();
      case 'messages': return await messagesView(query);
      case 'message': return await messageView(decodeURIComponent(parts[1] ?? ''));
      case 'quarantine': return parts[1] ? await quarantineItemView(decodeURIComponent(parts[1])) : await quarantineView(query);
      case 'queue': return await queueView();
      case 'config': return await configView();
      default: return show('Not found', h('p', {}, 'No such page.'));
    }
  } catch (e) {
    return show('Error', h('p', { class: 'error', role: 'alert' }, e.message));
  } finally {
    main.focus({ preventScroll: true });
  }
}

async function render() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!state.me) {
    const info = await api('/api/session');
    state.caps = info.capabilities;
    if (info.user) {
      state.me = info.user;
      state.csrf = info.csrf;
    } else {
      nav.hidden = true;
      who.replaceChildren();
      return loginView(info);
    }
  }
  nav.hidden = false;
  const out = h('button', { class: 'secondary', id: 'logout' }, 'Log out');
  out.addEventListener('click', async () => {
    await api('/api/logout', {}).catch(() => undefined);
    state.me = null;
    state.csrf = null;
    location.hash = '';
    render();
  });
  who.replaceChildren(h('span', {}, `${state.me.name} (${state.me.role})`), out);
  return route();
}

window.addEventListener('hashchange', () => state.me && route());
render();
