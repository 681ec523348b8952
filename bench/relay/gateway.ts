// What the relay benchmark needs from a gateway under test: where it listens, which processes
// are its own (for CPU and RSS), and how to stop it.

export type SystemName = 'moat' | 'postfix' | 'haraka';

export const SYSTEM_NAMES: readonly SystemName[] = ['moat', 'postfix', 'haraka'];

/** The systems Moat is compared with; every ratio is Moat / anchor. */
export type Anchor = Exclude<SystemName, 'moat'>;

export const ANCHORS: readonly Anchor[] = ['postfix', 'haraka'];

export const SYSTEM_LABELS: Readonly<Record<SystemName, string>> = { moat: 'Moat', postfix: 'Postfix', haraka: 'Haraka' };

export interface GatewayUnderTest {
  readonly name: SystemName;
  readonly port: number;
  /** Root PIDs of the gateway's process trees (re-read each call: Postfix's master may be respawned). */
  roots(): readonly number[];
  stop(): Promise<void>;
}

/**
 * How the load generators use connections: a new connection per message (smtp-source's default)
 * or each session's connection reused for all its messages (smtp-source -d).
 */
export type ConnectionMode = 'new' | 'reuse';

export const CONNECTION_MODES: readonly ConnectionMode[] = ['new', 'reuse'];

/** The envelope every run uses: mail for the relay domain from an outside sender. */
export const RELAY_DOMAIN = 'bench.test';
export const SENDER = 'alice@client.test';
export const RECIPIENT = `bob@${RELAY_DOMAIN}`;
