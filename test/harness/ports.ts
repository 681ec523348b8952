// Free TCP ports on loopback, chosen by the OS.
// Trusts: the kernel hands out an unused ephemeral port for listen(0). Between closing our probe
// socket and the peer binding it, another program may take the port: startWithPortRetry() covers
// that race by retrying with a fresh port when a start fails with "address in use".
// Fails: by rejecting with the socket error, or with the last start error after the retries.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server } from 'node:net';

function listenZero(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => resolve(srv));
  });
}

function portOf(srv: Server): number {
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('listen(0) gave no TCP address');
  return addr.port;
}

function close(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

/** One free TCP port on `host` (default 127.0.0.1). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error('freePorts(1) returned nothing');
  return port;
}

/** `n` distinct free TCP ports: all probe sockets are held open together, then closed. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listenZero(host));
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** True when an error message says the port was taken ("Address already in use", EADDRINUSE...). */
export function isAddressInUse(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message}` : String(err);
  return /EADDRINUSE|address (already )?in use/i.test(text);
}

/**
 * Runs `start(port)` with a fresh free port, retrying (up to `attempts`) only when it fails
 * because the port got taken in between. A fixed `port` is tried once.
 */
export async function startWithPortRetry<T>(
  start: (port: number) => Promise<T>,
  opts: { port?: number | undefined; attempts?: number; host?: string } = {},
): Promise<T> {
  if (opts.port !== undefined) return start(opts.port);
  const attempts = opts.attempts ?? 3;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await start(await freePort(opts.host));
    } catch (err: unknown) {
      last = err;
      if (!isAddressInUse(err)) throw err;
    }
  }
  throw last;
}

/** A free TCP port below 1024 on `host` (binding it needs root or CAP_NET_BIND_SERVICE). */
export async function freePrivilegedPort(host = '127.0.0.1', avoid: readonly number[] = []): Promise<number> {
  const start = 600 + Math.floor(Math.random() * 300);
  for (let i = 0; i < 400; i++) {
    const port = 600 + ((start - 600 + i) % 400);
    if (avoid.includes(port)) continue;
    if (await tcpFree(host, port)) return port;
  }
  throw new Error(`no free port below 1024 on ${host}`);
}

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ port, address: host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * A random address of 127.0.0.0/8 on which `port` is free (TCP, and UDP too with `udp`), for a
 * peer that must use a fixed port (a resolv.conf names no port; nmap's SMTP scripts run only on
 * port 25): two test runs on one machine then do not collide. Binding a port below 1024 needs root.
 */
export async function freeLoopbackAddress(port: number, opts: { udp?: boolean } = {}): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const host = `127.${String(100 + Math.floor(Math.random() * 100))}.${String(Math.floor(Math.random() * 256))}.${String(1 + Math.floor(Math.random() * 254))}`;
    if ((await tcpFree(host, port)) && (!opts.udp || (await udpFree(host, port)))) return host;
  }
  throw new Error(`no loopback address with port ${String(port)} free`);
}
