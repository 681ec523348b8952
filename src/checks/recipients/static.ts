/**
 * A static list of a domain's addresses: in the config, in a file, or both. "@domain" accepts every
 * local part (a catch-all that still lets the other domains be validated).
 *
 * The file is read lazily, on the first lookup of this check instance, and kept for the instance's
 * life; a reload (SIGHUP) builds new checks, so the next lookup after it reads the file again. Not
 * at construction: checks do no I/O when built (config validation builds them with inert ports,
 * docs/writing-checks.md), and not in the composition root, which would have to know this check's
 * config. Trusts: the file's owner (an operator). Fails toward 4xx: an unreadable file, or a line
 * that is not an address of this domain, makes the source "unavailable" (never a reject caused by a
 * typo), and is read again on the next lookup.
 */
import { entryKey, keyDomain, type AddressRules, type LookupAddress } from './address.js';
import { problem, type Answer, type Source } from './source.js';

export type ReadText = (path: string) => Promise<string>;

/** Parses the file's text into keys; throws with "line N: ..." on the first bad line. */
export function parseAddressFile(text: string, domain: string, rules: AddressRules): Set<string> {
  const keys = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    // "#" at the start or after white space begins a comment ("#" inside a local part is atext).
    const line = raw.replace(/(?:^|\s)#.*$/, '').trim();
    if (line === '') return;
    const key = entryKey(line, rules);
    if (key === null) throw new Error(`line ${i + 1}: not an address`);
    if (keyDomain(key) !== domain) throw new Error(`line ${i + 1}: not an address of ${domain}`);
    keys.add(key);
  });
  return keys;
}

export class StaticSource implements Source {
  private fromFile: Promise<ReadonlySet<string>> | null = null;

  constructor(
    readonly name: string,
    private readonly domain: string,
    /** Keys of the configured addresses (validated when the check was built). */
    private readonly listed: ReadonlySet<string>,
    private readonly file: string | undefined,
    private readonly rules: AddressRules,
    private readonly readText: ReadText,
  ) {}

  async lookup(a: LookupAddress, base: LookupAddress | null): Promise<Answer> {
    const wanted = [a.key, ...(base ? [base.key] : []), `@${this.domain}`];
    const hit = (keys: ReadonlySet<string>): string | undefined => wanted.find((k) => keys.has(k));
    const inList = hit(this.listed);
    if (inList !== undefined) return { kind: 'found', detail: `listed as ${inList}` };
    if (this.file === undefined) return { kind: 'unknown', detail: 'not listed' };
    let keys: ReadonlySet<string>;
    try {
      keys = await this.load(this.file);
    } catch (e) {
      return { kind: 'unavailable', detail: `${this.file}: ${problem(e)}` };
    }
    const inFile = hit(keys);
    return inFile !== undefined ? { kind: 'found', detail: `${inFile} in ${this.file}` } : { kind: 'unknown', detail: 'not listed' };
  }

  private load(file: string): Promise<ReadonlySet<string>> {
    if (!this.fromFile) {
      const p = this.readText(file).then((text) => parseAddressFile(text, this.domain, this.rules));
      // A failure is not kept: the next lookup tries again (the operator may be fixing the file).
      p.catch(() => {
        if (this.fromFile === p) this.fromFile = null;
      });
      this.fromFile = p;
    }
    return this.fromFile;
  }
}
