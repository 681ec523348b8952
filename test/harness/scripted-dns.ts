// A scripted DNS server on 127.0.0.1 (UDP, optionally TCP), for the behaviour no real server can
// be made to show on demand: SERVFAIL, silence (timeouts), answers with a wrong id or question,
// garbage, FORMERR to EDNS. Real answers come from dnsmasq (dnsmasq.ts); use this only for those.
// Trusts: dns-packet to decode the queries it gets and encode the replies the script builds.
// Fails: an undecodable query is recorded (decoded: null) and not answered; the script's
// exceptions are not caught (the test sees them as unhandled errors).
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket as TcpSocket } from 'node:net';
import * as packet from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';

export interface ScriptedQuery {
  readonly transport: 'udp' | 'tcp';
  /** The client's source port. */
  readonly port: number;
  readonly raw: Buffer;
  readonly decoded: DecodedPacket | null;
}

/** What to send back for one query: zero or more messages, in order (none = stay silent). */
export type DnsScript = (query: DecodedPacket, n: number, transport: 'udp' | 'tcp') => Buffer[];

export interface ScriptedDns {
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly server: string;
  readonly queries: ScriptedQuery[];
  stop(): Promise<void>;
}

export interface ReplyOptions {
  readonly rcode?: 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';
  readonly answers?: Answer[];
  readonly authorities?: Answer[];
  /** Override the id (a stray or spoofed answer). */
  readonly id?: number;
  /** Override the question name (an answer to another query). */
  readonly questionName?: string;
  readonly truncated?: boolean;
  /** Omit the question section. */
  readonly noQuestion?: boolean;
  /** Echo an OPT record (EDNS) in the reply. */
  readonly edns?: boolean;
}

const RCODE_VALUES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** A reply to `query` as a recursive resolver would send it (QR, RD copied, RA), adjusted by `o`. */
export function replyTo(query: DecodedPacket, o: ReplyOptions = {}): Buffer {
  const q = query.questions?.[0];
  const flags = packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (o.truncated === true ? packet.TRUNCATED_RESPONSE : 0) | RCODE_VALUES[o.rcode ?? 'NOERROR'];
  return packet.encode({
    type: 'response',
    id: o.id ?? query.id ?? 0,
    flags,
    questions: o.noQuestion === true || q === undefined ? [] : [{ ...q, name: o.questionName ?? q.name }],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals: o.edns === true ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

function decode(raw: Buffer): DecodedPacket | null {
  try {
    return packet.decode(raw);
  } catch {
    return null;
  }
}

/** Starts the server; `tcp: true` also listens on the same port number over TCP. */
export async function startScriptedDns(script: DnsScript, opts: { tcp?: boolean } = {}): Promise<ScriptedDns> {
  const queries: ScriptedQuery[] = [];
  const udp: Socket = createSocket('udp4');
  udp.on('message', (raw, rinfo) => {
    const decoded = decode(raw);
    queries.push({ transport: 'udp', port: rinfo.port, raw, decoded });
    if (decoded === null) return;
    for (const out of script(decoded, queries.length, 'udp')) udp.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => resolve());
  });
  const port = udp.address().port;
  let tcp: Server | undefined;
  const open = new Set<TcpSocket>();
  if (opts.tcp === true) {
    tcp = createServer((sock) => {
      open.add(sock);
      sock.on('close', () => open.delete(sock));
      let buf: Buffer = Buffer.alloc(0);
      sock.on('error', () => sock.destroy());
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const raw = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + raw.length);
          const decoded = decode(raw);
          queries.push({ transport: 'tcp', port: sock.remotePort ?? 0, raw, decoded });
          if (decoded === null) continue;
          for (const out of script(decoded, queries.length, 'tcp')) {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length, 0);
            sock.write(Buffer.concat([len, out]));
          }
        }
      });
    });
    const server = tcp;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve());
    });
  }
  return {
    port,
    server: `127.0.0.1:${port}`,
    queries,
    stop: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (tcp !== undefined) {
        const server = tcp;
        for (const sock of open) sock.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

/** A UDP port on 127.0.0.1 that takes datagrams and never answers (a dead server that drops). */
export async function startBlackHoleDns(): Promise<ScriptedDns> {
  return startScriptedDns(() => []);
}
