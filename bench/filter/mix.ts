// The messages of a filter run, in wire form (lib/message.ts toWire), built once per suite:
//  - "synthetic": the relay suite's message (headers plus a `size`-octet text body) From:
//    alice@sender.test, DKIM-signed by sender.test (zone.ts), each copy with its own Message-ID and
//    Subject, so SPF, DKIM and DMARC pass and no scanner can answer from a cache;
//  - "corpus": an even sample of the SpamAssassin public corpus (bench/mime/corpus.ts installs it;
//    ham and spam in the corpus's proportions), with the messages an SMTP server must refuse on
//    syntax left out (NUL, a line over 998 octets) and those over `maxCorpusSize` octets too,
//    in a fixed shuffled order (a run sends the mix from its start, so its first N are a sample).
// In both, one message in `virusEvery` is replaced by a small multipart mail with the EICAR test
// file as a base64 attachment, so every antivirus path (clamd through Moat, clamav-milter,
// Rspamd's antivirus module) finds and refuses something.
// Trusts: the corpus files as installed. Fails: throws when the corpus cannot be installed or is
// smaller than asked.
import { EICAR } from '../../test/harness/index.js';
import { corpusDir, loadCorpus } from '../mime/corpus.js';
import { buildMessage, toWire } from '../lib/message.js';
import { RECIPIENT } from '../relay/gateway.js';
import { SENDER_DOMAIN, signMessage } from './zone.js';
import type { SenderKeys } from './zone.js';

export type MixName = 'synthetic' | 'corpus';
export const MIX_NAMES: readonly MixName[] = ['synthetic', 'corpus'];

export const ENVELOPE_SENDER = `alice@${SENDER_DOMAIN}`;

export interface Mix {
  readonly name: MixName;
  readonly messages: readonly Buffer[];
  /** Indexes of the messages carrying EICAR. */
  readonly viruses: readonly number[];
  readonly meanOctets: number;
  /** For the corpus: how many of each group were taken. */
  readonly groups: Readonly<Record<string, number>>;
}

/** A small multipart mail with EICAR attached (base64), as a virus would come. */
export function virusMessage(i: number): Buffer {
  const b = `bench-${i}-boundary`;
  const text = [
    `From: <mallory@${SENDER_DOMAIN}>`,
    `To: <${RECIPIENT}>`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <virus.${i}@${SENDER_DOMAIN}>`,
    `Subject: invoice ${i}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Please find the invoice attached.',
    `--${b}`,
    'Content-Type: application/octet-stream; name="invoice.com"',
    'Content-Disposition: attachment; filename="invoice.com"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(EICAR).toString('base64'),
    `--${b}--`,
    '',
  ].join('\r\n');
  return Buffer.from(text, 'latin1');
}

function smtpValid(wire: Buffer): boolean {
  if (wire.includes(0)) return false;
  let start = 0;
  for (let nl = wire.indexOf(10, start); nl >= 0; nl = wire.indexOf(10, start)) {
    if (nl - start > 999) return false;
    start = nl + 1;
  }
  return true;
}

function withViruses(messages: Buffer[], virusEvery: number): { messages: Buffer[]; viruses: number[] } {
  const viruses: number[] = [];
  if (virusEvery > 0) {
    for (let i = virusEvery - 1; i < messages.length; i += virusEvery) {
      messages[i] = virusMessage(i);
      viruses.push(i);
    }
  }
  return { messages, viruses };
}

/** Fisher-Yates with a fixed-seed LCG (Numerical Recipes' constants): the same order every run. */
function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  let seed = 0x2545f491;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    const t = out[i] as T;
    out[i] = out[j] as T;
    out[j] = t;
  }
  return out;
}

function mean(xs: readonly Buffer[]): number {
  return xs.length === 0 ? 0 : Math.round(xs.reduce((s, b) => s + b.length, 0) / xs.length);
}

export async function syntheticMix(o: { readonly count: number; readonly size: number; readonly virusEvery: number; readonly keys: SenderKeys }): Promise<Mix> {
  const out: Buffer[] = [];
  for (let i = 0; i < o.count; i++) {
    const plain = buildMessage({ from: ENVELOPE_SENDER, to: RECIPIENT, bodySize: o.size, id: `synthetic.${i}.${process.pid}` });
    const wire = toWire(Buffer.from(plain.toString('latin1').replace(/^Subject: .*$/m, `Subject: bench report ${i}\r`), 'latin1'));
    out.push(await signMessage(wire, o.keys));
  }
  const { messages, viruses } = withViruses(out, o.virusEvery);
  return { name: 'synthetic', messages, viruses, meanOctets: mean(messages), groups: {} };
}

export async function corpusMix(o: { readonly count: number; readonly maxCorpusSize: number; readonly virusEvery: number; readonly log?: (line: string) => void }): Promise<Mix> {
  const all = (await loadCorpus(await corpusDir(o.log))).map((m) => ({ group: m.group, wire: toWire(m.raw) })).filter((m) => m.wire.length <= o.maxCorpusSize && smtpValid(m.wire));
  if (all.length < o.count) throw new Error(`corpus mix: only ${all.length} usable messages, ${o.count} asked`);
  // an even sample over the sorted corpus keeps the groups' proportions
  const step = all.length / o.count;
  const picked = Array.from({ length: o.count }, (_, i) => all[Math.floor(i * step)]).filter((m) => m !== undefined);
  const groups: Record<string, number> = {};
  for (const m of picked) groups[m.group] = (groups[m.group] ?? 0) + 1;
  // the corpus is sorted by group and a run sends the mix from its start: shuffle (fixed seed) so
  // that the first N of any run are a fair sample too
  const { messages, viruses } = withViruses(
    shuffled(picked.map((m) => m.wire)),
    o.virusEvery,
  );
  return { name: 'corpus', messages, viruses, meanOctets: mean(messages), groups };
}
