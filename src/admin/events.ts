/**
 * GET /api/events?range=hour|day|week: the live dashboard as server-sent events (WHATWG HTML
 * §9.2). While at least one stream is open, the hub computes one small summary per tick
 * (`admin.events.interval`) for each range a stream watches — the totals by outcome over the
 * range (the dashboard's cards, from the message log's rollups), the queue size and the age of
 * its oldest message, the quarantine size — and sends `event: dashboard` to a stream whenever its
 * summary changed (the first at once). A comment line every `admin.events.heartbeat` keeps
 * proxies from closing an idle stream; at that time each stream's session is checked again, so a
 * session that expired, or whose user was deleted, loses its streams; a logout closes them at once.
 * At most `admin.events.maxStreamsPerUser` streams per user (429 beyond). The UI polls
 * /api/dashboard when the stream cannot be opened (older proxies, the limit).
 * Trusts: the dispatcher's checks (Host, session, the `view` permission) before a stream opens.
 * Fails: a summary that cannot be computed is skipped for that tick (logged once per failure run);
 * a stream whose socket is gone is dropped.
 */
import type { ServerResponse } from 'node:http';
import { seriesTotals, type CountKind } from '../store/message-stats.js';
import type { ConsoleAuth, Session } from './auth.js';
import { HttpError, type Reply } from './http.js';
import type { ConsoleDeps, RouteList } from './route.js';
import { sessionOf } from './route.js';

const MINUTE = 60_000;
const RANGES = { hour: 60 * MINUTE, day: 24 * 60 * MINUTE, week: 7 * 24 * 60 * MINUTE } as const;
const BUCKETS = { hour: MINUTE, day: 15 * MINUTE, week: 60 * MINUTE } as const;
type RangeName = keyof typeof RANGES;

export interface EventSettings {
  readonly intervalMs: number;
  readonly heartbeatMs: number;
  readonly maxStreamsPerUser: number;
}

interface Stream {
  readonly session: Session;
  readonly range: RangeName;
  readonly res: ServerResponse;
  last: string | null;
}

export interface DashboardSummary {
  readonly now: number;
  readonly range: RangeName;
  readonly totals: Readonly<Record<CountKind, number>>;
  readonly queue: { readonly size: number; readonly oldestAgeS: number | null };
  readonly quarantine: number | null;
}

export class EventHub {
  private readonly streams = new Set<Stream>();
  private tick: NodeJS.Timeout | null = null;
  private beat: NodeJS.Timeout | null = null;
  private busy = false;
  private again = false;
  private failing = false;

  constructor(
    private readonly deps: Pick<ConsoleDeps, 'log' | 'ask' | 'now' | 'logger'>,
    private readonly auth: Pick<ConsoleAuth, 'alive'>,
    private readonly settings: () => EventSettings,
  ) {}

  /** Open streams of a user. */
  count(user: string): number {
    let n = 0;
    for (const s of this.streams) if (s.session.user === user) n++;
    return n;
  }

  get size(): number {
    return this.streams.size;
  }

  /** The reply that turns the request into a stream (called after the dispatcher's checks). */
  open(session: Session, range: RangeName): Reply {
    if (this.count(session.user) >= this.settings().maxStreamsPerUser) {
      throw new HttpError(429, `at most ${this.settings().maxStreamsPerUser} live streams per user; close another console tab`, {}, { 'retry-after': '30' });
    }
    return {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
      stream: (res) => {
        const s: Stream = { session, range, res, last: null };
        this.streams.add(s);
        res.on('close', () => this.drop(s));
        // The client retries after 3 s when the stream breaks (EventSource's reconnection time).
        res.write('retry: 3000\n\n');
        this.start();
        void this.push();
      },
    };
  }

  /** Ends every stream of a session (logout). */
  closeSession(idHash: string): void {
    for (const s of this.streams) if (s.session.idHash === idHash) this.end(s);
  }

  private end(s: Stream): void {
    this.drop(s);
    s.res.end();
  }

  private drop(s: Stream): void {
    this.streams.delete(s);
    if (this.streams.size === 0) this.stop();
  }

  private start(): void {
    if (this.tick) return;
    const { intervalMs, heartbeatMs } = this.settings();
    this.tick = setInterval(() => void this.push(), intervalMs);
    this.beat = setInterval(() => void this.heartbeat(), heartbeatMs);
    this.tick.unref();
    this.beat.unref();
  }

  private stop(): void {
    if (this.tick) clearInterval(this.tick);
    if (this.beat) clearInterval(this.beat);
    this.tick = null;
    this.beat = null;
  }

  private async heartbeat(): Promise<void> {
    for (const s of [...this.streams]) {
      if (!(await this.auth.alive(s.session).catch(() => false))) this.end(s);
      else s.res.write(': heartbeat\n\n');
    }
  }

  /** One summary per watched range; sent to the streams whose last summary differs. */
  private async push(): Promise<void> {
    if (this.streams.size === 0) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.again = false;
    try {
      const ranges = new Set([...this.streams].map((s) => s.range));
      const now = this.deps.now();
      const stats = await this.deps.ask({ op: 'queue-stats' });
      const shards = stats.ok ? (stats.shards ?? []) : [];
      const oldest = Math.min(...shards.map((s) => s.oldestReceivedAt ?? Infinity));
      const queue = { size: shards.reduce((n, s) => n + s.size, 0), oldestAgeS: Number.isFinite(oldest) ? Math.max(0, Math.round((now - oldest) / 1000)) : null };
      for (const range of ranges) {
        const series = this.deps.log ? await this.deps.log.counts(now - RANGES[range], now + MINUTE, BUCKETS[range]) : null;
        const totals = seriesTotals(series);
        const body = { range, totals, queue, quarantine: stats.ok ? (stats.count ?? null) : null };
        const key = JSON.stringify(body);
        const data = JSON.stringify({ now, ...body } satisfies DashboardSummary);
        for (const s of this.streams) {
          if (s.range !== range || s.last === key) continue;
          s.last = key;
          s.res.write(`event: dashboard\ndata: ${data}\n\n`);
        }
      }
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.deps.logger.error('admin.error', { during: 'events', error: e instanceof Error ? e.message : String(e) });
      this.failing = true;
    } finally {
      this.busy = false;
    }
    // A stream opened during this pass gets its first summary now, not a tick later.
    if (this.again) await this.push();
  }
}

export function eventRoutes(hub: EventHub): RouteList {
  return [
    [
      'GET',
      '/api/events',
      {
        perm: 'view',
        async handle(c) {
          const range = c.url.searchParams.get('range') ?? 'hour';
          if (!Object.hasOwn(RANGES, range)) throw new HttpError(400, 'range must be hour, day or week');
          return hub.open(sessionOf(c), range as RangeName);
        },
      },
    ],
  ];
}
