/**
 * The rules check's config slice (`checks.rules`): Moat's shipped rule set, the operator's own
 * `.cf` files and a SpamAssassin rules directory, which score set of SA's four-valued `score`
 * lines to use, and the time budget of one message's rule pass. Defaults live here only.
 */
import { z } from 'zod';
import { checkCommon } from '../../checks/options.js';
import { duration } from '../../config/duration.js';

const path = z.string().min(1).regex(/^\//, 'an absolute path');

export const rulesSchema = z
  .object({
    ...checkCommon,
    shipped: z.boolean().default(true).describe("Load Moat's own rule set (rules/moat/*.cf in the package, rules named MOAT_*)"),
    files: z.array(path).default([]).describe('Operator rule files in SpamAssassin .cf syntax, loaded after the shipped set and the SpamAssassin directory (a later definition of a name wins)'),
    spamassassinDir: path
      .nullable()
      .default(null)
      .describe('A SpamAssassin rules directory (e.g. /usr/share/spamassassin or /var/lib/spamassassin/4.000001/updates_spamassassin_org) whose *.cf files are loaded in name order; rules Moat cannot run are skipped and counted'),
    scoreSet: z
      .union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)])
      .default(3)
      .describe("Which of SA's four scores to use for `score` lines with four values: 0 no Bayes and no network tests, 1 network, 2 Bayes, 3 Bayes and network (Moat runs both as checks of its own)"),
    budget: duration('Time budget of the rule pass for one message; past it the pass stops with RULES_BUDGET_EXCEEDED (a transient finding, score 0)').prefault('500ms'),
    threads: z.number().int().min(1).max(4).default(1).describe('Rule threads per worker process (the rule pass runs off the event loop, one message per thread at a time)'),
  })
  .strict()
  .prefault({})
  .describe('rules: header/body/rawbody/full/uri/meta rules in SpamAssassin .cf syntax (docs/rules.md)');

export type RulesConfig = z.infer<typeof rulesSchema>;
