/**
 * deploy/moat.service: the settings least privilege depends on are present (and the one that would
 * break V8 is absent), and systemd's own parser accepts the unit without a warning when
 * systemd-analyze is installed (it reads the file offline; no systemd is started).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../harness/process.js';
import { ROOT } from '../support/gateway-process.js';

const UNIT = join(ROOT, 'deploy', 'moat.service');
const ANALYZE = '/usr/bin/systemd-analyze';

describe('the systemd unit', () => {
  const text = readFileSync(UNIT, 'utf8');
  const settings = new Map(text.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

  it('runs as moat with CAP_NET_BIND_SERVICE only, sandboxed, writing only the dataDir', () => {
    expect(settings.get('User')).toBe('moat');
    expect(settings.get('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    expect(settings.get('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(settings.get('NoNewPrivileges')).toBe('yes');
    expect(settings.get('ProtectSystem')).toBe('strict');
    expect(settings.get('ProtectHome')).toBe('yes');
    expect(settings.get('PrivateTmp')).toBe('yes');
    expect(settings.get('PrivateDevices')).toBe('yes');
    expect(settings.get('ReadWritePaths')).toBe('/var/lib/moat');
    expect(settings.get('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    expect(settings.get('SystemCallFilter')).toBe('@system-service');
    expect(settings.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    // V8's JIT needs writable, then executable pages.
    expect(settings.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it.runIf(existsSync(ANALYZE))('passes systemd-analyze verify without a warning', async () => {
    const r = await runCommand(ANALYZE, ['verify', UNIT], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
  });
});
