/**
 * A full spool disk (a 3 MB tmpfs): the gateway answers 452 4.3.1, stays up, and every message it
 * did accept is delivered once the LAN server drains the spool.
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink } from '../harness/smtp-sink.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { sendMessage } from '../support/send.js';

describe('spool disk full', () => {
  let dir: string;
  let mnt: string;
  let gw: GatewayProcess;

  beforeAll(async () => {
    dir = await makeScratchDir();
    mnt = join(dir, 'data');
    await mkdir(mnt);
    // Needs root (CI runs as root); a tmpfs of our own is the honest way to fill a disk.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0755', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // not mounted
    }
    await removeScratchDir(dir);
  });

  it('answers 452 4.3.1 when the spool is full and loses nothing it accepted', async () => {
    const lanPort = await freePort(); // nothing listens yet: everything stays queued
    gw = await startGateway({ dir, relayPort: lanPort, config: { queue: { retrySchedule: ['1s'], minFreeSpace: 0 } } });
    const body = `Subject: fill\r\n\r\n${`${'0123456789abcdef'.repeat(4)}\r\n`.repeat(480)}`; // ~32 KB
    const accepted: string[] = [];
    const refused: string[] = [];
    for (let i = 0; i < 200 && refused.length < 3; i++) {
      const tag = `full-${i}`;
      const r = await sendMessage(gw.port, 'a@sender.example', ['bob@example.test'], `X-Tag: ${tag}\r\n${body}`);
      if (r.code === 250) accepted.push(tag);
      else refused.push(r.text);
    }
    expect(accepted.length).toBeGreaterThan(10);
    expect(refused.length).toBeGreaterThan(0);
    for (const text of refused) expect(text, JSON.stringify(gw.events().filter((e) => (e['level'] as number) >= 50).slice(0, 5))).toMatch(/^452 4\.3\.1 /);
    // Still serving: a new session gets its greeting and EHLO.
    expect((await sendMessage(gw.port, 'a@sender.example', ['x@elsewhere.example'], 'x')).code).toBe(554);

    const sink = await startSmtpSink({ port: lanPort });
    await waitUntil(
      async () => {
        const tags = new Set((await sink.messages()).map((m) => /X-Tag: (full-\d+)/.exec(m.data)?.[1]));
        return accepted.every((t) => tags.has(t));
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'every accepted message at the LAN server' },
    );
  });
});
