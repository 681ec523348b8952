/**
 * A worker process: loads the config the supervisor named, starts the worker (main.ts) and obeys the
 * supervisor's messages (reload, shutdown, queue control, and the connections it accepted). An
 * uncaught error ends the process; the supervisor restarts it and the spool shard is resumed from disk.
 */
import { Socket } from 'node:net';
import { formatConfigErrors, loadConfig } from '../config/load.js';
import { startWorker } from '../main.js';
import { createLogger } from '../platform/logger.js';
import { IpcGate } from './admission-ipc.js';
import type { FromWorker, ToWorker } from './supervisor.js';

function send(m: FromWorker): void {
  process.send?.(m);
}

export async function runWorkerProcess(): Promise<void> {
  const index = Number(process.env['MOAT_WORKER_INDEX'] ?? 0);
  const count = Number(process.env['MOAT_WORKER_COUNT'] ?? 1);
  const file = process.env['MOAT_CONFIG'] ?? '';
  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    send({ type: 'fatal', error: formatConfigErrors(loaded.errors) });
    process.exit(1);
  }
  const config = loaded.config;
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  // Connection limits are counted by the supervisor for all workers together.
  const gate = new IpcGate((m) => send(m));
  process.on('message', (m: ToWorker) => {
    if (m.type === 'admit') gate.answer(m);
  });
  let worker;
  try {
    worker = await startWorker(config, index, count, logger, { gate, sockets: 'adopt' });
  } catch (e) {
    send({ type: 'fatal', error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
  const w = worker;
  process.on('message', (m: ToWorker, handle: unknown) => {
    if (m.type === 'connection') {
      if (handle instanceof Socket) w.adopt(m.address, handle);
      return;
    }
    if (m.type === 'reload') void w.reload(m.config).catch((e: unknown) => logger.error('gateway.reload-refused', { error: String(e) }));
    if (m.type === 'shutdown') {
      logger.info('gateway.stop', { worker: index, draining: true });
      void w.stop().then(() => process.exit(0));
    }
    if (m.type === 'control') {
      void w
        .control(m.req)
        .catch((e: unknown) => ({ ok: false as const, error: e instanceof Error ? e.message : String(e) }))
        .then((answer) => send({ type: 'control', seq: m.seq, answer }));
    }
    if (m.type === 'metrics') void w.metrics().then((snapshot) => send({ type: 'metrics', seq: m.seq, snapshot }));
  });
  // The supervisor handles signals; a worker ignores them so a process-group signal doesn't cut it short.
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  process.on('disconnect', () => void w.stop().then(() => process.exit(0)));
  send({ type: 'ready' });
}
