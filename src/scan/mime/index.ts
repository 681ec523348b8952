/**
 * The MIME parse shared by every content check: `view.mime()` (src/pipeline/message.ts) returns
 * one memoised parse per message, so rules, Bayes, URL extraction, attachment policy and antivirus
 * all read the same decoded parts. `parseMime` is the same parse for callers that hold only a
 * view; it is memoised on the view object as well. Never throws (see parse.ts).
 */
import { parseMessage, type MimeSource } from './parse.js';
import { DEFAULT_MIME_LIMITS, type MimeLimits, type ParsedMime } from './types.js';

export type { MimeSource } from './parse.js';
export * from './types.js';

/** What parseMime reads of a MessageView. */
export interface MimeInput extends MimeSource {
  readonly malformedHeader: boolean;
  readonly mime?: () => Promise<ParsedMime>;
}

const memo = new WeakMap<object, Promise<ParsedMime>>();

/** A parser bounded by `limits`, for the gateway to give each MessageView. */
export function mimeParser(limits: MimeLimits = DEFAULT_MIME_LIMITS): (view: MimeInput) => Promise<ParsedMime> {
  return (view) => {
    let p = memo.get(view);
    if (!p) {
      p = parseMessage(view, limits, view.malformedHeader);
      memo.set(view, p);
    }
    return p;
  };
}

const defaultParser = mimeParser();

/** The parse of a view: its own memoised `mime()` when it has one, else one with the default limits. */
export function parseMime(view: MimeInput): Promise<ParsedMime> {
  return view.mime ? view.mime() : defaultParser(view);
}

/** Limits for a configured scan limit: decoded content bounded by it, the rest by the defaults. */
export function limitsForScan(scanLimit: number): MimeLimits {
  return { ...DEFAULT_MIME_LIMITS, maxDecodedBytes: scanLimit };
}
