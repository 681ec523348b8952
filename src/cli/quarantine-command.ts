/**
 * `moat quarantine list|show|release|delete`: asks the running gateway (release then delivers at
 * once); with no gateway running, works on the quarantine directory directly (a released message
 * goes into spool shard 0 and is delivered when the gateway starts). With `store: postgres://` the
 * quarantine is the cluster's: any node lists, releases (into its own spool) and deletes any message.
 * `release --learn-ham` and `delete --learn-spam` first train Bayes on the message (read from the
 * quarantine, learned into the Bayes store by this process, live or offline alike), then release or delete it.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { ControlAnswer, ControlRequest, QuarantineEntry } from '../gateway/control.js';
import { openQuarantine } from '../main-stores.js';
import type { Quarantine } from '../quarantine/store.js';
import { Spool } from '../queue/spool.js';
import type { BayesClass } from '../store/bayes.js';
import { askGateway, printRaw } from './control-client.js';
import { learnQuarantined } from './learn-command.js';
import { noteState } from './explain-command.js';

export type QuarantineRequest = Extract<ControlRequest, { op: 'quarantine-list' | 'quarantine-show' | 'quarantine-release' | 'quarantine-delete' }>;

async function offline(config: Config, req: QuarantineRequest): Promise<ControlAnswer> {
  const store = await openQuarantine(config);
  await store.init();
  try {
    return await offlineOn(store, config, req);
  } finally {
    await store.close();
  }
}

async function offlineOn(store: Quarantine, config: Config, req: QuarantineRequest): Promise<ControlAnswer> {
  switch (req.op) {
    case 'quarantine-list':
      return { ok: true, quarantined: await store.list() };
    case 'quarantine-show': {
      const m = await store.load(req.id);
      if (!m) return { ok: false, error: `no message ${req.id} in quarantine` };
      return { ok: true, quarantined: [{ envelope: m.envelope, size: m.contentLength, head: (await store.head(req.id, 16 * 1024)) ?? '' }] };
    }
    case 'quarantine-release': {
      const spool = new Spool(join(config.dataDir, 'spool'), 0);
      await spool.init();
      if (!(await store.release(req.id, spool))) return { ok: false, error: `no message ${req.id} in quarantine` };
      await noteState(config, req.id, 'released');
      return { ok: true, result: 'released' };
    }
    case 'quarantine-delete':
      if (!(await store.delete(req.id))) return { ok: false, error: `no message ${req.id} in quarantine` };
      await noteState(config, req.id, 'deleted');
      return { ok: true, result: 'deleted' };
  }
}

function line(e: QuarantineEntry): string {
  const v = e.envelope.verdict;
  return `${e.envelope.id}  ${String(e.size).padStart(9)}  ${new Date(e.envelope.receivedAt).toISOString()}  <${e.envelope.from}>  ${e.envelope.recipients.map((r) => `<${r.address}>`).join(',')}  score ${v?.score ?? '?'}`;
}

export async function quarantineCommand(config: Config, req: QuarantineRequest, json: boolean, learn?: BayesClass): Promise<number> {
  if (learn && 'id' in req) {
    const l = await learnQuarantined(config, req.id, learn);
    if ('error' in l) {
      process.stderr.write(`moat: ${l.error}\n`);
      return 1;
    }
    if (!json) process.stdout.write(`${req.id}: ${l.outcome === 'known' ? `already learned as ${learn}` : `learned as ${learn}`}\n`);
  }
  const answer = (await askGateway(config, req)) ?? (await offline(config, req));
  if (json || !answer.ok) return printRaw(answer, json);
  if (req.op === 'quarantine-list') {
    const items = answer.quarantined ?? [];
    for (const e of items) process.stdout.write(`${line(e)}\n`);
    process.stdout.write(`${items.length} message(s) in quarantine\n`);
  } else if (req.op === 'quarantine-show') {
    for (const e of answer.quarantined ?? []) {
      const v = e.envelope.verdict;
      process.stdout.write(`Queue id:   ${e.envelope.id}\nReceived:   ${new Date(e.envelope.receivedAt).toISOString()} from ${e.envelope.client.ip} (${e.envelope.client.helo})\n`);
      process.stdout.write(`Sender:     <${e.envelope.from}>\nRecipients: ${e.envelope.recipients.map((r) => `<${r.address}>`).join(', ')}\nSize:       ${e.size}\n`);
      process.stdout.write(`Verdict:    ${v?.action ?? '?'} score ${v?.score ?? '?'}\n`);
      for (const s of v?.symbols ?? []) process.stdout.write(`  ${s.name.padEnd(28)} ${s.score}\n`);
      process.stdout.write(`\n${(e.head ?? '').replace(/\r\n/g, '\n')}`);
    }
  } else {
    process.stdout.write(`${req.id}: ${answer.result}\n`);
  }
  return 0;
}
