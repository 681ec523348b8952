/**
 * The header fields Moat adds to a message it passes on, and the edits it makes to what arrived:
 *  - Authentication-Results: with our hostname as authserv-id (RFC 8601 §2.2); incoming ones that
 *    claim our authserv-id are removed (RFC 8601 §5), as are incoming fields that use the names of
 *    our verdict fields, so that no sender can forge a verdict the LAN server might trust;
 *  - the verdict fields (X-Moat-Score, X-Moat-Verdict, X-Moat-Symbols by default);
 *  - a Subject: prefix for tagged mail, when configured.
 * Fields are folded at 78 octets (RFC 5322 §2.1.1). Nothing here is read from the client unescaped.
 */
import type { ContentEdit } from '../queue/record.js';
import type { HeaderField, MessageView } from '../pipeline/message.js';
import type { Explanation } from '../pipeline/policy.js';

export interface VerdictHeaderNames {
  readonly score: string;
  readonly verdict: string;
  readonly symbols: string;
}

/** Folds "Name: item, item, ..." at item boundaries, continuation lines starting with a tab. */
export function foldField(name: string, items: readonly string[], separator: string): string {
  const lines: string[] = [];
  let line = `${name}:`;
  items.forEach((item, i) => {
    const piece = `${item}${i < items.length - 1 ? separator : ''}`;
    if (line.length + 1 + piece.length > 78 && line.length > name.length + 1) {
      lines.push(line);
      line = `\t${piece}`;
    } else {
      line += ` ${piece}`;
    }
  });
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
}

/** The authserv-id of an Authentication-Results: value: its first token, comments skipped (RFC 8601 §2.2). */
export function authservId(value: string): string {
  const noComments = value.replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  return (noComments.split(';', 1)[0] ?? '').trim().split(/\s+/, 1)[0]?.toLowerCase() ?? '';
}

function formatScore(n: number): string {
  return (Math.round(n * 100) / 100).toFixed(2).replace(/\.?0+$/, '') || '0';
}

export function authResultsField(hostname: string, results: readonly string[]): string {
  return foldField('Authentication-Results', [`${hostname};`, ...(results.length > 0 ? results : ['none'])].map((r, i, a) => (i > 0 && i < a.length - 1 ? `${r};` : r)), '');
}

export function verdictFields(names: VerdictHeaderNames, e: Explanation): string {
  const t = e.thresholds;
  const limits = [t.tag !== null ? `tag=${formatScore(t.tag)}` : null, t.quarantine !== null ? `quarantine=${formatScore(t.quarantine)}` : null, t.reject !== null ? `reject=${formatScore(t.reject)}` : null].filter(
    (x): x is string => x !== null,
  );
  const symbols = e.findings.filter((f) => !f.observed).map((f) => `${f.symbol}(${formatScore(f.score)})`);
  return [
    `${names.score}: ${formatScore(e.score)}${limits.length > 0 ? ` (${limits.join(' ')})` : ''}\r\n`,
    `${names.verdict}: ${e.action}\r\n`,
    symbols.length > 0 ? foldField(names.symbols, symbols, ',') : `${names.symbols}: none\r\n`,
  ].join('');
}

/** Edits that drop forged fields, and the optional Subject: prefix. */
export function contentEdits(view: MessageView, hostname: string, names: VerdictHeaderNames, subjectTag: string | null): { edits: ContentEdit[]; extra: string } {
  const ours = new Set([names.score, names.verdict, names.symbols].map((n) => n.toLowerCase()));
  const host = hostname.toLowerCase();
  const drop = (h: HeaderField): boolean => ours.has(h.key) || (h.key === 'authentication-results' && authservId(h.value) === host);
  const edits: ContentEdit[] = view.headers.filter(drop).map((h) => ({ at: h.start, remove: h.end - h.start, insert: '' }));
  let extra = '';
  if (subjectTag) {
    const subject = view.header('subject');
    if (subject) {
      // Insert right after "Subject:" and its leading whitespace, keeping the original text.
      const colon = view.raw.indexOf(58, subject.start);
      let at = colon + 1;
      while (view.raw[at] === 32 || view.raw[at] === 9) at++;
      edits.push({ at, remove: 0, insert: `${subjectTag} ` });
    } else {
      extra = `Subject: ${subjectTag}\r\n`;
    }
  }
  edits.sort((a, b) => a.at - b.at);
  return { edits, extra };
}
