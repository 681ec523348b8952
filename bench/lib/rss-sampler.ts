// Samples the summed RSS of process trees at a fixed interval (and PSS every fifth sample), keeps
// the peaks and the RSS series (seconds since start, bytes) for plots.
// Trusts: proc-stats.ts. Fails: never; stop() is idempotent. The interval timer is unref'd so a
// forgotten sampler never keeps the process alive.
import { treePss, treeRss } from './proc-stats.js';

export interface RssPeak {
  readonly peakBytes: number;
  /** Processes in the trees at the peak sample. */
  readonly processesAtPeak: number;
  /** Peak of the summed PSS (sampled every fifth RSS sample). */
  readonly peakPssBytes: number;
  readonly samples: number;
  /** Every RSS sample: [seconds since the sampler started, summed RSS bytes]. */
  readonly series: readonly (readonly [number, number])[];
}

export interface RssSampler {
  stop(): RssPeak;
}

/** Starts sampling `roots()` (re-read each time: trees change) every `intervalMs` (default 100). */
export function startRssSampler(roots: () => readonly number[], intervalMs = 100): RssSampler {
  let peakBytes = 0;
  let processesAtPeak = 0;
  let samples = 0;
  let peakPssBytes = 0;
  const series: [number, number][] = [];
  const t0 = performance.now();
  const sample = (): void => {
    const r = treeRss(roots());
    series.push([(performance.now() - t0) / 1000, r.bytes]);
    if (samples % 5 === 0) peakPssBytes = Math.max(peakPssBytes, treePss(roots()));
    samples++;
    if (r.bytes > peakBytes) {
      peakBytes = r.bytes;
      processesAtPeak = r.processes;
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  let stopped = false;
  return {
    stop: () => {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
        sample();
      }
      return { peakBytes, processesAtPeak, peakPssBytes, samples, series };
    },
  };
}
