/**
 * Runs every test/transcripts/*.smtp conversation against the real gateway (in-process worker).
 * See README.md beside this file for the format.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ports.js';
import { startInProcess, type InProcessGateway } from '../support/in-process.js';
import { SmtpTalk } from '../support/smtp-talk.js';

const dir = import.meta.dirname;

function unescape(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\') {
      out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = s[++i];
    if (n === 'r') out.push(13);
    else if (n === 'n') out.push(10);
    else if (n === '0') out.push(0);
    else if (n === '\\') out.push(92);
    else if (n === 'x') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`bad escape \\${n}`);
  }
  return Buffer.from(out);
}

function globToRegExp(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
}

async function run(file: string, port: number): Promise<void> {
  const talk = await SmtpTalk.open(port);
  try {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    for (const [n, raw] of lines.entries()) {
      const where = `${file}:${n + 1}`;
      if (raw === '' || raw.startsWith('#')) continue;
      if (raw.startsWith('>>')) talk.send(unescape(raw.slice(3)));
      else if (raw === '>' || raw.startsWith('> ')) talk.send(Buffer.concat([Buffer.from(raw.slice(2), 'utf8'), Buffer.from('\r\n')]));
      else if (raw.startsWith('<<< ')) {
        const re = globToRegExp(raw.slice(4));
        for (;;) {
          const got = await talk.nextLine().catch((e: unknown) => {
          throw new Error(`${where}: ${String(e)}`);
        });
          if (got === null) throw new Error(`${where}: connection closed while skipping`);
          if (re.test(got)) {
            talk.unread(got);
            break;
          }
        }
      } else if (raw.startsWith('< ')) {
        const got = await talk.nextLine().catch((e: unknown) => {
          throw new Error(`${where}: ${String(e)}`);
        });
        expect(got, where).not.toBeNull();
        expect(Buffer.from(got ?? '', 'latin1').toString('utf8'), where).toMatch(globToRegExp(raw.slice(2)));
      } else if (raw === '! closed') {
        expect(await talk.closedByServer(), `${where}: server should close`).toBe(true);
        expect(talk.pendingText, where).toBe('');
      } else throw new Error(`${where}: cannot read transcript line ${JSON.stringify(raw)}`);
    }
  } finally {
    talk.close();
  }
}

describe('SMTP transcripts', () => {
  let gw: InProcessGateway;
  beforeAll(async () => {
    const port = await freePort();
    gw = await startInProcess({
      limits: { maxRecipients: 3, maxMessageSize: 20000, maxErrors: 50, tarpit: { delay: 0 } },
      domains: {
        'example.test': { relay: [`127.0.0.1:${port}`] },
        // A domain with recipient validation, for 12-recipients.smtp.
        'static.test': { relay: [`127.0.0.1:${port}`], recipients: { sources: [{ type: 'static', addresses: ['known@static.test'] }] } },
      },
    });
  });
  afterAll(async () => {
    await gw.stop();
  });

  for (const file of readdirSync(dir).filter((f) => f.endsWith('.smtp')).sort()) {
    it(file.replace(/\.smtp$/, ''), () => run(file, gw.port));
  }
});
