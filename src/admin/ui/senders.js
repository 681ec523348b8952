// The "Sender lists" page: the run-time allow/block entries (src/senders) with who added each and
// when, a form to add one (admins) and a remove button per entry. The config's own lists
// (checks.senderLists) are not shown here: they change with the config file.
import { api, badge, can, h, say, show, table, when } from './dom.js';

export async function sendersView(reload) {
  const r = await api('/api/senders');
  const edit = can('senders');
  const remove = async (e) => {
    if (!confirm(`Remove ${e.value} from the ${e.list} list?`)) return;
    try {
      await api(`/api/senders/${e.id}/remove`, {});
      say(`${e.value} removed from the ${e.list} list`);
      await reload();
    } catch (err) {
      say(err.message);
    }
  };
  let form = null;
  if (edit) {
    const err = h('p', { class: 'error', role: 'alert' });
    form = h(
      'form',
      { class: 'filters', 'aria-label': 'Add a sender entry' },
      h('label', {}, 'Address or domain', h('input', { name: 'value', id: 'sender-value', required: true, placeholder: 'user@example.com, example.com, .example.com' })),
      h('label', {}, 'List', h('select', { name: 'list', id: 'sender-list' }, h('option', { value: 'block' }, 'block'), h('option', { value: 'allow' }, 'allow'))),
      h('label', {}, 'Note', h('input', { name: 'note', maxlength: 200 })),
      h('button', { type: 'submit' }, 'Add'),
      err,
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      try {
        const a = await api('/api/senders', { value: f.get('value'), list: f.get('list'), note: f.get('note') });
        say(`${a.entry.value} is on the ${a.entry.list} list`);
        await reload();
      } catch (e) {
        err.textContent = e.message;
      }
    });
  }
  show(
    'Sender lists',
    h('p', { class: 'muted' }, 'Allowed senders are accepted whatever their score (never a virus); blocked senders are refused at MAIL FROM with 550 5.7.1. A block wins over an allow. These entries apply beside checks.senderLists of the config.'),
    form,
    r.items.length === 0
      ? h('p', {}, 'No entries.')
      : table(
          ['list', 'address or domain', 'added by', 'added (UTC)', 'note', edit ? 'actions' : null].filter(Boolean),
          r.items.map((e) => h('tr', {}, h('td', {}, badge(e.list, e.list === 'block' ? 'bad' : 'ok')), h('td', {}, e.value), h('td', {}, e.addedBy), h('td', {}, when(e.addedAt)), h('td', {}, e.note), edit ? h('td', {}, h('button', { class: 'secondary', 'aria-label': `Remove ${e.value}`, onclick: () => remove(e) }, 'Remove')) : null)),
          `${r.items.length} entries`,
        ),
  );
}
