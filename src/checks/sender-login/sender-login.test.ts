/**
 * Which addresses an AUTH account owns (its name, its directory addresses, the Postfix-style map
 * with an address's own line winning over its domain's), and the check at MAIL and end of data:
 * the null sender passes MAIL, every From: mailbox must be owned, an unreadable From: counts as
 * foreign, trusted-network sessions are not judged, an unreadable map fails (TEMPFAIL by the runner)
 * and is read again next time, and every mismatch is logged without anything secret.
 */
import { describe, expect, it } from 'vitest';
import { context, mailbox, NO_PARAMS, session } from '../../../test/support/check-context.js';
import { crlf, viewOf } from '../../../test/support/scan.js';
import { validateConfig } from '../../config/load.js';
import type { SessionFacts } from '../../pipeline/types.js';
import { senderLoginCheck, senderLoginSchema, type SenderLoginConfig } from './index.js';
import { addressKey, ownsByMap, ownsDirectly, parseSenderLoginMap } from './owners.js';

const MAP = `# who may send as what
info@example.test      alice@example.test, bob
@sales.example.test    alice@example.test
boss@sales.example.test carol
"Quoted.Name"@example.test bob
`;

describe('sender login map', () => {
  it('gives an address its own line before its domain line, owners case-insensitively', () => {
    const m = parseSenderLoginMap(MAP);
    const key = (a: string) => addressKey(a) ?? 'none';
    expect(ownsByMap(m, 'alice@example.test', key('Info@EXAMPLE.test'))).toBe(true);
    expect(ownsByMap(m, 'BOB', key('info@example.test'))).toBe(true);
    expect(ownsByMap(m, 'alice@example.test', key('anyone@sales.example.test'))).toBe(true);
    // boss@ has a line of its own: the @sales line does not give it to alice (as Postfix).
    expect(ownsByMap(m, 'alice@example.test', key('boss@sales.example.test'))).toBe(false);
    expect(ownsByMap(m, 'carol', key('boss@sales.example.test'))).toBe(true);
    // @domain is that domain only, not its subdomains.
    expect(ownsByMap(m, 'alice@example.test', key('x@eu.sales.example.test'))).toBe(false);
    expect(ownsByMap(m, 'bob', key('quoted.name@example.test'))).toBe(true);
    expect(ownsByMap(m, 'mallory', key('info@example.test'))).toBe(false);
  });

  it('refuses a line that is not an address and owners, naming only its number', () => {
    expect(() => parseSenderLoginMap('info@example.test\n')).toThrow(/^line 1: /);
    expect(() => parseSenderLoginMap('# ok\nnot-an-address bob\n')).toThrow(/^line 2: /);
    expect(() => parseSenderLoginMap('user@[10.0.0.1] bob\n')).toThrow(/^line 1: /);
  });

  it('lets an account own its own name when it is an address, and its directory addresses', () => {
    expect(ownsDirectly({ account: 'Alice@Example.test', addresses: [] }, addressKey('alice@example.test') ?? '')).toBe(true);
    expect(ownsDirectly({ account: 'alice', addresses: [] }, addressKey('alice@example.test') ?? '')).toBe(false);
    expect(ownsDirectly({ account: 'carol', addresses: ['carol@example.test', 'c.smith@example.test'] }, addressKey('C.Smith@example.test') ?? '')).toBe(true);
  });
});

interface Logged {
  event: string;
  fields: Record<string, unknown>;
}

function setup(config: Partial<SenderLoginConfig> = {}, files: Record<string, string> = {}) {
  const logged: Logged[] = [];
  let reads = 0;
  const check = senderLoginCheck(senderLoginSchema.parse(config), {
    readText: (p) => {
      reads++;
      const text = files[p];
      return text === undefined ? Promise.reject(Object.assign(new Error('nope'), { code: 'ENOENT' })) : Promise.resolve(text);
    },
    logger: { warn: (event, fields) => logged.push({ event, fields: fields ?? {} }) },
  });
  const ctx = (outbound: SessionFacts['outbound']) => {
    const c = context();
    if (outbound) c.facts.outbound = outbound;
    return c;
  };
  return { check, logged, ctx, reads: () => reads };
}

const ALICE = { by: 'auth', account: 'alice@example.test' } as const;

describe('sender-login check', () => {
  it('refuses at MAIL an address the account does not own, passes its own and the null sender', async () => {
    const { check, logged, ctx } = setup();
    const run = check.open(session());
    const signal = AbortSignal.timeout(5000);
    expect(await run.mailFrom?.(mailbox('alice@example.test'), NO_PARAMS, ctx(ALICE), signal)).toEqual([]);
    expect(await run.mailFrom?.(null, NO_PARAMS, ctx(ALICE), signal)).toEqual([]);
    const f = await run.mailFrom?.(mailbox('bob@example.test'), NO_PARAMS, ctx(ALICE), signal);
    expect(f).toEqual([{ symbol: 'SENDER_LOGIN_MISMATCH', detail: 'account alice@example.test does not own bob@example.test' }]);
    expect(logged).toEqual([{ event: 'outbound.sender-mismatch', fields: expect.objectContaining({ account: 'alice@example.test', field: 'mailFrom', address: 'bob@example.test', observed: false }) }]);
  });

  it('does not judge sessions that did not AUTH (trusted networks, inbound)', async () => {
    const { check, ctx } = setup();
    const run = check.open(session());
    const signal = AbortSignal.timeout(5000);
    expect(await run.mailFrom?.(mailbox('ceo@example.test'), NO_PARAMS, ctx({ by: 'network', account: null }), signal)).toEqual([]);
    expect(await run.mailFrom?.(mailbox('ceo@example.test'), NO_PARAMS, ctx(undefined), signal)).toEqual([]);
    const view = viewOf(crlf('From: ceo@example.test\n\nhi\n'));
    expect(await run.data?.(view, { ...ctx({ by: 'network', account: null }), from: null, recipients: [] }, signal)).toEqual([]);
  });

  it('wants every From: mailbox owned, and counts an unreadable From: as foreign', async () => {
    const { check, ctx } = setup({ map: '/map' }, { '/map': MAP });
    const run = check.open(session());
    const signal = AbortSignal.timeout(5000);
    const data = (headers: string) => run.data?.(viewOf(crlf(`${headers}\nSubject: x\n\nbody\n`)), { ...ctx(ALICE), from: null, recipients: [] }, signal);
    expect(await data('From: Alice <alice@example.test>')).toEqual([]);
    expect(await data('From: Alice <alice@example.test>, Sales <team@sales.example.test>\nSender: alice@example.test')).toEqual([]);
    expect(await data('From: Alice <alice@example.test>, Mallory <mallory@example.test>')).toEqual([
      { symbol: 'HEADER_FROM_LOGIN_MISMATCH', detail: 'account alice@example.test does not own From: mallory@example.test' },
    ]);
    // A second From: field (a classic spoofing trick) is read too.
    expect((await data('From: alice@example.test\nFrom: boss@sales.example.test'))?.map((f) => f.symbol)).toEqual(['HEADER_FROM_LOGIN_MISMATCH']);
    expect((await data('From: undisclosed:;'))?.[0]?.detail).toMatch(/no readable address/);
    expect(await data('To: nobody@far.test')).toEqual([]);
  });

  it('skips the From: check with headerFrom: false', async () => {
    const { check, ctx } = setup({ headerFrom: false });
    const run = check.open(session());
    const view = viewOf(crlf('From: mallory@example.test\n\nbody\n'));
    expect(await run.data?.(view, { ...ctx(ALICE), from: null, recipients: [] }, AbortSignal.timeout(5000))).toEqual([]);
  });

  it('fails (the runner defers) when the map cannot be read, and reads it again on the next use', async () => {
    const files: Record<string, string> = {};
    const { check, ctx, reads } = setup({ map: '/map' }, files);
    const run = check.open(session());
    const signal = AbortSignal.timeout(5000);
    await expect(run.mailFrom?.(mailbox('info@example.test'), NO_PARAMS, ctx(ALICE), signal)).rejects.toThrow('sender login map /map: ENOENT');
    // The account's own address needs no map.
    expect(await run.mailFrom?.(mailbox('alice@example.test'), NO_PARAMS, ctx(ALICE), signal)).toEqual([]);
    files['/map'] = MAP;
    expect(await run.mailFrom?.(mailbox('info@example.test'), NO_PARAMS, ctx(ALICE), signal)).toEqual([]);
    expect(await run.mailFrom?.(mailbox('info@example.test'), NO_PARAMS, ctx(ALICE), signal)).toEqual([]);
    expect(reads()).toBe(2);
  });

  it('marks its log lines observed in observe mode, and uses the directory addresses of the session', async () => {
    const { check, logged, ctx } = setup({ observe: true });
    const run = check.open(session());
    const carol = { by: 'auth', account: 'carol', addresses: ['carol@example.test'] } as const;
    expect(await run.mailFrom?.(mailbox('carol@example.test'), NO_PARAMS, ctx(carol), AbortSignal.timeout(5000))).toEqual([]);
    expect(await run.mailFrom?.(mailbox('carol@far.test'), NO_PARAMS, ctx(carol), AbortSignal.timeout(5000))).toHaveLength(1);
    expect(logged[0]?.fields).toMatchObject({ account: 'carol', address: 'carol@far.test', observed: true });
  });

  it('is on by default for AUTH accounts, configured under outbound.senderLogin', () => {
    const r = validateConfig({ hostname: 'mx.example.test', listen: [{ address: '127.0.0.1:2525' }], domains: { 'example.test': { relay: ['127.0.0.1:2526'] } }, dataDir: '/tmp/x' });
    expect(r.ok && r.config.outbound.senderLogin).toEqual({ enabled: true, observe: false, failOpen: false, headerFrom: true });
    const bad = validateConfig({ hostname: 'mx.example.test', listen: [{ address: '127.0.0.1:2525' }], domains: { 'example.test': { relay: ['127.0.0.1:2526'] } }, dataDir: '/tmp/x', outbound: { senderLogin: { map: '' } } });
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).toEqual(['outbound.senderLogin.map']);
  });
});
