// Bayes end to end: `moat learn` on 200 ham and 200 spam of the corpus' train split (installed on
// demand, bench/mime/corpus.ts), then the real gateway (supervisor + workers) between swaks and
// aiosmtpd: a spam of the test split (mail newer than anything learned) reaches the LAN server
// with BAYES_99 in X-Moat-Symbols, a ham with BAYES_00; the quarantine's training commands learn
// what they release or delete. DNS goes to a dead loopback port; the content checks make no lookups.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSplit, type LabelledMessage } from '../../bench/accuracy/split.js';
import { startLanSmtpd, type LanSmtpdHandle } from '../harness/aiosmtpd.js';
import { runCommand, stopAll } from '../harness/process.js';
import { runSwaks, type SwaksResult } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { BIN, startGateway, type GatewayProcess } from '../support/gateway-process.js';

let dir = '';
let lan: LanSmtpdHandle;
let gw: GatewayProcess;
let test: LabelledMessage[] = [];

/** SMTP carries lines of at most 998 octets (RFC 5321 §4.5.3.1.6); the gateway refuses longer ones. */
const sendable = (m: LabelledMessage): boolean => m.raw.toString('latin1').split('\r\n').every((l) => l.length <= 998) && !m.raw.includes(0);

async function send(m: LabelledMessage, to: string, tag: string): Promise<SwaksResult> {
  const file = join(dir, `${tag}.eml`);
  // A subject tag to find it at the LAN server; the rest is the corpus message as it was.
  await writeFile(file, Buffer.concat([Buffer.from(`X-Test-Tag: ${tag}\r\n`), m.raw]));
  return runSwaks(['--server', `127.0.0.1:${gw.port}`, '--helo', 'client.test', '--from', 'sender@corpus.test', '--to', to, '--data', `@${file}`]);
}

/** `moat ARGS --config …` with room for a loaded machine (learning 200 messages takes seconds of CPU). */
async function moat(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  const r = await runCommand(process.execPath, [BIN, ...args, '--config', gw.configFile], { timeoutMs: 100_000 });
  return { code: r.code, stdout: r.stdout };
}

async function delivered(tag: string): Promise<string> {
  for (let n = 1; ; n++) {
    const found = (await lan.waitForMessages(n)).find((x) => x.raw.toString('latin1').includes(`X-Test-Tag: ${tag}`));
    if (found) return found.raw.toString('latin1');
  }
}

beforeAll(async () => {
  dir = await makeScratchDir('moat-bayes-e2e-');
  const train = await loadSplit('train', { ham: 200, spam: 200 });
  for (const label of ['ham', 'spam'] as const) {
    await mkdir(join(dir, 'train', label), { recursive: true });
    for (const m of train.filter((x) => x.label === label)) await writeFile(join(dir, 'train', label, `${m.name.replace('/', '_')}.eml`), m.raw);
  }
  // 20 learned spam and one never learned, to forget.
  await mkdir(join(dir, 'forget'), { recursive: true });
  for (const m of train.filter((x) => x.label === 'spam').slice(0, 20)) await writeFile(join(dir, 'forget', `${m.name.replace('/', '_')}.eml`), m.raw);
  test = (await loadSplit('test', { ham: 40, spam: 40 })).filter(sendable);
  await writeFile(join(dir, 'forget', 'never-learned.eml'), (test.at(-1) as LabelledMessage).raw);
  lan = await startLanSmtpd();
  gw = await startGateway({
    dir,
    relayPort: lan.port,
    // example.test delivers whatever the other content checks add (this test reads Bayes' symbols at the LAN server).
    config: { policy: { overrides: { 'example.test': { actions: { quarantine: 1000, reject: 1000 } }, 'review.test': { actions: { quarantine: -100 } } } }, domains: { 'example.test': { relay: [`127.0.0.1:${lan.port}`] }, 'review.test': { relay: [`127.0.0.1:${lan.port}`] } } },
  });
}, 180_000);

afterAll(async () => {
  await gw?.stop();
  await stopAll();
  await removeScratchDir(dir);
});

describe('Bayes through the gateway', () => {
  it('says nothing until enough is learned, then learns 200 + 200 messages with `moat learn` (again: all skipped)', async () => {
    const before = test.find((m) => m.label === 'spam') as LabelledMessage;
    expect((await send(before, 'bob@example.test', 'untrained')).code).toBe(0);
    expect(await delivered('untrained')).toMatch(/\r\nX-Moat-Symbols: (?![^\r\n]*BAYES_)/);
    const spam = await moat('learn', 'spam', join(dir, 'train', 'spam'));
    expect(spam.stdout).toContain('spam: learned 200, relearned 0 (moved from the other class), skipped 0 (already known), errors 0');
    const ham = await moat('learn', 'ham', join(dir, 'train', 'ham'));
    expect(ham.stdout).toContain('store: 200 spam, 200 ham learned');
    const again = await moat('learn', 'ham', join(dir, 'train', 'ham'));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('ham: learned 0, relearned 0 (moved from the other class), skipped 200 (already known)');
  }, 120_000);

  it('marks new spam BAYES_9x and new ham BAYES_00 in X-Moat-Symbols at the LAN server', async () => {
    const spam = test.filter((m) => m.label === 'spam').slice(0, 3);
    const ham = test.filter((m) => m.label === 'ham').slice(0, 3);
    for (const [i, m] of [...spam, ...ham].entries()) expect((await send(m, 'bob@example.test', `msg-${i}`)).code).toBe(0);
    const spamSymbols = await Promise.all(spam.map((_, i) => delivered(`msg-${i}`).then((r) => /\r\nX-Moat-Symbols: ([^\r\n]*)/.exec(r)?.[1] ?? '')));
    const hamSymbols = await Promise.all(ham.map((_, i) => delivered(`msg-${i + spam.length}`).then((r) => /\r\nX-Moat-Symbols: ([^\r\n]*)/.exec(r)?.[1] ?? '')));
    // Every spam is 80% sure or more, two of three are BAYES_9x (measured: 99, 99, 99 with these 400).
    expect(spamSymbols.every((s) => /BAYES_(80|95|99)\(/.test(s))).toBe(true);
    expect(spamSymbols.filter((s) => /BAYES_9/.test(s)).length).toBeGreaterThanOrEqual(2);
    expect(spamSymbols.join(' ')).toMatch(/BAYES_99\(9\.2\), BAYES_999\(4\.4\)/);
    expect(hamSymbols.filter((s) => /BAYES_00/.test(s)).length).toBeGreaterThanOrEqual(2);
    expect(spamSymbols.join(' ')).not.toMatch(/BAYES_00/);
    expect(hamSymbols.join(' ')).not.toMatch(/BAYES_9/);
  }, 120_000);

  it('learns a quarantined message as spam on delete --learn-spam and as ham on release --learn-ham', async () => {
    // review.test quarantines everything (threshold -100), so which message scores what does not matter.
    const spam = test.filter((m) => m.label === 'spam')[3] as LabelledMessage;
    const ham = test.filter((m) => m.label === 'ham')[3] as LabelledMessage;
    const queued = async (m: LabelledMessage, tag: string): Promise<string> => {
      const r = await send(m, 'eve@review.test', tag);
      expect(r.code).toBe(0);
      const id = /250 2\.0\.0 Ok: queued as ([0-9A-Z]+)/.exec(r.stdout)?.[1] ?? '';
      await gw.waitForEvent('message.quarantined', (e) => e['queueId'] === id);
      return id;
    };
    const first = await queued(spam, 'review-spam');
    const second = await queued(ham, 'review-ham');
    const del = await moat('quarantine', 'delete', first, '--learn-spam');
    expect(del.code).toBe(0);
    expect(del.stdout).toContain(`${first}: learned as spam`);
    expect(del.stdout).toContain(`${first}: deleted`);
    const rel = await moat('quarantine', 'release', second, '--learn-ham');
    expect(rel.code).toBe(0);
    expect(rel.stdout).toContain(`${second}: learned as ham`);
    expect(rel.stdout).toContain(`${second}: released`);
    expect(await delivered('review-ham')).toContain('X-Test-Tag: review-ham');
    // The store counted both; forgetting takes back what was learned and skips what was not.
    const forget = await moat('learn', '--forget', join(dir, 'forget'));
    expect(forget.stdout).toContain('forgotten 20, skipped 1 (not learned), errors 0');
    expect(forget.stdout).toContain('store: 181 spam, 201 ham learned');
    const unknown = await moat('quarantine', 'delete', 'NOSUCHID0', '--learn-spam');
    expect(unknown.code).toBe(1);
  }, 120_000);
});
