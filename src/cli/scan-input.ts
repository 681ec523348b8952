/**
 * The messages `moat scan` reads: message files, directories of them (recursively, hidden names
 * skipped), Maildirs (cur/ and new/) and mbox files (a file starting with "From "), split on "From "
 * lines (the mboxrd convention: ">From " lines, any number of ">", lose one ">"). Each message's line
 * ends are made CRLF, what the SMTP engine hands the gateway. Trusts the files to be mail; a file
 * it cannot read is reported as an error item, never thrown.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ScanItem {
  /** The file, and for mbox messages ":N" (1-based). */
  readonly file: string;
  readonly raw: Buffer;
}

export type InputItem = ScanItem | { readonly file: string; readonly error: string };

/** LF or CRLF line ends to CRLF (a lone CR stays as it is). */
export function toCrlf(b: Buffer): Buffer {
  let lf = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 10 && (i === 0 || b[i - 1] !== 13)) lf++;
  if (lf === 0) return b;
  const out = Buffer.allocUnsafe(b.length + lf);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c === 10 && (i === 0 || b[i - 1] !== 13)) out[o++] = 13;
    out[o++] = c;
  }
  return out;
}

/** Splits an mbox into its messages (the "From " separator lines removed, >From unquoted). */
export function splitMbox(b: Buffer): Buffer[] {
  const text = b.toString('latin1');
  const out: Buffer[] = [];
  const starts: number[] = [];
  const sep = /^From [^\r\n]*\r?\n/gm;
  for (let m = sep.exec(text); m; m = sep.exec(text)) starts.push(m.index, m.index + m[0].length);
  for (let i = 0; i < starts.length; i += 2) {
    const body = text.slice(starts[i + 1], starts[i + 2] ?? text.length).replace(/^>(>*From )/gm, '$1');
    // The empty line before the next separator belongs to the mbox, not to the message.
    out.push(Buffer.from(i + 2 < starts.length ? body.replace(/(\r?\n)\r?\n$/, '$1') : body, 'latin1'));
  }
  return out;
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(entries.map((e) => e.name));
  // A Maildir: only cur/ and new/ hold messages (tmp/ is being written).
  const maildir = names.has('cur') && names.has('new');
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (maildir && e.name !== 'cur' && e.name !== 'new') continue;
      yield* walk(p);
    } else if (e.isFile()) yield p;
  }
}

async function* fileItems(file: string): AsyncGenerator<InputItem> {
  let b: Buffer;
  try {
    b = await readFile(file);
  } catch (e) {
    yield { file, error: (e as NodeJS.ErrnoException).code ?? String(e) };
    return;
  }
  if (b.subarray(0, 5).toString('latin1') === 'From ') {
    const msgs = splitMbox(b);
    for (let i = 0; i < msgs.length; i++) yield { file: `${file}:${i + 1}`, raw: toCrlf(msgs[i] as Buffer) };
  } else yield { file, raw: toCrlf(b) };
}

/** Every message under the given paths, in order. */
export async function* scanInputs(paths: readonly string[]): AsyncGenerator<InputItem> {
  for (const p of paths) {
    let s;
    try {
      s = await stat(p);
    } catch (e) {
      yield { file: p, error: (e as NodeJS.ErrnoException).code ?? String(e) };
      continue;
    }
    if (s.isDirectory()) {
      for await (const f of walk(p)) yield* fileItems(f);
    } else yield* fileItems(p);
  }
}
