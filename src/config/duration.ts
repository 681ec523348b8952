/** Durations in config: a number of seconds, or a string such as "90s", "5m", "4h", "5d". */
import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

/** A duration, given as seconds or a string with a unit; parsed to milliseconds. */
export const duration = (description: string) =>
  z
    .union([z.number().nonnegative(), z.string()])
    .transform((v, ctx) => {
      const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as "30s", "5m", "4h" or "5d", got "${v}"` });
        return z.NEVER;
      }
      return ms;
    })
    .describe(description);

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
