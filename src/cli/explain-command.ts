/**
 * `moat explain QUEUE_ID` and `moat log [filters]`: read the message log (the SQLite file in the
 * message store) read-only, with the gateway running or stopped — WAL lets a reader share the file
 * with the writing workers. explain tells one message's story: the connection, HELO, MAIL, each
 * RCPT with our reply, the verdict with every symbol and the thresholds, each delivery attempt with
 * the LAN server's reply, and the final state; `--json` gives the same as one JSON object.
 * Trusts the log's content as our own (it is); prints it with control characters already removed.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { openMessageLog, storePath } from '../main-stores.js';
import { LOGGED_ACTIONS, type MessageLogStore, type LoggedAction, type MessageSearch, type MessageState } from '../store/message-log.js';
import { SqliteMessageLog } from '../store/sqlite/message-log.js';
import { formatStory } from '../gateway/explain.js';

async function openLog(config: Config): Promise<MessageLogStore | string> {
  const path = storePath(config);
  if (path === null) return openMessageLog(config); // the cluster store: shared by every node
  if (!config.messageLog.enabled && !existsSync(path)) return 'the message log is disabled (messageLog.enabled: false)';
  if (!existsSync(path)) return `no message log at ${path} yet (no mail since the gateway started?)`;
  try {
    return new SqliteMessageLog(path, { readonly: true });
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Records a state change made with the gateway stopped (an offline `moat quarantine release` or
 * `moat queue delete`). Best effort: the operation itself has already happened.
 */
export async function noteState(config: Config, queueId: string, state: MessageState): Promise<void> {
  if (!config.messageLog.enabled) return;
  try {
    const log = await openMessageLog(config);
    await log.write([{ kind: 'state', queueId, time: Date.now(), state }]).finally(() => log.close());
  } catch (e) {
    process.stderr.write(`moat: not recorded in the message log: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

const iso = (t: number): string => new Date(t).toISOString();

export async function explainCommand(config: Config, queueId: string, json: boolean): Promise<number> {
  const log = await openLog(config);
  if (typeof log === 'string') {
    process.stderr.write(`moat: ${log}\n`);
    return 1;
  }
  try {
    const story = await log.story(queueId);
    if (!story) {
      process.stderr.write(`moat: no message ${queueId} in the message log\n`);
      return 1;
    }
    process.stdout.write(json ? `${JSON.stringify(story)}\n` : formatStory(story));
    return 0;
  } finally {
    await log.close();
  }
}

export interface LogOptions {
  readonly since?: number;
  readonly until?: number;
  readonly sender?: string;
  readonly recipient?: string;
  readonly client?: string;
  readonly subject?: string;
  readonly contains?: boolean;
  readonly action?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export async function logCommand(config: Config, o: LogOptions, json: boolean): Promise<number> {
  if (o.action !== undefined && !LOGGED_ACTIONS.includes(o.action as LoggedAction)) {
    process.stderr.write(`moat: --action must be one of ${LOGGED_ACTIONS.join(', ')}\n`);
    return 1;
  }
  const log = await openLog(config);
  if (typeof log === 'string') {
    process.stderr.write(`moat: ${log}\n`);
    return 1;
  }
  const q: MessageSearch = {
    limit: o.limit,
    ...(o.since !== undefined ? { since: o.since } : {}),
    ...(o.until !== undefined ? { until: o.until } : {}),
    ...(o.sender !== undefined ? { sender: o.sender } : {}),
    ...(o.recipient !== undefined ? { recipient: o.recipient } : {}),
    ...(o.client !== undefined ? { clientIp: o.client } : {}),
    ...(o.subject !== undefined ? { subject: o.subject, subjectMatch: o.contains ? ('contains' as const) : ('prefix' as const) } : {}),
    ...(o.action !== undefined ? { action: o.action as LoggedAction } : {}),
    ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
  };
  try {
    const page = await log.search(q);
    if (json) {
      process.stdout.write(`${JSON.stringify(page)}\n`);
      return 0;
    }
    for (const m of page.items) {
      const who = m.sender === null ? '(before MAIL)' : `<${m.sender}>`;
      process.stdout.write(`${iso(m.time)}  ${m.queueId.padEnd(17)}  ${m.action.padEnd(10)} ${m.phase.padEnd(8)} ${m.clientIp.padEnd(15)} ${who} -> ${m.recipients.map((r) => `<${r}>`).join(',') || '-'}${m.subject !== null ? `  "${m.subject}"` : ''}${m.state ? `  [${m.state}]` : ''}\n`);
    }
    process.stdout.write(`${page.items.length} entr${page.items.length === 1 ? 'y' : 'ies'}${page.next ? `; older ones: --cursor ${page.next}` : ''}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`moat: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await log.close();
  }
}
