// Haraka under test (3.x, installed on demand by lib/haraka-install.ts), set up the way Haraka is
// deployed in front of a mail server: an instance dir in a scratch folder with Haraka's default
// config files, then
//   smtp.ini      listen on 127.0.0.1:PORT, nodes = one per core (node:cluster, like Moat's workers)
//   plugins       bench_no_rdns, rcpt_to.in_host_list, queue/smtp_forward: nothing else
//   host_list     the bench domain only (any other recipient gets 550: no open relay)
//   smtp_forward  host 127.0.0.1, port SINK: at queue time Haraka opens an SMTP connection to the
//                 sink and relays the message; its 250 is the sink's 250 (Haraka keeps no spool
//                 for inbound mail, so nothing is written or fsynced)
//   log.ini       level notice: one line per connect, sender, recipient, queue and disconnect
//   me            gw.haraka.test
// DNS: Haraka's core reverse-resolves every client (connection.js calls dns.reverse unless a
// lookup_rdns hook answers); bench_no_rdns answers it with a fixed name, so no lookup reaches the
// system resolver. No plugin that does DNS is loaded (checked by hand with strace: no datagram
// to port 53 during a run). The forward target is an IP, so no name is resolved there either.
// Trusts: Haraka to log "worker N listening on" once per node, and to exit on SIGTERM.
// Fails: start rejects with the output tail when not every node listens within 30 s; stop()
// escalates to SIGKILL after its grace (by PID, through the harness's ManagedProcess).
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { makeScratchDir, startProcess, startWithPortRetry, waitUntil } from '../../test/harness/index.js';
import { RELAY_DOMAIN } from './gateway.js';
import type { GatewayUnderTest } from './gateway.js';

export interface HarakaGatewayOptions {
  /** The installed Haraka's bin/haraka (lib/haraka-install.ts). */
  readonly bin: string;
  readonly sinkPort: number;
  /** Default: one per core. */
  readonly nodes?: number;
  /** smtp.ini inactivity_timeout in seconds; default Haraka's (300). */
  readonly inactivityTimeoutSec?: number;
  readonly dir?: string;
}

// Answers Haraka's lookup_rdns hook so the core never calls dns.reverse.
const NO_RDNS_PLUGIN = `'use strict'
// bench: no reverse DNS (the benchmark must not reach the system resolver)
exports.hook_lookup_rdns = function (next) {
    next(OK, 'client.bench.test')
}
`;

async function writeInstance(dir: string, bin: string, port: number, o: HarakaGatewayOptions): Promise<void> {
  const config = join(dir, 'config');
  await mkdir(config, { recursive: true });
  await mkdir(join(dir, 'plugins'), { recursive: true });
  // Haraka's defaults first (connection.ini etc. must exist in the instance), then ours
  const defaults = join(bin, '..', '..', 'config');
  for (const f of await readdir(defaults, { withFileTypes: true })) {
    if (f.isFile()) await copyFile(join(defaults, f.name), join(config, f.name));
  }
  const smtpIni = [`listen=127.0.0.1:${port}`, `nodes=${o.nodes ?? availableParallelism()}`];
  if (o.inactivityTimeoutSec !== undefined) smtpIni.push(`inactivity_timeout=${o.inactivityTimeoutSec}`);
  await writeFile(join(config, 'smtp.ini'), `${smtpIni.join('\n')}\n`);
  await writeFile(join(config, 'plugins'), 'bench_no_rdns\nrcpt_to.in_host_list\nqueue/smtp_forward\n');
  await writeFile(join(config, 'host_list'), `${RELAY_DOMAIN}\n`);
  await writeFile(join(config, 'smtp_forward.ini'), `[main]\nhost=127.0.0.1\nport=${o.sinkPort}\n`);
  await writeFile(join(config, 'log.ini'), '[main]\nlevel=notice\ntimestamps=false\nformat=default\n');
  await writeFile(join(config, 'me'), 'gw.haraka.test\n');
  await writeFile(join(dir, 'plugins', 'bench_no_rdns.js'), NO_RDNS_PLUGIN);
}

/** Starts Haraka on a free loopback port in front of the sink; resolves once every node listens. */
export async function startHarakaGateway(o: HarakaGatewayOptions): Promise<GatewayUnderTest> {
  const base = o.dir ?? (await makeScratchDir('moat-bench-haraka-'));
  const nodes = o.nodes ?? availableParallelism();
  return startWithPortRetry(async (port) => {
    const dir = join(base, `haraka-${port}`);
    await writeInstance(dir, o.bin, port, o);
    // our node binary, so that Moat and Haraka run on the same runtime
    const proc = startProcess(process.execPath, [o.bin, '-c', dir], { name: `haraka:${port}`, cwd: dir, keepLines: 200 });
    const listening = (): number => proc.lines().filter((l) => /worker \d+ listening on/.test(l)).length;
    try {
      await waitUntil(() => listening() >= nodes, { timeoutMs: 30_000, what: `${nodes} Haraka node(s) listening on ${port}`, process: proc, intervalMs: 50 });
    } catch (err: unknown) {
      await proc.stop({ graceMs: 5000 });
      throw new Error(`haraka did not start: ${String(err)}`, { cause: err });
    }
    return {
      name: 'haraka',
      port,
      roots: () => (proc.running ? [proc.pid] : []),
      stop: async () => {
        await proc.stop({ graceMs: 30_000 });
      },
    } satisfies GatewayUnderTest;
  });
}
