/**
 * Delivery status notifications (RFC 3464 multipart/report, RFC 3461 NOTIFY/RET rules, RFC 6533 for
 * SMTPUTF8 originals). Pure functions: the queue decides with shouldNotify/isBounceable, reads as
 * much of the original as returnedContent says, builds, and spools the result from "<>".
 * Entry point only; each file below states what it trusts and how it fails.
 */
export { buildDsn, buildDsnChunks, headerBlock } from './build-dsn.js';
export { DsnInputError } from './dsn-input.js';
export type { Dsn, DsnAction, DsnChunks, DsnInput, DsnRecipient } from './dsn-input.js';
export { isBounceable, returnedContent, shouldNotify } from './notify.js';
export type { DsnKind, DsnNotify, DsnRet } from './notify.js';
