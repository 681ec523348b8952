// A private OpenLDAP slapd on a loopback port, with its own slapd.conf (`slapd -f`, not cn=config),
// database and schema in a scratch dir; the system's slapd (/etc/ldap) is never touched or started.
// Directory: suffix dc=example,dc=test; rootdn cn=admin,<suffix>; a service account
// cn=moat,<suffix> (password "moat-secret") that the tests bind as; ACLs let only bound users read,
// so a search without a (valid) bind finds nothing. Schemas: core, cosine, inetorgperson, misc
// (mailLocalAddress for OpenLDAP-style aliases) and a tiny test schema of our own: Active
// Directory's proxyAddresses ("SMTP:primary", "smtp:alias", "X500:..."), with a case-insensitive
// EQUALITY so that "(proxyAddresses=smtp:x)" matches as in AD (Debian's msuser.schema defines the
// attribute without any matching rule, so it cannot be searched), in the auxiliary class
// moatMailUser. OIDs under 2.25 (UUID-based, ITU-T X.667), so they collide with nothing.
// Trusts: slapd 2.5 from Debian (package slapd; ldap-utils for ldapadd/ldapwhoami). Runs in the
// foreground (-d), as user openldap when we are root. Readiness is a real bind (ldapwhoami).
// Stats logging (-d 256) lets tests count connections and binds.
// Fails: start rejects with slapd's output; stop() SIGTERMs by PID (then SIGKILL after a bound).
// freeze()/thaw() stop and continue the process (SIGSTOP/SIGCONT) to play a hung server.
import { existsSync } from 'node:fs';
import { chown, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { runCommand, startProcess } from './process.js';
import type { ManagedProcess } from './process.js';
import type { ProcessRegistry } from './registry.js';
import { startWithPortRetry } from './ports.js';
import { makeDirOwnedBy, makeScratchDir, systemUser } from './tmp.js';
import { waitUntil } from './wait.js';

const SLAPD = '/usr/sbin/slapd';
const LDAPADD = '/usr/bin/ldapadd';
const LDAPWHOAMI = '/usr/bin/ldapwhoami';
const SCHEMA_DIR = '/etc/ldap/schema';
/** Source address of logBarrier's connection, so that connections() (from 127.0.0.1) does not count it. */
const BARRIER_ADDRESS = '127.0.0.2';

export const SLAPD_SUFFIX = 'dc=example,dc=test';
export const SLAPD_ROOT_DN = `cn=admin,${SLAPD_SUFFIX}`;
export const SLAPD_SERVICE_DN = `cn=moat,${SLAPD_SUFFIX}`;
export const SLAPD_SERVICE_PASSWORD = 'moat-secret';
const ROOT_PASSWORD = 'admin-secret';

/** proxyAddresses as Active Directory has it, searchable (see the header). */
const TEST_SCHEMA = `attributetype ( 2.25.174663290178418431236862461097227618765.1 NAME 'proxyAddresses'
  DESC 'Active Directory style addresses, e.g. SMTP:primary@x, smtp:alias@x'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 2.25.174663290178418431236862461097227618765.2 NAME 'moatMailUser'
  DESC 'Test mail user with proxyAddresses' SUP top AUXILIARY MAY ( proxyAddresses ) )
`;

export interface SlapdUser {
  /** The RDN value: uid=<id> under ou=people. */
  readonly id: string;
  /** inetOrgPerson mail. */
  readonly mail?: string;
  /** misc.schema mailLocalAddress values (aliases). */
  readonly aliases?: readonly string[];
  /** proxyAddresses values as AD writes them, e.g. ["SMTP:carol@x", "smtp:c.smith@x"]. */
  readonly proxyAddresses?: readonly string[];
  /** userPassword (clear text: the test directory's own), for bind tests. */
  readonly password?: string;
}

export interface SlapdOptions {
  readonly users?: readonly SlapdUser[];
  /** Serve ldaps:// with this certificate instead of ldap://. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  readonly port?: number;
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  readonly registry?: ProcessRegistry;
}

export interface SlapdHandle {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** "ldap://127.0.0.1:PORT" (or ldaps://). */
  readonly url: string;
  readonly dir: string;
  readonly process: ManagedProcess;
  /** Adds entries (LDIF) as the root DN. */
  add(ldif: string): Promise<void>;
  /**
   * Connections accepted so far ("ACCEPT" lines of the stats log), counted once the log has caught
   * up with every request already answered (see logBarrier).
   */
  connections(): Promise<number>;
  /** Bind operations so far ("BIND dn=" lines), optionally for one DN, counted as connections(). */
  binds(dn?: string): Promise<number>;
  /** SIGSTOP: the server keeps its port but answers nothing. */
  /** SIGSTOP, resolved once every thread of slapd is stopped (so no request in flight is still answered). */
  freeze(): Promise<void>;
  thaw(): void;
  stop(): Promise<void>;
}

function userLdif(u: SlapdUser): string {
  if (!/^[a-z0-9.-]+$/i.test(u.id)) throw new Error(`slapd: bad user id ${JSON.stringify(u.id)}`);
  const values = [u.mail, u.password, ...(u.aliases ?? []), ...(u.proxyAddresses ?? [])];
  if (values.some((v) => v !== undefined && /[\r\n]/.test(v))) throw new Error('slapd: line break in a value');
  const lines = [`dn: uid=${u.id},ou=people,${SLAPD_SUFFIX}`, 'objectClass: inetOrgPerson'];
  if ((u.aliases ?? []).length > 0) lines.push('objectClass: inetLocalMailRecipient');
  if ((u.proxyAddresses ?? []).length > 0) lines.push('objectClass: moatMailUser');
  lines.push(`uid: ${u.id}`, `cn: ${u.id}`, `sn: ${u.id}`);
  if (u.mail !== undefined) lines.push(`mail: ${u.mail}`);
  for (const a of u.aliases ?? []) lines.push(`mailLocalAddress: ${a}`);
  for (const p of u.proxyAddresses ?? []) lines.push(`proxyAddresses: ${p}`);
  if (u.password !== undefined) lines.push(`userPassword: ${u.password}`);
  return `${lines.join('\n')}\n`;
}

export function baseLdif(users: readonly SlapdUser[]): string {
  const entries = [
    `dn: ${SLAPD_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=people,${SLAPD_SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ${SLAPD_SERVICE_DN}\nobjectClass: person\ncn: moat\nsn: moat\nuserPassword: ${SLAPD_SERVICE_PASSWORD}\n`,
    ...users.map(userLdif),
  ];
  return entries.join('\n');
}

function slapdConf(dir: string, tls: SlapdOptions['tls']): string {
  const schemas = ['core', 'cosine', 'inetorgperson', 'misc'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`);
  return [
    '# generated by test/harness/slapd.ts',
    ...schemas,
    `include ${join(dir, 'moat-test.schema')}`,
    `pidfile ${join(dir, 'run', 'slapd.pid')}`,
    `argsfile ${join(dir, 'run', 'slapd.args')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    ...(tls ? [`TLSCertificateFile ${tls.certPath}`, `TLSCertificateKeyFile ${tls.keyPath}`] : []),
    'database mdb',
    'maxsize 16777216',
    `suffix "${SLAPD_SUFFIX}"`,
    `rootdn "${SLAPD_ROOT_DN}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${join(dir, 'db')}`,
    'access to attrs=userPassword by anonymous auth by * none',
    'access to * by users read by * none',
    '',
  ].join('\n');
}

async function ldapOk(url: string): Promise<boolean> {
  const r = await runCommand(LDAPWHOAMI, ['-x', '-o', 'nettimeout=1', '-H', url, '-D', SLAPD_ROOT_DN, '-w', ROOT_PASSWORD], {
    timeoutMs: 5000,
    env: { LDAPTLS_REQCERT: 'never' },
  });
  return r.code === 0;
}

/** Starts slapd on 127.0.0.1, waits for a successful bind, and adds the base entries and users. */
export async function startSlapd(opts: SlapdOptions = {}): Promise<SlapdHandle> {
  for (const p of [SLAPD, LDAPADD, LDAPWHOAMI]) if (!existsSync(p)) throw new Error(`slapd harness: ${p} missing (scripts/install-test-deps.sh)`);
  const dir = opts.dir ?? (await makeScratchDir('moat-slapd-'));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await systemUser('openldap').then(() => 'openldap', () => null) : null;
  await writeFile(join(dir, 'moat-test.schema'), TEST_SCHEMA);
  for (const sub of ['db', 'run', 'tls']) {
    if (owner) await makeDirOwnedBy(join(dir, sub), owner);
    else await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
  }
  // slapd reads its key after dropping to openldap: give it a copy it owns.
  let tls: SlapdOptions['tls'];
  if (opts.tls) {
    tls = { certPath: join(dir, 'tls', 'cert.pem'), keyPath: join(dir, 'tls', 'key.pem') };
    await copyFile(opts.tls.certPath, tls.certPath);
    await copyFile(opts.tls.keyPath, tls.keyPath);
    if (owner) {
      const u = await systemUser(owner);
      for (const f of [tls.certPath, tls.keyPath]) await chown(f, u.uid, u.gid);
    }
  }
  await writeFile(join(dir, 'slapd.conf'), slapdConf(dir, tls));
  const scheme = opts.tls ? 'ldaps' : 'ldap';

  const { port, proc, url } = await startWithPortRetry(
    async (p) => {
      const u = `${scheme}://127.0.0.1:${p}`;
      const args = ['-f', join(dir, 'slapd.conf'), '-h', `${u}/`, '-d', '256', ...(owner ? ['-u', owner, '-g', owner] : [])];
      const pr = startProcess(SLAPD, args, {
        name: `slapd:${p}`,
        logFile: join(dir, 'slapd.log'),
        keepLines: 50_000,
        ...(opts.registry !== undefined ? { registry: opts.registry } : {}),
      });
      try {
        await waitUntil(() => ldapOk(u), { timeoutMs: opts.readyTimeoutMs ?? 10_000, what: `slapd answering a bind on ${u}`, process: pr });
      } catch (err: unknown) {
        const out = pr.tail(20);
        await pr.stop();
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n${out}`, { cause: err });
      }
      return { port: p, proc: pr, url: u };
    },
    { port: opts.port },
  );

  const add = async (ldif: string): Promise<void> => {
    const file = join(dir, `add-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
    await writeFile(file, ldif);
    const r = await runCommand(LDAPADD, ['-x', '-H', url, '-D', SLAPD_ROOT_DN, '-w', ROOT_PASSWORD, '-f', file], {
      timeoutMs: 10_000,
      env: { LDAPTLS_REQCERT: 'never' },
    });
    if (r.code !== 0) throw new Error(`ldapadd failed (${String(r.code)}):\n${r.stdout}${r.stderr}`);
  };
  try {
    await add(baseLdif(opts.users ?? []));
  } catch (err: unknown) {
    await proc.stop();
    throw err;
  }
  // slapd's answer to a client can arrive before its log line for that request has been read from
  // the pipe. A barrier connection from another loopback address is logged after every request
  // already answered (slapd logs an operation on receipt): once its ACCEPT line is in, so is theirs.
  const logBarrier = async (): Promise<void> => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: BARRIER_ADDRESS });
    try {
      const localPort = await new Promise<number>((resolve, reject) => {
        socket.once('connect', () => resolve(socket.localPort ?? 0));
        socket.once('error', reject);
      });
      await proc.waitForLine(new RegExp(` ACCEPT from IP=${BARRIER_ADDRESS.replace(/\./g, '\\.')}:${String(localPort)} `), 10_000);
    } finally {
      socket.destroy();
    }
  };
  const count = async (re: RegExp): Promise<number> => {
    await logBarrier();
    return proc.lines().filter((l) => re.test(l)).length;
  };
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    host: '127.0.0.1',
    port,
    url,
    dir,
    process: proc,
    add,
    connections: () => count(/ ACCEPT from IP=127\.0\.0\.1:/),
    // slapd logs a bind twice ("method=128", then "mech=SIMPLE" when it succeeded): count the first.
    binds: (dn) => count(new RegExp(` BIND dn="${dn === undefined ? '[^"]*' : escape(dn)}" method=`, 'i')),
    freeze: async () => {
      proc.signal('SIGSTOP');
      // The stop reaches each thread when it is next scheduled: wait until /proc says all are stopped.
      await waitUntil(
        async () => {
          const tasks = await readdir(`/proc/${proc.pid}/task`).catch(() => [] as string[]);
          const states = await Promise.all(tasks.map((t) => readFile(`/proc/${proc.pid}/task/${t}/stat`, 'utf8').then((x) => /\) (\S)/.exec(x)?.[1]).catch(() => 'T')));
          return states.length > 0 && states.every((st) => st === 'T' || st === 't');
        },
        { timeoutMs: 5000, intervalMs: 10, what: 'slapd stopped' },
      );
    },
    thaw: () => {
      proc.signal('SIGCONT');
    },
    stop: async () => {
      proc.signal('SIGCONT');
      await proc.stop();
    },
  };
}
