// The Moat console's UI: one page, hash routes, plain DOM, talking to the JSON API of the same
// origin (src/admin/api-*.ts). Every value from the server is put in the page as text (never as
// HTML); the only HTML shown is the quarantine preview, inside a sandboxed frame the server serves
// under its own CSP. State changes send the session's CSRF token in X-CSRF-Token. The dashboard
// is live through server-sent events (/api/events) and polls when the stream cannot be had.
import { age, api, badge, can, field, h, leavePage, main, say, show, state, table, when } from './dom.js';
import { quarantineItemView, quarantineView } from './quarantine.js';
import { sendersView } from './senders.js';

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
  const live = h('span', { id: 'live', class: 'badge', 'data-mode': 'poll' }, 'polling every 5 s');
  show('Dashboard', h('div', { class: 'actions' }, picker, live, h('span', { class: 'muted', id: 'updated' })), body);
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'Messages per interval by outcome' });
  const cards = h('div', { class: 'cards', id: 'totals', 'aria-live': 'polite' });
  const rest = h('div', { class: 'grid' });
  body.append(cards, h('h2', {}, 'Messages over time'), chartBox, rest);
  // The cards come from the live stream while it is open (data-source="sse"), else from the poll.
  const drawCards = (totals, queue, quarantine, source) => {
    cards.dataset.source = source;
    cards.replaceChildren(
      ...KINDS.map((k) => h('div', { class: 'card', 'data-kind': k }, h('div', { class: 'n' }, totals[k]), h('div', { class: 'k' }, k))),
      h('div', { class: 'card', 'data-kind': 'queue' }, h('div', { class: 'n' }, queue.size), h('div', { class: 'k' }, `in queue, oldest ${age(queue.oldestAgeS || null)}`)),
      h('div', { class: 'card', 'data-kind': 'quarantined' }, h('div', { class: 'n' }, quarantine ?? '—'), h('div', { class: 'k' }, 'in quarantine')),
    );
  };
  let streaming = false;
  const refresh = async () => {
    const d = await api(`/api/dashboard?range=${range}`);
    const updated = document.getElementById('updated');
    if (!updated) return;
    updated.textContent = `updated ${when(d.now)} UTC`;
    if (!streaming) drawCards(d.totals, { size: d.queue.size, oldestAgeS: Math.max(0, ...d.queue.shards.map((s) => s.oldestAgeS ?? 0)) }, d.quarantine, 'poll');
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
      top('External scanners (probed)', d.health.detail.scanners ?? [], [
        ['scanner', 'where', 'last probe', 'state'],
        (s) => h('tr', { 'data-scanner': s.name }, h('td', {}, s.name), h('td', {}, s.target), h('td', {}, s.checkedAt ? when(s.checkedAt) : '—'), h('td', {}, s.up === null ? badge('not probed yet') : s.up ? badge(`up, ${s.latencyMs} ms`, 'ok') : badge(s.error ?? 'down', 'bad'))),
      ]),
      h('section', {}, h('h2', {}, 'Gateway'), h('p', {}, d.health.ok ? badge('all workers ready', 'ok') : badge('workers not ready', 'bad'), ' ', `${d.health.detail.ready} of ${d.health.detail.workers} workers ready`)),
    );
    if (d.nodes) rest.append(nodesTable(d.nodes, d.self, d.nodesError));
  };
  await refresh();
  let poll = null;
  let tables = null;
  let later = null;
  const polling = (on) => {
    streaming = !on;
    live.dataset.mode = on ? 'poll' : 'live';
    live.textContent = on ? 'polling every 5 s' : 'live';
    live.className = `badge ${on ? 'warn' : 'ok'}`;
    if (on && !poll) poll = setInterval(() => refresh().catch((e) => say(e.message)), 5000);
    if (!on && poll) {
      clearInterval(poll);
      poll = null;
    }
    // While the stream keeps the cards live, the chart and tables follow every 10 s: some of what
    // they show changes without any event (a node's heartbeat going stale, ages).
    if (!on && !tables) tables = setInterval(() => refresh().catch((e) => say(e.message)), 10_000);
    if (on && tables) {
      clearInterval(tables);
      tables = null;
    }
  };
  polling(true);
  state.cleanup.push(() => {
    clearInterval(poll);
    clearInterval(tables);
    clearTimeout(later);
  });
  if (typeof EventSource !== 'function') return;
  const es = new EventSource(`/api/events?range=${encodeURIComponent(range)}`);
  state.cleanup.push(() => es.close());
  es.addEventListener('open', () => polling(false));
  // A broken stream reconnects by itself; one refused (429, 401) stays closed: poll meanwhile.
  es.addEventListener('error', () => polling(true));
  es.addEventListener('dashboard', (ev) => {
    const s = JSON.parse(ev.data);
    polling(false);
    drawCards(s.totals, s.queue, s.quarantine, 'sse');
    // The chart and the tables follow, at most every 2 s.
    later ??= setTimeout(() => {
      later = null;
      refresh().catch((e) => say(e.message));
    }, 2000);
  });
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
  leavePage();
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
      case 'quarantine': return parts[1] ? await quarantineItemView(decodeURIComponent(parts[1])) : await quarantineView(query, route);
      case 'senders': return await sendersView(route);
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
    leavePage();
    await api('/api/logout', {}).catch(() => undefined);
    state.me = null;
    state.csrf = null;
    location.hash = '';
    render();
  });
  who.replaceChildren(h('span', {}, `${state.me.name} (${state.me.role})`), out);
  return route();
}

state.onSignedOut = () => {
  leavePage();
  render();
};
window.addEventListener('hashchange', () => state.me && route());
render();
