/**
 * Least privilege, started as root (CI runs as root): with `user: nobody` the supervisor binds a
 * port below 1024, then becomes nobody/nogroup before forking its workers; no process of the tree
 * keeps uid 0, gid 0 or a capability; mail still flows and the spool and control socket belong to
 * nobody. Listeners stay bound when the only worker is killed and restarted (the supervisor owns
 * them); a reload adding a port below 1024 is refused, one above 1024 works. Without `user` (and
 * without allowRoot) Moat refuses to start as root; a dataDir holding root's files is refused with
 * the command that fixes it. The app runs from a copy any user can read (app-copy.ts).
 */
import { readFileSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, freePrivilegedPort } from '../harness/ports.js';
import { runCommand, stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeScratchDir, removeScratchDir, systemUser, type SystemUser } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { copyApp } from '../support/app-copy.js';
import { processTree, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { sendMessage } from '../support/send.js';

const isRoot = process.getuid?.() === 0;

/** Uid, Gid (real, effective, saved, fs), Groups and CapEff of a process, from /proc. */
function credentials(pid: number): { uid: number[]; gid: number[]; groups: number[]; capEff: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  const nums = (name: string): number[] => field(name).split(/\s+/).filter(Boolean).map(Number);
  return { uid: nums('Uid'), gid: nums('Gid'), groups: nums('Groups'), capEff: field('CapEff') };
}

async function rcpt(port: number, to: string): Promise<number> {
  return (await sendMessage(port, 'a@sender.example', [to], 'Subject: probe\r\n\r\nx\r\n')).code;
}

describe.runIf(isRoot)('least privilege when started as root', () => {
  let dir: string;
  let bin: string;
  let sink: SmtpSinkHandle;
  let nobody: SystemUser;

  beforeAll(async () => {
    dir = await makeScratchDir();
    await mkdir(join(dir, 'app'));
    bin = await copyApp(join(dir, 'app'));
    sink = await startSmtpSink();
    nobody = await systemUser('nobody');
  });
  afterAll(async () => {
    await stopAll();
    await removeScratchDir(dir);
  });

  async function startAs(config: Record<string, unknown>): Promise<{ code: number | null; stderr: string }> {
    const run = await makeScratchDir();
    const file = join(run, 'moat.yaml');
    await writeFile(file, stringify({ hostname: 'mx.moat.test', listen: [{ address: `127.0.0.1:${await freePort()}` }], domains: { 'example.test': { relay: [`127.0.0.1:${sink.port}`] } }, dataDir: join(run, 'data'), workers: 1, log: { format: 'json' }, ...config }));
    const r = await runCommand(process.execPath, [bin, 'start', '--config', file], { timeoutMs: 30_000 });
    await removeScratchDir(run);
    return { code: r.code, stderr: r.stderr };
  }

  it('refuses to run as root without `user` (or allowRoot), and names the fix', async () => {
    const r = await startAs({});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to run as root: set `user:`/);
    expect(r.stderr).toMatch(/allowRoot/);
  });

  it('refuses an unknown user, and a dataDir holding files of another user', async () => {
    expect((await startAs({ user: 'no-such-moat-user' })).stderr).toMatch(/no user "no-such-moat-user"/);
    const data = join(await makeScratchDir(), 'data');
    await mkdir(join(data, 'spool'), { recursive: true });
    await writeFile(join(data, 'spool', 'left-by-root'), 'x');
    const r = await startAs({ user: 'nobody', dataDir: data });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`data/spool is not owned by nobody; run: chown -R ${nobody.uid}:${nobody.gid} ${data}`));
  });

  describe('with user: nobody on a port below 1024', () => {
    let gw: GatewayProcess;
    let port: number;
    let heldPort: number;

    beforeAll(async () => {
      port = await freePrivilegedPort();
      heldPort = await freePort(); // nothing listens: mail for held.test stays in the spool
      gw = await startGateway({
        dir: await makeScratchDir(),
        relayPort: sink.port,
        port,
        bin,
        config: {
          user: 'nobody',
          allowRoot: false,
          workers: 1,
          domains: { 'example.test': { relay: [`127.0.0.1:${sink.port}`] }, 'held.test': { relay: [`127.0.0.1:${heldPort}`] } },
          queue: { retrySchedule: ['1h'] },
        },
      });
    });
    afterAll(async () => {
      expect(await gw?.stop()).toBe(0);
    });

    it('runs supervisor and workers as nobody/nogroup, with no capability left', () => {
      const pids = processTree(gw.process.pid);
      expect(pids.length).toBeGreaterThanOrEqual(2);
      for (const pid of pids) {
        const c = credentials(pid);
        expect(c.uid, `pid ${pid}`).toEqual([nobody.uid, nobody.uid, nobody.uid, nobody.uid]);
        expect(c.gid, `pid ${pid}`).toEqual([nobody.gid, nobody.gid, nobody.gid, nobody.gid]);
        expect(c.groups, `pid ${pid}`).not.toContain(0);
        expect(c.capEff, `pid ${pid}`).toBe('0000000000000000');
      }
      expect(gw.events().find((e) => e['event'] === 'gateway.privileges')).toMatchObject({ user: 'nobody', uid: nobody.uid, gid: nobody.gid });
    });

    it('still relays mail, and writes its spool and control socket as nobody', async () => {
      expect(await rcpt(port, 'bob@example.test')).toBe(250);
      await waitUntil(async () => (await sink.messages()).some((m) => m.data.includes('Subject: probe')), { timeoutMs: 20_000, what: 'the relayed message' });
      const held = await sendMessage(port, 'a@sender.example', ['x@held.test'], 'Subject: held\r\n\r\nx\r\n');
      const id = /queued as ([0-9A-Z]+)/.exec(held.text)?.[1] ?? '';
      expect(id).not.toBe('');
      const data = await stat(gw.dataDir);
      expect([data.uid, data.gid, data.mode & 0o777]).toEqual([nobody.uid, nobody.gid, 0o700]);
      const msg = await stat(join(gw.dataDir, 'spool', 'shard-0', `${id}.msg`));
      expect([msg.uid, msg.gid]).toEqual([nobody.uid, nobody.gid]);
      expect((await stat(join(gw.dataDir, 'control.sock'))).uid).toBe(nobody.uid);
      const list = await gw.cli('queue', 'list');
      expect(list.stdout).toContain(id);
    });

    it('keeps the port below 1024 bound when its only worker dies and is restarted', async () => {
      const worker = processTree(gw.process.pid).find((p) => p !== gw.process.pid) as number;
      process.kill(worker, 'SIGKILL');
      await gw.waitForEvent('worker.exit', (e) => e['signal'] === 'SIGKILL');
      await waitUntil(async () => (await rcpt(port, 'bob@example.test').catch(() => 0)) === 250, { timeoutMs: 30_000, what: 'the restarted worker serving the privileged port' });
      const fresh = processTree(gw.process.pid).filter((p) => p !== gw.process.pid);
      expect(fresh).not.toContain(worker);
      for (const pid of fresh) expect(credentials(pid).uid[1]).toBe(nobody.uid);
    });

    it('refuses a reload that adds a port below 1024, and takes one above', async () => {
      const low = await freePrivilegedPort('127.0.0.1', [port]);
      await gw.rewriteConfig({ listen: [{ address: `127.0.0.1:${port}` }, { address: `127.0.0.1:${low}` }] });
      gw.process.signal('SIGHUP');
      const refused = await gw.waitForEvent('gateway.reload-refused', (e) => JSON.stringify(e).includes(`:${low}`));
      expect(JSON.stringify(refused['errors'])).toMatch(/listen\[1\]\.address: cannot bind .*EACCES.*restart Moat/);
      expect(await rcpt(port, 'bob@example.test')).toBe(250);

      const high = await freePort();
      await gw.rewriteConfig({ listen: [{ address: `127.0.0.1:${port}` }, { address: `127.0.0.1:${high}` }] });
      gw.process.signal('SIGHUP');
      await gw.waitForEvent('gateway.reload', (e) => JSON.stringify(e['listen']).includes(`:${high}`));
      expect(await rcpt(high, 'bob@example.test')).toBe(250);
      expect(await rcpt(port, 'bob@example.test')).toBe(250);
    });
  });
});
