// The quarantine pages: the filtered list with keyboard-usable selection (a select-all box in the
// header, one labelled box per row, a live count of the selection) for bulk actions, and one
// message's safe preview with its actions. Allowing or blocking a sender (admins) puts it on the
// run-time sender lists: allow releases the message, block deletes it.
import { api, can, field, h, say, show, state, table, when } from './dom.js';

const BULK = {
  release: 'Release selected',
  delete: 'Delete selected',
  'allow-sender': 'Allow senders and release',
  'block-sender': 'Block senders and delete',
};

export async function quarantineView(query, reload) {
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
  const count = h('span', { id: 'selected-count', class: 'muted', role: 'status' }, '0 selected');
  const all = h('input', { type: 'checkbox', id: 'select-all' });
  const buttons = Object.entries(BULK)
    .filter(([a]) => !a.endsWith('-sender') || can('senders'))
    .map(([a, label]) => h('button', { class: a.startsWith('delete') || a.startsWith('block') ? 'danger' : a.startsWith('allow') ? 'secondary' : null, 'data-action': a, disabled: true, onclick: () => bulk(a).catch((e) => say(e.message)) }, label));
  const sync = () => {
    const n = boxes.filter((b) => b.checked).length;
    count.textContent = `${n} selected`;
    all.checked = n > 0 && n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
    for (const b of buttons) b.disabled = n === 0;
  };
  all.addEventListener('change', () => {
    for (const b of boxes) b.checked = all.checked;
    sync();
  });
  const bulk = async (action) => {
    const ids = boxes.filter((b) => b.checked).map((b) => b.value);
    if (ids.length === 0) return say('Select messages first.');
    if ((action === 'delete' || action === 'block-sender') && !confirm(`${BULK[action]}: ${ids.length} message(s)?`)) return undefined;
    const r = await api('/api/quarantine/bulk', { ids, action });
    say(Object.entries(r.results).map(([k, v]) => `${k}: ${v}`).join('; '));
    return reload();
  };
  const rows = list.items.map((m) => {
    const box = h('input', { type: 'checkbox', value: m.id, class: 'select-one', onchange: sync });
    boxes.push(box);
    const pick = h('label', { class: 'pick' }, box, h('span', { class: 'sr-only' }, `Select ${m.subject ?? '(no subject)'} from ${m.from || '<>'}`));
    return h('tr', {}, act ? h('td', {}, pick) : null, h('td', {}, when(m.receivedAt)), h('td', {}, h('a', { href: `#/quarantine/${m.id}` }, m.subject ?? '(no subject)')), h('td', {}, m.from), h('td', { class: 'hide-sm' }, m.recipients.join(', ')), h('td', { class: 'num' }, m.score ?? ''), h('td', { class: 'hide-sm' }, m.symbols.join(' ')));
  });
  const head = act ? h('label', { class: 'pick' }, all, h('span', { class: 'sr-only' }, 'Select all messages shown')) : null;
  show(
    'Quarantine',
    form,
    act && list.items.length > 0 ? h('div', { class: 'actions', role: 'group', 'aria-label': 'Bulk actions' }, ...buttons, count) : null,
    list.items.length === 0 ? h('p', {}, 'The quarantine is empty.') : table([head, 'received (UTC)', 'subject', 'from', 'to', 'score', 'symbols'].filter(Boolean), rows, `${list.total} of ${list.all} quarantined`),
  );
}

export async function quarantineItemView(id) {
  const p = await api(`/api/quarantine/${encodeURIComponent(id)}`);
  const act = async (what, learn) => {
    if ((what === 'delete' || what === 'block-sender') && !confirm(what === 'delete' ? 'Delete this message for good?' : `Block ${p.from} and delete this message?`)) return;
    try {
      const r = await api(`/api/quarantine/${encodeURIComponent(id)}/${what}`, learn ? { learn: true } : {});
      say(what.endsWith('-sender') ? `${r.sender} ${what === 'allow-sender' ? 'allowed' : 'blocked'}; ${r.result}` : `${what}: ${r.result}`);
      location.hash = '#/quarantine';
    } catch (e) {
      say(e.message);
    }
  };
  const learn = state.caps?.learn === true;
  const senders = can('senders') && p.from !== '';
  show(
    p.subject ?? '(no subject)',
    can('quarantine.act')
      ? h(
          'div',
          { class: 'actions' },
          h('button', { id: 'release', onclick: () => act('release', false) }, 'Release'),
          learn ? h('button', { class: 'secondary', onclick: () => act('release', true) }, 'Release and train as ham') : null,
          h('button', { id: 'delete', class: 'danger', onclick: () => act('delete', false) }, 'Delete'),
          learn ? h('button', { class: 'danger', onclick: () => act('delete', true) }, 'Delete and train as spam') : null,
          senders ? h('button', { id: 'allow-sender', class: 'secondary', onclick: () => act('allow-sender', false) }, 'Allow sender and release') : null,
          senders ? h('button', { id: 'block-sender', class: 'danger', onclick: () => act('block-sender', false) }, 'Block sender and delete') : null,
        )
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
