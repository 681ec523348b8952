/**
 * The SMTP reply for a pipeline decision: the deciding symbol's own reply when it has one, otherwise
 * the default for the phase and action. Texts are short and generic; symbol details go to logs only.
 * A defer is always 4xx, whatever the symbol's reply maker says, and soft bounce turns 5xx into 4xx.
 */
import * as R from '../smtp/reply.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { Policy, ScoredFinding } from './policy.js';
import type { Phase } from './types.js';

function defaultReply(action: 'reject' | 'defer', phase: Phase): SmtpReply {
  if (phase === 'connect') return action === 'reject' ? R.connectionRefused() : R.connectionDeferred();
  return action === 'reject' ? R.policyRejected() : R.tryLater();
}

export function decisionReply(policy: Policy, action: 'reject' | 'defer', because: ScoredFinding | null, phase: Phase): SmtpReply {
  const maker = because ? policy.symbol(because.symbol)?.reply : undefined;
  let reply = (because && maker?.(action, because, phase)) ?? defaultReply(action, phase);
  if (action === 'defer' && !R.isTransient(reply)) reply = defaultReply('defer', phase);
  return policy.softBounce ? R.softened(reply) : reply;
}
