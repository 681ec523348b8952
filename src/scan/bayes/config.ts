/**
 * Config slice `checks.bayes`: the learned token classifier and its token database.
 * Schema only (zod and small parsing helpers), so the config schema loads no check implementation.
 */
import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { checkCommon } from '../../checks/options.js';

export const bayesSchema = z
  .object({
    ...checkCommon,
    failOpen: z.boolean().default(true).describe('A store failure is logged and the message scored without Bayes (default: Bayes only scores, it must not stop mail)'),
    store: z
      .string()
      .regex(/^sqlite:/, 'expected "sqlite:" or "sqlite:/path/to/bayes.db"')
      .default('sqlite:')
      .describe('Token database: "sqlite:" = dataDir/bayes.db, or "sqlite:PATH" (apart from `state`: it is bigger, learned by `moat learn`, and expired on its own schedule). Not used with `state: redis://…`: the tokens are then the cluster\'s, in that Redis'),
    minSpam: z.number().int().min(1).default(200).describe('Spam messages that must have been learned before Bayes reports anything'),
    minHam: z.number().int().min(1).default(200).describe('Ham messages that must have been learned before Bayes reports anything'),
    autoLearn: z
      .object({
        spamAbove: z.number().default(12).describe('Learn as spam a message whose score without Bayes symbols is at least this'),
        hamBelow: z.number().default(-1).describe('Learn as ham a message whose score without Bayes symbols is at most this'),
      })
      .strict()
      .nullable()
      .default(null)
      .describe('Learn confident verdicts automatically (off: null). Risk: a wrong confident verdict is learned and reinforces itself; mail an attacker shapes to score low is learned as ham'),
    expiry: z
      .object({
        maxAge: duration('Rare tokens last learned longer ago than this are removed').prefault('90d'),
        rareBelow: z.number().int().min(1).default(3).describe('A token is rare when fewer learned messages contained it'),
        maxTokens: z.number().int().min(1000).default(1_000_000).describe('At most this many tokens are kept (the least recently learned go)'),
      })
      .strict()
      .prefault({})
      .describe('Expiry of the token database (daily in the gateway, and `moat learn --expire`)'),
  })
  .strict()
  .prefault({})
  .describe('bayes: learned spam probability (SpamBayes/SpamAssassin-style token classifier); learn with `moat learn`');
export type BayesConfig = z.infer<typeof bayesSchema>;
