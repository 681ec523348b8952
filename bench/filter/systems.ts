// The three setups of the filter suite, each in front of its own counting sink, all asking the
// same dnsmasq (zone.ts) and, for antivirus, the same clamd (the harness's, with its small test
// database). Which processes count for whom (CPU and memory are summed over these trees during a
// system's own runs; runs never overlap):
//  - moat: Moat's supervisor and workers (its content pipeline: MIME structure, SPF/DKIM/DMARC/ARC,
//    the reputation checks, whichever of rules/Bayes/attachments/urls this version has, and
//    ClamAV through clamd) + clamd;
//  - postfix-sa: Postfix's master and all its children + spamd (parent and children) +
//    spamass-milter (and the spamc it runs per message) + clamav-milter + clamd;
//  - postfix-rspamd: Postfix's master and children + Rspamd (main, normal workers, the milter
//    proxy, hs_helper) + clamd (asked by Rspamd's antivirus module).
// dnsmasq is shared and counted for nobody (a few hundred microseconds per message at most).
// Trusts: the harness's starters for every peer. Fails: a system whose start fails rejects; what
// was started for it is stopped (by PID) first.
import type { ClamdHandle, DnsmasqHandle } from '../../test/harness/index.js';
import { runCommand, startClamavMilter, startRspamd, startSpamassMilter, startSpamd } from '../../test/harness/index.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeScratchDir } from '../../test/harness/index.js';
import { moatBin } from '../lib/paths.js';
import { moatBenchConfig, startMoatGateway } from '../relay/moat-gateway.js';
import { startPostfixGateway } from '../relay/postfix-gateway.js';
import type { FilterSystem } from './options.js';

export interface FilterGateway {
  readonly name: FilterSystem;
  readonly port: number;
  /** Root PIDs of every process tree counted for this system (see the header). */
  roots(): readonly number[];
  stop(): Promise<void>;
}

export interface SharedPeers {
  readonly dns: DnsmasqHandle;
  readonly clamd: ClamdHandle;
}

/** What a system ran, for the report. */
export interface SetupDescription {
  readonly components: readonly string[];
  readonly notes: readonly string[];
}

/** The score at or above which every setup refuses a message (Moat's and Rspamd's default reject). */
export const REJECT_SCORE = 15;

/** Content checks that later versions of Moat may have; each is tried with `enabled: true`. */
const OPTIONAL_MOAT_CHECKS = ['rules', 'bayes', 'attachments', 'urls'] as const;

export function moatFilterConfig(dns: string, clamd: string, optional: readonly string[]): Record<string, unknown> {
  return {
    dns: { servers: [dns], timeout: '2s' },
    // every default check on (the relay suite turns the DNS-based ones off), plus what this version has
    checks: Object.fromEntries(optional.map((c) => [c, { enabled: true }])),
    clamav: { address: clamd },
    // tag at 5 and reject at 15 (the defaults), no quarantine: the anchors below only tag or refuse
    policy: { actions: { quarantine: null } },
  };
}

/** Which optional checks `moat check-config` accepts in this checkout (the others do not exist yet). */
export async function detectMoatChecks(dns: string, clamd: string): Promise<{ readonly enabled: readonly string[]; readonly absent: readonly string[] }> {
  const dir = await makeScratchDir('moat-bench-detect-');
  const valid = async (name: string, checks: readonly string[]): Promise<{ ok: boolean; output: string }> => {
    const file = join(dir, `${name}.json`);
    // YAML is a superset of JSON
    await writeFile(file, JSON.stringify({ ...moatBenchConfig(25, 26, join(dir, 'data')), ...moatFilterConfig(dns, clamd, checks) }));
    const r = await runCommand(process.execPath, [moatBin(), 'check-config', '--config', file], { timeoutMs: 60_000 });
    return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() };
  };
  // the base must pass, or every optional check would look absent
  const base = await valid('base', []);
  if (!base.ok) throw new Error(`filter bench: Moat's filter config is invalid: ${base.output}`);
  const enabled: string[] = [];
  const absent: string[] = [];
  for (const name of OPTIONAL_MOAT_CHECKS) ((await valid(name, [name])).ok ? enabled : absent).push(name);
  return { enabled, absent };
}

export const SETUPS: Readonly<Record<FilterSystem, (optionalChecks: readonly string[]) => SetupDescription>> = {
  moat: (optional) => ({
    components: ['Moat supervisor + 2 workers', 'clamd (shared)'],
    notes: [
      `default checks with DNS to the stub (SPF, sender domain, rDNS, HELO, DKIM/DMARC/ARC, MIME structure)${optional.length > 0 ? `, plus ${optional.join(', ')}` : ''}, ClamAV via clamd INSTREAM`,
      'policy: tag at 5, reject at 15, quarantine off',
    ],
  }),
  'postfix-sa': () => ({
    components: ['Postfix master + children', 'spamd (5 children)', 'spamass-milter (+ spamc per message)', 'clamav-milter', 'clamd (shared)'],
    notes: [
      'smtpd_milters = clamav-milter (OnInfected Reject), spamass-milter -r 15 (spamc to spamd)',
      'SpamAssassin 4 with Debian\'s rules, local tests plus DKIM (DNS to the stub), no RBLs, no Bayes',
    ],
  }),
  'postfix-rspamd': () => ({
    components: ['Postfix master + children', 'Rspamd (main, 2 normal workers, milter proxy, hs_helper)', 'clamd (shared)'],
    notes: [
      'smtpd_milters = Rspamd proxy worker in milter mode, scanning in the normal workers',
      'Rspamd 3.4 defaults with DNS to the stub (SPF/DKIM/DMARC checked for loopback clients), antivirus module → clamd, greylist action off (no Redis), fuzzy and phishing off',
    ],
  }),
};

/** Rspamd's local.d for the bench: see SETUPS. */
function rspamdLocal(clamdPort: number): Record<string, string> {
  const local = 'check_local = true;\ncheck_authed = true;\n';
  return {
    'spf.conf': local,
    'dkim.conf': local,
    'dmarc.conf': local,
    // the greylist action needs the greylist module with Redis to ever let a retry through
    'actions.conf': `reject = ${REJECT_SCORE};\nadd_header = 6;\ngreylist = null;\n`,
    'antivirus.conf': ['clamav {', '  type = "clamav";', `  servers = "127.0.0.1:${clamdPort}";`, '  action = "reject";', '  symbol = "CLAM_VIRUS";', '  log_clean = false;', '}', ''].join('\n'),
  };
}

type Stoppable = { stop(): Promise<void> };

async function stopAllOf(xs: readonly Stoppable[]): Promise<void> {
  for (const x of [...xs].reverse()) await x.stop();
}

export async function startFilterGateway(name: FilterSystem, sinkPort: number, peers: SharedPeers, opts: { readonly moatChecks: readonly string[]; readonly moatConfig?: Readonly<Record<string, unknown>> }): Promise<FilterGateway> {
  const clamdPid = (): number => peers.clamd.process.pid;
  const started: Stoppable[] = [];
  try {
    switch (name) {
      case 'moat': {
        const g = await startMoatGateway({ sinkPort, config: { ...moatFilterConfig(peers.dns.server, peers.clamd.address, opts.moatChecks), ...opts.moatConfig } });
        return { name, port: g.port, roots: () => [...g.roots(), clamdPid()], stop: () => g.stop() };
      }
      case 'postfix-sa': {
        const spamd = await startSpamd({ dnsServer: peers.dns.server, maxChildren: 5 });
        started.push(spamd);
        const sa = await startSpamassMilter({ spamdPort: spamd.port, rejectScore: REJECT_SCORE });
        started.push(sa);
        const av = await startClamavMilter({ clamdPort: peers.clamd.port });
        started.push(av);
        const pf = await startPostfixGateway({ sinkPort, extraMain: { smtpd_milters: `${av.milter}, ${sa.milter}`, milter_default_action: 'tempfail', milter_protocol: '6' } });
        started.push(pf);
        return {
          name,
          port: pf.port,
          roots: () => [...pf.roots(), spamd.process.pid, sa.process.pid, av.process.pid, clamdPid()],
          stop: () => stopAllOf(started),
        };
      }
      case 'postfix-rspamd': {
        const rs = await startRspamd({ dnsServer: peers.dns.server, milter: true, normalWorkers: 2, localConfig: rspamdLocal(peers.clamd.port) });
        started.push(rs);
        const pf = await startPostfixGateway({ sinkPort, extraMain: { smtpd_milters: `inet:127.0.0.1:${String(rs.milterPort)}`, milter_default_action: 'tempfail', milter_protocol: '6' } });
        started.push(pf);
        return { name, port: pf.port, roots: () => [...pf.roots(), rs.process.pid, clamdPid()], stop: () => stopAllOf(started) };
      }
    }
  } catch (err: unknown) {
    await stopAllOf(started);
    throw err;
  }
}
