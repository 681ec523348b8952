import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference } from './reference.js';

describe('config reference', () => {
  it('docs/config.md is generated from the current schema (run `npm run docs:config`)', () => {
    const file = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
    expect(file).toBe(configReference());
  });

  it('documents the public keys of DESIGN.md §7', () => {
    const ref = configReference();
    for (const key of ['hostname', 'listen[].address', 'listen[].tls', 'domains.<name>.relay', 'dataDir', 'dns.servers', 'limits.maxMessageSize', 'limits.maxRecipients', 'limits.maxConnections', 'limits.maxConnectionsPerIp', 'admin.listen']) {
      expect(ref).toContain(`| \`${key}\` |`);
    }
  });
});
