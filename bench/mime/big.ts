// A 10 MB message for the main-thread cost of one parse: a text/plain part, a text/html part with
// links and a script, and a base64 attachment filling the rest (76-column lines, as MUAs write).
// Trusts: nothing. Fails: never.
import { randomBytes } from 'node:crypto';

export function bigMessage(total = 10 * 1024 * 1024): Buffer {
  const text = 'Quarterly figures are attached; the summary follows in plain text.\r\n'.repeat(3000);
  const html = `<html><head><style>p{color:red}</style><script>var x=1;</script></head><body>${'<p>Hello <a href="https://example.org/a?b=c">see the report</a> &amp; more</p>\r\n'.repeat(4000)}</body></html>\r\n`;
  const head =
    'From: Big Sender <big@example.org>\r\nTo: bob@example.com\r\nSubject: large message\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n' +
    'Message-ID: <big@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BIG"\r\n\r\n' +
    `--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}` +
    `--BIG\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}` +
    '--BIG\r\nContent-Type: application/octet-stream; name="data.bin"\r\nContent-Disposition: attachment; filename="data.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const tail = '\r\n--BIG--\r\n';
  const room = total - Buffer.byteLength(head) - tail.length;
  const lines = Math.floor(room / 78);
  const b64 = randomBytes(lines * 57).toString('base64');
  const body: string[] = [];
  for (let i = 0; i < lines; i++) body.push(b64.slice(i * 76, i * 76 + 76));
  return Buffer.from(head + body.join('\r\n') + tail, 'latin1');
}
