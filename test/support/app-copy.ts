/**
 * A copy of the built gateway (dist/, package.json and the production dependencies from
 * node_modules) in a scratch directory that any user can read, for tests that run Moat as an
 * unprivileged user: the checkout itself may sit under a directory only root can enter (/root).
 * Trusts: npm's flat node_modules layout (a dependency's own nested node_modules is copied with it).
 * Fails: throws when a dependency named in a package.json is not installed.
 */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './gateway-process.js';

async function deps(dir: string): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {});
}

/** Copies the app into `dest` (which must exist); returns the path of its bin.js. */
export async function copyApp(dest: string): Promise<string> {
  await cp(join(ROOT, 'dist'), join(dest, 'dist'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(dest, 'package.json'));
  const seen = new Set<string>();
  const todo = await deps(ROOT);
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const from = join(ROOT, 'node_modules', name);
    await cp(from, join(dest, 'node_modules', name), { recursive: true });
    todo.push(...(await deps(from)));
  }
  return join(dest, 'dist', 'src', 'cli', 'bin.js');
}
