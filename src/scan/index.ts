/**
 * The external content scanners (ClamAV, SpamAssassin, Rspamd) as end-of-data checks, in the order
 * they run: antivirus first (a virus decides, and the spam scanners are then spared), then Rspamd,
 * then SpamAssassin (the slowest). Each is used only when its top-level config slice is present;
 * `checks.<name>` turns it off or makes it observe-only or fail-open. The adapters that speak to
 * the scanners come in through ScannerPorts, built in src/main.ts.
 */
import type { CheckEntry } from '../pipeline/runner.js';
import type { Check } from '../pipeline/types.js';
import type { CheckCommon } from '../checks/options.js';
import type { VirusScanner } from '../platform/clamd.js';
import type { RspamdScanner } from '../platform/rspamd.js';
import type { SpamdScanner } from '../platform/spamd.js';
import { clamav, clamavSchema, type ClamavConfig } from './clamav/index.js';
import { rspamd, rspamdSchema, type RspamdConfig } from './rspamd/index.js';
import { spamassassin, spamassassinSchema, type SpamassassinConfig } from './spamd/index.js';

/** The top-level scanner slices of the config (absent: that scanner is not used). */
export interface ScannerConfigs {
  readonly clamav?: ClamavConfig | undefined;
  readonly spamassassin?: SpamassassinConfig | undefined;
  readonly rspamd?: RspamdConfig | undefined;
}

/** Makes the adapter for a scanner's config (src/main.ts). */
export interface ScannerPorts {
  clamd(c: ClamavConfig): VirusScanner;
  spamd(c: SpamassassinConfig): SpamdScanner;
  rspamd(c: RspamdConfig): RspamdScanner;
}

export interface ScanChecksConfig {
  readonly clamav: CheckCommon;
  readonly spamassassin: CheckCommon;
  readonly rspamd: CheckCommon;
}

/**
 * The scanner checks in order. `all` also builds those not configured (with their slice's
 * defaults), so that their symbols are known to the policy before a scanner is set up.
 */
export function scanChecks(checks: ScanChecksConfig, scanners: ScannerConfigs, ports: ScannerPorts, all: boolean): CheckEntry[] {
  const entry = <C>(slice: C | undefined, schema: { parse(v: unknown): C }, make: (c: C) => Check, c: CheckCommon): CheckEntry[] => {
    if (!all && (slice === undefined || !c.enabled)) return [];
    return [{ check: make(slice ?? schema.parse({})), observe: c.observe, failOpen: c.failOpen }];
  };
  return [
    ...entry(scanners.clamav, clamavSchema, (c) => clamav(c, ports.clamd(c)), checks.clamav),
    ...entry(scanners.rspamd, rspamdSchema, (c) => rspamd(c, ports.rspamd(c)), checks.rspamd),
    ...entry(scanners.spamassassin, spamassassinSchema, (c) => spamassassin(c, ports.spamd(c)), checks.spamassassin),
  ];
}
