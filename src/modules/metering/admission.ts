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
import { allowsModel, type ActivePlan } from '#modules/plans/plans.model.ts';
import type { AllowanceAsk } from '#modules/ratelimit/allowances.ts';
import type { Role } from '#modules/users/users.tables.ts';
import { affordableOutput } from './affordable.ts';
import { BillingSession, spendable, type BillingDeps } from './bill.ts';
import type { CallsInFlight } from './calls-in-flight.ts';
import type { CallContext, CallEnd, Overrun } from './call.ts';

/** The user's current plan, read on every paid call (cached; see PlansService). */
export interface PlanLookup {
  activePlan(userId: string): Promise<ActivePlan | null>;
}

export interface AdmissionDeps extends BillingDeps {
  limiter: RateLimiter;
  /** Absent: no plans (their allowances, models, limits and multiplier) apply. */
  plans?: PlanLookup;
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
 * Admits a paid call: its user's plan allows the model, the rate limits of the user (the plan's when it
 * overrides them) and of the key, and the plan's allowances, allow it (one atomic step), and its worst
 * case is held. Anything refused here costs nothing and takes nothing. See docs/plans.md.
 */
export async function admit(
  deps: AdmissionDeps,
  terms: CallTerms,
  reply: { headers(values: Record<string, string>): unknown },
): Promise<MeteredCall> {
  const { key } = terms;
  const plan = deps.plans ? await deps.plans.activePlan(terms.context.userId) : null;
  let context = terms.context;
  if (plan) {
    if (!allowsModel(plan.terms, context.model))
      throw new AppError('PLAN_MODEL_NOT_ALLOWED', { plan: plan.name, model: context.model });
    if (plan.terms.multiplierPermille !== 1000)
      context = { ...context, planMultiplierPermille: plan.terms.multiplierPermille };
  }
  const userLimits = plan?.terms.rateLimits ?? deps.roleLimits[context.role];
  const scopes: LimitScope[] = [{ kind: 'user', id: context.userId, limits: userLimits }];
  if (key) scopes.push({ kind: 'key', id: key.keyId, limits: keyLimits(key) });
  const ask = plan && plan.terms.allowances.length > 0 ? allowanceAsk(deps, terms, context, plan) : undefined;
  let limits: Admission;
  try {
    limits = await deps.limiter.admit(scopes, terms.expectedTokens, ask);
  } catch (error) {
    if (error instanceof RateLimitExceeded) reply.headers(error.headers);
    throw error;
  }
  reply.headers(limits.headers);
  let billing: BillingSession;
  try {
    billing = await hold(deps, terms, context, limits.allowance);
  } catch (error) {
    // Refused for money: a refused request takes nothing, not even a place in the rate limits.
    await limits.refund();
    throw error;
  }
  // A credits allowance is corrected by what the call is charged: known as the settle's write begins.
  const countsCredits = limits.allowance.credits !== undefined;
  return {
    context,
    limits,
    hold: billing.heldCredits,
    // The slots are freed, and the allowances corrected, while the money is written (one wait, not two);
    // both are done before the answer. A credits allowance is corrected by the charge being written.
    settle: (usage, source, end) => {
      const tokens = usage.inputTokens + usage.outputTokens;
      if (!countsCredits) return bothDone(billing.settle(usage, source, end), limits.finish(tokens));
      let correcting: Promise<void> | undefined; // never rejects (the limiter's give-backs are quiet)
      const written = billing.settle(usage, source, end, (charge) => {
        correcting = limits.finish(tokens, charge);
      });
      return written.then(async (charged) => {
        await (correcting ?? limits.finish(tokens, charged));
        return charged;
      });
    },
    // Nothing charged: the call was not served, and takes nothing of the plan's requests allowance.
    cancel: (end) => bothDone(billing.cancel(end), limits.finish(0, 0, false)),
    finish: async () => {
      billing.letGo();
      if (!billing.closed)
        await billing.cancel({ channelId: null, httpStatus: 500, endReason: 'internal_error' }).catch(() => undefined);
      await limits.finish(0, 0, false);
    },
  };
}

/**
 * What the call asks of its plan's allowances: its worst case (tokens, credits) at most and, for a call
 * that can be cut short, its prompt and one output token per answer at least (docs/plans.md).
 */
function allowanceAsk(deps: AdmissionDeps, terms: CallTerms, context: CallContext, plan: ActivePlan): AllowanceAsk {
  const { worstCase, cut, holdCredits, price } = terms;
  const tokensMost = worstCase.inputTokens + worstCase.outputTokens;
  const tokens = { most: tokensMost, least: cut ? worstCase.inputTokens + cut.answers : tokensMost };
  let credits = { most: 0, least: 0 };
  if (plan.terms.allowances.some((a) => a.metric === 'credits')) {
    const cost = (usage: Usage) => BillingSession.cost(deps, context, price, usage);
    if (holdCredits) credits = { most: holdCredits.most, least: Math.min(holdCredits.most, holdCredits.least) };
    else {
      const most = cost(worstCase);
      credits = { most, least: cut ? cost({ ...worstCase, outputTokens: cut.answers }) : most };
    }
  }
  return { userId: context.userId, allowances: plan.terms.allowances, tokens, credits, images: worstCase.images ?? 0 };
}

/** How much to hold, and the output per answer it covers when the call is cut short. */
interface Fit {
  amount: number;
  perAnswer?: number;
}

/**
 * Holds the call's worst case. When that is more than the caller can cover — their balance, or what
 * their plan's allowances left (`cap`) — and the call can be cut short, its output is limited to what
 * they can afford and that is held instead: the charge can then never pass the hold, so the balance
 * never goes below zero and no allowance is passed. A call that cannot afford even one output token is
 * refused as before (402).
 */
async function hold(
  deps: AdmissionDeps,
  terms: CallTerms,
  context: CallContext,
  cap: Admission['allowance'],
): Promise<BillingSession> {
  const { key, price, worstCase, overrun, cut, holdCredits } = terms;
  const keyCapped = key !== null && key.creditCap !== null;
  const open = (amount: number) => BillingSession.open(deps, context, price, amount, keyCapped, overrun, terms.holdMs);
  const cost = (usage: Usage) => BillingSession.cost(deps, context, price, usage);
  const fullPerAnswer = cut ? Math.floor(worstCase.outputTokens / cut.answers) : 0;
  // A tokens allowance may leave room for fewer output tokens than the call could write.
  const maxPerAnswer =
    cut && cap.tokens !== undefined
      ? Math.min(fullPerAnswer, Math.floor((cap.tokens - worstCase.inputTokens) / cut.answers))
      : fullPerAnswer;
  const fit = (budget: number): Fit | null => {
    if (holdCredits) {
      if (holdCredits.most <= budget) return { amount: holdCredits.most };
      return budget >= Math.max(1, holdCredits.least) ? { amount: budget } : null;
    }
    if (!cut) {
      const amount = cost(worstCase);
      return amount <= budget ? { amount } : null;
    }
    const costOf = (perAnswer: number) => cost({ ...worstCase, outputTokens: perAnswer * cut.answers });
    let perAnswer = maxPerAnswer;
    if (perAnswer >= 1 && costOf(perAnswer) > budget) perAnswer = affordableOutput(costOf, perAnswer, budget);
    return perAnswer < 1 ? null : { amount: costOf(perAnswer), perAnswer };
  };
  const apply = (chosen: Fit) => {
    if (cut && chosen.perAnswer !== undefined && chosen.perAnswer < fullPerAnswer) cut.limitOutput(chosen.perAnswer);
    return open(chosen.amount);
  };
  const first = fit(cap.credits ?? Number.POSITIVE_INFINITY);
  // What the allowances left was taken at least as big as the least the call needs: this is a safeguard.
  if (!first) throw new AppError('INSUFFICIENT_CREDITS');
  try {
    return await apply(first);
  } catch (error) {
    const refusedForMoney =
      error instanceof AppError && (error.code === 'INSUFFICIENT_CREDITS' || error.code === 'KEY_CREDIT_CAP');
    if (!refusedForMoney || (!cut && !holdCredits)) throw error;
    const budget = Math.min(
      await spendable(deps, context.userId, keyCapped ? context.keyId : null),
      cap.credits ?? Number.POSITIVE_INFINITY,
    );
    const second = fit(budget);
    if (!second) throw error;
    return apply(second);
  }
}

/** `work`'s result once `alongside` (which never throws) has finished too. */
async function bothDone<T>(work: Promise<T>, alongside: Promise<void>): Promise<T> {
  const [done] = await Promise.allSettled([work, alongside]);
  if (done.status === 'rejected') throw done.reason;
  return done.value;
}
