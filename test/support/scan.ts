/**
 * Helpers for content-check tests: a MessageView over a buffer (streamed in 64 KiB pieces as the
 * spool does), MIME messages with attachments, and one end-of-data pass through the real pipeline
 * (PipelineSession + policy + reply choice, as the gateway does it) for a list of checks.
 */
import { policySchema } from '../../src/pipeline/config.js';
import { messageView, type MessageView } from '../../src/pipeline/message.js';
import type { Explanation } from '../../src/pipeline/policy.js';
import { decisionReply } from '../../src/pipeline/replies.js';
import { createPolicy, PipelineSession, type CheckEntry } from '../../src/pipeline/runner.js';
import type { Check, Phase } from '../../src/pipeline/types.js';
import { messageRejected, replyToString } from '../../src/smtp/reply.js';
import { mailbox, NO_PARAMS } from './check-context.js';
import { GTUBE } from '../harness/spamd.js';
export { mailbox } from './check-context.js';

/** A message carrying GTUBE: SpamAssassin and Rspamd call it spam, whatever else they run. */
export const GTUBE_MESSAGE = `From: alice@sender.test\nTo: bob@example.test\nSubject: test\nDate: Tue, 01 Dec 2026 08:00:00 +0000\nMessage-ID: <gtube-1@sender.test>\n\n${GTUBE}\n`;

/** A short, plain personal message: ham to every scanner. */
export const HAM_MESSAGE = [
  'From: Alice Example <alice@sender.test>',
  'To: Bob Example <bob@example.test>',
  'Subject: Lunch on Thursday',
  'Date: Tue, 01 Dec 2026 08:00:00 +0000',
  'Message-ID: <20261201080000.1234@mail.sender.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'Hi Bob,',
  '',
  'shall we move our lunch to Thursday at noon? The usual place is fine with me.',
  '',
  'Alice',
  '',
].join('\n');

/** CRLF line ends, as the SMTP engine hands content over. */
export function crlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

export function viewOf(content: string | Buffer, scanLimit = 10 * 1024 * 1024): MessageView {
  const raw = typeof content === 'string' ? Buffer.from(crlf(content)) : content;
  return messageView(raw.subarray(0, scanLimit), raw.length, async function* () {
    for (let i = 0; i < raw.length; i += 65536) yield raw.subarray(i, i + 65536);
  });
}

/** A multipart/mixed message with a text part and base64 attachments. */
export function mimeMessage(o: { subject?: string; text?: string; attachments?: readonly { name: string; content: Buffer | string }[]; from?: string; to?: string }): string {
  const boundary = '=_moat-test-boundary';
  const b64 = (b: Buffer | string): string =>
    Buffer.from(b)
      .toString('base64')
      .replace(/.{1,76}/g, '$&\r\n');
  const parts = [
    `--${boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${crlf(o.text ?? 'Please find the file attached.\n')}`,
    ...(o.attachments ?? []).map(
      (a) => `--${boundary}\r\nContent-Type: application/octet-stream; name="${a.name}"\r\nContent-Disposition: attachment; filename="${a.name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(a.content)}`,
    ),
  ];
  return crlf(
    [
      `From: ${o.from ?? 'alice@sender.test'}`,
      `To: ${o.to ?? 'bob@example.test'}`,
      `Subject: ${o.subject ?? 'files'}`,
      'Date: Tue, 01 Dec 2026 08:00:00 +0000',
      'Message-ID: <msg-1@sender.test>',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      '',
    ].join('\n'),
  ) + `${parts.join('')}--${boundary}--\r\n`;
}

export interface DataPass {
  readonly explanation: Explanation;
  /** The reply the gateway would send: null for an accept, tag or quarantine. */
  readonly reply: string | null;
  /** Checks that failed open, as the runner reported them. */
  readonly failedOpen: readonly { check: string; phase: Phase; error: string }[];
  /** Symbol → the finding's detail, for assertions. */
  readonly details: ReadonlyMap<string, string>;
}

export interface DataPassOptions {
  readonly clientIp?: string;
  readonly helo?: string;
  readonly from?: string | null;
  readonly to?: readonly string[];
  readonly policy?: Record<string, unknown>;
  readonly observe?: boolean;
  readonly failOpen?: boolean;
  readonly timeoutMs?: number;
  readonly received?: string;
}

/** One SMTP transaction's end of data through the real pipeline with these checks. */
export async function dataPass(checks: readonly Check[], message: MessageView, o: DataPassOptions = {}): Promise<DataPass> {
  const entries: CheckEntry[] = checks.map((check) => ({ check, observe: o.observe ?? false, failOpen: o.failOpen ?? false }));
  const policy = createPolicy(entries, policySchema.parse(o.policy ?? {}));
  const failedOpen: { check: string; phase: Phase; error: string }[] = [];
  const s = new PipelineSession(
    { checks: entries, policy, isLocal: (d) => d === 'example.test', onFailOpen: (check, phase, e) => failedOpen.push({ check, phase, error: e instanceof Error ? e.message : String(e) }) },
    { id: 'test-session', clientIp: o.clientIp ?? '127.0.0.10', clientPort: 40000, localIp: '127.0.0.1', localPort: 25 },
  );
  const signal = (): AbortSignal => AbortSignal.timeout(o.timeoutMs ?? 30_000);
  await s.helo(o.helo ?? 'mail.sender.test', signal());
  const from = o.from === null ? null : mailbox(o.from ?? 'alice@sender.test');
  await s.mailFrom(from, NO_PARAMS, signal());
  const recipients = (o.to ?? ['bob@example.test']).map(mailbox);
  for (const r of recipients) await s.rcptTo(r, from, signal());
  const explanation = await s.data(message, { from, recipients, queueId: 'TESTQUEUEID', ...(o.received !== undefined ? { received: o.received } : {}) }, signal());
  const reply =
    explanation.action === 'reject' || explanation.action === 'defer'
      ? replyToString(explanation.action === 'reject' && !explanation.decidedBy ? messageRejected('TESTQUEUEID') : decisionReply(policy, explanation.action, explanation.decidedBy, 'data'))
      : null;
  return { explanation, reply, failedOpen, details: new Map(explanation.findings.map((f) => [f.symbol, f.detail])) };
}
