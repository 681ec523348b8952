/**
 * `moat queue list|show|flush|delete|retry`: asks the running gateway over its control socket; when
 * no gateway runs, reads and changes the spool files directly (nothing else touches them then).
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { ControlAnswer, ControlRequest, QueueItem } from '../gateway/control.js';

/** The requests of `moat queue`. */
export type QueueRequest = Extract<ControlRequest, { op: 'list' | 'show' | 'flush' | 'retry' | 'delete' }>;
import { Spool } from '../queue/spool.js';
import { readdir } from 'node:fs/promises';
import { askGateway, printRaw } from './control-client.js';
import { noteState } from './explain-command.js';

async function offline(config: Config, req: QueueRequest): Promise<ControlAnswer> {
  const root = join(config.dataDir, 'spool');
  const shards = (await readdir(root).catch(() => [] as string[])).map((n) => /^shard-(\d+)$/.exec(n)?.[1]).filter((n): n is string => !!n).map(Number);
  const items: QueueItem[] = [];
  for (const n of shards) {
    const spool = new Spool(root, n);
    for (const id of await spool.ids()) {
      if ('id' in req && req.id !== id) continue;
      const m = await spool.load(id);
      if (!('envelope' in m)) continue;
      if (req.op === 'delete') {
        await spool.remove(id);
        await noteState(config, id, 'deleted');
        return { ok: true, result: 'deleted' };
      }
      const state = await spool.readState(id);
      if (req.op === 'retry' || req.op === 'flush') {
        if (state) await spool.writeState(id, { ...state, nextAttemptAt: Date.now() });
        if (req.op === 'retry') return { ok: true, result: 'scheduled' };
      }
      items.push({ envelope: m.envelope, state, size: m.contentLength, active: false, shard: n });
    }
  }
  if (req.op === 'flush') return { ok: true, count: items.length };
  if (req.op === 'list') return { ok: true, items };
  if (req.op === 'show' && items.length > 0) return { ok: true, items };
  return { ok: false, error: `no message ${'id' in req ? req.id : ''} in the queue` };
}

export async function queueCommand(config: Config, req: QueueRequest, json: boolean): Promise<number> {
  const answer = (await askGateway(config, req)) ?? (await offline(config, req));
  if (json || !answer.ok) return printRaw(answer, json);
  if (req.op === 'list') {
    const items = answer.items ?? [];
    for (const it of items) {
      const pending = it.envelope.recipients.filter((_, i) => (it.state?.recipients[i]?.status ?? 'pending') === 'pending').length;
      const next = it.state ? new Date(it.state.nextAttemptAt).toISOString() : 'now';
      process.stdout.write(`${it.envelope.id}  ${String(it.size).padStart(9)}  ${new Date(it.envelope.receivedAt).toISOString()}  <${it.envelope.from}>  ${pending}/${it.envelope.recipients.length} pending  next ${next}${it.active ? '  (delivering)' : ''}\n`);
    }
    process.stdout.write(`${items.length} message(s) in the queue\n`);
  } else if (req.op === 'show') {
    for (const it of answer.items ?? []) {
      process.stdout.write(`Queue id:   ${it.envelope.id} (shard ${it.shard})\nReceived:   ${new Date(it.envelope.receivedAt).toISOString()} from ${it.envelope.client.ip} (${it.envelope.client.helo})\nSender:     <${it.envelope.from}>\nSize:       ${it.size}\nAttempts:   ${it.state?.attempts ?? 0}\n`);
      it.envelope.recipients.forEach((r, i) => {
        const s = it.state?.recipients[i];
        process.stdout.write(`Recipient:  <${r.address}> ${s?.status ?? 'pending'}${s?.lastReply ? ` — ${s.lastReply}` : ''}\n`);
      });
    }
  } else if (req.op === 'flush') {
    process.stdout.write(`${answer.count ?? 0} message(s) scheduled for delivery now\n`);
  } else {
    process.stdout.write(`${req.id}: ${answer.result}\n`);
  }
  return 0;
}
