/**
 * Logging (DESIGN.md §7): JSON lines with a fixed vocabulary of events (`session.open`,
 * `message.accepted`, `delivery.sent`, ...) and fixed fields (queueId, client, reply), or a short human
 * line on a terminal. Never logs message content or secrets.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type LogEvent =
  | 'cluster.heartbeat-failed' | 'cluster.heartbeat-ok'
  | 'gateway.start' | 'gateway.stop' | 'gateway.reload' | 'gateway.reload-refused' | 'worker.exit'
  | 'session.open' | 'session.close' | 'session.error' | 'session.limit' | 'session.refused' | 'session.tls-failed'
  | 'tls.loaded' | 'tls.reloaded' | 'tls.reload-failed' | 'gateway.privileges' | 'gateway.start-refused'
  | 'message.accepted' | 'message.rejected' | 'message.deferred' | 'message.quarantined'
  | 'delivery.sent' | 'delivery.deferred' | 'delivery.bounced' | 'delivery.error'
  | 'queue.loaded' | 'queue.corrupt' | 'queue.deleted' | 'dsn.queued'
  | 'check.fail-open' | 'rules.loaded' | 'quarantine.released' | 'quarantine.deleted' | 'quarantine.expired' | 'quarantine.error'
  | 'session.auth' | 'session.auth-failed' | 'outbound.alert' | 'outbound.mta-sts' | 'outbound.dane' | 'outbound.learn-failed' | 'outbound.sender-mismatch'
  | 'messagelog.error' | 'messagelog.pruned' | 'admin.start' | 'admin.error' | 'state.unavailable' | 'bayes.unavailable'
  | 'bayes.expired' | 'bayes.tokenizer' | 'admin.login' | 'admin.login-failed' | 'admin.action' | 'digest.sent' | 'digest.queued' | 'digest.error' | 'queue.bounced'
  | 'senders.error' | 'senders.changed' | 'scanner.down' | 'scanner.up';

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: LogEvent, fields?: LogFields): void;
  warn(event: LogEvent, fields?: LogFields): void;
  error(event: LogEvent, fields?: LogFields): void;
  debug(event: LogEvent, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly format: 'auto' | 'json' | 'pretty';
  readonly destination?: NodeJS.WritableStream;
}

const KEY_ORDER = ['queueId', 'client', 'from', 'to', 'reply', 'status'];

/** One short line: "12:00:01 INFO message.accepted queueId=… client=… reply=…". */
function prettyLine(o: Record<string, unknown>): string {
  const t = new Date(Number(o['time'])).toISOString().slice(11, 19);
  const lvl = ({ 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' } as Record<number, string>)[Number(o['level'])] ?? '?';
  const skip = new Set(['time', 'level', 'event', 'pid', 'hostname', 'msg']);
  const keys = Object.keys(o).filter((k) => !skip.has(k)).sort((a, b) => (KEY_ORDER.indexOf(a) + 1 || 99) - (KEY_ORDER.indexOf(b) + 1 || 99));
  const kv = keys.map((k) => `${k}=${typeof o[k] === 'string' ? o[k] : JSON.stringify(o[k])}`).join(' ');
  return `${t} ${lvl.padEnd(5)} ${String(o['event'])} ${kv}\n`;
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? process.stdout;
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && (dest as { isTTY?: boolean }).isTTY === true);
  const stream = pretty
    ? { write: (line: string) => dest.write(prettyLine(JSON.parse(line) as Record<string, unknown>)) }
    : dest;
  const base = pino({ level: opts.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime, messageKey: 'msg' }, stream as pino.DestinationStream);
  return wrap(base);
}

function wrap(p: PinoLogger): Logger {
  return {
    info: (event, fields) => p.info({ event, ...fields }),
    warn: (event, fields) => p.warn({ event, ...fields }),
    error: (event, fields) => p.error({ event, ...fields }),
    debug: (event, fields) => p.debug({ event, ...fields }),
    child: (bindings) => wrap(p.child(bindings)),
  };
}
