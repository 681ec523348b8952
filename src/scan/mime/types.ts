/**
 * What the one MIME parse of a message gives every content check (rules on headers, body, raw body
 * and URIs; Bayes tokens; URL extraction; attachment policy; antivirus): decoded header values, the
 * decoded text, the raw and rendered HTML, every leaf part with its decoded content and sniffed
 * type, nested messages, and the structural problems found on the way. Plain data only (no
 * functions, no classes besides Buffer), so that a parse can cross a worker-thread boundary.
 */

/** A mailbox of an address header, display name decoded (RFC 5322 §3.4, RFC 2047 §5). */
export interface MailboxAddress {
  readonly name: string;
  /** As written (local@domain), trimmed; may be invalid: checks judge it. */
  readonly address: string;
}

/** One field of a header section, its value decoded for reading (RFC 2047 words, 8-bit text). */
export interface DecodedField {
  /** Lower-case name. */
  readonly key: string;
  /** The value as received, unfolded (RFC 5322 §2.2.3). */
  readonly raw: string;
  /** Encoded words decoded; raw 8-bit octets read as UTF-8, else windows-1252. */
  readonly value: string;
}

/** The List-* fields (RFC 2369, RFC 2919, RFC 8058), decoded, null when absent. */
export interface ListHeaders {
  readonly id: string | null;
  readonly unsubscribe: string | null;
  readonly unsubscribePost: string | null;
  readonly post: string | null;
  readonly help: string | null;
  readonly subscribe: string | null;
  readonly owner: string | null;
  readonly archive: string | null;
}

export interface DecodedHeaders {
  /** Every field in order, duplicates kept (cardinality checks count them). */
  readonly fields: readonly DecodedField[];
  /** The first Subject, decoded; null when absent. */
  readonly subject: string | null;
  /** Mailboxes of every From field (RFC 5322 §3.6.2 allows a list; groups flattened). */
  readonly from: readonly MailboxAddress[];
  readonly sender: MailboxAddress | null;
  readonly to: readonly MailboxAddress[];
  readonly cc: readonly MailboxAddress[];
  readonly replyTo: readonly MailboxAddress[];
  /** The first Date field: its text and the time it names (ms since the epoch), null when it does not parse. */
  readonly date: { readonly raw: string; readonly time: number | null } | null;
  /** The first Message-ID, angle brackets kept; null when absent. */
  readonly messageId: string | null;
  readonly list: ListHeaders;
}

/** The real type of a part's content by its first octets, whatever it claims. */
export interface SniffedType {
  /** e.g. "application/x-msdownload", "application/zip", "text/x-shellscript". */
  readonly mime: string;
  /** e.g. "exe", "zip", "docx", "sh". */
  readonly ext: string;
}

export type PartKind = 'text' | 'html' | 'attachment' | 'message';

/** A leaf part (or a message/rfc822 container) of the message or of a nested message. */
export interface MimePart {
  /** IMAP-style part number (RFC 3501 §6.4.5): "1", "2.1"; parts of a nested message continue its path. */
  readonly path: string;
  /** Nesting depth: 0 for the body of a single-part message. */
  readonly depth: number;
  readonly kind: PartKind;
  /** Lower-case type/subtype; "text/plain" when none was given (RFC 2045 §5.2). */
  readonly contentType: string;
  /** Lower-case charset parameter, null when absent. */
  readonly charset: string | null;
  /** Lower-case Content-Transfer-Encoding; "7bit" when absent (RFC 2045 §6.1). */
  readonly transferEncoding: string;
  /** Lower-case Content-Disposition value, null when absent (RFC 2183). */
  readonly disposition: string | null;
  /** Declared filename (Content-Disposition filename, else Content-Type name), RFC 2231/2047 decoded. */
  readonly filename: string | null;
  readonly contentId: string | null;
  /** Decoded octets before the size bound. */
  readonly size: number;
  /** Decoded content, cut at the parse's decoded-size bound (empty for message containers). */
  readonly content: Buffer;
  /** `content` is shorter than `size` (or the message was cut by the scan limit inside this part). */
  readonly truncated: boolean;
  /** By magic bytes; null when nothing known matched (plain text, unknown binary). */
  readonly sniffedType: SniffedType | null;
}

/** A message/rfc822 part, parsed: its headers; its parts are in `ParsedMime.parts` under its path. */
export interface NestedMessage {
  readonly path: string;
  readonly depth: number;
  readonly headers: DecodedHeaders;
}

export const MIME_PROBLEMS = [
  'header-malformed', // a line in the header section is neither a field nor a continuation (RFC 5322 §2.2)
  'header-8bit', // raw 8-bit octets in a header field (RFC 5322 §2.2; legal only as UTF-8 under RFC 6532)
  'header-charset-unknown', // an encoded word in a charset we cannot decode (RFC 2047 §2)
  'mime-version-missing', // MIME structure without MIME-Version (RFC 2045 §4)
  'boundary-missing', // multipart without a boundary parameter (RFC 2046 §5.1.1)
  'boundary-not-found', // multipart whose boundary never appears
  'boundary-not-closed', // multipart without its close-delimiter
  'encoding-unknown', // a Content-Transfer-Encoding outside RFC 2045 §6.1
  'encoding-on-multipart', // base64 or quoted-printable on a multipart (RFC 2045 §6.4)
  'base64-invalid', // octets outside the base64 alphabet, or a length no padding explains (RFC 2045 §6.8)
  'qp-invalid', // "=" not followed by two hex digits or a line end (RFC 2045 §6.7)
  'charset-unknown', // a text part in a charset we cannot decode (read as UTF-8)
  'nesting-too-deep', // multiparts and messages nested past the bound: the deeper parts are not parsed
  'too-many-parts', // more parts than the bound: the rest are not parsed
  'decoded-size-limit', // decoded content past the bound was dropped
  'parse-error', // the splitter gave up; what was parsed until then is kept
] as const;

export type MimeProblemCode = (typeof MIME_PROBLEMS)[number];

export interface MimeProblem {
  readonly code: MimeProblemCode;
  /** Part path where it was found ("" for the top-level header). */
  readonly path: string;
  readonly detail: string;
}

export interface ParsedMime {
  /** The top-level header, decoded. */
  readonly headers: DecodedHeaders;
  /** Every text/plain leaf part decoded to a string, in order, joined with "\n" (nested messages included). */
  readonly text: string;
  /** The text/html leaf parts, decoded to strings but not rendered, joined with "\n". */
  readonly html: string;
  /** `html` rendered to the text a reader sees: no script/style, link texts kept; empty without HTML. */
  readonly htmlText: string;
  /** Every leaf part, and each message/rfc822 container, in document order. */
  readonly parts: readonly MimePart[];
  /** Parts of kind "attachment": not a text/plain or text/html body (or named/disposed as a file). */
  readonly attachments: readonly MimePart[];
  readonly nested: readonly NestedMessage[];
  /** Structural anomalies, each code once per path. */
  readonly problems: readonly MimeProblem[];
  /** The message was longer than the scan limit: only its start was parsed. */
  readonly truncated: boolean;
}

/** Bounds of one parse (time and memory follow from them and the input size). */
export interface MimeLimits {
  /** Multipart and message nesting levels parsed (deeper content is skipped). */
  readonly maxDepth: number;
  /** Leaf parts kept. */
  readonly maxParts: number;
  /** Decoded octets kept over all parts. */
  readonly maxDecodedBytes: number;
  /** Octets of HTML rendered to text. */
  readonly maxHtmlRender: number;
}

export const DEFAULT_MIME_LIMITS: MimeLimits = { maxDepth: 20, maxParts: 500, maxDecodedBytes: 10 * 1024 * 1024, maxHtmlRender: 256 * 1024 };
