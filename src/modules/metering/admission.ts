import { AppError } from '#core/errors.ts';
import type { ChannelsService } from '#modules/channels/channels.service.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Price, Usage } from '#modules/pricing/price.ts';
import { RateLimitExceeded, type Admission, type LimitScope, type Limits, type RateLimiter } from '#modules/ratelimit/rate-limiter.ts';
import type { Role } from '#modules/users/users.tables.ts';
import type { UsageSource } from '#modules/usage/usage.tables.ts';
import { BillingSession, type BillingDeps, type CallContext, type Outcome } from './bill.ts';

export interface AdmissionDeps extends BillingDeps {
  channels: ChannelsService;
  limiter: RateLimiter;
  roleLimits: Record<Role, Limits>;
}

/**
 * A call that passed admission: its hold is open and its rate-limit slots are taken. Exactly one of
 * `settle` or `cancel` closes it, before the client is answered (so an answer is only ever sent once
 * the money is durable and the slots are free); `release` in a `finally` frees the slots if neither
 * ran to the end (the hold sweeper closes a hold a crash left).
 */
export interface AdmittedCall {
  price: Price;
  limits: Admission;
  settle(usage: Usage, source: UsageSource, outcome: Outcome): Promise<number>;
  cancel(outcome: Outcome): Promise<void>;
  release(): Promise<void>;
}

/** A key's own limits tighten its owner's role limits; they never loosen them (0/null = no limit of its own). */
function keyLimits(key: ResolvedKey): Limits {
  return { rpm: key.limits.rpm ?? 0, tpm: key.limits.tpm ?? 0, concurrency: key.limits.concurrency ?? 0, rpd: key.limits.rpd ?? 0 };
}

/**
 * Everything a metered model call must pass before the upstream is called, in order: the key may use
 * the model, a channel serves it, it has a price, a channel for it is up, then `admitPriced`.
 * Anything refused here costs nothing and leaves no hold.
 */
export async function admit(
  deps: AdmissionDeps,
  key: ResolvedKey,
  context: CallContext,
  worstCase: Usage,
  reply: { headers(values: Record<string, string>): unknown },
): Promise<AdmittedCall> {
  if (key.allowedModels && !key.allowedModels.has(context.model)) throw new AppError('MODEL_NOT_FOUND', { model: context.model });
  if (!deps.channels.serves(context.model)) throw new AppError('MODEL_NOT_FOUND', { model: context.model });
  const price = deps.pricing.priceOf(context.model);
  if (!price) throw new AppError('MODEL_NOT_PRICED', { model: context.model });
  // Served, but every channel for it is out until a probe finds one healthy: try again later.
  if (deps.channels.candidates(context.model).length === 0) throw new AppError('UPSTREAM_UNAVAILABLE');
  return admitPriced(deps, key, context, price, worstCase, reply);
}

/**
 * The part every metered call shares, whatever it calls: the rate limits of the user (and of the key,
 * for a key's call) allow it, and the worst case at `price` is held. `key` is null for a signed-in
 * user's own call (the Dify proxy takes sessions too).
 */
export async function admitPriced(
  deps: AdmissionDeps,
  key: ResolvedKey | null,
  context: CallContext,
  price: Price,
  worstCase: Usage,
  reply: { headers(values: Record<string, string>): unknown },
): Promise<AdmittedCall> {
  const scopes: LimitScope[] = [{ kind: 'user', id: context.userId, limits: deps.roleLimits[context.role] }];
  if (key) scopes.push({ kind: 'key', id: key.keyId, limits: keyLimits(key) });
  let limits: Admission;
  try {
    limits = await deps.limiter.admit(scopes, worstCase.inputTokens + worstCase.outputTokens);
  } catch (error) {
    if (error instanceof RateLimitExceeded) reply.headers(error.headers);
    throw error;
  }
  reply.headers(limits.headers);
  try {
    const billing = await BillingSession.open(deps, context, price, worstCase, key !== null && key.creditCap !== null);
    return {
      price,
      limits,
      // The slots are freed while the money is written (one wait, not two); both are done before the answer.
      settle: (usage, source, outcome) => bothDone(billing.settle(usage, source, outcome), limits.release(usage.inputTokens + usage.outputTokens)),
      cancel: (outcome) => bothDone(billing.cancel(outcome), limits.release(0)),
      release: () => {
        billing.release();
        return limits.release(0);
      },
    };
  } catch (error) {
    // Refused for money: a refused request takes nothing, not even a place in the rate limits.
    await limits.refund();
    throw error;
  }
}

/** `work`'s result once `alongside` (which never throws) has finished too. */
async function bothDone<T>(work: Promise<T>, alongside: Promise<void>): Promise<T> {
  const [done] = await Promise.allSettled([work, alongside]);
  if (done.status === 'rejected') throw done.reason;
  return done.value;
}
