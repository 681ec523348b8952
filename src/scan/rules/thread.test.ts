// The rule thread (built worker.js from dist/: `npm test` builds first): a pass runs off the
// calling thread and returns its hits; a regex that never returns is stopped by terminating the
// thread at budget + GRACE_MS, the rule is named, and the next pass gets a fresh thread.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileRules } from './compiler.js';
import type { RuleInput } from './input.js';
import { GRACE_MS, threadRunner } from './thread.js';

const WORKER = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'dist', 'src', 'scan', 'rules', 'worker.js'));
const { set } = compileRules([{ file: 't.cf', text: 'body EVIL /(a+)+$/\nbody GOOD /hello/\n' }], { scoreSet: 3, taken: new Set() });
const input = (line: string): RuleInput => ({ headers: [], envelopeFrom: '', body: ['\n', line], rawbody: [], full: '', uris: [] });

describe('rule threads', () => {
  it('runs a pass in a thread and returns its hits', async () => {
    const r = await threadRunner(set, 500, 1, WORKER).run(input('hello there\n'), AbortSignal.timeout(10_000));
    expect(r).toMatchObject({ hits: [{ name: 'GOOD', count: 1 }], stoppedAt: null, killed: false });
  });

  it('terminates a thread stuck in a runaway regex at the budget, names the rule, and serves the next pass', async () => {
    const runner = threadRunner(set, 300, 1, WORKER);
    const t0 = performance.now();
    const stuck = await runner.run(input(`${'a'.repeat(40)}b\n`), AbortSignal.timeout(10_000));
    const took = performance.now() - t0;
    expect(stuck).toMatchObject({ hits: [], stoppedAt: 'EVIL', killed: true });
    // Thread start and warm-up come before the budget's clock starts; the kill itself is quick.
    expect(stuck.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(stuck.elapsedMs).toBeLessThan(300 + GRACE_MS + 200);
    expect(took).toBeLessThan(5000);
    const next = await runner.run(input('hello again\n'), AbortSignal.timeout(10_000));
    expect(next).toMatchObject({ hits: [{ name: 'GOOD', count: 1 }], killed: false });
  });
});
