/**
 * A worker thread of `moat scan`: gets the config its parent validated (as data: a structured
 * clone), builds one scanner and answers { index, file, raw } with { index, file, result } or
 * { index, file, error }. Trusts the parent; a message that makes the scan throw is answered as an error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { createScanner } from './scanner.js';

interface Job {
  readonly index: number;
  readonly file: string;
  readonly raw: Uint8Array;
}

const port = parentPort;
if (port) {
  // Messages posted while the scanner is built wait in the port until the listener is added.
  const scanner = await createScanner((workerData as { config: Config }).config);
  port.on('message', (job: Job | null) => {
    if (job === null) {
      void scanner.close().finally(() => port.close());
      return;
    }
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    scanner.scan(job.file, raw).then(
      (result) => port.postMessage({ index: job.index, file: job.file, result }),
      (e: unknown) => port.postMessage({ index: job.index, file: job.file, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  port.postMessage({ ready: true });
}
