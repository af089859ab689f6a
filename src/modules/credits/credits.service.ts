import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { retry } from '#core/retry.ts';
import { RunningCalls } from '#core/running-calls.ts';
import type { UnitResult } from '#core/db/group-commit.ts';
import type { DeferredWrites } from '#core/db/statements.ts';
import {
  applyMoneyBatch,
  reserveAtomic,
  settleAtomic,
  type BatchHost,
  type CallSettle,
  type MoneyBatch,
  type MoneyBatchResult,
  type ReserveRequest,
} from './credits.batch.ts';
import type { CreditsRepository, LedgerFilter } from './credits.repository.ts';
import type { HoldRow, LedgerKind, LedgerRow } from './credits.tables.ts';

/** What a credit movement is and the key that makes it happen at most once. */
export interface Movement {
  kind: LedgerKind;
  reason: string;
  reference?: string | null;
  idempotencyKey: string;
}

export interface GrantResult {
  /** False when this idempotency key was seen before: nothing changed. */
  applied: boolean;
  balance: number;
  entry: LedgerRow;
}

/** Credits set aside for a call: the hold's id, whose they are and how many. */
export interface Hold {
  id: string;
  userId: string;
  amount: number;
}

/** What a settle's ledger row says; the idempotency key is the hold's own. */
export type SettleMovement = Omit<Movement, 'idempotencyKey' | 'kind'> & { kind?: LedgerKind };

export interface SettleResult {
  /** False when the hold had been closed already: nothing changed. */
  applied: boolean;
  charged: number;
}

export interface AccountView {
  balance: number;
  held: number;
  available: number;
}

/**
 * The money service every paid feature calls (docs/money.md: the ledger, idempotency, holds). The
 * ledger is append-only and the balance always equals its sum; holds set credits aside with one
 * conditional update, so concurrent calls can never spend more than the balance.
 */
export class CreditsService {
  /** Holds of calls running in this process, kept from expiring (see keepAlive). */
  private readonly kept = new RunningCalls<null>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly repo: CreditsRepository,
    private readonly clock: Clock,
    private readonly options: { holdTtlMs: number },
  ) {}

  /** A new user's account, created in the caller's transaction; the sign-up bonus with it, if any. */
  async openAccount(trx: Kysely<DB>, userId: string, signupBonus: number): Promise<void> {
    await this.repo.createAccount(userId, this.clock.now(), trx);
    if (signupBonus > 0) {
      await this.apply(trx, userId, signupBonus, {
        kind: 'signup_bonus',
        reason: 'Sign-up bonus',
        idempotencyKey: `signup:${userId}`,
      });
    }
  }

  /**
   * Adds (or, negative, takes) credits. With `trx` it joins the caller's transaction and a replayed key
   * fails that transaction; without, it runs alone and a replay answers `applied: false`.
   * A negative amount never takes the available credits below zero (INSUFFICIENT_CREDITS).
   */
  async grant(userId: string, amount: number, movement: Movement, trx?: Kysely<DB>): Promise<GrantResult> {
    if (!Number.isSafeInteger(amount) || amount === 0)
      throw new RangeError(`credit amount must be a non-zero integer, got ${amount}`);
    if (trx) return { applied: true, ...(await this.apply(trx, userId, amount, movement)) };
    // A unique violation is a replayed key, or a concurrent first grant that opened this user's missing
    // account first: then the account exists now, and one more try goes through.
    return retry(
      async () => {
        try {
          return { applied: true, ...(await transact(this.db, (t) => this.apply(t, userId, amount, movement))) };
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          const entry = await this.repo.findLedgerByKey(movement.idempotencyKey);
          if (!entry) throw error;
          return {
            applied: false,
            balance: await this.repo.balanceOf(sameUser(entry.user_id, userId, movement.idempotencyKey)),
            entry,
          };
        }
      },
      { attempts: 2, retryable: isUniqueViolation, pause: () => 0 },
    );
  }

  private async apply(
    trx: Kysely<DB>,
    userId: string,
    amount: number,
    movement: Movement,
  ): Promise<{ balance: number; entry: LedgerRow }> {
    const now = this.clock.now();
    const floor = amount < 0 ? 0 : undefined;
    if (!(await this.repo.addToBalance(userId, amount, now, floor, trx))) {
      // No account, or not enough credits. An account a concurrent first grant opened after the update
      // looked is seen now (each statement reads what is committed): the update gets one more try.
      if (!(await this.repo.findAccount(userId, trx))) {
        // A user created before credits existed (or the bootstrap admin) gets an account on first use.
        await this.repo.createAccount(userId, now, trx);
      }
      if (!(await this.repo.addToBalance(userId, amount, now, floor, trx))) throw new AppError('INSUFFICIENT_CREDITS');
    }
    const balance = await this.repo.balanceOf(userId, trx);
    const entry: LedgerRow = {
      id: newId(now),
      user_id: userId,
      amount,
      balance_after: balance,
      kind: movement.kind,
      reason: movement.reason.slice(0, 255),
      reference: movement.reference ?? null,
      idempotency_key: movement.idempotencyKey,
      created_at: now,
    };
    await this.repo.insertLedger(entry, trx);
    return { balance, entry };
  }

  /**
   * Sets `amount` aside for a call about to start, or throws INSUFFICIENT_CREDITS (also when the user
   * is in debt). Replaying the idempotency key returns the same hold.
   */
  async reserve(
    userId: string,
    amount: number,
    options: { reference?: string; idempotencyKey: string; ttlMs?: number },
  ): Promise<Hold> {
    const row = this.newHold(userId, amount, options);
    try {
      await transact(this.db, (trx) => this.holdIn(trx, row));
    } catch (error) {
      // A replayed key: the hold it made before may have taken the credits this attempt found missing.
      const replay = isUniqueViolation(error) || (error instanceof AppError && error.code === 'INSUFFICIENT_CREDITS');
      if (!replay) throw error;
      const existing = await this.repo.findHoldByKey(options.idempotencyKey);
      if (!existing) throw error;
      return {
        id: existing.id,
        userId: sameUser(existing.user_id, userId, options.idempotencyKey),
        amount: existing.amount,
      };
    }
    return { id: row.id, userId, amount };
  }

  /**
   * `reserve` inside the caller's transaction, for a fresh idempotency key (a replay fails the
   * transaction with the driver's unique violation). INSUFFICIENT_CREDITS when it does not fit.
   */
  async reserveIn(
    trx: Kysely<DB>,
    userId: string,
    amount: number,
    options: { reference?: string; idempotencyKey: string; ttlMs?: number },
  ): Promise<Hold> {
    const row = this.newHold(userId, amount, options);
    await this.holdIn(trx, row);
    return { id: row.id, userId, amount };
  }

  /**
   * Many `reserveIn`s, `settleIn`s and `releaseIn`s of calls that commit together (GroupCommit), with
   * a handful of statements for the whole batch; each request is answered as its one-by-one method
   * would answer it, and a refused one writes nothing (see applyMoneyBatch). With `writes`, the
   * inserts are added to it, and the caller must flush it before it commits.
   */
  applyBatch(trx: Kysely<DB>, batch: MoneyBatch, writes?: DeferredWrites): Promise<MoneyBatchResult> {
    return applyMoneyBatch(this.batchHost(), trx, batch, writes);
  }

  /**
   * New holds (fresh idempotency keys) in one statement outside any transaction, where the database
   * can (PostgreSQL; undefined elsewhere): one round trip. A request left undefined must be reserved
   * again the usual way (see reserveAtomic).
   */
  reserveAtomic(
    requests: readonly ReserveRequest[],
    db: Kysely<DB> = this.db,
  ): Promise<Array<UnitResult<Hold> | undefined> | undefined> {
    return reserveAtomic(this.batchHost(), db, requests);
  }

  /**
   * Settles of metered calls, each with its usage record, in one statement, where the database can
   * (PostgreSQL; undefined elsewhere): a call's record is written exactly when its hold is closed.
   * Sent alone it may commit though its connection broke (see CreditsRepository.settleCalls): a caller
   * that saw an error settles again. A settle left undefined wrote nothing and must be settled again
   * the usual way (see settleAtomic).
   */
  settleAtomic(
    settles: readonly CallSettle[],
    db: Kysely<DB>,
  ): Promise<Array<UnitResult<SettleResult> | undefined> | undefined> {
    return settleAtomic(this.batchHost(), db, settles);
  }

  private batchHost(): BatchHost {
    return {
      repo: this.repo,
      now: this.clock.now(),
      newHold: (request: ReserveRequest) => this.newHold(request.userId, request.amount, request),
      settleIn: (t, holdId, charge, movement) => this.settleIn(t, holdId, charge, movement),
    };
  }

  private async holdIn(trx: Kysely<DB>, row: HoldRow): Promise<void> {
    // The conditional update first: a refusal then leaves nothing written (see GroupCommit's `savepoint`).
    if (!(await this.repo.holdCredits(row.user_id, row.amount, row.created_at, trx)))
      throw new AppError('INSUFFICIENT_CREDITS');
    await this.repo.insertHold(row, trx);
  }

  /**
   * Closes a hold by charging exactly `charge` (which may exceed the hold: the only way into debt) and
   * freeing the rest. Settling a closed hold changes nothing, except that a call which outlived its hold
   * (the sweeper expired it) is still billed for what it delivered; as its credits are no longer held,
   * that charge too may take the balance below zero.
   */
  async settle(holdId: string, charge: number, movement: SettleMovement): Promise<SettleResult> {
    return transact(this.db, (trx) => this.settleIn(trx, holdId, charge, movement));
  }

  /** `settle` inside the caller's transaction (the gateway adds its usage record to it). */
  async settleIn(trx: Kysely<DB>, holdId: string, charge: number, movement: SettleMovement): Promise<SettleResult> {
    if (!Number.isSafeInteger(charge) || charge < 0)
      throw new RangeError(`charge must be a non-negative integer, got ${charge}`);
    const now = this.clock.now();
    // Close first, read after: a settle that loses a race then sees (and reports) what the winner charged.
    const open = await this.repo.takeHold(holdId, 'open', 'settled', charge, now, trx);
    const hold = open ?? (await this.repo.takeHold(holdId, 'expired', 'settled', charge, now, trx));
    if (!hold) {
      const closed = await this.repo.findHold(holdId, trx);
      if (!closed) throw new AppError('NOT_FOUND');
      return { applied: false, charged: closed.charged ?? 0 };
    }
    // An expired hold's credits were freed already: only the charge moves now.
    const balance = await this.repo.chargeHeldThenBalance(hold.user_id, open ? hold.amount : 0, charge, now, trx);
    if (charge > 0) {
      await this.repo.insertLedger(
        {
          id: newId(now),
          user_id: hold.user_id,
          amount: -charge,
          balance_after: balance,
          kind: movement.kind ?? 'usage',
          reason: movement.reason.slice(0, 255),
          reference: movement.reference ?? hold.reference,
          idempotency_key: `hold:${holdId}`,
          created_at: now,
        },
        trx,
      );
    }
    return { applied: true, charged: charge };
  }

  private newHold(
    userId: string,
    amount: number,
    options: { reference?: string; idempotencyKey: string; ttlMs?: number },
  ): HoldRow {
    if (!Number.isSafeInteger(amount) || amount <= 0)
      throw new RangeError(`hold amount must be a positive integer, got ${amount}`);
    const now = this.clock.now();
    return {
      id: newId(now),
      user_id: userId,
      amount,
      status: 'open',
      reference: options.reference ?? null,
      idempotency_key: options.idempotencyKey,
      created_at: now,
      expires_at: now + (options.ttlMs ?? this.options.holdTtlMs),
      closed_at: null,
      charged: null,
    };
  }

  /** Frees a hold without charging. Releasing a closed hold changes nothing. */
  release(holdId: string): Promise<boolean> {
    return this.free(holdId, 'released');
  }

  /** `release` inside the caller's transaction. */
  releaseIn(trx: Kysely<DB>, holdId: string): Promise<boolean> {
    return this.freeIn(trx, holdId, 'released');
  }

  private free(holdId: string, to: 'released' | 'expired'): Promise<boolean> {
    return transact(this.db, (trx) => this.freeIn(trx, holdId, to));
  }

  private async freeIn(trx: Kysely<DB>, holdId: string, to: 'released' | 'expired'): Promise<boolean> {
    const now = this.clock.now();
    const hold = await this.repo.takeHold(holdId, 'open', to, null, now, trx);
    if (!hold) return false;
    await this.repo.chargeHeld(hold.user_id, hold.amount, 0, now, trx);
    return true;
  }

  /**
   * The call that took hold `holdId` is running here: `renewKeptHolds` keeps moving its deadline, so a
   * call that runs longer than the hold TTL (a long stream, a slow workflow) keeps its credits set
   * aside instead of having them freed under it. `letGo` when the call is over, whatever its end.
   */
  keepAlive(holdId: string): void {
    this.kept.add(holdId, null, this.clock.now());
  }

  letGo(holdId: string): void {
    this.kept.delete(holdId);
  }

  /**
   * Moves the deadline of the holds kept alive here to a full TTL from now (run more often than the TTL;
   * a dead process renews nothing, and its holds expire). A call kept for over a day is let go.
   */
  async renewKeptHolds(batch = 500): Promise<number> {
    const now = this.clock.now();
    const ids = this.kept.current(now).map(([id]) => id);
    for (let i = 0; i < ids.length; i += batch)
      await this.repo.extendHolds(ids.slice(i, i + batch), now + this.options.holdTtlMs);
    return ids.length;
  }

  /** Frees every hold past its deadline (a crashed or stuck call) and marks it expired; returns how many. */
  async sweepExpiredHolds(batch = 500): Promise<number> {
    let expired = 0;
    for (;;) {
      const ids = await this.repo.expiredHoldIds(this.clock.now(), batch);
      for (const id of ids) if (await this.free(id, 'expired')) expired += 1;
      if (ids.length < batch) return expired;
    }
  }

  /** The ledger row written under an idempotency key (an order's grant), if any. */
  entryByKey(idempotencyKey: string, trx?: Kysely<DB>): Promise<LedgerRow | undefined> {
    return this.repo.findLedgerByKey(idempotencyKey, trx);
  }

  /**
   * Takes back up to `want` credits in the caller's transaction, never more than the user has available
   * (balance − held: never a negative balance, never credits a running call holds); answers what was
   * taken (0: nothing written). A refund of credits already spent takes what is left (docs/payments.md).
   */
  async takeBackIn(trx: Kysely<DB>, userId: string, want: number, movement: Movement): Promise<number> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { available } = await this.account(userId, trx);
      const take = Math.min(want, Math.max(0, available));
      if (take <= 0) return 0;
      try {
        await this.apply(trx, userId, -take, movement);
        return take;
      } catch (error) {
        // A hold placed between the read and the update: read again and take what is left then.
        if (!(error instanceof AppError && error.code === 'INSUFFICIENT_CREDITS')) throw error;
      }
    }
    throw new AppError('INSUFFICIENT_CREDITS');
  }

  async account(userId: string, trx?: Kysely<DB>): Promise<AccountView> {
    const row = await this.repo.findAccount(userId, trx);
    if (!row) return { balance: 0, held: 0, available: 0 };
    return { balance: row.balance, held: row.held, available: row.balance - row.held };
  }

  /** Ledger rows, newest first: page `page`, or (keyset) those before `filter.before`; of one kind if asked. */
  history(
    userId: string,
    page: number,
    limit: number,
    filter?: LedgerFilter,
  ): Promise<{ rows: LedgerRow[]; total: number }> {
    return this.repo.listLedger(userId, filter?.before ? 0 : (page - 1) * limit, limit, undefined, filter);
  }

  /** Σ ledger rows; equal to the balance at every commit (tests and audits). */
  ledgerSum(userId: string): Promise<number> {
    return this.repo.sumLedger(userId);
  }

  openHolds(userId?: string): Promise<number> {
    return this.repo.countOpenHolds(userId);
  }

  /** Credits added and taken by kind of movement, over every account (the admin's statistics). */
  totalsByKind(): Promise<Array<{ kind: LedgerKind; added: number; taken: number }>> {
    return this.repo.totalsByKind();
  }
}

/**
 * A replayed key must name the same user: answering with another user's entry or hold would drop this
 * user's movement as "done", or let the caller settle someone else's hold. A programming error: loud.
 */
function sameUser(owner: string, userId: string, idempotencyKey: string): string {
  if (owner !== userId) throw new Error(`idempotency key ${idempotencyKey} belongs to another user's credit movement`);
  return owner;
}
