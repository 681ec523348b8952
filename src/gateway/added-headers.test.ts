import { describe, expect, it } from 'vitest';
import { messageView } from '../pipeline/message.js';
import type { Explanation } from '../pipeline/policy.js';
import { applyEdits } from '../queue/outgoing.js';
import { authResultsField, authservId, contentEdits, foldField, verdictFields } from './added-headers.js';

const names = { score: 'X-Moat-Score', verdict: 'X-Moat-Verdict', symbols: 'X-Moat-Symbols' };

async function edited(raw: string, edits: Parameters<typeof applyEdits>[1]): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of applyEdits((async function* () { yield Buffer.from(raw); })(), edits)) parts.push(c);
  return Buffer.concat(parts).toString();
}

describe('added headers', () => {
  it('folds at 78 octets between items, with tab continuations', () => {
    const f = foldField('X-Moat-Symbols', Array.from({ length: 12 }, (_, i) => `SYMBOL_NUMBER_${i}(1.5)`), ',');
    for (const line of f.split('\r\n').filter(Boolean)) expect(line.length).toBeLessThanOrEqual(78);
    expect(f).toMatch(/^X-Moat-Symbols: SYMBOL_NUMBER_0\(1\.5\), SYMBOL_NUMBER_1\(1\.5\),/);
    expect(f.split('\r\n')[1]).toMatch(/^\tSYMBOL_NUMBER_/);
    expect(f.endsWith('SYMBOL_NUMBER_11(1.5)\r\n')).toBe(true);
  });

  it('writes Authentication-Results with our authserv-id (RFC 8601)', () => {
    expect(authResultsField('mx.example.com', [])).toBe('Authentication-Results: mx.example.com; none\r\n');
    expect(authResultsField('mx.example.com', ['spf=pass smtp.mailfrom=a.example', 'dkim=none'])).toBe(
      'Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=a.example;\r\n\tdkim=none\r\n',
    );
    expect(authResultsField('mx.example.com', ['spf=none', 'dkim=none'])).toBe('Authentication-Results: mx.example.com; spf=none; dkim=none\r\n');
  });

  it('finds the authserv-id past comments and version', () => {
    expect(authservId('mx.example.com; spf=pass')).toBe('mx.example.com');
    expect(authservId(' (forged) MX.Example.COM 1; dkim=pass')).toBe('mx.example.com');
    expect(authservId('other.example; dmarc=pass')).toBe('other.example');
  });

  it('drops forged verdict fields and Authentication-Results claiming our id, keeps others, tags the subject', async () => {
    const raw =
      'Authentication-Results: mx.example.com;\r\n spf=pass\r\nAuthentication-Results: other.example; spf=fail\r\nX-Moat-Verdict: accept\r\nx-moat-score: -100\r\nSubject:  Cheap pills\r\n\r\nbody\r\n';
    const v = messageView(Buffer.from(raw), raw.length, async function* () {});
    const { edits, extra } = contentEdits(v, 'MX.example.com', names, '[SPAM]');
    expect(extra).toBe('');
    expect(await edited(raw, edits)).toBe('Authentication-Results: other.example; spf=fail\r\nSubject:  [SPAM] Cheap pills\r\n\r\nbody\r\n');
  });

  it('adds a Subject when a tagged message has none', () => {
    const raw = 'From: a@b.example\r\n\r\nx\r\n';
    const v = messageView(Buffer.from(raw), raw.length, async function* () {});
    expect(contentEdits(v, 'mx.example.com', names, '[SPAM]')).toEqual({ edits: [], extra: 'Subject: [SPAM]\r\n' });
  });

  it('explains the verdict in three fields, observed findings left out', () => {
    const e = {
      action: 'tag',
      score: 6.25,
      thresholds: { tag: 5, quarantine: null, reject: 15 },
      findings: [
        { symbol: 'RDNS_NONE', score: 1.5, observed: false },
        { symbol: 'BAYES_99', score: 4.75, observed: false },
        { symbol: 'NEW_RULE', score: 0, observed: true },
      ],
    } as unknown as Explanation;
    expect(verdictFields(names, e)).toBe('X-Moat-Score: 6.25 (tag=5 reject=15)\r\nX-Moat-Verdict: tag\r\nX-Moat-Symbols: RDNS_NONE(1.5), BAYES_99(4.75)\r\n');
  });
});
