// The chronological train/test split of the SpamAssassin public corpus (bench/data/corpus/*.txt,
// copied from the project's shared corpus notes: messages delivered before 2002-08-22 are train,
// the rest test). Reads the lists and the corpus files (installed on demand by bench/mime/corpus.ts)
// and gives each message as the gateway would see it (mbox "From " line stripped, CRLF).
// Rules of use: tune on train only; test is for measuring.
// Fails: throws when a listed file is missing from the corpus.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { corpusDir, normalizeCorpusFile } from '../mime/corpus.js';
import { projectRoot } from '../lib/paths.js';

export type SplitName = 'train' | 'test';
export type Label = 'spam' | 'ham';

export interface LabelledMessage {
  /** "<group>/<NNNNN>.<md5>" as in the lists. */
  readonly name: string;
  readonly label: Label;
  readonly raw: Buffer;
}

/** The names of one list, e.g. train-spam. */
export async function splitList(split: SplitName, label: Label): Promise<string[]> {
  const text = await readFile(join(projectRoot(), 'bench', 'data', 'corpus', `${split}-${label}.txt`), 'utf8');
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/**
 * The messages of a split, ham and spam. `limit` takes an evenly spread subset of each list
 * (every k-th name), so a quick run keeps the split's ham/spam mix and its time span.
 */
export async function loadSplit(split: SplitName, limit?: { readonly ham: number; readonly spam: number }, log?: (line: string) => void): Promise<LabelledMessage[]> {
  const dir = await corpusDir(log);
  const out: LabelledMessage[] = [];
  for (const label of ['ham', 'spam'] as const) {
    let names = await splitList(split, label);
    const want = limit?.[label];
    if (want !== undefined && want < names.length) {
      const step = names.length / want;
      names = Array.from({ length: want }, (_, i) => names[Math.floor(i * step)] as string);
    }
    for (const name of names) out.push({ name, label, raw: normalizeCorpusFile(await readFile(join(dir, `${name}.txt`))) });
  }
  return out;
}
