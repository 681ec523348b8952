// Where the project lives, whether this file runs from bench/ (vitest) or dist/bench/ (node).
// Trusts: the repository root is the nearest ancestor directory holding package.json.
// Fails: throws when no package.json is found up to the file system root.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root (the directory of package.json). */
export function projectRoot(from: string = import.meta.dirname): string {
  let dir = from;
  for (let i = 0; i < 32; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`no package.json above ${from}`);
}

/** The built CLI (`npm run build` makes it). */
export function moatBin(): string {
  const bin = join(projectRoot(), 'dist', 'src', 'cli', 'bin.js');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`);
  return bin;
}
