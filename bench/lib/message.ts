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
