import { describe, expect, it } from 'vitest';
import type { AdmissionLimits } from '../smtp/server/admission.js';
import { AdmissionService, IpcGate, isAdmissionRequest, type AdmissionAnswer, type AdmissionRequest } from './admission-ipc.js';

const limits: AdmissionLimits = { maxConnections: 10, maxConnectionsPerIp: 1, maxConnectionsPerNet: 10, connectionRate: null };

/** Two workers' gates wired to one service, as the supervisor does over the cluster channel. */
function wire(): { service: AdmissionService; gates: IpcGate[] } {
  const service = new AdmissionService(() => limits);
  const gates: IpcGate[] = [];
  for (const id of [1, 2]) {
    const gate: IpcGate = new IpcGate((m: AdmissionRequest) => {
      // Structured clone, as process.send does; answers arrive asynchronously.
      const copy = JSON.parse(JSON.stringify(m)) as unknown;
      if (isAdmissionRequest(copy)) setImmediate(() => service.handle(id, copy, (a: AdmissionAnswer) => setImmediate(() => gate.answer(a))));
    });
    gates.push(gate);
  }
  return { service, gates };
}

describe('admission over IPC', () => {
  it('counts one client across workers, releases, and forgets a dead worker', async () => {
    const { service, gates } = wire();
    const [w1, w2] = gates as [IpcGate, IpcGate];
    const a = await w1.admit('192.0.2.1');
    expect(a.ok).toBe(true);
    expect(await w2.admit('192.0.2.1')).toEqual({ ok: false, limit: 'per-ip' });
    if (a.ok) w1.release(a.slot);
    await new Promise((r) => setImmediate(r));
    const b = await w2.admit('192.0.2.1');
    expect(b.ok).toBe(true);
    expect(service.openSessions).toBe(1);
    expect(service.workerGone(2)).toBe(1);
    expect((await w1.admit('192.0.2.1')).ok).toBe(true);
  });

  it('refuses as unavailable when the supervisor does not answer in time, and gives a late grant back', async () => {
    const sent: AdmissionRequest[] = [];
    const gate = new IpcGate((m) => sent.push(m), 20);
    expect(await gate.admit('192.0.2.1')).toEqual({ ok: false, limit: 'unavailable' });
    gate.answer({ type: 'admit', seq: 1, limit: null });
    expect(sent).toEqual([
      { type: 'admit', seq: 1, ip: '192.0.2.1' },
      { type: 'release', slot: 1 },
    ]);
  });
});
