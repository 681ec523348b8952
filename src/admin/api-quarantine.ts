/**
 * Quarantine review:
 *   GET  /api/quarantine?sender&recipient&subject&minScore&maxScore&since&offset&limit   the list
 *   GET  /api/quarantine/:id        the safe preview (made by a worker: quarantine/preview.ts)
 *   GET  /api/quarantine/:id/html   the sanitised HTML as a document for the preview's sandboxed
 *        frame, under a CSP that allows no script and nothing remote (and `sandbox` itself)
 *   POST /api/quarantine/:id/release|delete   {learn: true} also trains ham/spam where learning exists
 *   POST /api/quarantine/bulk       {ids, action: release|delete|release-learn|delete-learn|allow-sender|block-sender}
 *   POST /api/quarantine/:id/allow-sender   puts the envelope sender on the run-time allow list
 *        (api-senders.ts) and releases the message; block-sender puts it on the block list and
 *        deletes the message (as Proxmox's whitelist/blacklist actions do). Admins only (`senders`).
 *   POST /api/digest/send           the digests now (admin)
 * Learning is a seam (Capabilities): without it the learning actions answer 501 and say what to
 * do instead; nothing is done half.
 */
import type { QuarantinePreview } from '../quarantine/preview.js';
import { escapeHtml, html, HttpError, json, PREVIEW_CSP, PREVIEW_META_CSP, readJson } from './http.js';
import { sessionOf, type ConsoleDeps, type Ctx, type RouteList } from './route.js';
import { putSender } from './api-senders.js';

const ID_RE = /^[0-9A-Za-z]{1,40}$/;
const PREVIEW_TTL = 60_000;

function idParam(c: Ctx): string {
  const id = c.params['id'] ?? '';
  if (!ID_RE.test(id)) throw new HttpError(400, 'bad queue id');
  return id;
}

/** The frame's document: the sanitised fragment under its own CSP (also sent as a header). */
export function previewDocument(fragment: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${escapeHtml(PREVIEW_META_CSP)}"><title>Preview</title></head><body>${fragment}</body></html>`;
}

export function quarantineRoutes(deps: ConsoleDeps): RouteList {
  const previews = new Map<string, { at: number; preview: QuarantinePreview }>();
  const preview = async (id: string): Promise<QuarantinePreview> => {
    const now = deps.now();
    const hit = previews.get(id);
    if (hit && now - hit.at < PREVIEW_TTL) return hit.preview;
    const a = await deps.ask({ op: 'quarantine-preview', id });
    if (!a.ok || !a.preview) throw new HttpError(404, a.ok ? `no message ${id} in quarantine` : a.error);
    for (const [k, v] of previews) if (now - v.at >= PREVIEW_TTL || previews.size >= 20) previews.delete(k);
    previews.set(id, { at: now, preview: a.preview });
    return a.preview;
  };

  const act = async (c: Ctx, id: string, action: 'release' | 'delete', learn: boolean): Promise<string> => {
    if (learn && !deps.capabilities.learn) throw new HttpError(501, 'learning is not available in this build (no Bayes classifier): release or delete without training');
    // Trained first: a message released or deleted is gone from the quarantine to learn from.
    const learned = learn ? await deps.learn(id, action === 'release' ? 'ham' : 'spam') : null;
    const a = await deps.ask(action === 'release' ? { op: 'quarantine-release', id } : { op: 'quarantine-delete', id });
    previews.delete(id);
    if (!a.ok) throw new HttpError(404, a.error);
    deps.logger.info('admin.action', { user: sessionOf(c).user, action: `quarantine-${action}`, queueId: id, result: a.result, ...(learned !== null ? { learned } : {}) });
    return a.result ?? 'ok';
  };

  const single = (action: 'release' | 'delete') => ({
    perm: 'quarantine.act' as const,
    async handle(c: Ctx) {
      const body = await readJson(c.req, 4096);
      return json({ ok: true, result: await act(c, idParam(c), action, body['learn'] === true) });
    },
  });

  /** Lists the message's envelope sender (allow: then releases it; block: then deletes it). */
  const listSender = async (c: Ctx, id: string, list: 'allow' | 'block'): Promise<{ sender: string; entry: number; result: string }> => {
    const a = await deps.ask({ op: 'quarantine-show', id });
    const env = a.ok ? a.quarantined?.[0]?.envelope : undefined;
    if (!env) throw new HttpError(404, `no message ${id} in quarantine`);
    if (env.from === '') throw new HttpError(400, 'the null sender <> cannot be listed');
    const { entry } = await putSender(deps, c, list, env.from, `from quarantine ${id}`);
    const result = await act(c, id, list === 'allow' ? 'release' : 'delete', false);
    return { sender: entry.value, entry: entry.id, result };
  };

  const senderList = (list: 'allow' | 'block') => ({
    perm: 'senders' as const,
    async handle(c: Ctx) {
      return json({ ok: true, ...(await listSender(c, idParam(c), list)) });
    },
  });

  return [
    [
      'GET',
      '/api/quarantine',
      {
        perm: 'quarantine.view',
        async handle(c) {
          const q = c.url.searchParams;
          const a = await deps.ask({ op: 'quarantine-list' });
          if (!a.ok) throw new HttpError(503, a.error);
          const all = a.quarantined ?? [];
          const sender = q.get('sender')?.trim().toLowerCase() ?? '';
          const recipient = q.get('recipient')?.trim().toLowerCase() ?? '';
          const subject = q.get('subject')?.trim().toLowerCase() ?? '';
          const minScore = q.get('minScore') ? Number(q.get('minScore')) : null;
          const maxScore = q.get('maxScore') ? Number(q.get('maxScore')) : null;
          const since = q.get('since') ? Date.parse(q.get('since') as string) : null;
          const known = new Map((deps.log ? await deps.log.lookup(all.map((e) => e.envelope.id)) : []).map((s) => [s.queueId, s]));
          const rows = all
            .map((e) => ({
              id: e.envelope.id,
              receivedAt: e.envelope.receivedAt,
              from: e.envelope.from,
              recipients: e.envelope.recipients.map((r) => r.address),
              size: e.size,
              score: e.envelope.verdict?.score ?? null,
              symbols: (e.envelope.verdict?.symbols ?? []).map((s) => s.name),
              subject: known.get(e.envelope.id)?.subject ?? null,
              clientIp: e.envelope.client.ip,
            }))
            .filter(
              (r) =>
                (!sender || r.from.toLowerCase().includes(sender)) &&
                (!recipient || r.recipients.some((x) => x.toLowerCase().includes(recipient))) &&
                (!subject || (r.subject ?? '').toLowerCase().includes(subject)) &&
                (minScore === null || Number.isNaN(minScore) || (r.score ?? 0) >= minScore) &&
                (maxScore === null || Number.isNaN(maxScore) || (r.score ?? 0) <= maxScore) &&
                (since === null || Number.isNaN(since) || r.receivedAt >= since),
            );
          const offset = Math.max(0, Number(q.get('offset') ?? 0) || 0);
          const limit = Math.max(1, Math.min(500, Number(q.get('limit') ?? 100) || 100));
          return json({ total: rows.length, all: all.length, offset, items: rows.slice(offset, offset + limit) });
        },
      },
    ],
    [
      'GET',
      '/api/quarantine/:id',
      {
        perm: 'quarantine.view',
        async handle(c) {
          const { html: body, ...rest } = await preview(idParam(c));
          return json({ ...rest, hasHtml: body !== null });
        },
      },
    ],
    [
      'GET',
      '/api/quarantine/:id/html',
      {
        perm: 'quarantine.view',
        async handle(c) {
          const p = await preview(idParam(c));
          return html(previewDocument(p.html ?? ''), 200, { 'content-security-policy': PREVIEW_CSP, 'x-frame-options': 'SAMEORIGIN' });
        },
      },
    ],
    ['POST', '/api/quarantine/:id/release', single('release')],
    ['POST', '/api/quarantine/:id/delete', single('delete')],
    ['POST', '/api/quarantine/:id/allow-sender', senderList('allow')],
    ['POST', '/api/quarantine/:id/block-sender', senderList('block')],
    [
      'POST',
      '/api/quarantine/bulk',
      {
        perm: 'quarantine.act',
        async handle(c) {
          const body = await readJson(c.req, 64 * 1024);
          const ids = Array.isArray(body['ids']) ? body['ids'].filter((x): x is string => typeof x === 'string' && ID_RE.test(x)) : [];
          if (ids.length === 0 || ids.length > 500) throw new HttpError(400, 'ids: 1 to 500 queue ids');
          const action = String(body['action'] ?? '');
          if (!['release', 'delete', 'release-learn', 'delete-learn', 'allow-sender', 'block-sender'].includes(action)) throw new HttpError(400, 'action must be release, delete, release-learn, delete-learn, allow-sender or block-sender');
          const learn = action.endsWith('-learn');
          if (learn && !deps.capabilities.learn) throw new HttpError(501, 'learning is not available in this build (no Bayes classifier)');
          const senders = action.endsWith('-sender');
          if (senders && !sessionOf(c).permissions.includes('senders')) throw new HttpError(403, `your role (${sessionOf(c).role}) may not change the sender lists`);
          const results: Record<string, string> = {};
          for (const id of new Set(ids)) {
            try {
              if (senders) {
                const r = await listSender(c, id, action === 'allow-sender' ? 'allow' : 'block');
                results[id] = `${r.sender} ${action === 'allow-sender' ? 'allowed' : 'blocked'}; ${r.result}`;
                continue;
              }
              results[id] = await act(c, id, action.startsWith('release') ? 'release' : 'delete', learn);
            } catch (e) {
              results[id] = e instanceof HttpError ? `error: ${e.message}` : 'error';
            }
          }
          return json({ ok: true, results });
        },
      },
    ],
    [
      'POST',
      '/api/digest/send',
      {
        perm: 'admin',
        async handle(c) {
          const a = await deps.ask({ op: 'digest-send' });
          if (!a.ok) throw new HttpError(409, a.error);
          deps.logger.info('admin.action', { user: sessionOf(c).user, action: 'digest-send', count: a.count });
          return json({ ok: true, sent: a.count ?? 0 });
        },
      },
    ],
  ];
}
