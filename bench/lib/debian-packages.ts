// Debian packages a suite needs beyond the test peers (scripts/install-test-deps.sh), installed on
// first use: the filter suite's milters (clamav-milter, spamass-milter) are used by no test, so
// `npm test` does not install them. As root, `apt-get install --no-install-recommends` with a
// policy-rc.d that stops maintainer scripts from starting the daemons (as the test-deps script
// does); without root, nothing is installed and the caller is told why.
// Trusts: apt-get and the machine's configured Debian sources. Fails: never throws; the result
// names what is still missing and apt's last lines.
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { runCommand } from '../../test/harness/index.js';

export interface Needed {
  readonly pkg: string;
  /** A file the package installs; present = installed. */
  readonly file: string;
}

export async function ensureDebianPackages(needed: readonly Needed[], log: (line: string) => void): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> {
  const missing = needed.filter((n) => !existsSync(n.file));
  if (missing.length === 0) return { ok: true };
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  if (process.getuid?.() !== 0) return { ok: false, reason: `${pkgs.join(', ')} not installed, and not root to install them` };
  if (!existsSync('/usr/sbin/policy-rc.d')) {
    await writeFile('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n');
    await chmod('/usr/sbin/policy-rc.d', 0o755);
  }
  log(`installing ${pkgs.join(', ')} (apt-get, once)`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  let r = await runCommand('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { timeoutMs: 600_000, env });
  if (r.code !== 0) {
    // a fresh machine has no package lists yet
    await runCommand('apt-get', ['update'], { timeoutMs: 600_000, env });
    r = await runCommand('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { timeoutMs: 600_000, env });
  }
  const still = needed.filter((n) => !existsSync(n.file));
  if (still.length === 0) return { ok: true };
  return { ok: false, reason: `apt-get install ${pkgs.join(' ')} exited ${String(r.code)}: ${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-5).join(' | ')}` };
}
