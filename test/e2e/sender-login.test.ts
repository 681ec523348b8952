/**
 * Sender login checks end to end (outbound.senderLogin, Postfix's reject_sender_login_mismatch):
 * the real gateway with swaks authenticating over STARTTLS on the submission listener, accounts
 * from a password file and from a real slapd (LDAP bind, the entry's mail and proxyAddresses),
 * a Postfix-style map file, smtp-sink as the MX of far.test (served by dnsmasq) and as the LAN
 * server. Proves: an owned address is accepted and delivered; a foreign MAIL FROM is refused with
 * 553 5.7.1 and logged (outbound.sender-mismatch, message.rejected); a domain wildcard and a shared
 * address of the map work, and an address's own line beats its domain's; the LDAP account owns its
 * directory addresses and nothing else; a From: the account does not own is refused at end of data
 * with 550 5.7.1 (also behind a null MAIL FROM, which itself passes); the LAN server in
 * trustedNetworks is not checked; and a second gateway in observe mode accepts and delivers the
 * mismatches and logs them as observed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { startSlapd, SLAPD_SUFFIX, type SlapdHandle } from '../harness/slapd.js';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.js';
import { swaks, type SwaksOptions } from '../harness/swaks.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { waitUntil } from '../harness/wait.js';
import { startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { authArgs, submissionListeners, writePasswordFile, type SubmissionListeners } from '../support/submission.js';

const LAN_CLIENT = '127.0.0.10';
const MX = '127.0.0.41';

const MAP = `# sender login map (Postfix smtpd_sender_login_maps format)
info@example.test        alice@example.test, bob
@sales.example.test      alice@example.test
boss@sales.example.test  carol
`;

const ACCOUNTS = { alice: ['alice@example.test', 'alice pass'], bob: ['bob', 'bob pass'], carol: ['carol', 'carol pass'] } as const;

describe('sender login checks', () => {
  let dir: string;
  let dns: DnsmasqHandle;
  let slapd: SlapdHandle;
  let mx: SmtpSinkHandle;
  let lan: SmtpSinkHandle;
  let gw: GatewayProcess;
  let observer: GatewayProcess;
  let main: SubmissionListeners;
  let observing: SubmissionListeners;

  beforeAll(async () => {
    dir = await makeScratchDir();
    const mxPort = await freePort(MX);
    dns = await startDnsmasq({ hosts: [{ name: 'mx.far.test', addresses: [MX] }], mx: [{ domain: 'far.test', exchange: 'mx.far.test', preference: 10 }] });
    slapd = await startSlapd({
      users: [{ id: 'carol', mail: 'carol@example.test', password: ACCOUNTS.carol[1], proxyAddresses: ['SMTP:carol@example.test', 'smtp:c.smith@example.test', 'X500:/o=Example/cn=ceo@example.test'] }],
    });
    mx = await startSmtpSink({ host: MX, port: mxPort, hostname: 'mx.far.test' });
    lan = await startSmtpSink();
    const passwords = join(dir, 'passwords');
    await writePasswordFile(passwords, { [ACCOUNTS.alice[0]]: ACCOUNTS.alice[1], [ACCOUNTS.bob[0]]: ACCOUNTS.bob[1] });
    await writeFile(join(dir, 'sender-logins'), MAP);
    const outbound = (senderLogin: Record<string, unknown>) => ({
      trustedNetworks: [`${LAN_CLIENT}/32`],
      smtpPort: mxPort,
      auth: { passwordFile: passwords, ldap: { url: slapd.url, userDn: `uid=%u,ou=people,${SLAPD_SUFFIX}` } },
      senderLogin: { map: join(dir, 'sender-logins'), ...senderLogin },
    });
    main = await submissionListeners();
    observing = await submissionListeners();
    await mkdir(join(dir, 'observe'));
    const common = { dns: { servers: [dns.server], timeout: '2s' }, workers: 1 };
    [gw, observer] = await Promise.all([
      startGateway({ dir, relayPort: lan.port, port: main.ports.plain, config: { ...common, listen: main.listen, outbound: outbound({}) } }),
      startGateway({ dir: join(dir, 'observe'), relayPort: lan.port, port: observing.ports.plain, config: { ...common, listen: observing.listen, outbound: outbound({ observe: true }) } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([gw?.stop(), observer?.stop()]);
    await stopAll();
    await removeScratchDir(dir);
  });

  /** One message over STARTTLS on the submission listener, authenticated as `account`. */
  const submit = (account: keyof typeof ACCOUNTS, o: Omit<SwaksOptions, 'port'>, to: SubmissionListeners = main) =>
    swaks({ port: to.ports.submission, tls: true, to: 'dave@far.test', ...o, extraArgs: [...authArgs(ACCOUNTS[account][0], ACCOUNTS[account][1]), ...(o.extraArgs ?? [])] });
  const queued = (replies: readonly string[]) => replies.some((r) => /^250 2\.0\.0 Ok: queued as /.test(r));
  const message = (from: string, subject: string) => `From: ${from}\r\nTo: dave@far.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`;
  const delivered = async (subject: string) => (await mx.messages()).find((m) => m.data.includes(`Subject: ${subject}`));
  /** The message with this Subject, once the MX has it. */
  const arrives = async (subject: string) => {
    await waitUntil(async () => (await delivered(subject)) !== undefined, { timeoutMs: 20_000, what: `${subject} delivered to the MX` });
    return delivered(subject);
  };
  const mismatches = (g: GatewayProcess) => g.events().filter((x) => x['event'] === 'outbound.sender-mismatch').length;

  it('accepts and delivers mail from the address the account is named by', async () => {
    const r = await submit('alice', { from: 'alice@example.test', data: message('Alice <alice@example.test>', 'own-1') });
    expect(r.replies).toContain('235 2.7.0 Authentication successful');
    expect(queued(r.replies), r.stdout).toBe(true);
    expect((await arrives('own-1'))?.mailFrom).toBe('alice@example.test');
  });

  it('refuses a MAIL FROM the account does not own with 553 5.7.1 and logs the mismatch, never the password', async () => {
    const r = await submit('alice', { from: 'ceo@example.test' });
    expect(r.replies).toContain('553 5.7.1 Sender address rejected: not owned by user');
    const e = await gw.waitForEvent('outbound.sender-mismatch', (x) => x['address'] === 'ceo@example.test');
    expect(e).toMatchObject({ account: 'alice@example.test', field: 'mailFrom', observed: false });
    const rejected = await gw.waitForEvent('message.rejected', (x) => x['because'] === 'SENDER_LOGIN_MISMATCH');
    expect(rejected['reply']).toBe('553 5.7.1 Sender address rejected: not owned by user');
    expect(gw.process.lines('stdout').join('\n')).not.toMatch(/alice pass|bob pass|carol pass/);
  });

  it('follows the map: a domain wildcard, a shared address, and an address\'s own line before its domain\'s', async () => {
    const wildcard = await submit('alice', { from: 'team@sales.example.test', data: message('team@sales.example.test', 'wildcard-1') });
    expect(queued(wildcard.replies), wildcard.stdout).toBe(true);
    const shared = await submit('bob', { from: 'info@example.test', data: message('Info <info@example.test>', 'shared-1') });
    expect(queued(shared.replies), shared.stdout).toBe(true);
    const boss = await submit('alice', { from: 'boss@sales.example.test' });
    expect(boss.replies).toContain('553 5.7.1 Sender address rejected: not owned by user');
    // bob is not an address: without the map he owns nothing.
    const bob = await submit('bob', { from: 'bob@example.test' });
    expect(bob.replies).toContain('553 5.7.1 Sender address rejected: not owned by user');
    expect((await arrives('shared-1'))?.mailFrom).toBe('info@example.test');
    expect((await arrives('wildcard-1'))?.mailFrom).toBe('team@sales.example.test');
  });

  it('lets an LDAP account send as its directory addresses (mail, smtp: proxyAddresses) and the map\'s, nothing else', async () => {
    const alias = await submit('carol', { from: 'c.smith@example.test', data: message('Carol <carol@example.test>', 'ldap-1') });
    expect(queued(alias.replies), alias.stdout).toBe(true);
    const mapped = await submit('carol', { from: 'boss@sales.example.test', data: message('boss@sales.example.test', 'ldap-2') });
    expect(queued(mapped.replies), mapped.stdout).toBe(true);
    // X500:... is not a mail address, and the account name "carol" is not one either.
    const x500 = await submit('carol', { from: 'ceo@example.test' });
    expect(x500.replies).toContain('553 5.7.1 Sender address rejected: not owned by user');
    expect(await slapd.binds(`uid=carol,ou=people,${SLAPD_SUFFIX}`)).toBeGreaterThanOrEqual(3);
  });

  it('refuses at end of data a From: mailbox the account does not own (550 5.7.1), also behind a null MAIL FROM', async () => {
    const r = await submit('alice', { from: 'alice@example.test', data: message('Alice <alice@example.test>, CEO <ceo@example.test>', 'from-1') });
    expect(r.replies).toContain('550 5.7.1 Message rejected: From: address not owned by user');
    const e = await gw.waitForEvent('message.rejected', (x) => x['because'] === 'HEADER_FROM_LOGIN_MISMATCH');
    expect(String(e['detail'])).toMatch(/does not own From: ceo@example\.test$/);
    // The null reverse-path (a read receipt, a DSN) passes MAIL; its From: is still checked.
    const receipt = await submit('alice', { from: '<>', data: message('alice@example.test', 'mdn-1') });
    expect(queued(receipt.replies), receipt.stdout).toBe(true);
    const forged = await submit('alice', { from: '<>', data: message('ceo@example.test', 'mdn-2') });
    expect(forged.replies).toContain('550 5.7.1 Message rejected: From: address not owned by user');
  });

  it('does not check the LAN server in trustedNetworks, which relays without AUTH', async () => {
    const before = mismatches(gw);
    const r = await swaks({ port: main.ports.plain, from: 'ceo@example.test', to: 'dave@far.test', localAddress: LAN_CLIENT, data: message('CEO <ceo@example.test>', 'lan-1') });
    expect(queued(r.replies), r.stdout).toBe(true);
    expect((await arrives('lan-1'))?.mailFrom).toBe('ceo@example.test');
    expect(mismatches(gw)).toBe(before);
  });

  it('in observe mode accepts and delivers the mismatches, logged as observed', async () => {
    const r = await submit('alice', { from: 'ceo@example.test', data: message('CEO <ceo@example.test>', 'observed-1') }, observing);
    expect(queued(r.replies), r.stdout).toBe(true);
    const fields = (await Promise.all([
      observer.waitForEvent('outbound.sender-mismatch', (x) => x['field'] === 'mailFrom'),
      observer.waitForEvent('outbound.sender-mismatch', (x) => x['field'] === 'from'),
    ])).map((x) => [x['address'], x['observed']]);
    expect(fields).toEqual([['ceo@example.test', true], ['ceo@example.test', true]]);
    const accepted = await observer.waitForEvent('message.accepted', (x) => x['account'] === 'alice@example.test');
    expect(accepted['symbols']).toEqual(expect.arrayContaining(['SENDER_LOGIN_MISMATCH(observed)', 'HEADER_FROM_LOGIN_MISMATCH(observed)']));
    expect((await arrives('observed-1'))?.mailFrom).toBe('ceo@example.test');
  });
});
