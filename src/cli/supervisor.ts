/**
 * The supervisor (DESIGN.md §4): forks one worker per core with node:cluster, restarts a worker that
 * dies (it resumes its own spool shard), and never parses mail itself. SIGTERM: workers stop accepting,
 * finish their transactions within the grace period, exit; then we exit 0. SIGHUP: the config file is
 * read and checked again; a bad one is refused with its errors logged and the old one kept.
 * It also serves the control socket for `moat queue …`, and keeps the gateway-wide connection count
 * the workers ask for a slot in (admission-ipc.ts). On `admin.listen` it serves GET /metrics (the
 * workers' registries merged, metrics-ipc.ts) and GET /healthz (src/admin/metrics-server.ts); a
 * failure to bind it is logged (`admin.error`) and the gateway runs on: mail does not wait for metrics.
 */
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { formatConfigErrors, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { isControlRequest, mergeAnswers, type ControlAnswer, type ControlRequest } from '../gateway/control.js';
import type { Logger } from '../platform/logger.js';
import { admissionLimits } from '../main.js';
import { AdmissionService, isAdmissionRequest, type AdmissionAnswer, type AdmissionRequest } from './admission-ipc.js';
import { isLoopback, metricsRoutes, startAdminServer, type AdminServer } from '../admin/metrics-server.js';
import { supervisorMetrics } from '../admin/metrics.js';
import { isMetricsAnswer, MetricsCollector, type MetricsAnswer, type MetricsRequest } from './metrics-ipc.js';

export type ToWorker =
  | { readonly type: 'reload'; readonly config: Config }
  | { readonly type: 'shutdown' }
  | { readonly type: 'control'; readonly seq: number; readonly req: ControlRequest }
  | MetricsRequest
  | AdmissionAnswer;

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'control'; readonly seq: number; readonly answer: ControlAnswer }
  | { readonly type: 'fatal'; readonly error: string }
  | MetricsAnswer
  | AdmissionRequest;

export function workerCount(c: Config): number {
  return c.workers === 'auto' ? Math.max(1, availableParallelism()) : c.workers;
}

export function controlSocketPath(c: Config): string {
  return join(c.dataDir, 'control.sock');
}

export async function runSupervisor(configFile: string, initial: Config, logger: Logger): Promise<number> {
  let config = initial;
  const count = workerCount(config);
  await mkdir(join(config.dataDir, 'spool'), { recursive: true, mode: 0o700 });
  const workers = new Map<number, ClusterWorker>();
  let stopping = false;
  let seq = 0;
  const pending = new Map<number, (a: ControlAnswer) => void>();
  let readyCount = 0;
  /** Workers (by index) that reported ready and have not exited since. */
  const ready = new Set<number>();
  const admission = new AdmissionService(() => admissionLimits(config));
  const collector = new MetricsCollector();

  const fork = (index: number): void => {
    const w = cluster.fork({ MOAT_WORKER_INDEX: String(index), MOAT_WORKER_COUNT: String(count), MOAT_CONFIG: configFile, UV_THREADPOOL_SIZE: '16' });
    workers.set(index, w);
    w.on('message', (m: FromWorker) => {
      if (isAdmissionRequest(m)) {
        admission.handle(w.id, m, (a) => {
          if (w.isConnected()) w.send(a satisfies ToWorker);
        });
        return;
      }
      if (isMetricsAnswer(m)) {
        collector.answer(m);
        return;
      }
      if (m.type === 'ready') ready.add(index);
      if (m.type === 'ready' && ++readyCount === count) logger.info('gateway.start', { workers: count, listen: config.listen.map((l) => l.address), pid: process.pid });
      if (m.type === 'control') pending.get(m.seq)?.(m.answer);
      if (m.type === 'fatal') logger.error('worker.exit', { worker: index, error: m.error });
    });
    w.on('exit', (code, signal) => {
      if (workers.get(index) === w) {
        workers.delete(index);
        ready.delete(index);
        collector.forget(index);
      }
      admission.workerGone(w.id);
      if (stopping) return;
      logger.error('worker.exit', { worker: index, code, signal, restarting: true });
      // A worker that keeps dying must not spin: wait a little before the restart.
      setTimeout(() => !stopping && fork(index), 1000).unref();
    });
  };
  for (let i = 0; i < count; i++) fork(i);

  const ask = (req: ControlRequest): Promise<ControlAnswer> => {
    const asks = [...workers.values()].map(
      (w) =>
        new Promise<ControlAnswer>((resolve) => {
          const n = ++seq;
          const timer = setTimeout(() => {
            pending.delete(n);
            resolve({ ok: false, error: 'worker did not answer' });
          }, 10_000);
          pending.set(n, (a) => {
            clearTimeout(timer);
            pending.delete(n);
            resolve(a);
          });
          w.send({ type: 'control', seq: n, req } satisfies ToWorker);
        }),
    );
    return Promise.all(asks).then((answers) => mergeAnswers(req, answers));
  };
  const control = await serveControl(controlSocketPath(config), ask);
  const own = supervisorMetrics({ workers: () => count, ready: () => ready.size, sessions: () => admission.openSessions });
  const healthy = (): boolean => !stopping && ready.size === count;
  const routes = metricsRoutes({
    metrics: async () =>
      collector.collect(
        [...workers].map(([key, w]) => ({ key, send: (m: MetricsRequest) => w.isConnected() && w.send(m satisfies ToWorker) })),
        [await own.getMetricsAsJSON()],
      ),
    health: () => ({ ok: healthy(), detail: { workers: count, ready: ready.size } }),
  });
  let admin: AdminServer | null = null;
  try {
    admin = await startAdminServer(config.admin.listen, routes);
    logger.info('admin.start', { listen: config.admin.listen, ...(isLoopback(config.admin.listen) ? {} : { exposed: true }) });
  } catch (e) {
    logger.error('admin.error', { listen: config.admin.listen, error: e instanceof Error ? e.message : String(e) });
  }

  return new Promise<number>((resolve) => {
    const shutdown = (): void => {
      if (stopping) return;
      stopping = true;
      logger.info('gateway.stop', { signal: 'SIGTERM' });
      for (const w of workers.values()) w.send({ type: 'shutdown' } satisfies ToWorker);
      const hard = setTimeout(() => {
        for (const w of workers.values()) w.process.kill('SIGKILL');
      }, config.shutdownGrace + 20_000);
      hard.unref();
      const check = setInterval(() => {
        if (workers.size > 0) return;
        clearInterval(check);
        control.close();
        void admin?.close();
        void rm(controlSocketPath(config), { force: true }).finally(() => resolve(0));
      }, 50);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    process.on('SIGHUP', () => {
      void loadConfig(configFile).then((r) => {
        if (!r.ok) {
          logger.error('gateway.reload-refused', { errors: formatConfigErrors(r.errors).split('\n') });
          return;
        }
        config = r.config;
        for (const w of workers.values()) w.send({ type: 'reload', config } satisfies ToWorker);
        logger.info('gateway.reload', { listen: config.listen.map((l) => l.address), domains: Object.keys(config.domains) });
      });
    });
  });
}

async function serveControl(path: string, ask: (r: ControlRequest) => Promise<ControlAnswer>): Promise<Server> {
  await rm(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > 4096) {
        sock.destroy();
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: unknown;
      try {
        req = JSON.parse(buf.slice(0, nl));
      } catch {
        req = null;
      }
      if (!isControlRequest(req)) {
        sock.end(`${JSON.stringify({ ok: false, error: 'bad request' })}\n`);
        return;
      }
      void ask(req).then((a) => sock.end(`${JSON.stringify(a)}\n`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return server;
}
