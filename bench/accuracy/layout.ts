// The split written out as message files for the systems under test: DIR/train/{ham,spam}/*.eml and
// DIR/test/{ham,spam}/*.eml (CRLF, mbox line stripped), and the shared result shape. One file per
// message keeps every system's learner and scanner on the same octets.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Label, LabelledMessage } from './split.js';

export interface Layout {
  readonly dir: string;
  readonly train: readonly LabelledMessage[];
  readonly test: readonly LabelledMessage[];
  /** train/ham, train/spam, test/ham, test/spam */
  path(split: 'train' | 'test', label: Label): string;
  /** The file of a message. */
  file(split: 'train' | 'test', m: LabelledMessage): string;
}

/** One scored test message. */
export interface Outcome {
  readonly name: string;
  readonly label: Label;
  readonly score: number;
  readonly flagged: boolean;
}

export interface SystemRun {
  readonly system: string;
  readonly version: string;
  /** How it was set up, for the report. */
  readonly setup: string;
  readonly trainSeconds: number;
  readonly scanSeconds: number;
  readonly concurrency: number;
  readonly results: readonly Outcome[];
}

export async function writeLayout(dir: string, train: readonly LabelledMessage[], test: readonly LabelledMessage[]): Promise<Layout> {
  const path = (split: 'train' | 'test', label: Label): string => join(dir, split, label);
  const file = (split: 'train' | 'test', m: LabelledMessage): string => join(path(split, m.label), `${m.name.replace(/\//g, '_')}.eml`);
  for (const [split, list] of [['train', train], ['test', test]] as const) {
    for (const label of ['ham', 'spam'] as const) await mkdir(path(split, label), { recursive: true });
    for (const m of list) await writeFile(file(split, m), m.raw);
  }
  return { dir, train, test, path, file };
}

/** Runs `fn` over items with at most `n` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, n) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}
