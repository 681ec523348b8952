/**
 * The pages the quarantine digest links to, which work without a console login: the signed token
 * in the link (signed-link.ts) is the only credential, and it allows exactly what it names —
 * releasing one message to one recipient, or that recipient's list of quarantined mail.
 *   GET  /q/release?t=…   what the link releases, and a button to do it
 *   POST /q/release       (form: t) releases that message to that recipient only
 *   GET  /q/mine?t=…      the recipient's quarantined messages, each with a release button
 *   POST /q/mine/release  (form: t, id) releases one of them to that recipient
 * A GET never changes anything: mail clients and link scanners open links on their own, so the
 * release waits for the button (a POST, checked for our Origin by the dispatcher). Pages are
 * rendered here from the envelope and the message log (no mail is parsed), every value escaped.
 */
import { verifyLink, type LinkPayload } from './signed-link.js';
import { escapeHtml as e, html, readForm, type Reply } from './http.js';
import type { ConsoleDeps, RouteList } from './route.js';

function page(title: string, body: string, status = 200): Reply {
  return html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${e(title)}</title>` +
      `<link rel="stylesheet" href="/ui/public.css"></head><body><main><h1>${e(title)}</h1>${body}</main></body></html>`,
    status,
  );
}

const when = (t: number): string => new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export function publicLinkRoutes(deps: ConsoleDeps): RouteList {
  const token = async (t: string | null, kind: LinkPayload['k']): Promise<LinkPayload | Reply> => {
    const r = verifyLink(await deps.linkSecret(), t ?? '', deps.now());
    if (!r.ok || r.payload.k !== kind) {
      return page('Link not valid', `<p>${r.ok || r.reason === 'invalid' ? 'This link is not valid.' : 'This link has expired.'} Ask your mail administrator if you still need the message.</p>`, r.ok || r.reason === 'invalid' ? 400 : 410);
    }
    return r.payload;
  };
  const describe = async (id: string, recipient: string): Promise<{ from: string; subject: string | null; receivedAt: number } | null> => {
    const a = await deps.ask({ op: 'quarantine-show', id });
    const env = a.ok ? a.quarantined?.[0]?.envelope : undefined;
    if (!env || !env.recipients.some((r) => r.address.toLowerCase() === recipient)) return null;
    const known = deps.log ? (await deps.log.lookup([id]))[0] : undefined;
    return { from: env.from, subject: known?.subject ?? null, receivedAt: env.receivedAt };
  };
  const release = async (id: string, recipient: string): Promise<boolean> => {
    const a = await deps.ask({ op: 'quarantine-release', id, recipient });
    deps.logger.info('admin.action', { user: `link:${recipient}`, action: 'quarantine-release', queueId: id, result: a.ok ? a.result : a.error });
    return a.ok;
  };
  const gone = page('Not in quarantine', '<p>This message is no longer in quarantine: it was released, deleted or has expired.</p>', 404);
  const done = (back: string): Reply => page('Released', `<p>The message is on its way to your mailbox.</p>${back}`);

  return [
    [
      'GET',
      '/q/release',
      {
        perm: 'public',
        async handle(c) {
          const t = c.url.searchParams.get('t');
          const p = await token(t, 'release');
          if (!('k' in p) || p.k !== 'release') return p as Reply;
          const m = await describe(p.id, p.r);
          if (!m) return gone;
          return page(
            'Release this message?',
            `<dl><dt>To</dt><dd>${e(p.r)}</dd><dt>From</dt><dd>${e(m.from || '<>')}</dd><dt>Subject</dt><dd>${e(m.subject ?? '(unknown)')}</dd><dt>Received</dt><dd>${e(when(m.receivedAt))}</dd></dl>` +
              `<form method="post" action="/q/release"><input type="hidden" name="t" value="${e(t ?? '')}"><button type="submit">Release to my mailbox</button></form>` +
              '<p class="note">Release only what you expected: quarantined mail was judged to be spam or dangerous.</p>',
          );
        },
      },
    ],
    [
      'POST',
      '/q/release',
      {
        perm: 'public',
        async handle(c) {
          const p = await token((await readForm(c.req, 8192)).get('t'), 'release');
          if (!('k' in p) || p.k !== 'release') return p as Reply;
          return (await release(p.id, p.r)) ? done('') : gone;
        },
      },
    ],
    [
      'GET',
      '/q/mine',
      {
        perm: 'public',
        async handle(c) {
          const t = c.url.searchParams.get('t') ?? '';
          const p = await token(t, 'user');
          if (!('k' in p) || p.k !== 'user') return p as Reply;
          const a = await deps.ask({ op: 'quarantine-list' });
          const mine = (a.ok ? (a.quarantined ?? []) : []).filter((q) => q.envelope.recipients.some((r) => r.address.toLowerCase() === p.r)).slice(0, 500);
          const known = new Map((deps.log ? await deps.log.lookup(mine.map((m) => m.envelope.id)) : []).map((s) => [s.queueId, s]));
          const rows = mine
            .map((m) => {
              const id = m.envelope.id;
              return (
                `<tr><td>${e(when(m.envelope.receivedAt))}</td><td>${e(m.envelope.from || '<>')}</td><td>${e(known.get(id)?.subject ?? '')}</td>` +
                `<td><form method="post" action="/q/mine/release"><input type="hidden" name="t" value="${e(t)}"><input type="hidden" name="id" value="${e(id)}"><button type="submit">Release</button></form></td></tr>`
              );
            })
            .join('');
          return page(
            `Quarantined mail for ${p.r}`,
            mine.length === 0 ? '<p>Nothing of yours is in quarantine.</p>' : `<table><thead><tr><th>Received</th><th>From</th><th>Subject</th><th></th></tr></thead><tbody>${rows}</tbody></table>`,
          );
        },
      },
    ],
    [
      'POST',
      '/q/mine/release',
      {
        perm: 'public',
        async handle(c) {
          const form = await readForm(c.req, 8192);
          const t = form.get('t') ?? '';
          const p = await token(t, 'user');
          if (!('k' in p) || p.k !== 'user') return p as Reply;
          const id = form.get('id') ?? '';
          if (!/^[0-9A-Za-z]{1,40}$/.test(id) || !(await describe(id, p.r))) return gone;
          return (await release(id, p.r)) ? done(`<p><a href="/q/mine?t=${encodeURIComponent(t)}">Back to your quarantined mail</a></p>`) : gone;
        },
      },
    ],
  ];
}
