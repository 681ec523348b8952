/**
 * RFC 3463 enhanced mail system status codes (with RFC 3886/4954/5248/6531/7372 additions), as one table.
 * Every reply Moat sends picks its status from here, so the code and its meaning never drift apart.
 */
export const ENHANCED_STATUS = {
  'X.0.0': 'Other undefined status',
  'X.1.0': 'Other address status',
  'X.1.1': 'Bad destination mailbox address',
  'X.1.2': 'Bad destination system address',
  'X.1.3': 'Bad destination mailbox address syntax',
  'X.1.5': 'Destination address valid',
  'X.1.6': 'Destination mailbox has moved',
  'X.1.7': 'Bad sender mailbox address syntax',
  'X.1.8': "Bad sender's system address",
  'X.1.10': 'Recipient address has null MX',
  'X.2.0': 'Other or undefined mailbox status',
  'X.2.2': 'Mailbox full',
  'X.3.0': 'Other or undefined mail system status',
  'X.3.1': 'Mail system full',
  'X.3.2': 'System not accepting network messages',
  'X.3.4': 'Message too big for system',
  'X.3.5': 'System incorrectly configured',
  'X.4.0': 'Other or undefined network or routing status',
  'X.4.1': 'No answer from host',
  'X.4.2': 'Bad connection',
  'X.4.3': 'Directory server failure',
  'X.4.4': 'Unable to route',
  'X.4.6': 'Routing loop detected',
  'X.4.7': 'Delivery time expired',
  'X.5.0': 'Other or undefined protocol status',
  'X.5.1': 'Invalid command',
  'X.5.2': 'Syntax error',
  'X.5.3': 'Too many recipients',
  'X.5.4': 'Invalid command arguments',
  'X.5.5': 'Wrong protocol version',
  'X.6.0': 'Other or undefined media error',
  'X.6.3': 'Conversion required but not supported',
  'X.6.7': 'Non-ASCII addresses not permitted for that sender/recipient',
  'X.6.8': 'UTF-8 string reply is required, but not permitted by the SMTP client',
  'X.7.0': 'Other or undefined security status',
  'X.7.1': 'Delivery not authorized, message refused',
  'X.7.8': 'Authentication credentials invalid',
  'X.7.10': 'Encryption Needed',
  'X.7.11': 'Encryption required for requested authentication mechanism',
  'X.7.23': 'SPF validation failed',
} as const;

export type KnownDetail = keyof typeof ENHANCED_STATUS extends `X.${infer D}` ? D : never;
export type StatusClass = '2' | '4' | '5';

/** An enhanced status code such as "5.7.1" (RFC 3463 §2: class.subject.detail). */
export type EnhancedStatus = `${StatusClass}.${number}.${number}`;

export function statusClass(s: EnhancedStatus): StatusClass {
  return s[0] as StatusClass;
}

/** The RFC 3463 description of a status, or of its class when the detail is unknown to us. */
export function describeStatus(s: EnhancedStatus): string {
  const key = `X.${s.slice(2)}`;
  return key in ENHANCED_STATUS ? ENHANCED_STATUS[key as keyof typeof ENHANCED_STATUS] : ENHANCED_STATUS['X.0.0'];
}

const STATUS_RE = /^([245])\.(\d{1,3})\.(\d{1,3})$/;

/** Parses the status at the start of a reply text ("5.1.1 User unknown"), or null. */
export function parseStatus(word: string): EnhancedStatus | null {
  const m = STATUS_RE.exec(word);
  return m ? (`${m[1]}.${Number(m[2])}.${Number(m[3])}` as EnhancedStatus) : null;
}
