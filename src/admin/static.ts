/**
 * The console's UI assets (built into dist/src/admin/ui by `npm run build`: compiled TypeScript,
 * HTML, CSS and the uPlot files copied from node_modules), read once at start into memory and
 * served from there: `/` is index.html, `/ui/<file>` the rest. No path from a request ever
 * reaches the file system. Source maps and TypeScript sources are not served.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** url path → asset; empty when the UI was not built (the API still works). */
export async function loadAssets(dir: string): Promise<ReadonlyMap<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const file of await walk(dir)) {
    const type = TYPES[extname(file)];
    if (!type || file.endsWith('.d.ts')) continue;
    const body = await readFile(file);
    const rel = relative(dir, file).split(sep).join('/');
    assets.set(`/ui/${rel}`, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  const index = assets.get('/ui/index.html');
  if (index) assets.set('/', index);
  return assets;
}
