import { AppError } from '#core/errors.ts';
import type { Hold } from '#modules/credits/credits.service.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Price, Usage } from '#modules/pricing/price.ts';
import {
  RateLimitExceeded,
  type Admission,
  type LimitScope,
  type Limits,
  type RateLimiter,
} from '#modules/ratelimit/rate-limiter.ts';
import type { UsageSource } from '#modules/usage/usage.tables.ts';
import type { Role } from '#modules/users/users.tables.ts';
import { affordableOutput } from './affordable.ts';
import { BillingSession, spendable, type BillingDeps } from './bill.ts';
import type { CallsInFlight } from './calls-in-flight.ts';
import type { CallContext, CallEnd, Overrun } from './call.ts';

export interface AdmissionDeps extends BillingDeps {
  limiter: RateLimiter;
  roleLimits: Record<Role, Limits>;
  /** The calls running here, let finish (or cut and billed) when the app closes. */
  inFlight: CallsInFlight;
}

/**
 * What a paid call asks to be admitted with: who calls, its price, the most it may use (held), and
 * what its cost beyond the hold is done with.
 */
export interface CallTerms {
  context: CallContext;
  /** Null for a signed-in user's own call (the Dify proxy takes sessions too). */
  key: ResolvedKey | null;
  price: Price;
  /** The most the call may use: its cost is held. */
  worstCase: Usage;
  /**
   * Credits to hold instead, for a kind that cannot bound what it uses (Dify): `most`, or when the
   * caller cannot cover that, whatever they can spend, down to `least` (what the call costs at the
   * least). Such a call is charged in full (its overrun is `charged`).
   */
  holdCredits?: { most: number; least: number };
  /** Tokens counted against tokens-per-minute limits until the call ends (then corrected to its real use). */
  expectedTokens: number;
  overrun: Overrun;
  /**
   * How long the hold may stay open without being renewed: set for a job, which runs on after its
   * request (see jobs.ts); a call's hold is kept alive while it runs instead.
   */
  holdMs?: number;
  /** Present when the call may be cut short: its output is then limited to what the balance affords. */
  cut?: OutputCut;
}

/** A call whose output can be limited (the request set no limit of its own): see docs/money.md. */
export interface OutputCut {
  /** Answers the output is shared by (`n` choices of each prompt): `worstCase.outputTokens` is per answer × answers. */
  answers: number;
  /** Tells the upstream to write at most `perAnswer` output tokens per answer. */
  limitOutput(perAnswer: number): void;
}

/**
 * A paid call that passed admission: its hold is open and its rate-limit slots are taken. Exactly one
 * of `settle` or `cancel` closes it, before the client is answered (so an answer is only ever sent once
 * the money is durable and the slots are free); `finish`, in a `finally`, ends whatever is left open.
 */
export interface MeteredCall {
  readonly context: CallContext;
  readonly limits: Admission;
  /** The credits held (none for a free call). */
  readonly hold: Hold | null;
  settle(usage: Usage, source: UsageSource, end: CallEnd): Promise<number>;
  cancel(end: CallEnd): Promise<void>;
  /**
   * The call is over: its slots are given back, and a hold that neither `settle` nor `cancel` began
   * to close (a fault in between) is cancelled, so no hold waits for the sweeper.
   */
  finish(): Promise<void>;
}

/** A key's own limits tighten its owner's role limits; they never loosen them (0/null = no limit of its own). */
function keyLimits(key: ResolvedKey): Limits {
  return {
    rpm: key.limits.rpm ?? 0,
    tpm: key.limits.tpm ?? 0,
    concurrency: key.limits.concurrency ?? 0,
    rpd: key.limits.rpd ?? 0,
  };
}

/**
 * Admits a paid call: the rate limits of the user (and of the key, for a key's call) allow it, and its
 * worst case is held. Anything refused here costs nothing and takes nothing.
 */
export async function admit(
  deps: AdmissionDeps,
  terms: CallTerms,
  reply: { headers(values: Record<string, string>): unknown },
): Promise<MeteredCall> {
  const { context, key } = terms;
  const scopes: LimitScope[] = [{ kind: 'user', id: context.userId, limits: deps.roleLimits[context.role] }];
  if (key) scopes.push({ kind: 'key', id: key.keyId, limits: keyLimits(key) });
  let limits: Admission;
  try {
    limits = await deps.limiter.admit(scopes, terms.expectedTokens);
  } catch (error) {
    if (error instanceof RateLimitExceeded) reply.headers(error.headers);
    throw error;
  }
  reply.headers(limits.headers);
  let billing: BillingSession;
  try {
    billing = await hold(deps, terms);
  } catch (error) {
    // Refused for money: a refused request takes nothing, not even a place in the rate limits.
    await limits.refund();
    throw error;
  }
  return {
    context,
    limits,
    hold: billing.heldCredits,
    // The slots are freed while the money is written (one wait, not two); both are done before the answer.
    settle: (usage, source, end) =>
      bothDone(billing.settle(usage, source, end), limits.finish(usage.inputTokens + usage.outputTokens)),
    cancel: (end) => bothDone(billing.cancel(end), limits.finish(0)),
    finish: async () => {
      billing.letGo();
      if (!billing.closed)
        await billing.cancel({ channelId: null, httpStatus: 500, endReason: 'internal_error' }).catch(() => undefined);
      await limits.finish(0);
    },
  };
}

/**
 * Holds the call's worst case. When that is more than the caller can cover and the call can be cut
 * short, its output is limited to what the caller can afford and that is held instead: the charge can
 * then never pass the hold, so the balance never goes below zero. A call that cannot afford even one
 * output token is refused as before (402).
 */
async function hold(deps: AdmissionDeps, terms: CallTerms): Promise<BillingSession> {
  const { context, key, price, worstCase, overrun } = terms;
  const keyCapped = key !== null && key.creditCap !== null;
  const open = (amount: number) => BillingSession.open(deps, context, price, amount, keyCapped, overrun, terms.holdMs);
  try {
    return await open(terms.holdCredits?.most ?? BillingSession.cost(deps, context, price, worstCase));
  } catch (error) {
    const refusedForMoney =
      error instanceof AppError && (error.code === 'INSUFFICIENT_CREDITS' || error.code === 'KEY_CREDIT_CAP');
    const { cut, holdCredits } = terms;
    if (!refusedForMoney || (!cut && !holdCredits)) throw error;
    const budget = await spendable(deps, context.userId, keyCapped ? context.keyId : null);
    if (holdCredits) {
      if (budget < Math.max(1, holdCredits.least)) throw error;
      return open(budget);
    }
    if (!cut) throw error;
    const costOf = (perAnswer: number) =>
      BillingSession.cost(deps, context, price, { ...worstCase, outputTokens: perAnswer * cut.answers });
    const perAnswer = affordableOutput(costOf, Math.floor(worstCase.outputTokens / cut.answers), budget);
    if (perAnswer < 1) throw error;
    cut.limitOutput(perAnswer);
    return open(costOf(perAnswer));
  }
}

/** `work`'s result once `alongside` (which never throws) has finished too. */
async function bothDone<T>(work: Promise<T>, alongside: Promise<void>): Promise<T> {
  const [done] = await Promise.allSettled([work, alongside]);
  if (done.status === 'rejected') throw done.reason;
  return done.value;
}
