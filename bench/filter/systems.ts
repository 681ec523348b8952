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
import { checksSchema } from '../../src/checks/index.js';
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

export interface MoatChecks {
  /** In this version's checks schema and valid with `enabled: true` alone: turned on. */
  readonly enabled: readonly string[];
  /** Not in this version's checks schema (on other branches, not merged yet). */
  readonly absent: readonly string[];
  /** In the schema, but `moat check-config` refuses them with only `enabled: true` (its message). */
  readonly refused: readonly { readonly name: string; readonly reason: string }[];
}

/**
 * Which optional content checks this checkout has (the keys of its checks schema) and which of
 * them `moat check-config` accepts with `enabled: true`: a check that lands on main is measured
 * by the next run without a change here.
 */
export async function detectMoatChecks(dns: string, clamd: string): Promise<MoatChecks> {
  const dir = await makeScratchDir('moat-bench-detect-');
  const valid = async (name: string, checks: readonly string[]): Promise<{ ok: boolean; output: string }> => {
    const file = join(dir, `${name}.json`);
    // YAML is a superset of JSON
    await writeFile(file, JSON.stringify({ ...moatBenchConfig(25, 26, join(dir, 'data')), ...moatFilterConfig(dns, clamd, checks) }));
    const r = await runCommand(process.execPath, [moatBin(), 'check-config', '--config', file], { timeoutMs: 60_000 });
    return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() };
  };
  // the base must pass, or every optional check would look refused
  const base = await valid('base', []);
  if (!base.ok) throw new Error(`filter bench: Moat's filter config is invalid: ${base.output}`);
  const inSchema = new Set(Object.keys(checksSchema.unwrap().shape));
  const enabled: string[] = [];
  const refused: { name: string; reason: string }[] = [];
  for (const name of OPTIONAL_MOAT_CHECKS.filter((c) => inSchema.has(c))) {
    const r = await valid(name, [name]);
    if (r.ok) enabled.push(name);
    else refused.push({ name, reason: r.output.split('\n').slice(0, 3).join(' ') });
  }
  return { enabled, absent: OPTIONAL_MOAT_CHECKS.filter((c) => !inSchema.has(c)), refused };
}

export const SETUPS: Readonly<Record<FilterSystem, (optionalChecks: readonly string[], moatSpamassassin: boolean) => SetupDescription>> = {
  moat: (optional, sa) => ({
    components: ['Moat supervisor + 2 workers', ...(sa ? ['spamd of its own (5 children)'] : []), 'clamd (shared)'],
    notes: [
      `default checks with DNS to the stub (SPF, sender domain, rDNS, HELO, DKIM/DMARC/ARC, MIME structure)${optional.length > 0 ? `, plus ${optional.join(', ')}` : ''}, ClamAV via clamd INSTREAM` +
        (sa ? ', SpamAssassin through its own spamd (SPAMC, as Postfix+SpamAssassin\'s)' : ''),
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

export async function startFilterGateway(name: FilterSystem, sinkPort: number, peers: SharedPeers, opts: { readonly moatChecks: readonly string[]; readonly moatSpamassassin?: boolean; readonly moatConfig?: Readonly<Record<string, unknown>> }): Promise<FilterGateway> {
  const clamdPid = (): number => peers.clamd.process.pid;
  const started: Stoppable[] = [];
  try {
    switch (name) {
      case 'moat': {
        // optionally spamd too, configured as Postfix+SpamAssassin's (Debian's rules, DKIM through the stub)
        const spamd = opts.moatSpamassassin === true ? await startSpamd({ dnsServer: peers.dns.server, maxChildren: 5 }) : undefined;
        if (spamd !== undefined) started.push(spamd);
        const sa = spamd === undefined ? {} : { spamassassin: { address: `127.0.0.1:${spamd.port}`, maxConcurrent: 5, timeout: '60s' } };
        const g = await startMoatGateway({ sinkPort, config: { ...moatFilterConfig(peers.dns.server, peers.clamd.address, opts.moatChecks), ...sa, ...opts.moatConfig } });
        started.push(g);
        return { name, port: g.port, roots: () => [...g.roots(), ...(spamd === undefined ? [] : [spamd.process.pid]), clamdPid()], stop: () => stopAllOf(started) };
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
