import type { Hold } from '#modules/credits/credits.service.ts';
import type { Price, Usage } from '#modules/pricing/price.ts';
import type { CountedAllowance } from '#modules/ratelimit/rate-limiter.ts';
import type { UsageSource } from '#modules/usage/usage.tables.ts';
import { admit, type AdmissionDeps, type CallTerms } from './admission.ts';
import { BillingSession, type BillingDeps } from './bill.ts';
import type { CallContext, CallEnd } from './call.ts';

/**
 * A paid call of the asynchronous kind: a job accepted now and paid when it finishes later (an image
 * generation). Its hold is taken when the job is accepted, with a deadline past the job's own, and is
 * settled exactly once when the job ends — from whichever request, poller or instance sees the end;
 * across restarts too, since everything the settle needs is in the `HeldJob` kept with the job. Until
 * then the credits stay held, so concurrent calls cannot spend them. See docs/metering.md.
 */
export interface HeldJob {
  /** The hold; its id also names the job's usage record, so settling twice records once. */
  hold: Hold | null;
  keyCapped: boolean;
  /** Who called what (a job is never streamed, and its latency runs from `acceptedAt`). */
  context: Omit<CallContext, 'stream' | 'startedAt'>;
  price: Price;
  /** When the job was accepted (epoch ms): its record's latency runs from here. */
  acceptedAt: number;
  /**
   * The plan's credits and images allowance counters taken at admission: corrected to what the job was
   * charged and produced when it settles (RateLimiter.correctAllowances). Absent: none (or an older row).
   */
  allowances?: CountedAllowance[];
}

/**
 * Accepts a job: its rate limits are counted (a request, no concurrency slot: the job runs on without
 * a connection) and its worst case is held until `holdMs` from now (past the job's own time limit: the
 * sweeper frees it only if nobody ever settles it).
 */
export async function holdJob(
  deps: AdmissionDeps,
  terms: CallTerms,
  holdMs: number,
  reply: { headers(values: Record<string, string>): unknown },
): Promise<HeldJob> {
  const metered = await admit(deps, { ...terms, holdMs }, reply);
  // The request is counted; the job holds no slot while it runs.
  await metered.limits.finish(terms.expectedTokens);
  // The context as admitted: with the plan's multiplier, which the settle prices by too.
  const { requestId, userId, keyId, role, endpoint, model, planMultiplierPermille } = metered.context;
  return {
    hold: metered.hold,
    keyCapped: terms.key !== null && terms.key.creditCap !== null,
    context: {
      requestId,
      userId,
      keyId,
      role,
      endpoint,
      model,
      ...(planMultiplierPermille !== undefined ? { planMultiplierPermille } : {}),
    },
    price: terms.price,
    acceptedAt: deps.clock.now(),
    ...(metered.limits.counted.length > 0 ? { allowances: [...metered.limits.counted] } : {}),
  };
}

/** Charges a finished job what it used (never more than its hold); answers the credits charged. */
export function settleJob(
  deps: BillingDeps,
  job: HeldJob,
  usage: Usage,
  source: UsageSource,
  end: CallEnd,
): Promise<number> {
  return sessionOf(deps, job).settle(usage, source, end);
}

/** A job that failed, was cancelled or timed out: its hold is freed, its record says why. */
export function cancelJob(deps: BillingDeps, job: HeldJob, end: CallEnd): Promise<void> {
  return sessionOf(deps, job).cancel(end);
}

function sessionOf(deps: BillingDeps, job: HeldJob): BillingSession {
  const context = {
    ...job.context,
    stream: false,
    startedAt: performance.now() - Math.max(0, deps.clock.now() - job.acceptedAt),
  };
  return BillingSession.resume(deps, context, job.price, job.hold, job.keyCapped);
}
