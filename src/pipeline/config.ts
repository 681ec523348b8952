/**
 * The policy's config slice (CONVENTIONS.md 3, 8): scores and hard actions per symbol, thresholds that
 * map a message's total to an action, and overrides per recipient domain or address. Defaults live
 * here only.
 */
import { z } from 'zod';
import { duration } from '../config/duration.js';

export const HARD_ACTIONS = ['reject', 'defer', 'accept', 'quarantine', 'tag'] as const;

const threshold = (what: string, def: number) =>
  z.number().min(-1000).max(1000).nullable().default(def).describe(`Score at or above which a message is ${what}; null: never`);

export const thresholdsSchema = z
  .object({
    tag: threshold('tagged (headers, optional subject prefix)', 5),
    quarantine: threshold('quarantined', 8),
    reject: threshold('rejected with 550 5.7.1', 15),
  })
  .strict();

const symbolOverride = z
  .object({
    score: z.number().min(-1000).max(1000).optional().describe('Score of the symbol (replaces its default)'),
    action: z.enum([...HARD_ACTIONS, 'none']).optional().describe('Hard action whatever the score; "none" clears a default one'),
  })
  .strict();

const symbolsSchema = z
  .record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'symbol names are upper-case letters, digits and _'), symbolOverride)
  .default({})
  .describe('Per-symbol score and action overrides; an unknown symbol name is an error');

const overrideSchema = z
  .object({
    actions: thresholdsSchema.partial().optional().describe('Thresholds for these recipients'),
    symbols: symbolsSchema.optional(),
    subjectTag: z.string().max(40).nullable().optional().describe('Subject prefix for tagged mail for these recipients'),
  })
  .strict();

export const policySchema = z
  .object({
    actions: thresholdsSchema.prefault({}).describe('Score thresholds, checked from reject down to tag'),
    symbols: symbolsSchema,
    subjectTag: z
      .string()
      .max(40)
      .nullable()
      .default(null)
      .describe('Prefix added to the Subject: of tagged mail, e.g. "[SPAM]"; null: headers only'),
    softBounce: z.boolean().default(false).describe('Turn every 5xx policy reply into the matching 4xx (safe rollout)'),
    phaseTimeout: duration('Deadline for the checks of one SMTP phase (connect, HELO, MAIL, RCPT)').prefault('30s'),
    scanTimeout: duration('Deadline for the end-of-data checks; past it the message is deferred (451)').prefault('60s'),
    scanLimit: z
      .number()
      .int()
      .min(64 * 1024)
      .max(1 << 30)
      .default(10 * 1024 * 1024)
      .describe('Octets of a message that content checks read (bigger messages are scanned in part; antivirus streams all)'),
    headers: z
      .object({
        score: z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/).default('X-Moat-Score'),
        verdict: z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/).default('X-Moat-Verdict'),
        symbols: z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/).default('X-Moat-Symbols'),
      })
      .strict()
      .prefault({})
      .describe('Names of the verdict header fields added to delivered mail'),
    overrides: z
      .record(z.string().min(1), overrideSchema)
      .default({})
      .describe('Policy per recipient domain ("example.com") or address ("ceo@example.com"); an address wins over its domain'),
  })
  .strict()
  .prefault({});

export type PolicyConfig = z.infer<typeof policySchema>;
export type Thresholds = z.infer<typeof thresholdsSchema>;
export type SymbolOverrides = z.infer<typeof symbolsSchema>;
