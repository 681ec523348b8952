/**
 * The supervisor (DESIGN.md §4): binds the SMTP listeners (listen-sockets.ts), drops root if it was
 * started as root (privileges.ts), forks one worker per core with node:cluster and hands each
 * accepted connection to a worker; restarts a worker that dies (it resumes its own spool shard); it
 * never reads mail itself. SIGTERM: stop accepting, workers finish their transactions within the
 * grace period and exit; then we exit 0. SIGHUP: the config file is read and checked again (schema,
 * certificates, new listeners bound); a bad one is refused with its errors logged and the old one kept.
 * It also serves the control socket for `moat queue …`, and keeps the gateway-wide connection count
 * the workers ask for a slot in (admission-ipc.ts). On `admin.listen` it serves GET /metrics (the
 * workers' registries merged, metrics-ipc.ts), GET /healthz (src/admin/metrics-server.ts) and the
 * admin console (admin-console.ts); a failure to bind it is logged (`admin.error`) and the gateway
 * runs on: mail does not wait for metrics.
 */
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { constants as fsc } from 'node:fs';
import { access, chmod, mkdir, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { formatConfigErrors, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { isControlRequest, mergeAnswers, oneWorker, type ControlAnswer, type ControlRequest } from '../gateway/control.js';
import type { Logger } from '../platform/logger.js';
import { admissionLimits, nodeName, openNodeRegistry, scannerProbes } from '../main-stores.js';
import { startScannerHealth, type ScannerHealth } from '../gateway/scanner-health.js';
import { AdmissionService, isAdmissionRequest, type AdmissionAnswer, type AdmissionRequest } from './admission-ipc.js';
import { loadServerTls } from '../platform/tls-context.js';
import { ListenSockets, type ConnectionMessage } from './listen-sockets.js';
import { dropPrivileges, prepareDataDir, privilegePlan, resolveAccount, StartupError } from './privileges.js';
import { isLoopback, metricsRoutes, startAdminServer, type AdminServer } from '../admin/metrics-server.js';
import { supervisorMetrics } from '../admin/metrics.js';
import { isMetricsAnswer, MetricsCollector, type MetricsAnswer, type MetricsRequest } from './metrics-ipc.js';
import { openAdminConsole, type AdminConsole } from './admin-console.js';
import { startHeartbeat } from './heartbeat.js';
import { controlSocketPath } from './control-client.js';

export type ToWorker =
  | { readonly type: 'reload'; readonly config: Config }
  | ConnectionMessage
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

/** Keys read only at start: a reload that changes them is refused. */
const START_ONLY = ['user', 'group', 'allowRoot', 'dataDir', 'workers'] as const;

/** Binds the listeners and, started as root, becomes the configured user; StartupError otherwise. */
async function takeOff(configFile: string, config: Config, sockets: ListenSockets, logger: Logger): Promise<boolean> {
  const plan = privilegePlan(config, process.geteuid?.() ?? -1, () => userInfo().username);
  const account = plan.kind === 'drop' ? await resolveAccount(plan.user, plan.group) : null;
  if (account) await prepareDataDir(config.dataDir, account);
  for (const l of config.listen) await sockets.bind(l.address).catch((e: unknown) => Promise.reject(new StartupError(`listen: ${(e as Error).message}`)));
  if (account) {
    dropPrivileges(account);
    logger.info('gateway.privileges', { user: account.user, uid: account.uid, gid: account.gid, groups: process.getgroups?.() ?? [] });
  } else if (plan.kind === 'root') {
    logger.warn('gateway.privileges', { user: 'root', uid: 0, allowRoot: true });
  } else if (plan.kind === 'as-is' && plan.mismatch) {
    logger.warn('gateway.privileges', { uid: process.geteuid?.(), warning: plan.mismatch });
  }
  // From here on as the user Moat runs as: what it must read for reloads and workers, it can.
  await access(configFile, fsc.R_OK).catch(() => Promise.reject(new StartupError(`${configFile}: not readable by uid ${String(process.geteuid?.())}; workers and reloads read it`)));
  const tls = tlsErrors(config);
  if (tls.length > 0) throw new StartupError(tls.join('\n'));
  const spool = join(config.dataDir, 'spool');
  await mkdir(spool, { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) =>
    Promise.reject(new StartupError(`dataDir: cannot create ${spool} as uid ${String(process.geteuid?.())}: ${e.code ?? e.message}`)),
  );
  return account !== null;
}

export async function runSupervisor(configFile: string, initial: Config, logger: Logger): Promise<number> {
  let config = initial;
  const count = workerCount(config);
  const workers = new Map<number, ClusterWorker>();
  const ready = new Set<ClusterWorker>();
  let droppedRoot = false;
  const sockets = new ListenSockets({ ready: () => [...ready], logger, droppedRoot: () => droppedRoot });
  try {
    droppedRoot = await takeOff(configFile, config, sockets, logger);
  } catch (e) {
    sockets.closeAll();
    throw e;
  }
  for (const a of sockets.addresses) sockets.activate(a);
  let stopping = false;
  let seq = 0;
  const pending = new Map<number, (a: ControlAnswer) => void>();
  let readyCount = 0;
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
      if (m.type === 'ready') {
        ready.add(w);
        sockets.flush();
        if (++readyCount === count) logger.info('gateway.start', { workers: count, listen: config.listen.map((l) => l.address), pid: process.pid });
      }
      if (m.type === 'control') pending.get(m.seq)?.(m.answer);
      if (m.type === 'fatal') logger.error('worker.exit', { worker: index, error: m.error });
    });
    w.on('exit', (code, signal) => {
      ready.delete(w);
      if (workers.get(index) === w) {
        workers.delete(index);
        collector.forget(index);
      }
      admission.workerGone(w.id);
      if (stopping) return;
      logger.error('worker.exit', { worker: index, code, signal, restarting: true });
      // A worker that keeps dying must not spin: wait a little before the restart.
      setTimeout(() => !stopping && fork(index), 1000).unref();
    });
  };
  // The console's stores open before any worker: the message log's schema is in place when they write.
  let adminConsole: AdminConsole | null = null;
  const nodes = await openNodeRegistry(config);
  try {
    adminConsole = await openAdminConsole({ config: () => config, ask: (r) => ask(r), health: () => health(), tlsErrors, logger, nodes });
  } catch (e) {
    logger.error('admin.error', { during: 'console', error: e instanceof Error ? e.message : String(e) });
  }
  for (let i = 0; i < count; i++) fork(i);

  const ask = (req: ControlRequest): Promise<ControlAnswer> => {
    // The quarantine is one directory: one worker acts on it, so a release happens once.
    const all = [...workers.values()];
    const targets = oneWorker(req) ? [...ready].slice(0, 1).concat(ready.size === 0 ? all.slice(0, 1) : []) : all;
    const asks = targets.map(
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
  // Rebuilt on a reload: scanners may have been added, removed or moved.
  let scanners: ScannerHealth = startScannerHealth(scannerProbes(config), config.admin.scannerProbeInterval, logger);
  const own = supervisorMetrics({ workers: () => count, ready: () => ready.size, sessions: () => admission.openSessions, scanners: () => scanners.states(), node: nodeName(config) });
  const healthy = (): boolean => !stopping && ready.size === count;
  // A scanner that is down does not make the node unhealthy: its check's failPolicy decides what mail gets.
  const health = () => {
    const probed = scanners.states();
    return { ok: healthy(), detail: { workers: count, ready: ready.size, ...(probed.length > 0 ? { scanners: probed } : {}) } };
  };
  // With the cluster store every node lists itself in the store's node list (src/cli/heartbeat.ts).
  const heartbeat = nodes
    ? startHeartbeat({ registry: nodes, node: nodeName(config), intervalMs: () => config.cluster.heartbeat, ask, workers: () => ({ workers: count, ready: ready.size }), logger, now: () => Date.now() })
    : null;
  const routes = metricsRoutes({
    metrics: async () =>
      collector.collect(
        [...workers].map(([key, w]) => ({ key, send: (m: MetricsRequest) => w.isConnected() && w.send(m satisfies ToWorker) })),
        [await own.getMetricsAsJSON()],
      ),
    health: () => health(),
  });
  let admin: AdminServer | null = null;
  try {
    admin = await startAdminServer(config.admin.listen, routes, { ...(config.admin.tls ? { tls: config.admin.tls } : {}), ...(adminConsole ? { fallback: adminConsole.handler } : {}) });
    logger.info('admin.start', { listen: config.admin.listen, https: config.admin.tls !== undefined, console: adminConsole !== null, ...(isLoopback(config.admin.listen) ? {} : { exposed: true }) });
  } catch (e) {
    logger.error('admin.error', { listen: config.admin.listen, error: e instanceof Error ? e.message : String(e) });
  }

  return new Promise<number>((resolve) => {
    const shutdown = (): void => {
      if (stopping) return;
      stopping = true;
      logger.info('gateway.stop', { signal: 'SIGTERM' });
      scanners.stop();
      sockets.closeAll();
      ready.clear();
      for (const w of workers.values()) w.send({ type: 'shutdown' } satisfies ToWorker);
      const hard = setTimeout(() => {
        for (const w of workers.values()) w.process.kill('SIGKILL');
      }, config.shutdownGrace + 20_000);
      hard.unref();
      const check = setInterval(() => {
        if (workers.size > 0) return;
        clearInterval(check);
        control.close();
        void admin?.close().then(() => adminConsole?.close());
        // The last heartbeat says "stopped" (bounded: a dead store does not hold the exit).
        const last = heartbeat ? heartbeat.stop().then(() => nodes?.close()) : Promise.resolve();
        void Promise.all([rm(controlSocketPath(config), { force: true }), last]).finally(() => resolve(0));
      }, 50);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    process.on('SIGHUP', () => {
      void loadConfig(configFile).then(async (r) => {
        if (!r.ok) return logger.error('gateway.reload-refused', { errors: formatConfigErrors(r.errors).split('\n') });
        const next = r.config;
        const fixed = START_ONLY.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(config[k])).map((k) => `${k}: read at start only; restart Moat to change it`);
        const errors = [...fixed, ...tlsErrors(next)];
        const added: string[] = [];
        for (const [i, l] of next.listen.entries()) {
          if (errors.length > 0 || sockets.has(l.address)) continue;
          try {
            await sockets.bind(l.address);
            added.push(l.address);
          } catch (e) {
            errors.push(`listen[${i}].address: ${(e as Error).message}`);
          }
        }
        if (errors.length > 0 || stopping) {
          for (const a of added) sockets.close(a);
          return logger.error('gateway.reload-refused', { errors });
        }
        config = next;
        scanners.stop();
        scanners = startScannerHealth(scannerProbes(config), config.admin.scannerProbeInterval, logger);
        for (const w of workers.values()) w.send({ type: 'reload', config } satisfies ToWorker);
        // Workers learn new listeners from the reload message, which IPC delivers before any connection.
        for (const a of added) sockets.activate(a);
        for (const a of sockets.addresses) if (!config.listen.some((l) => l.address === a)) sockets.close(a);
        logger.info('gateway.reload', { listen: config.listen.map((l) => l.address), domains: Object.keys(config.domains) });
      });
    });
  });
}

/** Every listener's certificate and key, read and matched now: a bad pair refuses the config. */
export function tlsErrors(c: Config): string[] {
  return c.listen.flatMap((l, i) => {
    if (!l.tls) return [];
    try {
      loadServerTls(l.tls);
      return [];
    } catch (e) {
      return [`listen[${i}].tls: ${e instanceof Error ? e.message : String(e)}`];
    }
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
