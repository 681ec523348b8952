// Copies the console's UI (src/admin/ui: HTML, CSS, plain JavaScript, no compile step) and the
// uPlot chart library from node_modules into dist/src/admin/ui, which the gateway serves from
// memory (src/admin/static.ts). Part of `npm run build`; nothing is fetched from anywhere.
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'src', 'admin', 'ui');
mkdirSync(out, { recursive: true });
cpSync(join(root, 'src', 'admin', 'ui'), out, { recursive: true });
for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) cpSync(join(root, 'node_modules', 'uplot', 'dist', f), join(out, f));
