/**
 * GET /api/dashboard?range=hour|day|week: what the dashboard shows, in one answer the UI polls —
 * counts per bucket by outcome (from the message log's rollups), the totals, the symbols and
 * checks that refused most, the busiest sender domains and client IPs, the queue per spool shard
 * with the age of its oldest message and the quarantine size (asked of the workers), the last
 * delivery outcome per LAN server of each domain, the health of every enabled check (its failure
 * symbols — *_TEMPFAIL, *_ERROR, *_TEMPERROR — counted over the range), and the workers.
 * With the cluster store (PostgreSQL) the counts and lists are the whole cluster's, and `nodes`
 * lists every node: its last heartbeat (stale after cluster.staleAfter), workers, its own queue
 * and oldest message, and — from its own rows of the rollups — its LAN servers' reachability and
 * its checks' failures over the range.
 * Without a message log the counts are empty and say so; a worker or a store that does not answer
 * leaves its part out (nodesError says why for the node list).
 */
import { FAILURE_SYMBOL, seriesTotals, type NodeHealth, type RelayStatus, type SymbolCount } from '../store/message-stats.js';
import type { NodeStatus } from '../store/nodes.js';
import { HttpError, json } from './http.js';
import type { ConsoleDeps, RouteList } from './route.js';

const MINUTE = 60_000;
const RANGES = {
  hour: { span: 60 * MINUTE, bucket: MINUTE },
  day: { span: 24 * 60 * MINUTE, bucket: 15 * MINUTE },
  week: { span: 7 * 24 * 60 * MINUTE, bucket: 60 * MINUTE },
} as const;

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function checkHealth(enabled: readonly string[], symbols: readonly SymbolCount[]): { check: string; failures: number; symbols: string[] }[] {
  const out = new Map<string, { check: string; failures: number; symbols: string[] }>(enabled.map((c) => [c, { check: c, failures: 0, symbols: [] }]));
  for (const s of symbols) {
    if (!FAILURE_SYMBOL.test(s.symbol)) continue;
    const h = out.get(s.check) ?? { check: s.check, failures: 0, symbols: [] };
    h.failures += s.n;
    h.symbols.push(s.symbol);
    out.set(s.check, h);
  }
  return [...out.values()];
}

/** One row of the nodes table: health from the heartbeat, LAN servers and scanners from its own mail. */
export function nodeView(n: NodeStatus, h: NodeHealth | undefined, staleAfterMs: number, now: number) {
  const stale = n.ageMs > staleAfterMs;
  const failures = new Map<string, { check: string; failures: number; symbols: string[] }>();
  for (const s of h?.failures ?? []) {
    const f = failures.get(s.check) ?? { check: s.check, failures: 0, symbols: [] };
    f.failures += s.n;
    f.symbols.push(s.symbol);
    failures.set(s.check, f);
  }
  return {
    node: n.node,
    status: n.stopped ? 'stopped' : stale ? 'stale' : n.ready < n.workers ? 'degraded' : 'ok',
    stale,
    lastBeatAgeS: Math.round(n.ageMs / 100) / 10,
    beatAt: n.beatAt,
    startedAt: n.startedAt,
    workers: n.workers,
    ready: n.ready,
    queue: { size: n.queueSize, oldestAgeS: n.queueOldest === null ? null : Math.max(0, Math.round((now - n.queueOldest) / 1000)), error: n.queueError },
    relays: (h?.relays ?? []).map((r) => ({ target: r.target, outcome: r.outcome, time: r.time, reachable: r.outcome === 'delivered' })),
    checks: [...failures.values()],
  };
}

export function dashboardRoutes(deps: ConsoleDeps): RouteList {
  return [
    [
      'GET',
      '/api/dashboard',
      {
        perm: 'view',
        async handle(c) {
          const rangeName = c.url.searchParams.get('range') ?? 'hour';
          if (!Object.hasOwn(RANGES, rangeName)) throw new HttpError(400, 'range must be hour, day or week');
          const range = RANGES[rangeName as keyof typeof RANGES];
          const now = deps.now();
          const since = now - range.span;
          const config = deps.config();
          const log = deps.log;
          const nodesAsked = deps.nodes ? deps.nodes.list(config.cluster.forgetAfter).then((list) => ({ list, error: null }), (e: unknown) => ({ list: [] as NodeStatus[], error: e instanceof Error ? e.message : String(e) })) : null;
          const healthAsked = deps.nodes && log?.nodeHealth ? log.nodeHealth(since).catch(() => [] as NodeHealth[]) : Promise.resolve([] as NodeHealth[]);
          const [series, symbols, clients, domains, relays, stats, nodeList, nodeHealth] = await Promise.all([
            log ? log.counts(since, now + MINUTE, range.bucket) : null,
            log ? log.topSymbols(since, 100) : [],
            log ? log.top('clientIp', since, 10) : [],
            log ? log.top('senderDomain', since, 10) : [],
            log ? log.relays() : ([] as RelayStatus[]),
            deps.ask({ op: 'queue-stats' }),
            nodesAsked,
            healthAsked,
          ]);
          const totals = seriesTotals(series);
          const byCheck = new Map<string, number>();
          for (const s of symbols) if (s.refused > 0) byCheck.set(s.check, (byCheck.get(s.check) ?? 0) + s.refused);
          const enabled = Object.entries(config.checks)
            .filter(([, v]) => (v as { enabled?: boolean }).enabled !== false)
            .map(([k]) => kebab(k));
          const shards = stats.ok ? (stats.shards ?? []) : [];
          return json({
            now,
            range: rangeName,
            messageLog: log !== null,
            series,
            totals,
            topSymbols: symbols.slice(0, 10),
            topRefusing: [...symbols].filter((s) => s.refused > 0).sort((a, b) => b.refused - a.refused).slice(0, 10),
            topRefusingChecks: [...byCheck].map(([check, refused]) => ({ check, refused })).sort((a, b) => b.refused - a.refused).slice(0, 10),
            topClients: clients,
            topSenderDomains: domains,
            queue: {
              shards: shards.map((s) => ({ shard: s.shard, size: s.size, oldestAgeS: s.oldestReceivedAt === null ? null : Math.max(0, Math.round((now - s.oldestReceivedAt) / 1000)) })),
              size: shards.reduce((n, s) => n + s.size, 0),
              error: stats.ok ? null : stats.error,
            },
            quarantine: stats.ok ? (stats.count ?? null) : null,
            relays: Object.entries(config.domains).map(([domain, d]) => ({
              domain,
              hosts: d.relay.map((host) => ({ host, last: relays.find((r) => r.target === host) ?? null })),
              unreachable: relays.find((r) => r.target === `@${domain}`) ?? null,
            })),
            checks: checkHealth(enabled, symbols),
            health: deps.health(),
            self: deps.node,
            nodes: nodeList === null ? null : nodeList.list.map((n) => nodeView(n, nodeHealth.find((h) => h.node === n.node), config.cluster.staleAfter, now)),
            nodesError: nodeList?.error ?? null,
          });
        },
      },
    ],
  ];
}
