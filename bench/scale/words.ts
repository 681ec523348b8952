// The scale benchmark's messages: a small synthetic training set (spam and ham drawn from two
// vocabularies with a deterministic PRNG, so every run learns the same tokens) and the one
// pre-formatted message smtp-source sends (-F): ~2 KB of ham-like text, so that Bayes has a few
// hundred tokens to look up and scores it as ham (delivered, never quarantined).
const SPAM = 'cheap replica watches casino bonus lottery winner claim prize wire transfer pharmacy discount pills offer limited urgent account verify password bitcoin investment guaranteed profit click unsubscribe free credit loan'.split(' ');
const HAM = 'meeting agenda quarterly report budget review minutes project schedule team lunch invoice attached contract draft comments deadline tuesday thursday office release notes customer feedback roadmap planning holiday'.split(' ');
const COMMON = 'the and for with this that from have will your about please thanks regards hello today week'.split(' ');

/** Park–Miller minimal standard generator: the same sequence on every run. */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
}

function text(words: readonly string[], n: number, next: () => number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const pool = next() < 0.3 ? COMMON : words;
    out.push(pool[Math.floor(next() * pool.length)] as string);
    if (i % 12 === 11) out.push('\r\n');
  }
  return out.join(' ');
}

function message(kind: string, i: number, body: string): string {
  return `From: sender${i}@${kind}.example\r\nTo: bob@bench.test\r\nSubject: ${kind} message ${i}\r\nMessage-ID: <${kind}-${i}@train.bench.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n${body}\r\n`;
}

/** `n` spam and `n` ham messages (RFC 5322 text, CRLF). */
export function trainingSet(n: number): { readonly spam: string[]; readonly ham: string[] } {
  const next = prng(7);
  const make = (kind: string, words: readonly string[]): string[] => Array.from({ length: n }, (_, i) => message(kind, i, text(words, 80, next)));
  return { spam: make('spam', SPAM), ham: make('ham', HAM) };
}

/** The message of the load: headers smtp-source does not add itself, ~2 KB of ham-like text. */
export function loadMessage(): string {
  const next = prng(11);
  const extra = Array.from({ length: 120 }, (_, i) => `word${i}`);
  return `From: alice@client.test\r\nTo: bob@bench.test\r\nSubject: quarterly report draft\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <load@client.test>\r\n\r\n${text(HAM, 200, next)}\r\n${extra.join(' ')}\r\n`;
}
