/**
 * Composition root (CONVENTIONS.md 9): the only place adapters are constructed and wired. A worker
 * owns one spool shard for new mail (plus orphaned shards of a former, larger worker count), runs the
 * SMTP listeners (connections are shared out by node:cluster) and the delivery scheduler of its shards.
 * Config is swapped whole on reload; sessions already open keep the options they started with.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates, type SecureContext } from 'node:tls';
import { createChecks } from './checks/index.js';
import { createPolicy } from './pipeline/runner.js';
import { outgoingContent } from './queue/outgoing.js';
import { QuarantineStore } from './quarantine/store.js';
import { DigestSender } from './quarantine/digest.js';
import { loadLinkSecret } from './admin/signed-link.js';
import { newQueueId } from './queue/queue-id.js';
import type { MessageLogStore } from './store/message-log.js';
import { GatewayMetrics, type MetricsSnapshot } from './admin/metrics.js';
import { Tracking } from './gateway/tracking.js';
import type { Config } from './config/schema.js';
import type { ControlAnswer, ControlRequest, QueueItem } from './gateway/control.js';
import { InboundSession } from './gateway/inbound.js';
import { DsnNotifier } from './gateway/notifier.js';
import { systemClock } from './platform/clock.js';
import { createResolver, systemServers } from './platform/dns/index.js';
import { LdapDirectory } from './platform/ldap.js';
import type { Logger } from './platform/logger.js';
import { ServerTlsContexts } from './platform/tls-context.js';
import { Scheduler } from './queue/scheduler.js';
import { Spool, type StoredMessage } from './queue/spool.js';
import { RelayDeliverer } from './relay/deliverer.js';
import { ConnectionPool } from './relay/pool.js';
import type { Hop, TlsChoice } from './relay/routes.js';
import { SmtpRecipientProber } from './relay/verify.js';
import { MtaSts } from './relay/mta-sts.js';
import { httpsPolicyFetcher } from './relay/mta-sts-fetch.js';
import { transportFor } from './outbound/transports.js';
import type { Domain, Mailbox } from './smtp/address.js';
import { AUTH_MECHANISMS } from './smtp/server/sasl.js';
import { DkimSigner } from './outbound/dkim.js';
import { OutboundContent } from './outbound/content.js';
import { passwordCheckers } from './outbound/checkers.js';
import { outboundPort } from './outbound/port.js';
import { connect, type SmtpConnection, type Timeouts } from './smtp/client/index.js';
import { LocalGate, type ConnectionGate } from './smtp/server/admission.js';
import { parseCidr, type Cidr } from './smtp/server/ip.js';
import { SmtpListener, type ListenerSettings } from './smtp/server/listener.js';
import type { ServerOptions } from './smtp/server/options.js';
import type { ConnectionInfo } from './smtp/server/handler.js';
import { replyToString } from './smtp/reply.js';
import type { Server, Socket } from 'node:net';
import { LiveSenderLists } from './senders/live.js';
import { tokenizerWarning } from './scan/bayes/index.js';
import { admissionLimits, linkSecretPath, nodeName, openBayesStore, openMessageLog, openQuarantine, openSenderEntries, openStateStore, scannerPorts, statePath } from './main-stores.js';

// Where each store lives and how it is opened: src/main-stores.ts (the supervisor and the CLI use it without the gateway).
export { admissionLimits, bayesPath, linkSecretPath, nodeName, openAdminStore, openBayesStore, openMessageLog, openNodeRegistry, openQuarantine, openSenderEntries, openStateStore, redisOptions, scannerPorts, scannerProbes, statePath, storePath } from './main-stores.js';

export interface Worker {
  reload(config: Config): Promise<void>;
  /** A connection the supervisor accepted on `address` (adopt mode). */
  adopt(address: string, socket: Socket): void;
  control(req: ControlRequest): Promise<ControlAnswer>;
  stop(): Promise<void>;
  /** This worker's metrics registry, for the supervisor to merge. */
  metrics(): Promise<MetricsSnapshot>;
}

interface Shard {
  readonly spool: Spool;
  readonly scheduler: Scheduler;
}

async function* once(b: Buffer): AsyncIterable<Buffer> {
  yield b;
}

function serverOptions(c: Config, tls: SecureContext | null, address: string): ServerOptions {
  const l = c.limits;
  const listener = c.listen.find((x) => x.address === address);
  const submitters = listener !== undefined && (listener.submission || listener.implicitTls) && (c.outbound.auth.passwordFile !== undefined || c.outbound.auth.ldap !== undefined);
  return {
    hostname: c.hostname,
    tls,
    implicitTls: listener?.implicitTls ?? false,
    requireTls: listener?.submission ?? false,
    auth: submitters ? { mechanisms: AUTH_MECHANISMS } : null,
    limits: {
      maxMessageSize: l.maxMessageSize,
      maxHeaderSize: l.maxHeaderSize,
      maxRecipients: l.maxRecipients,
      maxErrors: l.maxErrors,
      tarpit: { afterErrors: l.tarpit.afterErrors, delayMs: l.tarpit.delay, maxDelayMs: l.tarpit.maxDelay },
      commandRate: l.commandRate ? { count: l.commandRate.count, perMs: l.commandRate.per } : null,
      commandTimeoutMs: l.commandTimeout,
      idleTimeoutMs: l.idleTimeout ?? l.commandTimeout,
      dataTimeoutMs: l.dataTimeout,
      sessionTimeoutMs: l.sessionTimeout,
      pipelineBuffer: l.pipelineBuffer,
    },
  };
}

function listenerSettings(c: Config, address: string): ListenerSettings {
  const l = c.listen.find((x) => x.address === address);
  return {
    proxyProtocol: l?.proxyProtocol ?? false,
    trustedProxies: (l?.trustedProxies ?? []).map(parseCidr).filter((x): x is Cidr => x !== null),
    proxyTimeoutMs: l?.proxyTimeout ?? 0, // a listener no longer in the config is closing: no PROXY header is read
  };
}

export interface WorkerPorts {
  /** Admission for the whole gateway (the supervisor over IPC); default: this process alone. */
  readonly gate?: ConnectionGate;
  /**
   * "bind" listens itself (a worker on its own, e.g. in tests); "adopt" binds nothing and serves the
   * connections the supervisor hands over (it owns the listening sockets, cli/listen-sockets.ts).
   */
  readonly sockets?: 'bind' | 'adopt';
  /** The rule thread's script (default: the built worker.js beside src/scan/rules/thread.js); in-process tests run from source. */
  readonly ruleThread?: URL;
}

/** Shard directories this worker must deliver: its own, and any s ≥ count with s % count == index. */
async function ownedShards(spoolRoot: string, index: number, count: number): Promise<number[]> {
  const found = (await readdir(spoolRoot).catch(() => [] as string[]))
    .map((n) => /^shard-(\d+)$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
  return [...new Set([index, ...found.filter((s) => s >= count && s % count === index)])].sort((a, b) => a - b);
}

export async function startWorker(initial: Config, index: number, count: number, logger: Logger, ports: WorkerPorts = {}): Promise<Worker> {
  let config = initial;
  const gate = ports.gate ?? new LocalGate(() => admissionLimits(config));
  const sockets = ports.sockets ?? 'bind';
  const clock = systemClock;
  const log = logger.child({ node: nodeName(config), worker: index });
  // STARTTLS contexts per listener, reloaded on SIGHUP and when the certificate files change.
  const contexts = new ServerTlsContexts({ logger: log });
  contexts.apply(config.listen, true);
  const resolver = createResolver({ ...config.dns, servers: config.dns.servers ?? systemServers(), clock, trustAd: config.dns.dnssec === 'trusted' });
  const spoolRoot = join(config.dataDir, 'spool');
  const shards = new Map<number, Shard>();
  const metrics = new GatewayMetrics({
    queues: () => [...shards].map(([shard, s]) => ({ shard, ...s.scheduler.stats() })),
    // Every worker sees the one quarantine directory: the first reports it.
    ...(index === 0 ? { quarantineSize: () => quarantine.count() } : {}),
    now: () => clock.now(),
  });
  let logStore: MessageLogStore | null = null;
  try {
    // The message log is set at start; a store that cannot be opened leaves the gateway running without it.
    if (config.messageLog.enabled) logStore = await openMessageLog(config);
  } catch (e) {
    log.error('messagelog.error', { during: 'open', error: e instanceof Error ? e.message : String(e) });
  }
  const tracking = new Tracking({ store: logStore, metrics, logger: log, clock, retention: () => config.messageLog.retention, prunes: index === 0 });

  // One way to open a connection to a LAN server, for delivery and for recipient probes.
  const connectHop = (hop: Hop, tls: TlsChoice, signal: AbortSignal, timeouts: Partial<Timeouts>): Promise<SmtpConnection> =>
    connect(
      {
        host: hop.host,
        port: hop.port,
        heloName: config.hostname,
        tls: {
          policy: tls.policy,
          verify: tls.verify,
          ...(tls.servername ? { servername: tls.servername } : {}),
          // MTA-STS: the public roots and the configured CA; otherwise the CA alone (a LAN server's private CA).
          ...(tls.ca ? { ca: tls.publicRoots ? [...rootCertificates, readFileSync(tls.ca, 'utf8')] : readFileSync(tls.ca) } : {}),
          ...(tls.dane ? { dane: tls.dane } : {}),
        },
        timeouts,
      },
      signal,
    );
  const pool = new ConnectionPool({
    maxPerDestination: () => config.delivery.concurrencyPerDestination,
    idleMs: () => config.delivery.idleConnectionTime,
    connect: (hop, tls, signal) =>
      connectHop(hop, tls, signal, {
        connect: config.delivery.connectTimeout,
        greeting: config.delivery.connectTimeout,
        command: config.delivery.commandTimeout,
        dataBlock: config.delivery.commandTimeout,
        dataEnd: config.delivery.dataTimeout,
      }),
  });
  const prober = new SmtpRecipientProber({
    domains: () => config.domains,
    connect: (hop, tls, signal) => {
      const t = config.checks.recipients.verify.timeout;
      return connectHop(hop, tls, signal, { connect: t, greeting: t, command: t });
    },
  });
  const directory = new LdapDirectory();
  // One MTA-STS policy cache per worker, kept across reloads (policies are the domains', not ours).
  const mtaSts = new MtaSts({
    resolver,
    fetch: httpsPolicyFetcher({
      resolver,
      port: () => config.outbound.mtaSts.httpsPort,
      ca: () => (config.outbound.tls.ca ? [...rootCertificates, readFileSync(config.outbound.tls.ca, 'utf8')] : undefined),
    }),
    now: () => clock.now(),
    timeoutMs: () => config.outbound.mtaSts.timeout,
  });
  const readText = (path: string): Promise<string> => readFile(path, 'utf8');
  const ruleFiles = { read: (path: string) => readFile(path), list: (dir: string) => readdir(dir) };

  const makeShard = async (n: number): Promise<Shard> => {
    const spool = new Spool(spoolRoot, n);
    await spool.init();
    const content = (m: StoredMessage): AsyncIterable<Buffer> => outgoingContent(m, m.content ? once(m.content) : spool.contentStream(m));
    const deliverer = new RelayDeliverer({
      pool,
      resolver,
      domains: () => config.domains,
      routeOptions: (m) => ({
        mxPort: m.envelope.outbound ? config.outbound.smtpPort : config.delivery.mxPort,
        transport: (d) => transportFor(config.outbound.transports, d),
        mtaSts: config.outbound.mtaSts.enabled ? mtaSts : null,
        ca: config.outbound.tls.ca,
        dane: config.outbound.dane.enabled && config.dns.dnssec === 'trusted',
      }),
      content,
      onStsViolation: (queueId, domain, detail) => log.warn('outbound.mta-sts', { queueId, domain, mode: 'testing', detail }),
      onDane: (queueId, domain, e) => {
        if (e.state === 'failed' || e.result === 'refused') log.warn('outbound.dane', { queueId, domain, ...e });
        else log.info('outbound.dane', { queueId, domain, ...e });
      },
    });
    // DSNs go into the shard they are about; that shard's scheduler delivers them.
    const notifier = new DsnNotifier({
      spool,
      hostname: () => config.hostname,
      lifetime: () => config.queue.lifetime,
      clock,
      content,
      logger: log,
      accepted: (m) => scheduler.add(m, null),
    });
    const scheduler = new Scheduler({
      spool,
      deliverer,
      notifier,
      clock,
      schedule: () => config.queue,
      maxActive: 200,
      events: {
        attempted: (env, outcomes, state) => {
          for (const o of outcomes) {
            const r = env.recipients[o.index];
            const event = o.kind === 'delivered' ? 'delivery.sent' : o.kind === 'retry' ? 'delivery.deferred' : 'delivery.bounced';
            const fields = { queueId: env.id, to: r?.address, relay: o.remoteMta, reply: o.reply, status: o.dsnStatus, ...(o.security ? { security: o.security } : {}) };
            if (o.kind === 'delivered') log.info(event, fields);
            else log.warn(event, fields);
          }
          tracking.attempted(env, outcomes, state);
        },
        removed: (env, why) => {
          log.debug(why === 'deleted' ? 'queue.deleted' : 'delivery.sent', { queueId: env.id, done: true });
          if (why === 'deleted') tracking.state(env.id, 'deleted');
        },
        error: (env, e) => log.error('delivery.error', { queueId: env.id, error: e instanceof Error ? e.message : String(e) }),
      },
    });
    const { messages, corrupt } = await spool.scan();
    for (const c of corrupt) log.error('queue.corrupt', { shard: n, file: c.file, problem: c.problem, movedTo: join(spool.dir, 'corrupt') });
    for (const m of messages) scheduler.add(m, await spool.readState(m.envelope.id));
    if (messages.length > 0) log.info('queue.loaded', { shard: n, messages: messages.length });
    return { spool, scheduler };
  };
  shards.set(index, await makeShard(index));
  for (const n of await ownedShards(spoolRoot, index, count)) if (!shards.has(n)) shards.set(n, await makeShard(n));
  const own = shards.get(index) as Shard;

  const isLocal = (d: Domain): boolean => Object.hasOwn(config.domains, d);
  const quarantine = await openQuarantine(config);
  // PostgreSQL down at start: the gateway starts anyway; quarantining answers 451 until it is back.
  if (quarantine instanceof QuarantineStore) await quarantine.init();
  else await quarantine.init().catch((e: unknown) => log.error('quarantine.error', { during: 'open', error: e instanceof Error ? e.message : String(e) }));
  // One worker expires the quarantine, hourly and at start.
  const expireQuarantine = (): void => {
    void quarantine
      .expire(clock.now() - config.quarantine.retention)
      .then((n) => n > 0 && log.info('quarantine.expired', { messages: n }))
      .catch((e: unknown) => log.error('quarantine.expired', { error: e instanceof Error ? e.message : String(e) }));
  };
  const expiry = index === 0 ? setInterval(expireQuarantine, 3_600_000).unref() : null;
  if (index === 0) expireQuarantine();
  const state = await openStateStore(config, clock, index === 0);
  // A shared Redis: wait (bounded) for the first connection, so the first sessions do not meet a
  // store still connecting; unreachable, the worker starts anyway and its checks fail by policy.
  if (statePath(config) === null && state instanceof (await import('./store/redis/state.js')).RedisStateStore) {
    await state.ready(config.redis.connectTimeout).catch((e: unknown) => log.error('state.unavailable', { error: e instanceof Error ? e.message : String(e) }));
  }
  const bayes = await openBayesStore(config);
  if (statePath(config) === null && bayes instanceof (await import('./store/redis/bayes.js')).RedisBayesStore) {
    await bayes.ready(config.redis.connectTimeout).catch((e: unknown) => log.error('bayes.unavailable', { error: e instanceof Error ? e.message : String(e) }));
  }
  // One worker expires old rare Bayes tokens, daily and at start.
  const expireBayes = (): void => {
    const e = config.checks.bayes.expiry;
    void bayes
      .expire({ before: clock.now() - e.maxAge, rareBelow: e.rareBelow, maxTokens: e.maxTokens })
      .then((n) => n > 0 && log.info('bayes.expired', { tokens: n }))
      .catch((err: unknown) => log.error('bayes.expired', { error: err instanceof Error ? err.message : String(err) }));
  };
  const bayesExpiry = index === 0 ? setInterval(expireBayes, 86_400_000).unref() : null;
  if (index === 0) expireBayes();
  // A database learned by another tokenizer version gives worse verdicts silently: said once at start.
  if (index === 0 && config.checks.bayes.enabled) {
    void tokenizerWarning(bayes)
      .then((w) => w !== null && log.warn('bayes.tokenizer', { warning: w }))
      .catch((err: unknown) => log.error('bayes.tokenizer', { error: err instanceof Error ? err.message : String(err) }));
  }
  const digests = new DigestSender({
    quarantine,
    spool: own.spool,
    state,
    clock,
    logger: log,
    secret: () => loadLinkSecret(linkSecretPath(config)),
    settings: () => ({ digest: config.quarantine.digest, publicUrl: config.admin.publicUrl, hostname: config.hostname }),
    accepted: (m) => own.scheduler.add(m, null),
  });
  if (index === 0) digests.start();
  // Run-time allow/block entries: loaded before the first session, then kept fresh (senders/live.ts).
  const senders = new LiveSenderLists(await openSenderEntries(config), log);
  await senders.refresh();
  senders.every(config.checks.senderLists.refresh);
  const pipelineFor = (c: Config) => {
    const checks = createChecks(c.checks, c.domains, { resolver, clock, state, hostname: c.hostname, directory, prober, readText, scanners: scannerPorts(), bayes, ruleFiles, logger: log, senders: () => senders.current(), ...(ports.ruleThread ? { ruleThread: ports.ruleThread } : {}) }, false, c, c.outbound);
    // Rule files are read and compiled now, not on the first message (rules.loaded is logged at start and reload).
    for (const e of checks) void e.check.prepare?.();
    const o = c.outbound;
    const signer = Object.keys(o.dkim).length > 0 ? new DkimSigner(o.dkim, readText) : null;
    const outbound = {
      config: o,
      passwords: passwordCheckers(o, readText),
      content: new OutboundContent({ hideInternalReceived: o.hideInternalReceived, trustedNetworks: o.trustedNetworks, signer }),
      state,
      clock,
      logger: log,
      isLocal: (m: Mailbox) => Object.hasOwn(c.domains, m.domain),
    };
    return { checks, policy: createPolicy(checks, c.policy, o.policy), outbound, outboundSkips: new Set(o.skipChecks) };
  };
  let pipeline = pipelineFor(config);

  const openSession = (info: ConnectionInfo, address: string): InboundSession =>
    new InboundSession(info, {
      outbound: outboundPort(pipeline.outbound, {
        submission: config.listen.find((l) => l.address === address)?.submission ?? false,
        implicitTls: config.listen.find((l) => l.address === address)?.implicitTls ?? false,
      }),
      outboundSkips: pipeline.outboundSkips,
      hostname: config.hostname,
      checks: pipeline.checks,
      policy: pipeline.policy,
      isLocal,
      spool: own.spool,
      quarantine,
      clock,
      logger: log,
      spoolReserve: config.queue.minFreeSpace,
      phaseTimeout: config.policy.phaseTimeout,
      scanTimeout: config.policy.scanTimeout,
      scanLimit: config.policy.scanLimit,
      headerNames: config.policy.headers,
      accepted: (m) => own.scheduler.add(m, null),
      journal: tracking,
      onFailOpen: (check, phase, e) => log.warn('check.fail-open', { check, phase, error: e instanceof Error ? e.message : String(e) }),
    });
  // One listener per address, each with its own TLS context (STARTTLS only where a certificate is set).
  const servers = new Map<string, { listener: SmtpListener; server: Server | null }>();
  let stopping = false;
  const listen = async (address: string): Promise<void> => {
    const listener = new SmtpListener({
      options: () => serverOptions(config, contexts.get(address) ?? null, address),
      settings: () => listenerSettings(config, address),
      gate,
      openSession: (info) => openSession(info, address),
      hooks: {
        onInternalError: (ref, e) => log.error('session.error', { ref, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
        onLimit: (info, limit, reply) => log.warn('session.limit', { session: info.id, client: info.remoteAddress, limit, reply: replyToString(reply) }),
        onTlsFailed: (info, reason) => log.warn('session.tls-failed', { session: info.id, client: info.remoteAddress, reason }),
      },
      events: {
        limit: (client, limit, reply) => log.warn('session.limit', { client: client.address, port: client.port, limit, reply: replyToString(reply) }),
        refused: (peer, reason) => log.warn('session.refused', { peer: peer.address, port: peer.port, listener: address, reason }),
      },
    });
    if (sockets === 'adopt') servers.set(address, { listener, server: null });
    else servers.set(address, { listener, server: await listener.listen(address) });
  };
  for (const l of config.listen) await listen(l.address);

  return {
    async reload(next) {
      // Up to the first await this runs at once, so a connection for a new listener that arrives
      // right behind the reload message finds its listener and its certificate.
      const nextPipeline = pipelineFor(next);
      contexts.apply(next.listen, false);
      config = next;
      pipeline = nextPipeline;
      senders.every(next.checks.senderLists.refresh);
      const wanted = new Set(next.listen.map((l) => l.address));
      const added = next.listen.filter((l) => !servers.has(l.address)).map((l) => listen(l.address));
      const removed = [...servers].filter(([address]) => !wanted.has(address));
      for (const [address] of removed) servers.delete(address);
      await Promise.all([...added, ...removed.map(([, s]) => s.listener.close(next.shutdownGrace))]);
    },
    adopt(address, socket) {
      const s = servers.get(address);
      if (!s || stopping) {
        socket.destroy();
        return;
      }
      s.listener.adopt(socket);
    },
    async control(req) {
      const all = [...shards.entries()];
      const view = (shard: number, s: Shard, id?: string): QueueItem[] =>
        s.scheduler.list().filter((e) => !id || e.envelope.id === id).map((e) => ({ envelope: e.envelope, state: e.state, size: e.size, active: e.active, shard }));
      switch (req.op) {
        case 'quarantine-list':
          return { ok: true, quarantined: await quarantine.list() };
        case 'quarantine-show': {
          const m = await quarantine.load(req.id);
          if (!m) return { ok: true, quarantined: [] };
          const head = (await quarantine.head(req.id, 16 * 1024)) ?? '';
          return { ok: true, quarantined: [{ envelope: m.envelope, size: m.contentLength, head }] };
        }
        case 'quarantine-preview': {
          const r = await quarantine.read(req.id);
          return r ? { ok: true, preview: await (await import('./quarantine/preview.js')).buildPreview(r.message, r.content) } : { ok: false, error: `no message ${req.id} in quarantine` };
        }
        case 'quarantine-release': {
          if (req.recipient !== undefined) {
            const r = await quarantine.releaseTo(req.id, req.recipient, own.spool, newQueueId(clock.now()));
            if (!r) return { ok: true, result: 'unknown' };
            const id = r.message.envelope.id;
            log.info('quarantine.released', { queueId: req.id, to: [req.recipient], ...(r.copy ? { copy: id } : {}) });
            tracking.state(id, 'released');
            own.scheduler.add(r.message, null);
            return { ok: true, result: 'released' };
          }
          const m = await quarantine.release(req.id, own.spool);
          if (!m) return { ok: true, result: 'unknown' };
          log.info('quarantine.released', { queueId: req.id, to: m.envelope.recipients.map((r) => r.address) });
          tracking.state(req.id, 'released');
          own.scheduler.add(m, null);
          return { ok: true, result: 'released' };
        }
        case 'senders-reload':
          await senders.refresh();
          return { ok: true, count: senders.current().entries.length };
        case 'digest-send':
          if (!config.quarantine.digest.enabled) return { ok: false, error: 'quarantine digests are off (quarantine.digest.enabled)' };
          return { ok: true, count: await digests.run() };
        case 'quarantine-delete': {
          const done = await quarantine.delete(req.id);
          if (done) log.info('quarantine.deleted', { queueId: req.id });
          if (done) tracking.state(req.id, 'deleted');
          return { ok: true, result: done ? 'deleted' : 'unknown' };
        }
        case 'list':
          return { ok: true, items: all.flatMap(([n, s]) => view(n, s)) };
        case 'show':
          return { ok: true, items: all.flatMap(([n, s]) => view(n, s, req.id)) };
        case 'flush':
          return { ok: true, count: all.reduce((c, [, s]) => c + s.scheduler.flush(), 0) };
        case 'queue-stats':
          return { ok: true, shards: all.map(([shard, s]) => ({ shard, ...s.scheduler.stats() })), count: await quarantine.count() };
        case 'bounce': {
          for (const [, s] of all) {
            const r = await s.scheduler.bounce(req.id, 'returned to the sender by the gateway administrator');
            if (r === 'bounced') log.info('queue.bounced', { queueId: req.id });
            if (r !== 'unknown') return { ok: true, result: r };
          }
          return { ok: true, result: 'unknown' };
        }
        case 'retry':
          return { ok: true, result: all.some(([, s]) => s.scheduler.retry(req.id)) ? 'scheduled' : 'unknown' };
        case 'delete': {
          for (const [, s] of all) {
            const r = await s.scheduler.delete(req.id);
            if (r !== 'unknown') return { ok: true, result: r };
          }
          return { ok: true, result: 'unknown' };
        }
      }
    },
    async stop() {
      const grace = config.shutdownGrace;
      stopping = true;
      contexts.close();
      await Promise.all([...servers.values()].map((s) => s.listener.close(grace)));
      const stops = [...shards.values()].map((s) => s.scheduler.stop());
      const timeout = new Promise<void>((r) => setTimeout(r, Math.min(grace, 10_000)).unref());
      await Promise.race([Promise.all(stops), timeout]);
      for (const s of shards.values()) s.scheduler.abortActive();
      await Promise.race([Promise.all(stops), new Promise<void>((r) => setTimeout(r, 3000).unref())]);
      await pool.closeAll();
      await directory.close();
      await state.close();
      await quarantine.close();
      await bayes.close();
      await senders.close();
      await tracking.close();
      digests.stop();
      if (expiry) clearInterval(expiry);
      if (bayesExpiry) clearInterval(bayesExpiry);
    },
    metrics: () => metrics.snapshot(),
  };
}
