import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { retry, doubling } from '#core/retry.ts';
import type { CreditsService, Hold } from '#modules/credits/credits.service.ts';
import type { KeysService } from '#modules/keys/keys.service.ts';
import type { Price, Usage } from '#modules/pricing/price.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';
import type { UsageRow, UsageSource } from '#modules/usage/usage.tables.ts';
import type { CallContext, CallEnd, Overrun } from './call.ts';
import type { MoneyMove, MoneyWriter } from './money-writes.ts';

type ClosingMove = Exclude<MoneyMove, { type: 'open' }>;

export interface BillingDeps {
  money: MoneyWriter;
  credits: CreditsService;
  keys: KeysService;
  pricing: PricingService;
  clock: Clock;
}

/**
 * A call's closing write (settle, cancel, record) is tried again while the database is away, for up
 * to 5 s. The write is idempotent — the hold closes once, its ledger row is keyed by the hold, the
 * usage record by its id — so trying again after a failure whose commit may or may not have happened
 * (a connection that broke during COMMIT) either writes it or finds it written: a call that was served
 * and billed is then answered, instead of failing with its money taken. A refusal (AppError) is final.
 */
const UNTIL_WRITTEN = {
  retryable: (error: unknown) => !(error instanceof AppError),
  pause: doubling(50, 500),
  withinMs: 5_000,
};

/**
 * The money of one paid call (docs/money.md): a hold before the upstream is called, then exactly one
 * of `settle` (charge what the usage costs, free the rest) or `cancel` (charge nothing). Both write
 * the usage record. Whatever happens, the hold is closed once.
 */
export class BillingSession {
  /** A settle or cancel has begun: nothing else closes the hold. */
  private closing = false;

  private constructor(
    private readonly deps: BillingDeps,
    readonly context: CallContext,
    private readonly price: Price,
    /** None for a free call: its price is zero, so it can move no money. */
    private readonly hold: Hold | null,
    /** The key has a credit cap, whose counter moves with the hold (uncapped keys keep none). */
    private readonly keyCapped: boolean,
    private readonly overrun: Overrun,
    /** Names the usage record: a job's hold id (settled from anywhere, recorded once), else a new id. */
    private readonly recordId?: string,
  ) {}

  /** What `usage` costs a call (before any cap at its hold). */
  static cost(deps: BillingDeps, context: CallContext, price: Price, usage: Usage): number {
    return deps.pricing.charge(price, usage, context.role, context.planMultiplierPermille);
  }

  /**
   * Holds `amount` credits, the most the call may cost; INSUFFICIENT_CREDITS or KEY_CREDIT_CAP when it
   * cannot be covered. A call whose most is zero (a model priced at zero costs nothing whatever it
   * uses) holds nothing, and a spent balance or key cap does not block it.
   */
  static async open(
    deps: BillingDeps,
    context: CallContext,
    price: Price,
    amount: number,
    keyCapped: boolean,
    overrun: Overrun,
    holdMs?: number,
  ): Promise<BillingSession> {
    if (amount === 0) return new BillingSession(deps, context, price, null, false, overrun);
    // Without a cap on the key nothing but the credits can refuse: the hold joins the batch's statements.
    const hold =
      keyCapped && context.keyId
        ? await deps.money.holdCapped(context.userId, context.keyId, amount, context.requestId, holdMs)
        : await deps.money.hold(context.userId, amount, context.requestId, holdMs);
    // A call running here keeps its hold from expiring; a job's hold has a deadline of its own.
    if (holdMs === undefined) deps.credits.keepAlive(hold.id);
    return new BillingSession(deps, context, price, hold, keyCapped, overrun);
  }

  /**
   * The session of a job's hold, taken earlier (maybe by another instance): settling or cancelling it
   * closes the hold once, and its usage record, named by the hold, is written once.
   */
  static resume(
    deps: BillingDeps,
    context: CallContext,
    price: Price,
    hold: Hold | null,
    keyCapped: boolean,
  ): BillingSession {
    return new BillingSession(deps, context, price, hold, keyCapped, 'capped', hold?.id);
  }

  /** The hold, if the call has one (a free call has none). */
  get heldCredits(): Hold | null {
    return this.hold;
  }

  /** Whether a settle or cancel has begun. */
  get closed(): boolean {
    return this.closing;
  }

  /** The call is over, whatever its end: its hold is no longer kept from expiring (see CreditsService.keepAlive). */
  letGo(): void {
    if (this.hold) this.deps.credits.letGo(this.hold.id);
  }

  /**
   * Charges the call's real usage; returns the credits charged. The ledger row, the balance, the key's
   * cap and the usage record are written together. A call whose overrun is `capped` is never charged
   * more than the caller can pay: when it cost more than its hold (a prompt that counted more than its
   * guess), what the caller can still spend of the difference is held too and charged; what is left is
   * recorded as the overrun. A call whose overrun is `charged` is charged in full. `charging`, when
   * given, is told the charge as its write begins (what waits for it need not wait for the write).
   */
  async settle(usage: Usage, source: UsageSource, end: CallEnd, charging?: (charge: number) => void): Promise<number> {
    if (this.closing) return 0;
    const cost = this.hold ? BillingSession.cost(this.deps, this.context, this.price, usage) : 0;
    this.closing = true;
    this.letGo();
    const hold = this.hold;
    if (!hold) {
      charging?.(0);
      const record = this.record(usage, source, 'ok', end, 0);
      await retry(() => this.deps.money.write({ type: 'record', record }), UNTIL_WRITTEN);
      return 0;
    }
    const topUp = this.overrun === 'capped' && cost > hold.amount ? await this.topUp(hold, cost - hold.amount) : null;
    const charge = this.overrun === 'capped' ? Math.min(cost, hold.amount + (topUp?.amount ?? 0)) : cost;
    const move: ClosingMove = {
      type: 'settle',
      hold,
      charge,
      capKeyId: this.keyCapped ? this.context.keyId : null,
      reason: `${this.context.endpoint} ${this.context.model}`,
      reference: this.context.requestId,
      // What it cost beyond what was held for it: charged in full (`charged`), or not charged (`capped`).
      record: this.record(usage, source, 'ok', end, Math.max(0, cost - hold.amount - (topUp?.amount ?? 0))),
    };
    charging?.(charge);
    try {
      return await retry(() => this.deps.money.write(move), UNTIL_WRITTEN);
    } finally {
      // The top-up kept the credits it covers from other calls until the charge took them.
      if (topUp) await this.deps.credits.release(topUp.id).catch(() => undefined);
    }
  }

  /**
   * Holds what the caller can still spend of `extra` (the balance not held for other calls, within
   * the key's cap), or nothing. Rare: a call's hold covers its worst case but for a guessed prompt.
   */
  private async topUp(hold: Hold, extra: number): Promise<Hold | null> {
    const amount = Math.min(extra, await spendable(this.deps, hold.userId, this.keyCapped ? this.context.keyId : null));
    if (amount <= 0) return null;
    try {
      return await this.deps.credits.reserve(hold.userId, amount, {
        idempotencyKey: `top-up:${hold.id}`,
        reference: this.context.requestId,
      });
    } catch (error) {
      // Taken meanwhile by another call: this one is charged what its hold covers.
      if (error instanceof AppError) return null;
      throw error;
    }
  }

  /** Nothing was produced (or the upstream refused): free the hold and record the failure, together. */
  async cancel(end: CallEnd): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.letGo();
    const record = this.record({ inputTokens: 0, outputTokens: 0 }, 'none', 'error', end, 0);
    const move: ClosingMove = {
      type: 'cancel',
      hold: this.hold,
      capKeyId: this.keyCapped ? this.context.keyId : null,
      record,
    };
    await retry(() => this.deps.money.write(move), UNTIL_WRITTEN);
  }

  /** The call's usage record (`credits` is filled in by the settle). */
  private record(usage: Usage, source: UsageSource, status: 'ok' | 'error', end: CallEnd, overrun: number): UsageRow {
    const now = this.deps.clock.now();
    return {
      id: this.recordId ?? newId(now),
      request_id: this.context.requestId,
      user_id: this.context.userId,
      key_id: this.context.keyId,
      channel_id: end.channelId,
      endpoint: this.context.endpoint,
      model: this.context.model,
      stream: this.context.stream ? 1 : 0,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      credits: 0,
      overrun,
      latency_ms: Math.max(0, Math.round(performance.now() - this.context.startedAt)),
      status,
      http_status: end.httpStatus,
      end_reason: end.endReason.slice(0, 32),
      usage_source: source,
      error: end.error?.slice(0, 255) ?? null,
      created_at: now,
    };
  }
}

/** Credits a caller can spend now: the balance not held for other calls, and no more than the key's cap has left. */
export async function spendable(deps: BillingDeps, userId: string, cappedKeyId: string | null): Promise<number> {
  const [account, capLeft] = await Promise.all([
    deps.credits.account(userId),
    cappedKeyId ? deps.keys.capLeft(cappedKeyId) : Infinity,
  ]);
  return Math.min(account.available, capLeft);
}
