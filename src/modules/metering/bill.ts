import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { CreditsService, Hold } from '#modules/credits/credits.service.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Price, Usage } from '#modules/pricing/price.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';
import type { UsageRow, UsageSource } from '#modules/usage/usage.tables.ts';
import type { Role } from '#modules/users/users.tables.ts';
import type { MoneyMove, MoneyWriter } from './money-writes.ts';

type WrittenMove = Exclude<MoneyMove, { type: 'open' }>;

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
  money: MoneyWriter;
  credits: CreditsService;
  pricing: PricingService;
  clock: Clock;
}

/** How long a call's closing write keeps trying while the database is away. */
const CLOSING_RETRY_MS = 5_000;

/**
 * Runs a call's closing write (settle, cancel, record) until the database answers. The write is
 * idempotent — the hold closes once, its ledger row is keyed by the hold, the usage record by its
 * id — so trying again after a failure whose commit may or may not have happened (a connection that
 * broke during COMMIT) either writes it or finds it written: a call that was served and billed is then
 * answered, instead of failing with its money taken. A refusal (AppError) is final, and so is a
 * failure once CLOSING_RETRY_MS is spent.
 */
async function untilWritten<T>(write: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + CLOSING_RETRY_MS;
  for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
    try {
      return await write();
    } catch (error) {
      if (error instanceof AppError || performance.now() + pause > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
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
    // Without a cap on the key nothing but the credits can refuse: the hold joins the batch's statements.
    const hold =
      keyCapped && context.keyId
        ? await deps.money.holdCapped(context.userId, context.keyId, amount, context.requestId)
        : await deps.money.hold(context.userId, amount, context.requestId);
    deps.credits.keepAlive(hold.id);
    return new BillingSession(deps, context, price, hold, keyCapped);
  }

  /** The call is over, whatever its end: its hold is no longer kept from expiring (see CreditsService.keepAlive). */
  release(): void {
    if (this.hold) this.deps.credits.letGo(this.hold.id);
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
    this.release();
    const hold = this.hold;
    if (!hold) {
      const record = this.record(usage, 0, source, 'ok', outcome);
      await untilWritten(() => this.deps.money.write({ type: 'record', record }));
      return 0;
    }
    const charge = this.deps.pricing.charge(this.price, usage, this.context.role);
    const move: WrittenMove = {
      type: 'settle',
      hold,
      charge,
      capKeyId: this.keyCapped ? this.context.keyId : null,
      reason: `${this.context.endpoint} ${this.context.model}`,
      reference: this.context.requestId,
      record: this.record(usage, 0, source, 'ok', outcome),
    };
    return untilWritten(() => this.deps.money.write(move));
  }

  /** Nothing was produced (or the upstream refused): free the hold and record the failure, together. */
  async cancel(outcome: Outcome): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.release();
    const record = this.record({ inputTokens: 0, outputTokens: 0 }, 0, 'none', 'error', outcome);
    const move: WrittenMove = { type: 'cancel', hold: this.hold, capKeyId: this.keyCapped ? this.context.keyId : null, record };
    await untilWritten(() => this.deps.money.write(move));
  }

  /** The call's usage record (`credits` is filled in by the settle). */
  private record(usage: Usage, credits: number, source: UsageSource, status: 'ok' | 'error', outcome: Outcome): UsageRow {
    const now = this.deps.clock.now();
    return {
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
    };
  }
}
