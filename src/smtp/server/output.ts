/**
 * How replies reach the wire. Replies to pipelined commands go out together while more input is
 * already waiting (RFC 2920 §3.2: the server may batch its responses), and always before the
 * session waits on the client. A client that pipelines without reading our replies waits in its
 * own TCP window, not in our memory: past the high-water mark a write waits for the socket to
 * drain, but never past the session deadline (`lifetime`), whose reason it then rejects with.
 * The stream is replaced after STARTTLS.
 */
import type { Socket } from 'node:net';

const OUTPUT_HIGH_WATER = 64 * 1024;

export class ReplyOutput {
  constructor(
    public stream: Socket,
    private readonly pendingInput: () => number,
    private readonly lifetime: AbortSignal,
  ) {}

  /** Whether a reply can still be written. */
  get usable(): boolean {
    return !this.stream.destroyed && this.stream.writable;
  }

  async write(text: string): Promise<void> {
    const s = this.stream;
    if (this.pendingInput() > 0 && s.writableLength < OUTPUT_HIGH_WATER && !s.writableCorked) s.cork();
    s.write(text);
    if (this.pendingInput() === 0 || s.writableLength >= OUTPUT_HIGH_WATER) this.flush();
    if (s.writableLength >= OUTPUT_HIGH_WATER) await this.drained(s);
  }

  /** Writes without waiting for the client to read (a farewell, the first greeting line). */
  writeNow(text: string): void {
    if (this.usable) this.stream.write(text);
    this.flush();
  }

  /** Sends replies held back for a pipelined batch. */
  flush(): void {
    while (this.stream.writableCorked) this.stream.uncork();
  }

  /** Flushes, ends the stream, and destroys it shortly after so that the last reply can leave. */
  end(): void {
    const s = this.stream;
    this.flush();
    s.end();
    setTimeout(() => s.destroy(), 2000).unref();
  }

  private drained(s: Socket): Promise<void> {
    const life = this.lifetime;
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        s.off('drain', done);
        s.off('close', done);
        life.removeEventListener('abort', ended);
      };
      const done = (): void => {
        cleanup();
        resolve();
      };
      const ended = (): void => {
        cleanup();
        reject(life.reason);
      };
      s.on('drain', done);
      s.on('close', done);
      life.addEventListener('abort', ended, { once: true });
      if (life.aborted) ended();
    });
  }
}
