/**
 * The CLI's side of the control socket: one JSON request line to the running gateway's supervisor,
 * one JSON answer back. null when no gateway is listening (the commands then work offline).
 */
import { connect } from 'node:net';
import type { Config } from '../config/schema.js';
import type { ControlAnswer, ControlRequest } from '../gateway/control.js';
import { join } from 'node:path';

/** The supervisor's control socket (the supervisor imports this from here: a CLI command loads no supervisor). */
export function controlSocketPath(c: Config): string {
  return join(c.dataDir, 'control.sock');
}

export function askGateway(config: Config, req: ControlRequest): Promise<ControlAnswer | null> {
  return new Promise((resolve) => {
    const s = connect(controlSocketPath(config));
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', () => resolve(null));
    s.on('data', (d: string) => (buf += d));
    s.on('end', () => {
      try {
        resolve(JSON.parse(buf) as ControlAnswer);
      } catch {
        resolve({ ok: false, error: 'bad answer from the gateway' });
      }
    });
    s.on('connect', () => s.write(`${JSON.stringify(req)}\n`));
  });
}


/** What every control command prints the same way: with --json the answer as one line, else a failure on stderr. */
export function printRaw(answer: ControlAnswer, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(answer)}\n`);
  else if (!answer.ok) process.stderr.write(`moat: ${answer.error}\n`);
  return answer.ok ? 0 : 1;
}
