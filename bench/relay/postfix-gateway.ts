// Postfix under test: the harness's private relay-only instance (test/harness/postfix.ts:
// own config dir, smtpd on a loopback port, default on-disk queue and fsync, relay_domains = the
// bench domain, transport_maps to smtp:[127.0.0.1]:SINK, DNS off, error: default/relay
// transports so no lookup leaves loopback, default_process_limit 200 so 100 inbound sessions
// are served, smtp_destination_concurrency_limit 50).
// Trusts: the master writes its PID to QUEUE/pid/master.pid; every Postfix daemon is a child
// of the master, so its tree is the whole gateway (smtpd, cleanup, qmgr, smtp, postlogd...).
// Fails: start rejects when not root (the master must be started by root) or without a banner;
// stop() is `postfix -c DIR stop`, then SIGKILL by PID after a bound (the harness does it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostfixRelay } from '../../test/harness/index.js';
import { RELAY_DOMAIN } from './gateway.js';
import type { GatewayUnderTest } from './gateway.js';

function masterPid(queueDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(queueDir, 'pid', 'master.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when this process may start a Postfix master. */
export function canRunPostfix(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Starts the Postfix relay gateway in front of the sink. Needs root. processLimit:
 * default_process_limit (default 200); extraMain: main.cf settings over the relay ones (the filter
 * suite's smtpd_milters).
 */
export async function startPostfixGateway(o: {
  readonly sinkPort: number;
  readonly processLimit?: number;
  readonly extraMain?: Readonly<Record<string, string>>;
}): Promise<GatewayUnderTest> {
  const pf = await startPostfixRelay({
    relayDomain: RELAY_DOMAIN,
    nexthop: { port: o.sinkPort },
    hostname: 'gw.postfix.test',
    ...(o.processLimit !== undefined ? { processLimit: o.processLimit } : {}),
    ...(o.extraMain !== undefined ? { extraMain: o.extraMain } : {}),
  });
  return {
    name: 'postfix',
    port: pf.port,
    roots: () => {
      const pid = masterPid(pf.queueDir);
      return pid === undefined ? [] : [pid];
    },
    stop: () => pf.stop(),
  };
}
