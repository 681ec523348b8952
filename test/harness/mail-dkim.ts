// A third-party DKIM verifier: Perl's Mail::DKIM (libmail-dkim-perl; CryptX for Ed25519), the one
// SpamAssassin and amavis use, run by dkim_verify.pl with its key lookups sent to the test's dnsmasq
// only (Net::DNS with explicit nameservers: never the system resolver).
// Trusts: Mail::DKIM 1.2023. Fails: rejects when the script exits non-zero or hangs past timeoutMs.
import { fileURLToPath } from 'node:url';
import { runCommand } from './process.js';

const SCRIPT = fileURLToPath(new URL('./dkim_verify.pl', import.meta.url));

export interface MailDkimResult {
  /** "pass", "fail", "invalid", "none", ... */
  readonly overall: string;
  readonly signatures: readonly { readonly result: string; readonly domain: string; readonly selector: string; readonly algorithm: string; readonly detail: string }[];
  readonly output: string;
}

export async function mailDkimVerify(message: Buffer, dns: { readonly host: string; readonly port: number }, timeoutMs = 20_000): Promise<MailDkimResult> {
  const r = await runCommand('/usr/bin/perl', [SCRIPT, dns.host, String(dns.port)], { input: message, timeoutMs });
  if (r.code !== 0) throw new Error(`dkim_verify.pl exited ${r.code}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const overall = lines.find((l) => l.startsWith('overall '))?.slice(8) ?? 'none';
  const signatures = lines
    .filter((l) => !l.startsWith('overall '))
    .map((l) => {
      const [result = '', domain = '', selector = '', algorithm = '', ...detail] = l.split(' ');
      return { result, domain, selector, algorithm, detail: detail.join(' ') };
    });
  return { overall, signatures, output: r.stdout + r.stderr };
}
