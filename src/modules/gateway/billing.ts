import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import type { GroupCommit } from '#core/db/group-commit.ts';
import type { DB } from '#core/db/schema.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { CreditsService, Hold } from '#modules/credits/credits.service.ts';
import type { KeysService, ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Price, Usage } from '#modules/pricing/price.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import type { UsageSource } from '#modules/usage/usage.tables.ts';
import type { Role } from '#modules/users/users.tables.ts';

/** Who is calling what: fixed for the life of one metered call. */
export interface CallContext {
  /** The request id (x-request-id), for tracing; possibly chosen by the client. */
  requestId: string;
  userId: string;
  keyId: string | null;
  role: Role;
  endpoint: string;
  model: string;
  stream: boolean;
  /** performance.now() when the call began, for its latency. */
  startedAt: number;
}

/** The context of a call to `endpoint`; the body must name a model. */
export function callContext(request: { id: string }, key: ResolvedKey, endpoint: string, model: unknown, stream: boolean): CallContext {
  if (typeof model !== 'string' || model.length === 0) throw new AppError('VALIDATION_FAILED', { detail: 'model is required' });
  return { requestId: request.id, userId: key.userId, keyId: key.keyId, role: key.role, endpoint, model, stream, startedAt: performance.now() };
}

/** How a call ended, for its usage record. */
export interface Outcome {
  channelId: string | null;
  httpStatus: number;
  endReason: string;
  error?: string | undefined;
}

export interface BillingDeps {
  /** Every money write of a call goes through it: concurrent calls share commits. */
  group: GroupCommit;
  credits: CreditsService;
  keys: KeysService;
  pricing: PricingService;
  usage: UsageService;
  clock: Clock;
}

/**
 * One billing session per call (money rules 3-5): a hold before the upstream is called, then exactly
 * one of `settle` (charge what the usage costs, free the rest) or `cancel` (charge nothing). Both write
 * the usage record. Whatever happens, the hold is closed once.
 */
export class BillingSession {
  private closed = false;

  private constructor(
    private readonly deps: BillingDeps,
    readonly context: CallContext,
    private readonly price: Price,
    /** None for a free call: its price is zero, so it can move no money. */
    private readonly hold: Hold | null,
    /** The key has a credit cap, whose counter moves with the hold (uncapped keys keep none). */
    private readonly keyCapped: boolean,
  ) {}

  /** Holds the most the call may cost; INSUFFICIENT_CREDITS or KEY_CREDIT_CAP when it cannot be covered. */
  static async open(deps: BillingDeps, context: CallContext, price: Price, worstCase: Usage, keyCapped: boolean): Promise<BillingSession> {
    const amount = deps.pricing.charge(price, worstCase, context.role);
    // A model priced at zero costs nothing whatever it uses (every call has a prompt, so a non-zero
    // price rounds up to at least 1): no hold, and a spent balance or key cap does not block it.
    if (amount === 0) return new BillingSession(deps, context, price, null, false);
    // The key's cap and the user's credits are held together, in one transaction: both or neither.
    // Rows are always locked in the order hold → account → key (here and in settle), so concurrent
    // transactions on PostgreSQL and MySQL never deadlock on each other.
    const hold = await deps.group.run(async (trx) => {
      // The request id may come from the client, so it names the call but never keys the money.
      const held = await deps.credits.reserveIn(trx, context.userId, amount, { idempotencyKey: `call:${newId()}`, reference: context.requestId });
      if (keyCapped && context.keyId && !(await deps.keys.spend(context.keyId, amount, false, trx))) throw new AppError('KEY_CREDIT_CAP');
      return held;
      // Without a cap on the key nothing can refuse after the hold is written, so no savepoint is needed.
    }, { savepoint: keyCapped });
    return new BillingSession(deps, context, price, hold, keyCapped);
  }

  get held(): number {
    return this.hold?.amount ?? 0;
  }

  /**
   * Charges the call's real usage; returns the credits charged. The ledger row, the balance, the key's
   * cap and the usage record are written in one transaction.
   */
  async settle(usage: Usage, source: UsageSource, outcome: Outcome): Promise<number> {
    if (this.closed) return 0;
    this.closed = true;
    const hold = this.hold;
    if (!hold) {
      await this.deps.group.run((trx) => this.record(trx, usage, 0, source, 'ok', outcome), { savepoint: false });
      return 0;
    }
    const charge = this.deps.pricing.charge(this.price, usage, this.context.role);
    return this.deps.group.run(async (trx) => {
      const result = await this.deps.credits.settleIn(trx, hold.id, charge, {
        reason: `${this.context.endpoint} ${this.context.model}`,
        reference: this.context.requestId,
      });
      const keyId = this.keyCapped ? this.context.keyId : null;
      if (keyId && result.applied && charge !== hold.amount) {
        if (charge > hold.amount) await this.deps.keys.spend(keyId, charge - hold.amount, true, trx);
        else await this.deps.keys.unspend(keyId, hold.amount - charge, trx);
      }
      await this.record(trx, usage, result.charged, source, 'ok', outcome);
      return result.charged;
    }, { savepoint: false });
  }

  /** Nothing was produced (or the upstream refused): free the hold and record the failure, together. */
  async cancel(outcome: Outcome): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const hold = this.hold;
    await this.deps.group.run(async (trx) => {
      if (hold && (await this.deps.credits.releaseIn(trx, hold.id)) && this.keyCapped && this.context.keyId) {
        await this.deps.keys.unspend(this.context.keyId, hold.amount, trx);
      }
      await this.record(trx, { inputTokens: 0, outputTokens: 0 }, 0, 'none', 'error', outcome);
    }, { savepoint: false });
  }

  private record(trx: Kysely<DB>, usage: Usage, credits: number, source: UsageSource, status: 'ok' | 'error', outcome: Outcome): Promise<void> {
    const now = this.deps.clock.now();
    return this.deps.usage.record({
      id: newId(now),
      request_id: this.context.requestId,
      user_id: this.context.userId,
      key_id: this.context.keyId,
      channel_id: outcome.channelId,
      endpoint: this.context.endpoint,
      model: this.context.model,
      stream: this.context.stream ? 1 : 0,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      credits,
      latency_ms: Math.max(0, Math.round(performance.now() - this.context.startedAt)),
      status,
      http_status: outcome.httpStatus,
      end_reason: outcome.endReason.slice(0, 32),
      usage_source: source,
      error: outcome.error?.slice(0, 255) ?? null,
      created_at: now,
    }, trx);
  }
}
