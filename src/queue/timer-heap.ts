/** A min-heap of (time, id) with lazy deletion: the scheduler's list of what is due when. */
export class TimerHeap {
  private heap: { at: number; id: string }[] = [];
  private readonly current = new Map<string, number>();

  get size(): number {
    return this.current.size;
  }

  /** Sets (or moves) the due time of `id`. */
  set(id: string, at: number): void {
    this.current.set(id, at);
    this.heap.push({ at, id });
    this.up(this.heap.length - 1);
  }

  delete(id: string): void {
    this.current.delete(id);
  }

  /** Earliest due time, skipping stale entries. */
  peek(): number | null {
    this.dropStale();
    return this.heap[0]?.at ?? null;
  }

  /** Removes and returns every id due at or before `now`. */
  takeDue(now: number): string[] {
    const out: string[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.at > now) return out;
      this.pop();
      this.current.delete(top.id);
      out.push(top.id);
    }
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || this.current.get(top.id) === top.at) return;
      this.pop();
    }
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as { at: number }).at <= (h[i] as { at: number }).at) return;
      [h[p], h[i]] = [h[i] as { at: number; id: string }, h[p] as { at: number; id: string }];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && (h[l] as { at: number }).at < (h[m] as { at: number }).at) m = l;
      if (r < h.length && (h[r] as { at: number }).at < (h[m] as { at: number }).at) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i] as { at: number; id: string }, h[m] as { at: number; id: string }];
      i = m;
    }
  }
}
