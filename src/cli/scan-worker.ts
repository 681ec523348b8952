/**
 * A worker thread of `moat scan`: loads the config itself (config objects do not cross threads
 * whole), builds one scanner and answers { index, file, raw } with { index, result } or
 * { index, error }. Trusts the parent; a message that makes the scan throw is answered as an error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../config/load.js';
import { createScanner } from './scanner.js';

interface Job {
  readonly index: number;
  readonly file: string;
  readonly raw: Uint8Array;
}

const port = parentPort;
if (port) {
  const r = await loadConfig((workerData as { config: string }).config);
  if (!r.ok) throw new Error('invalid configuration');
  const scanner = createScanner(r.config);
  port.on('message', (job: Job | null) => {
    if (job === null) {
      void scanner.close().finally(() => port.close());
      return;
    }
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    scanner.scan(job.file, raw).then(
      (result) => port.postMessage({ index: job.index, result }),
      (e: unknown) => port.postMessage({ index: job.index, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  port.postMessage({ ready: true });
}
