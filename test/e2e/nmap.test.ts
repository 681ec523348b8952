/**
 * Black-box evidence with nmap's NSE scripts (issue "The locked-down edge"): smtp-open-relay runs its
 * sixteen relay tricks against Moat and finds none that works; smtp-enum-users learns nothing by
 * VRFY/EXPN (252 for everyone), and by RCPT it is cut off by the error limit and tarpit before it
 * reaches a real user. nmap's scripts only run against the SMTP ports (25/465/587), so the gateways
 * listen on port 25 of their own loopback addresses: this needs root, as CI has.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackAddress } from '../harness/ports.js';
import { runCommand, stopAll } from '../harness/process.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';

const isRoot = process.getuid?.() === 0;
const USERS = ['alice@example.test', 'root@example.test'];

async function nmap(ip: string, script: string, args: string): Promise<string> {
  // -n: no DNS at all (the system resolver is off limits); -Pn: no ping; -sT: a plain connect scan.
  const r = await runCommand('/usr/bin/nmap', ['-n', '-Pn', '-sT', '-p', '25', '--script', script, ...(args ? ['--script-args', args] : []), ip], { timeoutMs: 110_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe.runIf(isRoot)('nmap against the gateway', () => {
  let dir: string;
  let sink: SmtpSinkHandle;
  let lenient: GatewayProcess;
  let strict: GatewayProcess;
  let userdb: string;
  // Random loopback addresses, so that another test run on the machine does not collide on port 25.
  let lenientIp: string;
  let strictIp: string;

  beforeAll(async () => {
    dir = await makeScratchDir();
    lenientIp = await freeLoopbackAddress(25);
    strictIp = await freeLoopbackAddress(25);
    sink = await startSmtpSink({});
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    const domains = { 'example.test': { relay: [`127.0.0.1:${sink.port}`], recipients: { sources: [{ type: 'static', addresses: USERS }] } } };
    // Generous error limits, so that smtp-open-relay gets through all of its tests in one session.
    lenient = await startGateway({
      dir: join(dir, 'a'),
      relayPort: sink.port,
      port: 25,
      config: { listen: [{ address: `${lenientIp}:25` }], domains, limits: { maxConnectionsPerIp: 50, maxErrors: 1000, tarpit: { delay: 0 } } },
    });
    strict = await startGateway({ dir: join(dir, 'b'), relayPort: sink.port, port: 25, config: { listen: [{ address: `${strictIp}:25` }], domains } });
    userdb = join(dir, 'users.txt');
    // Fourteen names that don't exist, then the two that do.
    await writeFile(userdb, [...Array.from({ length: 14 }, (_, i) => `nobody${i}`), 'alice', 'root', ''].join('\n'));
  });
  afterAll(async () => {
    await lenient?.stop();
    await strict?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('smtp-open-relay: every relay trick fails', async () => {
    const out = await nmap(lenientIp, 'smtp-open-relay', '');
    expect(out).toMatch(/smtp-open-relay: Server doesn't seem to be an open relay, all tests failed/);
    const relayed = lenient.events().filter((e) => e['event'] === 'message.accepted');
    expect(relayed).toEqual([]);
    expect(lenient.events().filter((e) => e['event'] === 'message.rejected' && e['because'] === 'RCPT_NOT_LOCAL').length).toBeGreaterThan(0);
  });

  it('smtp-enum-users: VRFY and EXPN disclose nobody, even with lenient limits', async () => {
    const out = await nmap(lenientIp, 'smtp-enum-users', `smtp-enum-users.methods={VRFY,EXPN},smtp-enum-users.domain=example.test,userdb=${userdb}`);
    expect(out).toMatch(/smtp-enum-users:\s*\n\|_\s+Couldn't find any accounts/);
  });

  it('smtp-enum-users: RCPT probing finds nobody; a patient prober is cut off by the error limit first', async () => {
    const out = await nmap(strictIp, 'smtp-enum-users', `smtp-enum-users.methods={RCPT},smtp-enum-users.domain=example.test,userdb=${userdb}`);
    expect(out).toMatch(/smtp-enum-users:\s*\n\|_\s+Couldn't find any accounts/);
    // nmap gives up after one 550 (it re-sends MAIL, which is a nested MAIL): do what it meant to do.
    const t = await SmtpTalk.open(25, strictIp);
    expect((await t.reply())?.code).toBe(220);
    t.send('EHLO prober.example\r\n');
    expect((await t.reply())?.code).toBe(250);
    t.send('MAIL FROM:<usertest@example.test>\r\n');
    expect((await t.reply())?.code).toBe(250);
    const codes: number[] = [];
    for (const name of [...Array.from({ length: 14 }, (_, i) => `nobody${i}`), 'alice']) {
      t.send(`RCPT TO:<${name}@example.test>\r\n`);
      const r = await t.reply(30_000);
      if (!r) break;
      codes.push(r.code);
      if (r.code === 421) break;
    }
    // Ten unknown users (limits.maxErrors), tarpitted, then 421: alice was never asked about.
    expect(codes).toEqual([...Array.from({ length: 10 }, () => 550), 421]);
    expect(await t.closedByServer()).toBe(true);
  });
});
