/**
 * Module tracer for the start-up tests: `node --import dist/test/support/module-trace.js …` with
 * MOAT_MODULE_TRACE=PREFIX appends the URL of every module the process loads to PREFIX.PID, one a
 * line (ES modules, and the first CommonJS file of each package an ES module imports; what that
 * file require()s is not seen). With NODE_OPTIONS the cluster workers are traced too. Uses the
 * node:module load hook; this same file is the hooks module, where it runs off the main thread and
 * appends synchronously, so nothing is lost when the process exits.
 * Trusts: nothing. Fails: an unwritable PREFIX throws in the traced process.
 */
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

type NextLoad = (url: string, context: unknown) => Promise<unknown>;

export async function load(url: string, context: unknown, next: NextLoad): Promise<unknown> {
  const prefix = process.env['MOAT_MODULE_TRACE'];
  if (prefix !== undefined) appendFileSync(`${prefix}.${process.pid}`, `${url}\n`);
  return next(url, context);
}

if (isMainThread && process.env['MOAT_MODULE_TRACE'] !== undefined) register(import.meta.url);
