import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { CreditsService, Hold } from '#modules/credits/credits.service.ts';
import type { KeysService } from '#modules/keys/keys.service.ts';
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

/** How a call ended, for its usage record. */
export interface Outcome {
  channelId: string | null;
  httpStatus: number;
  endReason: string;
  error?: string | undefined;
}

export interface BillingDeps {
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
  ) {}

  /** Holds the most the call may cost; INSUFFICIENT_CREDITS or KEY_CREDIT_CAP when it cannot be covered. */
  static async open(deps: BillingDeps, context: CallContext, price: Price, worstCase: Usage): Promise<BillingSession> {
    const amount = deps.pricing.charge(price, worstCase, context.role);
    // A model priced at zero costs nothing whatever it uses (every call has a prompt, so a non-zero
    // price rounds up to at least 1): no hold, and a spent balance or key cap does not block it.
    if (amount === 0) return new BillingSession(deps, context, price, null);
    if (context.keyId && !(await deps.keys.spend(context.keyId, amount))) throw new AppError('KEY_CREDIT_CAP');
    try {
      // The request id may come from the client, so it names the call but never keys the money.
      const hold = await deps.credits.reserve(context.userId, amount, { idempotencyKey: `call:${newId()}`, reference: context.requestId });
      return new BillingSession(deps, context, price, hold);
    } catch (error) {
      if (context.keyId) await deps.keys.unspend(context.keyId, amount);
      throw error;
    }
  }

  get held(): number {
    return this.hold?.amount ?? 0;
  }

  /** Charges the call's real usage; returns the credits charged. */
  async settle(usage: Usage, source: UsageSource, outcome: Outcome): Promise<number> {
    if (this.closed) return 0;
    this.closed = true;
    if (!this.hold) {
      await this.record(usage, 0, source, 'ok', outcome);
      return 0;
    }
    const charge = this.deps.pricing.charge(this.price, usage, this.context.role);
    await this.deps.credits.settle(this.hold.id, charge, {
      reason: `${this.context.endpoint} ${this.context.model}`,
      reference: this.context.requestId,
    });
    if (this.context.keyId && charge !== this.hold.amount) {
      if (charge > this.hold.amount) await this.deps.keys.spend(this.context.keyId, charge - this.hold.amount, true);
      else await this.deps.keys.unspend(this.context.keyId, this.hold.amount - charge);
    }
    await this.record(usage, charge, source, 'ok', outcome);
    return charge;
  }

  /** Nothing was produced (or the upstream refused): free the hold and record the failure. */
  async cancel(outcome: Outcome): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.hold) {
      await this.deps.credits.release(this.hold.id);
      if (this.context.keyId) await this.deps.keys.unspend(this.context.keyId, this.hold.amount);
    }
    await this.record({ inputTokens: 0, outputTokens: 0 }, 0, 'none', 'error', outcome);
  }

  private record(usage: Usage, credits: number, source: UsageSource, status: 'ok' | 'error', outcome: Outcome): Promise<void> {
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
    });
  }
}
