import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStateStore } from './state.js';
import { ManualClock } from '../../../test/support/check-context.js';

let dir: string;
let clock: ManualClock;
let store: SqliteStateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-state-'));
  clock = new ManualClock(1_000_000);
  store = new SqliteStateStore(join(dir, 'state.db'), clock);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteStateStore', () => {
  it('gets what was set until it expires', async () => {
    await store.set('a', 'one', 1000);
    expect(await store.get('a')).toBe('one');
    clock.t += 999;
    expect(await store.get('a')).toBe('one');
    clock.t += 1;
    expect(await store.get('a')).toBeNull();
    expect(await store.get('never')).toBeNull();
  });

  it('setIfAbsent keeps a live value and replaces an expired one', async () => {
    expect(await store.setIfAbsent('g', 'first', 1000)).toBe(true);
    expect(await store.setIfAbsent('g', 'second', 1000)).toBe(false);
    expect(await store.get('g')).toBe('first');
    clock.t += 1000;
    expect(await store.setIfAbsent('g', 'third', 1000)).toBe(true);
    expect(await store.get('g')).toBe('third');
  });

  it('increments a counter within its lifetime and restarts it afterwards', async () => {
    expect(await store.increment('c', 1, 1000)).toBe(1);
    expect(await store.increment('c', 2.5, 1000)).toBe(3.5);
    clock.t += 500;
    expect(await store.increment('c', 1, 1000)).toBe(4.5); // expiry is not pushed out by increments
    clock.t += 500;
    expect(await store.increment('c', 1, 1000)).toBe(1);
  });

  it('deletes, and sweeps expired rows in batches', async () => {
    for (let i = 0; i < 1500; i++) await store.set(`k${i}`, 'x', 10);
    await store.set('live', 'y', 10_000);
    await store.delete('k0');
    clock.t += 10;
    expect(store.sweep()).toBe(1000);
    expect(store.sweep()).toBe(499);
    expect(store.sweep()).toBe(0);
    expect(await store.get('live')).toBe('y');
  });

  it('is shared by two processes on the same file, counting every increment once', async () => {
    const script = join(dir, 'child.mjs');
    // The child runs the built module (npm test builds first), as the gateway's workers do.
    const module = new URL('../../../dist/src/store/sqlite/state.js', import.meta.url).pathname;
    await writeFile(
      script,
      `const { SqliteStateStore } = await import(${JSON.stringify(module)});
       const s = new SqliteStateStore(process.argv[2], { now: () => 1_000_000, setTimer: () => ({ cancel() {} }) });
       for (let i = 0; i < 500; i++) await s.increment('shared', 1, 60_000);
       await s.close();`,
    );
    const run = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const p = fork(script, [join(dir, 'state.db')], { stdio: 'inherit' });
        p.on('error', reject);
        p.on('exit', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([run(), run()])).toEqual([0, 0]);
    expect(await store.increment('shared', 0, 60_000)).toBe(1000);
  });
});
