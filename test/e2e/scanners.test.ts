/**
 * Antivirus and SpamAssassin through the real gateway (supervisor + 2 workers) with a real clamd,
 * a real spamd, swaks as the client and smtp-sink as the LAN server: EICAR attached by swaks is
 * refused with 554 5.7.1 in the conversation and never reaches the LAN server; clean mail is
 * delivered with both scanners in its verdict header; GTUBE is refused by SpamAssassin's score;
 * with clamd stopped mail is deferred with 451 4.7.1, and after a reload with failOpen it is
 * accepted unscanned and `check.fail-open` is logged for each message. The supervisor's probes
 * show both scanners up in /healthz and moat_scanner_up, and clamd down as soon as it stops.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EICAR, EICAR_SIGNATURE, startClamd, type ClamdHandle } from '../harness/clamd.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { GTUBE, startSpamd, type SpamdHandle } from '../harness/spamd.js';
import { swaks } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';

interface ProbedScanner { name: string; target: string; up: boolean | null; error: string | null }

describe('antivirus and SpamAssassin through the gateway', () => {
  let dir: string;
  let lan: SmtpSinkHandle;
  let clamd: ClamdHandle;
  let spamd: SpamdHandle;
  let gw: GatewayProcess;
  let eicarFile: string;

  beforeAll(async () => {
    dir = await makeScratchDir('moat-e2e-scan-');
    eicarFile = join(dir, 'invoice.txt'); // not .com: the attachments check would refuse that name before clamd is asked
    await writeFile(eicarFile, EICAR);
    [lan, clamd, spamd] = await Promise.all([startSmtpSink(), startClamd(), startSpamd()]);
    const adminPort = await freePort();
    gw = await startGateway({
      dir,
      relayPort: lan.port,
      adminPort,
      config: { clamav: { address: clamd.address }, spamassassin: { address: spamd.address }, admin: { listen: `127.0.0.1:${adminPort}`, scannerProbeInterval: '1s' } },
    });
  }, 90_000);
  const healthz = async (): Promise<{ scanners?: ProbedScanner[] }> => (await (await fetch(`http://127.0.0.1:${gw.adminPort}/healthz`)).json()) as { scanners?: ProbedScanner[] };
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('refuses EICAR attached by swaks with 554 5.7.1 and delivers nothing', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@sender.test', to: 'bob@example.test', headers: ['Subject: invoice'], extraArgs: ['--attach', `@${eicarFile}`] });
    expect(r.replies).toContain(`554 5.7.1 Message rejected: virus found (${EICAR_SIGNATURE})`);
    expect(r.replies.some((x) => x.startsWith('250 2.0.0 Ok: queued'))).toBe(false);
    const ev = await gw.waitForEvent('message.rejected', (e) => e['because'] === 'VIRUS_FOUND');
    expect(ev).toMatchObject({ from: 'alice@sender.test', detail: EICAR_SIGNATURE, reply: `554 5.7.1 Message rejected: virus found (${EICAR_SIGNATURE})` });
    expect(await lan.messages()).toEqual([]);
  });

  it('delivers clean mail with an attachment, scanned by both', async () => {
    const r = await swaks({ port: gw.port, from: 'alice@sender.test', to: 'bob@example.test', headers: ['Subject: report'], extraArgs: ['--attach-name', 'report.txt', '--attach', 'Quarterly numbers are fine.'] });
    expect(r.replies.some((x) => x.startsWith('250 2.0.0 Ok: queued'))).toBe(true);
    const [m] = await lan.waitForMessages(1, 20_000);
    expect(m?.data).toMatch(/^Subject: report$/m);
    expect(m?.data).toMatch(/^X-Moat-Symbols: .*SPAMD_SCORE/m);
    const ev = await gw.waitForEvent('message.accepted', (e) => e['from'] === 'alice@sender.test');
    expect((ev['symbols'] as string[]).filter((s) => s.startsWith('VIRUS') || s.startsWith('CLAMAV'))).toEqual([]);
  });

  it('refuses GTUBE by SpamAssassin score with 550 5.7.1', async () => {
    const r = await swaks({ port: gw.port, from: 'carol@sender.test', to: 'bob@example.test', headers: ['Subject: offer'], body: GTUBE });
    expect(r.replies.some((x) => /^550 5\.7\.1 Message rejected as spam/.test(x))).toBe(true);
    const ev = await gw.waitForEvent('message.rejected', (e) => e['from'] === 'carol@sender.test');
    expect(ev['symbols']).toEqual(['SPAMD_SCORE']);
    expect(ev['score'] as number).toBeGreaterThan(900);
  });

  it('probes both scanners: /healthz and moat_scanner_up show them up', async () => {
    const up = await waitUntil(async () => {
      const h = (await healthz()).scanners ?? [];
      return h.length === 2 && h.every((x) => x.up === true) ? h : undefined;
    }, { timeoutMs: 20_000, what: 'both scanners probed up' });
    expect(up.map((x) => [x.name, x.target])).toEqual([['clamd', clamd.address], ['spamd', spamd.address]]);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^moat_scanner_up\{scanner="clamd"\} 1$/m);
    expect(metrics).toMatch(/^moat_scanner_up\{scanner="spamd"\} 1$/m);
  });

  it('defers with 451 4.7.1 while clamd is stopped, and accepts (logging check.fail-open) after a reload with failOpen', async () => {
    await clamd.stop();
    // The probe tells before any mail does: /healthz names clamd down (the node stays healthy), scanner.down is logged once.
    const probed = await waitUntil(async () => (await healthz()).scanners?.find((x) => x.name === 'clamd' && x.up === false), { timeoutMs: 20_000, what: 'clamd probed down' });
    expect(probed.error).toMatch(/ECONNREFUSED/);
    expect((await fetch(`http://127.0.0.1:${gw.adminPort}/healthz`)).status).toBe(200);
    await gw.waitForEvent('scanner.down', (e) => e['scanner'] === 'clamd');
    const down = await swaks({ port: gw.port, from: 'dave@sender.test', to: 'bob@example.test', headers: ['Subject: while down'] });
    expect(down.replies).toContain('451 4.7.1 Try again later');
    const deferred = await gw.waitForEvent('message.deferred', (e) => e['from'] === 'dave@sender.test');
    expect(deferred['because']).toBe('CLAMAV_TEMPFAIL');
    expect(String(deferred['detail'])).toMatch(/ECONNREFUSED/);

    await gw.rewriteConfig({ checks: { clamav: { failOpen: true } } });
    gw.process.signal('SIGHUP');
    await gw.waitForEvent('gateway.reload');
    // Each worker takes the new config when its IPC message arrives: send until both accepted one.
    let n = 0;
    const accepted = (): Record<string, unknown>[] => gw.events().filter((e) => e['event'] === 'message.accepted' && String(e['from']).startsWith('erin'));
    await waitUntil(
      async () => {
        await swaks({ port: gw.port, from: `erin${n}@sender.test`, to: 'bob@example.test', headers: [`Subject: open ${n++}`] });
        return new Set(accepted().map((e) => e['pid'])).size === 2;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'both workers accepting with clamav failing open' },
    );
    const failOpens = (): Record<string, unknown>[] => gw.events().filter((e) => e['event'] === 'check.fail-open' && e['check'] === 'clamav');
    // Logged every time: one line per message accepted unscanned (waiting for the last lines to arrive).
    await waitUntil(() => failOpens().length === accepted().length, { timeoutMs: 5000, what: 'one check.fail-open per accepted message' });
    const failOpen = failOpens();
    expect(failOpen.length).toBeGreaterThanOrEqual(2);
    expect(failOpen[0]).toMatchObject({ phase: 'data' });
    expect(String(failOpen[0]?.['error'])).toMatch(/ECONNREFUSED/);
  });
});
