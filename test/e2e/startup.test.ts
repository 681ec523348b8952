/**
 * Start-up cost: what the processes of a default (SQLite, no LDAP, no DKIM) gateway load. Traced
 * with the node:module load hook (test/support/module-trace.ts): the supervisor and the workers of
 * a real `moat start`, `moat queue list` against it, `moat check-config`, and an import of the config
 * schema alone. Optional back-ends are loaded only when the config names them; the CLI loads neither
 * the gateway nor the supervisor; the schema loads no check or scanner implementation.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { runCommand, stopAll } from '../harness/process.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { BIN, ROOT, startGateway, type GatewayProcess } from '../support/gateway-process.js';

const TRACER = join(ROOT, 'dist', 'test', 'support', 'module-trace.js');
const DIST = pathToFileURL(join(ROOT, 'dist', 'src')).href + '/';

/** Packages a default config never uses: PostgreSQL, Redis, LDAP, the preview's sanitizer, the DKIM signer. */
const OPTIONAL = ['pg', 'ioredis', 'ldapts', 'sanitize-html', 'mailauth/lib/dkim/sign.js'];

const packages = (urls: readonly string[]): string[] => OPTIONAL.filter((p) => urls.some((u) => u.includes(`/node_modules/${p}/`) || u.endsWith(`/node_modules/${p}`)));
const ours = (urls: readonly string[]): string[] => urls.filter((u) => u.startsWith(DIST)).map((u) => u.slice(DIST.length));
/** Our modules but the config slices (every process parses the config: admin/config.js, relay/config.js...). */
const implementation = (urls: readonly string[]): string[] => ours(urls).filter((m) => !m.endsWith('/config.js'));

describe('start-up: what each process loads', () => {
  let dir: string;
  let gw: GatewayProcess;
  /** Per traced process: its pid and the module URLs it loaded. */
  const traced = async (prefix: string): Promise<Map<number, string[]>> => {
    const name = prefix.slice(prefix.lastIndexOf('/') + 1);
    const out = new Map<number, string[]>();
    for (const f of await readdir(dir)) {
      if (f.startsWith(`${name}.`)) out.set(Number(f.slice(name.length + 1)), (await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean));
    }
    return out;
  };
  const tracing = (prefix: string): Record<string, string> => ({ NODE_OPTIONS: `--import ${pathToFileURL(TRACER).href}`, MOAT_MODULE_TRACE: join(dir, prefix) });

  beforeAll(async () => {
    dir = await makeScratchDir();
    // Nothing is sent: the LAN server need not listen.
    gw = await startGateway({ dir, relayPort: await freePort(), config: { workers: 1 }, env: tracing('gateway') });
  });
  afterAll(async () => {
    await gw?.stop();
    await stopAll();
    await removeScratchDir(dir);
  });

  it('the supervisor loads no gateway and no optional back-end; the worker loads the gateway but no optional back-end', async () => {
    const all = await traced(join(dir, 'gateway'));
    const supervisor = all.get(gw.process.pid);
    expect(supervisor, 'the supervisor was traced').toBeDefined();
    const workers = [...all].filter(([pid]) => pid !== gw.process.pid).map(([, urls]) => urls);
    expect(workers).toHaveLength(1);
    const worker = workers[0] ?? [];
    expect(ours(worker)).toContain('main.js');
    expect(ours(worker)).toContain('smtp/server/listener.js');
    expect(packages(worker)).toEqual([]);
    expect(ours(supervisor ?? [])).toContain('cli/supervisor.js');
    expect(implementation(supervisor ?? []).filter((m) => m === 'main.js' || m.startsWith('smtp/server/listener') || m.startsWith('relay/'))).toEqual([]);
    expect(packages(supervisor ?? [])).toEqual([]);
  });

  it('`moat queue list` asks the running gateway without loading the gateway, the supervisor or the console', async () => {
    const r = await runCommand(process.execPath, [BIN, 'queue', 'list', '--config', gw.configFile], { env: tracing('queue'), timeoutMs: 60_000 });
    expect(r.stdout).toContain('0 message(s)');
    const [urls = []] = [...(await traced(join(dir, 'queue'))).values()];
    expect(ours(urls)).toContain('cli/queue-command.js');
    expect(implementation(urls).filter((m) => m === 'main.js' || m === 'cli/supervisor.js' || m.startsWith('admin/'))).toEqual([]);
    expect(packages(urls)).toEqual([]);
  });

  it('`moat check-config` loads no optional back-end and not the gateway', async () => {
    const r = await runCommand(process.execPath, [BIN, 'check-config', '--config', gw.configFile], { env: tracing('check'), timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const [urls = []] = [...(await traced(join(dir, 'check'))).values()];
    expect(ours(urls)).toContain('config/schema.js');
    expect(implementation(urls).filter((m) => m === 'main.js' || m === 'main-stores.js' || m.startsWith('smtp/server/listener'))).toEqual([]);
    expect(packages(urls)).toEqual([]);
  });

  it('the config schema alone loads only zod, config slices and parsing helpers', async () => {
    const schema = pathToFileURL(join(ROOT, 'dist', 'src', 'config', 'schema.js')).href;
    const r = await runCommand(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(schema)})`], { env: tracing('schema'), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const [urls = []] = [...(await traced(join(dir, 'schema'))).values()];
    expect(ours(urls)).toContain('checks/config.js');
    // Each check and scanner's implementation is its index.js; a slice is config.js beside it.
    expect(ours(urls).filter((m) => /^(checks|scan|store|admin|outbound|quarantine|relay|queue)\/.*index\.js$/.test(m))).toEqual([]);
    const libraries = new Set(urls.filter((u) => u.includes('/node_modules/')).map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]));
    expect([...libraries].filter((l) => l !== 'zod' && l !== 'ipaddr.js')).toEqual([]);
  });
});
