import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import type { BatchKind, GroupCommit, Outcome as UnitOutcome } from '#core/db/group-commit.ts';
import type { DB } from '#core/db/schema.ts';
import { DeferredWrites, dialectOfDb } from '#core/db/statements.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { MoneyBatch, ReserveRequest } from '#modules/credits/credits.batch.ts';
import type { CreditsService, Hold } from '#modules/credits/credits.service.ts';
import type { KeysService, ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Price, Usage } from '#modules/pricing/price.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import type { UsageRow, UsageSource } from '#modules/usage/usage.tables.ts';
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
  /**
   * The one the holds go through, when not `group`: on a server database a batch of new holds is then
   * sent while the previous batch of settles is still on its way, instead of after it (on SQLite,
   * where a transaction runs within one turn, one commit for both is cheaper).
   */
  opening?: GroupCommit;
  credits: CreditsService;
  keys: KeysService;
  pricing: PricingService;
  usage: UsageService;
  clock: Clock;
}

/** One money move of a call, as the calls of one group commit are written together. */
type MoneyMove =
  | { type: 'open'; userId: string; amount: number; reference: string }
  | { type: 'settle'; hold: Hold; charge: number; capKeyId: string | null; reason: string; reference: string; record: UsageRow }
  | { type: 'cancel'; hold: Hold | null; capKeyId: string | null; record: UsageRow }
  | { type: 'record'; record: UsageRow };

/**
 * The batch kind of the calls of one BillingDeps: every hold, settle, release and usage record of the
 * calls that commit together is written by a few multi-row statements (CreditsService.applyBatch and
 * UsageService.recordMany) instead of a few statements each. Lock order stays hold → account → key.
 */
const kinds = new WeakMap<BillingDeps, BatchKind<MoneyMove, unknown>>();

function movesOf(deps: BillingDeps): BatchKind<MoneyMove, unknown> {
  let kind = kinds.get(deps);
  if (!kind) {
    kind = {
      runMany: (trx, moves) => runMoves(deps, trx, moves),
      runAtomic: (db, moves, relaxed) => runAtomically(deps, db, relaxed, moves),
    };
    kinds.set(deps, kind);
  }
  return kind;
}

/** The group commit a call's hold goes through (see BillingDeps.opening). */
function holdsGroup(deps: BillingDeps): GroupCommit {
  return deps.opening ?? deps.group;
}

function reserveRequest(move: Extract<MoneyMove, { type: 'open' }>): ReserveRequest {
  // The request id may come from the client, so it names the call but never keys the money.
  return { userId: move.userId, amount: move.amount, idempotencyKey: `call:${newId()}`, reference: move.reference };
}

/**
 * Where the database can (PostgreSQL), the parts of a batch written apart from its transaction, each
 * ONE statement sent alone: the new holds, on the relaxed connection (a database crash that loses a
 * hold has released it; a hold that commits though its caller saw an error is freed by the sweeper),
 * and the settles of calls whose key has no cap, each with its ledger row and its usage record.
 * PostgreSQL may commit a settle though its connection broke; the batch's transaction, or the
 * caller's untilWritten, then finds the hold settled and answers what was charged. Cancels, free
 * calls, capped keys, settles whose hold is no longer open and the calls of a failed part are left to
 * the batch's transaction.
 */
async function runAtomically(deps: BillingDeps, db: Kysely<DB>, relaxed: Kysely<DB>, moves: MoneyMove[]): Promise<Array<UnitOutcome<unknown> | undefined> | undefined> {
  if (!deps.credits.writesAtomically) return undefined;
  const answers: Array<UnitOutcome<unknown> | undefined> = [];
  const opens: number[] = [];
  const settles: number[] = [];
  const settling = new Set<string>(); // each hold once: its usage record is guarded by the hold
  moves.forEach((move, i) => {
    if (move.type === 'open') opens.push(i);
    else if (move.type === 'settle' && move.capKeyId === null && !settling.has(move.hold.id)) {
      settling.add(move.hold.id);
      settles.push(i);
    }
  });
  const hold = async () => {
    const held = await deps.credits.reserveAtomic(
      opens.map((i) => reserveRequest(moves[i] as Extract<MoneyMove, { type: 'open' }>)),
      relaxed,
    );
    held?.forEach((answer, j) => (answers[opens[j]!] = answer));
  };
  const settle = async () => {
    const chosen = settles.map((i) => moves[i] as Extract<MoneyMove, { type: 'settle' }>);
    const settled = await deps.credits.settleAtomic(
      chosen.map((move) => ({ holdId: move.hold.id, charge: move.charge, movement: { reason: move.reason, reference: move.reference } })),
      (closed) => [
        deps.usage.guardedInsert(
          chosen.map((move) => ({ ...move.record, credits: move.charge })),
          chosen.map((move) => move.hold.id),
          closed,
        ),
      ],
      db,
    );
    settled?.forEach((answer, j) => (answers[settles[j]!] = answer?.ok ? { ok: true, value: answer.value.charged } : answer));
  };
  // Both at once, on two
  // connections: each locks its accounts in id order, so they may wait for each other but never deadlock.
  await Promise.all([opens.length > 0 && hold().catch(() => undefined), settles.length > 0 && settle().catch(() => undefined)]);
  return answers;
}

async function runMoves(deps: BillingDeps, trx: Kysely<DB>, moves: MoneyMove[]): Promise<Array<UnitOutcome<unknown>>> {
  const reserves: number[] = [];
  const settles: number[] = [];
  const releases: number[] = [];
  moves.forEach((move, i) => {
    if (move.type === 'open') reserves.push(i);
    else if (move.type === 'settle') settles.push(i);
    else if (move.type === 'cancel' && move.hold) releases.push(i);
  });
  const at = <T extends MoneyMove['type']>(i: number) => moves[i] as Extract<MoneyMove, { type: T }>;
  // The inserts of the batch (ledger rows, holds, usage records) go together just before the commit.
  const writes = new DeferredWrites(dialectOfDb(trx));
  const batch: MoneyBatch = {
    reserves: reserves.map((i) => reserveRequest(at<'open'>(i))),
    settles: settles.map((i) => {
      const move = at<'settle'>(i);
      return { holdId: move.hold.id, charge: move.charge, movement: { reason: move.reason, reference: move.reference } };
    }),
    releases: releases.map((i) => at<'cancel'>(i).hold!.id),
  };
  const money = await deps.credits.applyBatch(trx, batch, writes);

  const outcomes: Array<UnitOutcome<unknown>> = moves.map(() => ({ ok: true, value: undefined }));
  reserves.forEach((i, j) => (outcomes[i] = money.reserves[j]!));
  // A capped key's counter follows the charge (after the accounts: lock order hold → account → key).
  for (const [j, i] of settles.entries()) {
    const move = at<'settle'>(i);
    const settled = money.settles[j]!;
    outcomes[i] = settled.ok ? { ok: true, value: settled.value.charged } : settled;
    if (!settled.ok || !settled.value.applied || !move.capKeyId || move.charge === move.hold.amount) continue;
    if (move.charge > move.hold.amount) await deps.keys.spend(move.capKeyId, move.charge - move.hold.amount, true, trx);
    else await deps.keys.unspend(move.capKeyId, move.hold.amount - move.charge, trx);
  }
  for (const [j, i] of releases.entries()) {
    const move = at<'cancel'>(i);
    if (money.releases[j] && move.capKeyId) await deps.keys.unspend(move.capKeyId, move.hold!.amount, trx);
  }
  // Every call that was not refused leaves its usage record, with what it was charged.
  const records: UsageRow[] = [];
  moves.forEach((move, i) => {
    const outcome = outcomes[i]!;
    if (move.type === 'open' || !outcome.ok) return;
    records.push(move.type === 'settle' ? { ...move.record, credits: outcome.value as number } : move.record);
  });
  await deps.usage.recordMany(records, trx, writes);
  await writes.flush(trx);
  return outcomes;
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
    let hold: Hold;
    if (keyCapped && context.keyId) {
      const keyId = context.keyId;
      // The key's cap and the user's credits are held together, in one transaction: both or neither.
      // Rows are always locked in the order hold → account → key (here and in settle), so concurrent
      // transactions on PostgreSQL and MySQL never deadlock on each other.
      hold = await holdsGroup(deps).run(async (trx) => {
        const held = await deps.credits.reserveIn(trx, context.userId, amount, { idempotencyKey: `call:${newId()}`, reference: context.requestId });
        if (!(await deps.keys.spend(keyId, amount, false, trx))) throw new AppError('KEY_CREDIT_CAP');
        return held;
      });
    } else {
      // Without a cap on the key nothing but the credits can refuse: the hold joins the batch's statements.
      hold = (await holdsGroup(deps).runBatched(movesOf(deps), { type: 'open', userId: context.userId, amount, reference: context.requestId })) as Hold;
    }
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
      await untilWritten(() => this.deps.group.runBatched(movesOf(this.deps), { type: 'record', record }));
      return 0;
    }
    const charge = this.deps.pricing.charge(this.price, usage, this.context.role);
    const move: MoneyMove = {
      type: 'settle',
      hold,
      charge,
      capKeyId: this.keyCapped ? this.context.keyId : null,
      reason: `${this.context.endpoint} ${this.context.model}`,
      reference: this.context.requestId,
      record: this.record(usage, 0, source, 'ok', outcome),
    };
    return (await untilWritten(() => this.deps.group.runBatched(movesOf(this.deps), move))) as number;
  }

  /** Nothing was produced (or the upstream refused): free the hold and record the failure, together. */
  async cancel(outcome: Outcome): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.release();
    const record = this.record({ inputTokens: 0, outputTokens: 0 }, 0, 'none', 'error', outcome);
    const move: MoneyMove = { type: 'cancel', hold: this.hold, capKeyId: this.keyCapped ? this.context.keyId : null, record };
    await untilWritten(() => this.deps.group.runBatched(movesOf(this.deps), move));
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
