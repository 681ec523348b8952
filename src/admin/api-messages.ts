/**
 * Message tracking and the delivery queue:
 *   GET  /api/messages?sender&recipient&client&subject&contains&queueId&action&since&until&limit&cursor
 *        the message log's search (as `moat log`), newest first, a keyset cursor for older pages
 *   GET  /api/messages/:id   one message's story — the same object as `moat explain --json` — and
 *        the same explanation text `moat explain` prints
 *   GET  /api/queue          queued messages with each recipient's state and last reply
 *   POST /api/queue/:id/retry|delete|bounce, POST /api/queue/flush
 * Times in queries are ISO dates or durations back from now ("2h").
 */
import { parseDuration } from '../config/duration.js';
import { formatStory } from '../gateway/explain.js';
import { LOGGED_ACTIONS, type LoggedAction, type MessageSearch } from '../store/message-log.js';
import { HttpError, json } from './http.js';
import { sessionOf, type ConsoleDeps, type Ctx, type RouteList } from './route.js';

const ID_RE = /^[0-9A-Za-z.]{1,60}$/;

export function parseWhen(v: string, now: number): number {
  const ago = parseDuration(v);
  const t = ago !== null ? now - ago : Date.parse(v);
  if (Number.isNaN(t)) throw new HttpError(400, `expected a duration ("2h") or a date, got ${JSON.stringify(v.slice(0, 40))}`);
  return t;
}

export function searchFrom(q: URLSearchParams, now: number): MessageSearch {
  const get = (k: string): string | undefined => {
    const v = q.get(k)?.trim();
    if (v === undefined || v === '') return undefined;
    if (v.length > 320) throw new HttpError(400, `${k} is too long`);
    return v;
  };
  const action = get('action');
  if (action !== undefined && !LOGGED_ACTIONS.includes(action as LoggedAction)) throw new HttpError(400, `action must be one of ${LOGGED_ACTIONS.join(', ')}`);
  const since = get('since');
  const until = get('until');
  const subject = get('subject');
  const opt = <K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    limit: Math.max(1, Math.min(200, Number(get('limit') ?? 50) || 50)),
    ...opt('since', since === undefined ? undefined : parseWhen(since, now)),
    ...opt('until', until === undefined ? undefined : parseWhen(until, now)),
    ...opt('sender', get('sender')),
    ...opt('recipient', get('recipient')),
    ...opt('clientIp', get('client')),
    ...opt('queueId', get('queueId')),
    ...(subject !== undefined ? { subject, subjectMatch: q.get('contains') === '1' || q.get('contains') === 'true' ? ('contains' as const) : ('prefix' as const) } : {}),
    ...opt('action', action as LoggedAction | undefined),
    ...opt('cursor', get('cursor')),
  };
}

function idParam(c: Ctx): string {
  const id = c.params['id'] ?? '';
  if (!ID_RE.test(id)) throw new HttpError(400, 'bad queue id');
  return id;
}

export function messageRoutes(deps: ConsoleDeps): RouteList {
  const needLog = () => {
    if (!deps.log) throw new HttpError(404, 'the message log is disabled (messageLog.enabled: false)');
    return deps.log;
  };
  const queueOp = (op: 'retry' | 'delete' | 'bounce') => ({
    perm: 'queue.act' as const,
    async handle(c: Ctx) {
      const id = idParam(c);
      const a = await deps.ask({ op, id });
      if (!a.ok) throw new HttpError(404, a.error);
      if (a.result === 'active') throw new HttpError(409, 'the message is being delivered right now; try again in a moment');
      deps.logger.info('admin.action', { user: sessionOf(c).user, action: `queue-${op}`, queueId: id, result: a.result });
      return json({ ok: true, result: a.result });
    },
  });
  return [
    [
      'GET',
      '/api/messages',
      {
        perm: 'view',
        async handle(c) {
          const page = await needLog().search(searchFrom(c.url.searchParams, deps.now()));
          return json(page);
        },
      },
    ],
    [
      'GET',
      '/api/messages/:id',
      {
        perm: 'view',
        async handle(c) {
          const story = await needLog().story(idParam(c));
          if (!story) throw new HttpError(404, 'no such message in the message log');
          return json({ story, text: formatStory(story) });
        },
      },
    ],
    [
      'GET',
      '/api/queue',
      {
        perm: 'view',
        async handle() {
          const a = await deps.ask({ op: 'list' });
          if (!a.ok) throw new HttpError(503, a.error);
          const items = [...(a.items ?? [])].sort((x, y) => x.envelope.receivedAt - y.envelope.receivedAt).slice(0, 1000);
          const known = new Map((deps.log ? await deps.log.lookup(items.map((i) => i.envelope.id)) : []).map((s) => [s.queueId, s]));
          return json({
            total: a.items?.length ?? 0,
            items: items.map((i) => ({
              id: i.envelope.id,
              shard: i.shard,
              receivedAt: i.envelope.receivedAt,
              from: i.envelope.from,
              subject: known.get(i.envelope.id)?.subject ?? null,
              size: i.size,
              active: i.active,
              isBounce: i.envelope.isBounce === true,
              attempts: i.state?.attempts ?? 0,
              nextAttemptAt: i.state?.nextAttemptAt ?? null,
              recipients: i.envelope.recipients.map((r, n) => {
                const s = i.state?.recipients[n];
                return { address: r.address, status: s?.status ?? 'pending', lastReply: s?.lastReply ?? null, lastAttemptAt: s?.lastAttemptAt ?? null };
              }),
            })),
          });
        },
      },
    ],
    ['POST', '/api/queue/:id/retry', queueOp('retry')],
    ['POST', '/api/queue/:id/delete', queueOp('delete')],
    ['POST', '/api/queue/:id/bounce', queueOp('bounce')],
    [
      'POST',
      '/api/queue/flush',
      {
        perm: 'queue.act',
        async handle(c) {
          const a = await deps.ask({ op: 'flush' });
          if (!a.ok) throw new HttpError(503, a.error);
          deps.logger.info('admin.action', { user: sessionOf(c).user, action: 'queue-flush', count: a.count });
          return json({ ok: true, count: a.count ?? 0 });
        },
      },
    ],
  ];
}
