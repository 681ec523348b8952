// Test messages for the latency load generator: RFC 5322 headers plus a body of a given size.
// Trusts: nothing. The body is printable ASCII in 78-octet lines that never start with ".", so
// it needs no dot-stuffing (RFC 5321 4.5.2) and passes any line-length limit.

/** A message in SMTP wire form (CRLF lines, ending with CRLF, without the final "."). */
export function buildMessage(opts: { from: string; to: string; bodySize: number; id: string }): Buffer {
  const head =
    `From: <${opts.from}>\r\n` +
    `To: <${opts.to}>\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <${opts.id}@bench.client.test>\r\n` +
    `Subject: moat bench ${opts.bodySize} octets\r\n` +
    `\r\n`;
  const line = 'La de da de da 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXY\r\n';
  const lines: string[] = [];
  let size = 0;
  while (size + line.length <= opts.bodySize) {
    lines.push(line);
    size += line.length;
  }
  const rest = opts.bodySize - size;
  if (rest > 2) lines.push(`${'x'.repeat(rest - 2)}\r\n`);
  return Buffer.from(head + lines.join(''), 'latin1');
}

/**
 * A message (any line ends) in SMTP wire form: CRLF line ends, a lone CR dropped, lines starting
 * with "." dot-stuffed (RFC 5321 4.5.2), ending with CRLF; without the final ".".
 */
export function toWire(raw: Buffer): Buffer {
  const text = raw
    .toString('latin1')
    .replace(/\r\n/g, '\n')
    .replace(/\r/g, '');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Buffer.from(`${lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n')}\r\n`, 'latin1');
}

/** The message with one header field put in front of the others (e.g. a tag to find it downstream). */
export function withHeader(wire: Buffer, name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(`${name}: ${value}\r\n`, 'latin1'), wire]);
}
