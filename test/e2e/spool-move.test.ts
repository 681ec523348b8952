/**
 * `moat spool move` (issue 7, a dead node's spool): node A (two workers) accepts three messages
 * while its LAN server is unreachable, tries each once (delivery states written) and is stopped
 * with them in its spool, plus one torn record. `moat spool move --from A's spool` with node B's
 * config moves the valid records (state first, then record) into new shards of B's spool, leaves
 * the torn one where it was and says so (exit 1); A's spool holds no valid message any more. B,
 * restarted, adopts the new shards and delivers each message exactly once to the real smtp-sink.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { smtplibSend } from '../harness/smtplib.js';
import { stopAll } from '../harness/process.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

/** Every *.msg under a spool root, as "shard-N/NAME". */
async function records(spool: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of (await readdir(spool)).filter((n) => n.startsWith('shard-'))) {
    for (const f of await readdir(join(spool, shard))) if (f.endsWith('.msg')) out.push(`${shard}/${f}`);
  }
  return out.sort();
}

describe('moat spool move', () => {
  let lan: SmtpSinkHandle;
  let dirs: string[] = [];
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    lan = await startSmtpSink();
    dirs = await Promise.all([makeScratchDir(), makeScratchDir()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await stopAll();
    await Promise.all(dirs.map((d) => removeScratchDir(d)));
  });

  it("moves a stopped node's queued messages into another node, which delivers each once", async () => {
    // Node A's LAN server: a loopback port nobody listens on (connection refused: deferred).
    const a = await startGateway({ dir: dirs[0] as string, relayPort: await freePort() });
    gateways.push(a);
    const subjects = ['moved-1', 'moved-2', 'moved-3'];
    for (const s of subjects) {
      const r = await smtplibSend({ port: a.port, from: 'alice@sender.example', to: ['bob@example.test'], data: `Subject: ${s}\r\n\r\nkept on A\r\n` });
      expect(r.data?.[0]).toBe(250);
    }
    await waitUntil(async () => (a.events().filter((e) => e['event'] === 'delivery.deferred').length >= 3 ? true : undefined), { timeoutMs: 30_000, what: 'three deferred attempts on node A' });
    await a.stop();
    const spoolA = join(a.dataDir, 'spool');
    expect((await records(spoolA)).length).toBe(3);
    await writeFile(join(spoolA, 'shard-0', 'TORN0000001.msg'), 'not a record');

    const b = await startGateway({ dir: dirs[1] as string, relayPort: lan.port });
    gateways.push(b);
    const moved = await b.cli('spool', 'move', '--from', spoolA);
    expect(moved.code).toBe(1);
    expect(moved.stdout).toContain('3 message(s) moved into');
    expect(moved.stdout).toMatch(/1 torn record\(s\) left in place: TORN0000001\.msg/);
    // Nothing valid is left for node A to deliver a second time; the torn record stays for a look.
    expect(await records(spoolA)).toEqual(['shard-0/TORN0000001.msg']);
    const inB = await records(join(b.dataDir, 'spool'));
    expect(inB.length).toBe(3);
    expect(inB.every((r) => /^shard-[23]\//.test(r))).toBe(true);

    // B restarted: its workers adopt shards 2 and 3 and deliver.
    await b.stop();
    const b2 = await startGateway({ dir: dirs[1] as string, relayPort: lan.port });
    gateways.push(b2);
    await waitUntil(async () => {
      const got = await lan.messages();
      return subjects.every((s) => got.some((m) => m.data.includes(`Subject: ${s}`))) ? true : undefined;
    }, { timeoutMs: 30_000, what: 'the three moved messages at the LAN server' });
    await waitUntil(async () => ((await records(join(b2.dataDir, 'spool'))).length === 0 ? true : undefined), { timeoutMs: 20_000, what: "node B's spool to empty" });
    const got = await lan.messages();
    for (const s of subjects) expect(got.filter((m) => m.data.includes(`Subject: ${s}`)).length).toBe(1);
  }, 240_000);
});
