/**
 * Zero loss under a crash (DESIGN.md §5): messages are sent while the whole gateway process tree is
 * killed with SIGKILL in the middle; after a restart on the same spool, every message that got "250"
 * must reach the LAN server (smtp-sink) at least once with its exact content. Before the crash the LAN
 * server stalls every DATA, so that deliveries are in flight when the gateway dies and every accepted
 * message is still in the spool (an exact, timing-free precondition); after the restart a fast LAN
 * server takes them all.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { sendMessage } from '../support/send.js';

const TOTAL = 1500;
const CRASH_AFTER = 500;
const CONCURRENCY = 20;

describe('crash in the middle of a load', () => {
  let dir: string;
  let stalled: SmtpSinkHandle;
  let sink: SmtpSinkHandle;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    stalled = await startSmtpSink({ dataDelaySec: 600 });
    sink = await startSmtpSink({});
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('delivers every message that got 250, at least once and unchanged', async () => {
    gw = await startGateway({ dir, relayPort: stalled.port });
    const port = gw.port;
    const accepted = new Map<string, string>(); // tag → sha256 of the body line
    let next = 0;
    let crashed = false;
    const crash = async (): Promise<void> => {
      crashed = true;
      await gw.crash();
    };
    const worker = async (): Promise<void> => {
      while (next < TOTAL) {
        const i = next++;
        const tag = `crash-${i}`;
        const body = `payload ${i} ${randomBytes(24).toString('hex')}`;
        const r = await sendMessage(port, 'load@sender.example', ['bob@example.test'], `Subject: ${tag}\r\nX-Tag: ${tag}\r\n\r\n${body}\r\n`).catch(() => ({ code: 0, text: 'error' }));
        if (r.code === 250) accepted.set(tag, createHash('sha256').update(body).digest('hex'));
        if (accepted.size >= CRASH_AFTER && !crashed) await crash();
        if (crashed) return;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(crashed).toBe(true);
    expect(accepted.size).toBeGreaterThanOrEqual(CRASH_AFTER);
    const spooled = (await Promise.all((await readdir(join(gw.dataDir, 'spool'))).map((s) => readdir(join(gw.dataDir, 'spool', s)))))
      .flat()
      .filter((f) => f.endsWith('.msg')).length;
    // Nothing could be delivered: every 250 is a record (plus any renamed whose 250 the crash cut off).
    expect(spooled).toBeGreaterThanOrEqual(accepted.size);

    gw = await startGateway({ dir, relayPort: sink.port, port });
    const seen = await waitUntil(
      async () => {
        const got = new Map<string, Set<string>>();
        for (const m of await sink.messages()) {
          const tag = /X-Tag: (crash-\d+)/.exec(m.data)?.[1];
          const body = /\n\n(payload [^\n]+)\n/.exec(m.data)?.[1];
          if (!tag || !body) continue;
          const set = got.get(tag) ?? new Set<string>();
          set.add(createHash('sha256').update(body).digest('hex'));
          got.set(tag, set);
        }
        return [...accepted.keys()].every((t) => got.has(t)) && got;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'every accepted message at the LAN server' },
    );
    for (const [tag, hash] of accepted) expect(seen.get(tag), tag).toEqual(new Set([hash]));
    const corrupt = gw.events().filter((e) => e['event'] === 'queue.corrupt');
    expect(corrupt).toEqual([]);
  });
});
