/**
 * Our trace header (RFC 5321 §4.4, RFC 6531 §4.3 protocol names): who connected, what they called
 * themselves, which protocol, our queue id, and the recipient when there is only one.
 */
export interface ReceivedInfo {
  readonly helo: string;
  readonly clientIp: string;
  readonly hostname: string;
  readonly extended: boolean;
  readonly tls: boolean;
  readonly utf8: boolean;
  readonly queueId: string;
  readonly singleRecipient: string | null;
  readonly date: Date;
  /** The client passed SMTP AUTH: "ESMTPA"/"ESMTPSA" (RFC 3848). */
  readonly authenticated?: boolean;
  /** Leave out the from-clause (outbound mail: the LAN client's name and address stay inside). */
  readonly hideClient?: boolean;
}

/** RFC 5322 §3.3 date-time, e.g. "Sat, 28 Nov 2026 06:37:10 +0000". */
export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function receivedHeader(r: ReceivedInfo): string {
  const proto = `${r.utf8 ? 'UTF8SMTP' : r.extended ? 'ESMTP' : 'SMTP'}${r.tls ? 'S' : ''}${r.authenticated && r.extended ? 'A' : ''}`;
  const helo = r.helo.replace(/[^\x21-\x7e]/g, '?').slice(0, 255);
  const ip = r.clientIp.includes(':') ? `IPv6:${r.clientIp}` : r.clientIp;
  // RFC 5322 §3.6.7: every part of the received-token list is optional; "by" alone is a valid trace.
  const lines = r.hideClient ? [`Received: by ${r.hostname} with ${proto} id ${r.queueId}`] : [`Received: from ${helo} ([${ip}])`, `\tby ${r.hostname} with ${proto} id ${r.queueId}`];
  if (r.singleRecipient) lines.push(`\tfor <${r.singleRecipient}>`);
  lines[lines.length - 1] += `; ${rfc5322Date(r.date)}`;
  return `${lines.join('\r\n')}\r\n`;
}
