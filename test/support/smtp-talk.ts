/**
 * A raw SMTP conversation for protocol tests: send exact octets, read whole replies. This is a
 * scripted peer on purpose: real clients cannot be made to send malformed input.
 */
import { connect, type Socket } from 'node:net';

export interface Reply {
  readonly code: number;
  readonly lines: string[];
}

export class SmtpTalk {
  private buf = '';
  private closed = false;
  private waiter: (() => void) | null = null;

  private constructor(private readonly socket: Socket) {
    this.listen();
  }

  private readonly onData = (d: string | Buffer): void => {
    this.buf += typeof d === 'string' ? d : d.toString('latin1');
    this.waiter?.();
  };

  private listen(): void {
    const socket = this.socket;
    socket.on('data', this.onData);
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  /** Talks over an already connected socket (e.g. after a TLS handshake). */
  static wrap(socket: Socket): SmtpTalk {
    return new SmtpTalk(socket);
  }

  /** Stops reading and hands the raw socket over (for STARTTLS). */
  detach(): Socket {
    this.socket.off('data', this.onData);
    return this.socket;
  }

  /** Connects; `localAddress` binds the client side (any of 127.0.0.0/8 works on loopback). */
  static async open(port: number, host = '127.0.0.1', localAddress?: string): Promise<SmtpTalk> {
    const s = connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new SmtpTalk(s);
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  line(text: string): void {
    this.send(`${text}\r\n`);
  }

  /** Reads one complete (possibly multi-line) reply; null if the connection closed first. */
  async reply(timeoutMs = 10_000): Promise<Reply | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:(\d{3})-[^\r\n]*\r\n)*(\d{3}) [^\r\n]*\r\n/.exec(this.buf) ?? /^(\d{3})\r\n/.exec(this.buf);
      if (m) {
        const text = m[0];
        this.buf = this.buf.slice(text.length);
        const lines = text.split('\r\n').filter(Boolean);
        return { code: Number(lines[lines.length - 1]?.slice(0, 3)), lines };
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; have ${JSON.stringify(this.buf.slice(0, 200))}`);
      await this.waitData(left);
    }
  }

  /** Reads one reply line (without CRLF); null if the connection closed first. */
  async nextLine(timeoutMs = 10_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buf.indexOf('\r\n');
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 2);
        return line;
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply line within ${timeoutMs} ms; have ${JSON.stringify(this.buf.slice(0, 200))}`);
      await this.waitData(left);
    }
  }

  /** Puts a line back at the front (the transcript runner peeks). */
  unread(line: string): void {
    this.buf = `${line}\r\n${this.buf}`;
  }

  private waitData(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiter = () => {
        clearTimeout(t);
        this.waiter = null;
        resolve();
      };
    });
  }

  /** Resolves true once the server has closed the connection (within the timeout). */
  async closedByServer(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.waitData(Math.max(1, deadline - Date.now()));
    return this.closed;
  }

  get pendingText(): string {
    return this.buf;
  }

  close(): void {
    this.socket.destroy();
  }
}
