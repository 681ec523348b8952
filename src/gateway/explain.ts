/**
 * The explanation of one message's story as text — what `moat explain` prints and the console
 * shows beside its structured view, so both tell it the same way: the connection, HELO, MAIL,
 * each RCPT with our reply, the verdict with every symbol and the thresholds, each delivery
 * attempt with the LAN server's reply, and the final state. Pure formatting of the log's content.
 */
import type { LoggedAction, LoggedReply, MessageStory, TransactionEntry } from '../store/message-log.js';

const iso = (t: number): string => new Date(t).toISOString();
const reply = (r: LoggedReply | null): string => (r ? `${r.code}${r.status ? ` ${r.status}` : ''} ${r.text}` : '(none)');
const num = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const threshold = (n: number | null): string => (n === null ? 'off' : num(n));

const ACTION_WORDS: Readonly<Record<LoggedAction, string>> = {
  accept: 'accepted',
  tag: 'accepted and tagged',
  quarantine: 'quarantined',
  reject: 'rejected',
  defer: 'deferred (4xx: the client may retry)',
  abandoned: 'abandoned by the client',
};

const PHASE_WORDS: Readonly<Record<TransactionEntry['phase'], string>> = { connect: 'at connect', helo: 'at HELO', mailFrom: 'at MAIL FROM', rcptTo: 'at RCPT TO', data: 'at end of data' };

export function formatStory(s: MessageStory): string {
  const out: string[] = [];
  const e = s.entry;
  const line = (t: string): number => out.push(t);
  line(`Queue id:  ${s.queueId}${s.node !== undefined ? `  (node ${s.node})` : ''}`);
  if (e) {
    line(`Outcome:   ${ACTION_WORDS[e.action]} ${PHASE_WORDS[e.phase]}${s.state ? `; now ${s.state}` : ''}`);
    line('');
    line(`${iso(e.time)}  connection from ${e.client.ip} port ${e.client.port}${e.client.ptr ? ` (${e.client.ptr})` : ''}, session ${e.sessionId}${e.client.tls ? `, ${e.client.tls}` : ''}`);
    if (e.client.helo !== null) line(`  HELO      ${e.client.helo}`);
    if (e.sender !== null) line(`  MAIL FROM <${e.sender}>  -> ${reply(e.mailReply)}`);
    for (const r of e.recipients) line(`  RCPT TO   <${r.address}>  -> ${reply(r.reply)}${r.symbol ? `  [${r.symbol}]` : ''}`);
    if (e.size !== null) {
      line(`  DATA      ${e.size} octets${e.scanMs !== null ? `, scanned in ${num(Math.round(e.scanMs * 10) / 10)} ms` : ''}`);
      if (e.subject !== null) line(`            Subject: ${e.subject}`);
      if (e.messageId !== null) line(`            Message-ID: ${e.messageId}`);
    }
    line(`  reply     ${reply(e.reply)}`);
    line('');
    const v = e.verdict;
    const t = v.thresholds;
    line(`Verdict:   ${e.action}, score ${num(v.score)} (thresholds: tag ${threshold(t.tag)}, quarantine ${threshold(t.quarantine)}, reject ${threshold(t.reject)}; profile ${v.profile})`);
    if (v.reason) line(`Reason:    ${v.reason}`);
    if (v.findings.length === 0) line('Symbols:   none');
    else {
      line('Symbols:');
      for (const f of v.findings) {
        line(`  ${f.symbol.padEnd(30)} ${num(f.score).padStart(7)}  ${f.check}, ${f.phase}${f.observed ? ', observed only' : ''}`);
        if (f.description) line(`  ${''.padEnd(30)}          ${f.description}`);
        if (f.detail) line(`  ${''.padEnd(30)}          (${f.detail})`);
      }
    }
  } else {
    line('Outcome:   a message Moat made (a DSN); no SMTP transaction of a client');
  }
  if (s.events.length > 0) {
    line('');
    line('Delivery:');
    for (const ev of s.events) {
      if (ev.kind === 'attempt') {
        line(`${iso(ev.time)}  ${ev.outcome.padEnd(9)} ${ev.recipients.map((r) => `<${r}>`).join(', ')} via ${ev.relay ?? '(no server reached)'}`);
        line(`  ${''.padEnd(24)}  -> ${ev.reply}`);
      } else line(`${iso(ev.time)}  ${ev.state}`);
    }
  }
  if (s.state) line(`\nState:     ${s.state}`);
  return `${out.join('\n')}\n`;
}

