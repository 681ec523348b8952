// Which results a content section (accuracy, scan) is made of. A later run of fewer systems (say
// `accuracy --systems moat` after a score change) must not silently replace the table of all
// three: from the results newest first, each row key (a system, or Moat + clamd) is taken from the
// newest result that has it, and every picked row keeps its source, so that the section can date
// each system's figures and compute a load-dependent ratio only between rows of the same run.
// `--quick` results (a subset of the split) are never mixed with full ones: they count only when
// there is no full result at all, and then only the newest.
// Trusts: the caller orders the results newest first and has checked their format. Fails: never.

export interface Source<R> {
  /** The result's path relative to the repository (shown in the section). */
  readonly file: string;
  readonly report: R;
}

export interface Picked<R, Row> {
  readonly key: string;
  readonly row: Row;
  readonly source: Source<R>;
}

/** The full results, or the newest quick one when every result is quick; `newestFirst` order kept. */
export function fullOrNewestQuick<R extends { readonly quick: boolean }>(newestFirst: readonly Source<R>[]): Source<R>[] {
  const full = newestFirst.filter((s) => !s.report.quick);
  if (full.length > 0) return full;
  const first = newestFirst[0];
  return first === undefined ? [] : [first];
}

/**
 * Per key, the row of the newest result that has it. Keys come in the order they are first met
 * (the newest result's order, then each older result's new keys); a key twice in one result keeps
 * its first row.
 */
export function pickNewestPerKey<R, Row>(newestFirst: readonly Source<R>[], rowsOf: (r: R) => readonly Row[], keyOf: (row: Row) => string): Picked<R, Row>[] {
  const picked = new Map<string, Picked<R, Row>>();
  for (const source of newestFirst) {
    for (const row of rowsOf(source.report)) {
      const key = keyOf(row);
      if (!picked.has(key)) picked.set(key, { key, row, source });
    }
  }
  return [...picked.values()];
}

/** The distinct sources of the picked rows, in the order of their first row. */
export function sourcesOf<R, Row>(picked: readonly Picked<R, Row>[]): Source<R>[] {
  const out: Source<R>[] = [];
  for (const p of picked) if (!out.includes(p.source)) out.push(p.source);
  return out;
}
