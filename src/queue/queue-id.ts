/**
 * Queue ids: sortable by arrival (time first), unique across workers and restarts (random part),
 * safe as file names and in log searches. Example: "MB3K5Q2A7F4D9E1C".
 */
import { randomBytes } from 'node:crypto';

export function newQueueId(now: number): string {
  return `${now.toString(36).toUpperCase().padStart(9, '0')}${randomBytes(4).toString('hex').toUpperCase()}`;
}

export const QUEUE_ID_RE = /^[0-9A-Z]{9}[0-9A-F]{8}$/;
