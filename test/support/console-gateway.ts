/**
 * The set-up every console end-to-end test shares: a scratch directory, smtp-sink as the LAN
 * server, the real gateway (supervisor + workers) with its admin listener on a free loopback port,
 * and console users made through the real `moat admin add-user`. `stop()` ends the gateway, every
 * peer the harness registered and removes the scratch directory, also after a half-done start.
 */
import { startSmtpSink, type SmtpSinkHandle, type SmtpSinkOptions } from '../harness/smtp-sink.js';
import { freePort } from '../harness/ports.js';
import { stopAll } from '../harness/process.js';
import { makeScratchDir, removeScratchDir } from '../harness/tmp.js';
import { startGateway, type GatewayProcess } from './gateway-process.js';
import { addUser } from './console-client.js';

/** The password of every user a console test creates. */
export const CONSOLE_PASSWORD = 'correct horse battery staple';

export interface ConsoleGatewayOptions {
  /** admin.* keys beside `listen`; `publicUrl: true` stands for the listener's own URL. */
  readonly admin?: Readonly<Record<string, unknown>>;
  /** Any other config keys (policy, quarantine, queue, ...). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly sink?: SmtpSinkOptions;
  /** Users to create, name → role, all with CONSOLE_PASSWORD. */
  readonly users?: Readonly<Record<string, string>>;
}

export interface ConsoleGateway {
  readonly dir: string;
  readonly lan: SmtpSinkHandle;
  readonly gw: GatewayProcess;
  /** http(s)://127.0.0.1:PORT of the admin listener (https when admin.tls is set). */
  readonly base: string;
  stop(): Promise<void>;
}

async function stopEverything(dir: string | undefined, gw: GatewayProcess | undefined): Promise<void> {
  if (gw?.process.running) await gw.stop();
  await stopAll();
  if (dir) await removeScratchDir(dir);
}

export async function startConsoleGateway(o: ConsoleGatewayOptions = {}): Promise<ConsoleGateway> {
  const dir = await makeScratchDir();
  let gw: GatewayProcess | undefined;
  try {
    const lan = await startSmtpSink(o.sink);
    const adminPort = await freePort();
    const base = `${o.admin?.['tls'] ? 'https' : 'http'}://127.0.0.1:${adminPort}`;
    const admin = { ...o.admin, listen: `127.0.0.1:${adminPort}`, ...(o.admin?.['publicUrl'] === true ? { publicUrl: base } : {}) };
    gw = await startGateway({ dir, relayPort: lan.port, adminPort, config: { ...o.config, admin } });
    for (const [name, role] of Object.entries(o.users ?? {})) await addUser(gw, name, role, CONSOLE_PASSWORD);
    const started = gw;
    return { dir, lan, gw: started, base, stop: () => stopEverything(dir, started) };
  } catch (err) {
    await stopEverything(dir, gw);
    throw err;
  }
}
