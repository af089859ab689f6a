import type { Kysely } from 'kysely';
import type { UnitResult } from '#core/db/group-commit.ts';
import type { DB } from '#core/db/schema.ts';
import type { DeferredWrites } from '#core/db/statements.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { UsageRow } from '#modules/usage/usage.tables.ts';
import type { ChargedHold, ClosedHold, CreditsRepository } from './credits.repository.ts';
import type { Hold, SettleResult } from './credits.service.ts';
import type { HoldRow, LedgerRow } from './credits.tables.ts';

/** A new hold, as `reserveIn` takes it. */
export interface ReserveRequest {
  userId: string;
  amount: number;
  idempotencyKey: string;
  reference?: string;
  ttlMs?: number;
}

/** What a settle's ledger row says; the idempotency key is the hold's own. */
export interface SettleRequest {
  holdId: string;
  charge: number;
  movement: { kind?: LedgerRow['kind']; reason: string; reference?: string | null };
}

/** The settle of a metered call, with the call's usage record: both written, or neither. */
export interface CallSettle extends SettleRequest {
  record: UsageRow;
}

/** The money moves of many calls that commit together (GroupCommit). */
export interface MoneyBatch {
  reserves: readonly ReserveRequest[];
  settles: readonly SettleRequest[];
  releases: readonly string[];
}

/** One answer per request, in the order of the batch's lists. */
export interface MoneyBatchResult {
  reserves: Array<UnitResult<Hold>>;
  /** `applied`/`charged` exactly as `settleIn` answers them. */
  settles: Array<UnitResult<SettleResult>>;
  /** As `releaseIn`: true when this release closed the hold. */
  releases: boolean[];
}

/** What the batch needs from the credits service. */
export interface BatchHost {
  repo: CreditsRepository;
  now: number;
  /** The row of a new hold; throws RangeError for a bad amount. */
  newHold(request: ReserveRequest): HoldRow;
  /** The one-by-one settle, for the few holds the batch could not close as open (expired, closed, unknown, raced). */
  settleIn(trx: Kysely<DB>, holdId: string, charge: number, movement: SettleRequest['movement']): Promise<SettleResult>;
}

/** Everything that happens to one account in the batch. */
interface AccountMoves {
  /** Still to apply: charges, freed holds, new holds. */
  charge: number;
  free: number;
  hold: number;
  /** The balance after this batch's charges, when a fused statement (PostgreSQL) applied them already. */
  charged?: number;
  /** Ledger rows of its settles, in request order; `balance_after` is filled in once the balance is known. */
  ledger: LedgerRow[];
  reserves: Array<{ index: number; row: HoldRow }>;
}

/**
 * Applies the reserves, settles and releases of many calls inside one transaction with a handful of
 * statements instead of a few per call: one update closes the open holds of all the settles (and one
 * those of the releases), then each account is moved by ONE update — every charge, every freed hold
 * and every new hold of the batch together, the new holds conditional on the credits available after
 * the charges (so never an oversell) — then one insert writes all the ledger rows and one all the new
 * holds. When the new holds of an account do not fit together, they are taken one by one, each
 * conditional as `reserveIn`'s: the result is exactly that of running the calls one after another.
 * A refused request writes nothing. Rows are locked hold → account, accounts in id order. On
 * PostgreSQL the settles' hold closing and charges are one statement, and with `writes` the inserts
 * are left to the caller, who sends them with its own in one statement before it commits.
 */
export async function applyMoneyBatch(
  host: BatchHost,
  trx: Kysely<DB>,
  batch: MoneyBatch,
  writes?: DeferredWrites,
): Promise<MoneyBatchResult> {
  const { repo, now } = host;
  const result: MoneyBatchResult = { reserves: [], settles: [], releases: [] };
  const accounts = new Map<string, AccountMoves>();
  const movesOf = (userId: string): AccountMoves => {
    let moves = accounts.get(userId);
    if (!moves) accounts.set(userId, (moves = { charge: 0, free: 0, hold: 0, ledger: [], reserves: [] }));
    return moves;
  };

  // 1. Close the open holds being settled: one statement. The first settle of a hold competes for it;
  //    a second settle of the same hold in this batch (a race) is answered one by one below.
  const firstSettle = new Map<string, number>();
  batch.settles.forEach((settle, i) => {
    if (!Number.isSafeInteger(settle.charge) || settle.charge < 0) {
      result.settles[i] = {
        ok: false,
        error: new RangeError(`charge must be a non-negative integer, got ${settle.charge}`),
      };
    } else if (!firstSettle.has(settle.holdId)) firstSettle.set(settle.holdId, i);
  });
  const closing = [...firstSettle].map(([id, i]) => ({ id, charged: batch.settles[i]!.charge }));
  const settled = byId<ClosedHold | ChargedHold>(
    repo.dialect.writingCtes
      ? await repo.closeAndCharge(closing, now, trx)
      : await repo.closeOpenHolds(closing, 'settled', now, trx),
  );
  batch.settles.forEach((settle, i) => {
    const hold = firstSettle.get(settle.holdId) === i ? settled.get(settle.holdId) : undefined;
    if (!hold) return;
    const moves = movesOf(hold.user_id);
    if ('balance' in hold) moves.charged = Number(hold.balance);
    else {
      moves.charge += settle.charge;
      moves.free += Number(hold.amount);
    }
    if (settle.charge > 0) {
      moves.ledger.push({
        id: newId(now),
        user_id: hold.user_id,
        amount: -settle.charge,
        balance_after: 0,
        kind: settle.movement.kind ?? 'usage',
        reason: settle.movement.reason.slice(0, 255),
        reference: settle.movement.reference ?? hold.reference,
        idempotency_key: `hold:${hold.id}`,
        created_at: now,
      });
    }
    result.settles[i] = { ok: true, value: { applied: true, charged: settle.charge } };
  });

  // 2. Close the open holds being released: one statement (none, usually).
  const releasing = [...new Set(batch.releases)].map((id) => ({ id, charged: null }));
  const released = byId(await repo.closeOpenHolds(releasing, 'released', now, trx));
  const answeredRelease = new Set<string>();
  batch.releases.forEach((id, i) => {
    const hold = released.get(id);
    result.releases[i] = hold !== undefined && !answeredRelease.has(id);
    if (!result.releases[i]) return;
    answeredRelease.add(id);
    movesOf(hold!.user_id).free += Number(hold!.amount);
  });

  // 3. The new holds, gathered per account.
  batch.reserves.forEach((request, i) => {
    let row: HoldRow;
    try {
      row = host.newHold(request);
    } catch (error) {
      result.reserves[i] = { ok: false, error };
      return;
    }
    const moves = movesOf(request.userId);
    moves.hold += row.amount;
    moves.reserves.push({ index: i, row });
  });

  // 4. One update per account (in id order), then the ledger rows and the new holds.
  const ledger: LedgerRow[] = [];
  const holds: HoldRow[] = [];
  for (const userId of [...accounts.keys()].sort()) {
    const moves = accounts.get(userId)!;
    // The ledger rows need the balance after the batch's charges: the fused statement's, or this update's.
    const needBalance = moves.ledger.length > 0 && moves.charged === undefined;
    let balance: number | null = moves.charged ?? null;
    const pending = moves.charge !== 0 || moves.free !== 0 || moves.hold !== 0;
    const moved = pending
      ? await repo.moveAccount(userId, moves.charge, moves.free, moves.hold, now, trx, needBalance)
      : null;
    if (moved === undefined) {
      // The new holds do not fit together (or there is no account): settle first, then hold one by one.
      if (moves.charge !== 0 || moves.free !== 0) {
        const settledBalance = await repo.moveAccount(userId, moves.charge, moves.free, 0, now, trx, needBalance);
        if (settledBalance === undefined)
          throw new Error(`credit account of ${userId} not found while settling its holds`);
        if (needBalance) balance = settledBalance;
      }
      for (const reserve of moves.reserves) {
        const fits = (await repo.moveAccount(userId, 0, 0, reserve.row.amount, now, trx, false)) !== undefined;
        if (fits) holds.push(reserve.row);
        result.reserves[reserve.index] = fits
          ? { ok: true, value: holdOf(reserve.row) }
          : { ok: false, error: new AppError('INSUFFICIENT_CREDITS') };
      }
    } else {
      if (needBalance) balance = moved;
      for (const reserve of moves.reserves) {
        holds.push(reserve.row);
        result.reserves[reserve.index] = { ok: true, value: holdOf(reserve.row) };
      }
    }
    if (moves.ledger.length > 0) {
      // The balance after all of this account's charges; each row gets the balance right after its own.
      let running = balance!;
      for (const row of moves.ledger) running += -row.amount;
      for (const row of moves.ledger) {
        running -= -row.amount;
        row.balance_after = running;
        ledger.push(row);
      }
    }
  }
  await repo.insertLedgerRows(ledger, trx, writes);
  await repo.insertHolds(holds, trx, writes);

  // 5. The settles the batch could not close as open holds: one by one, exactly as `settleIn`.
  for (const [i, settle] of batch.settles.entries()) {
    if (result.settles[i] !== undefined) continue;
    try {
      result.settles[i] = { ok: true, value: await host.settleIn(trx, settle.holdId, settle.charge, settle.movement) };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      result.settles[i] = { ok: false, error };
    }
  }
  return result;
}

/**
 * New holds in ONE statement outside any transaction (see CreditsRepository.holdAll), where the
 * database has data-modifying WITH queries; undefined elsewhere. A request whose account could not cover the holds of the batch
 * together is answered INSUFFICIENT_CREDITS when it was the account's only one, and left undefined
 * otherwise, to be taken again one by one.
 */
export async function reserveAtomic(
  host: BatchHost,
  db: Kysely<DB>,
  requests: readonly ReserveRequest[],
): Promise<Array<UnitResult<Hold> | undefined> | undefined> {
  if (!host.repo.dialect.writingCtes) return undefined;
  const answers: Array<UnitResult<Hold> | undefined> = [];
  const rows: HoldRow[] = [];
  const count = new Map<string, number>();
  requests.forEach((request, i) => {
    try {
      rows.push(host.newHold(request));
      count.set(request.userId, (count.get(request.userId) ?? 0) + 1);
    } catch (error) {
      answers[i] = { ok: false, error };
    }
  });
  const taken = rows.length > 0 ? await host.repo.holdAll(rows, host.now, db) : new Set<string>();
  let next = 0;
  requests.forEach((_, i) => {
    if (answers[i]) return;
    const row = rows[next++]!;
    if (taken.has(row.user_id)) answers[i] = { ok: true, value: holdOf(row) };
    else if (count.get(row.user_id) === 1) answers[i] = { ok: false, error: new AppError('INSUFFICIENT_CREDITS') };
  });
  return answers;
}

/**
 * Settles of metered calls in ONE statement on `db` (alone or in a transaction: see
 * CreditsRepository.settleCalls), each with its usage record, where the database has data-modifying
 * WITH queries; undefined elsewhere. Each settle is answered as `settleIn` would answer a settle of
 * an open hold; one whose hold was not open (closed, expired, missing) or is settled twice in the
 * batch is left undefined, nothing of it written (nor its record), to be settled again the usual way.
 */
export async function settleAtomic(
  host: BatchHost,
  db: Kysely<DB>,
  settles: readonly CallSettle[],
): Promise<Array<UnitResult<SettleResult> | undefined> | undefined> {
  if (!host.repo.dialect.writingCtes) return undefined;
  const answers: Array<UnitResult<SettleResult> | undefined> = [];
  const first = new Map<string, number>();
  settles.forEach((settle, i) => {
    if (!Number.isSafeInteger(settle.charge) || settle.charge < 0) {
      answers[i] = { ok: false, error: new RangeError(`charge must be a non-negative integer, got ${settle.charge}`) };
    } else if (!first.has(settle.holdId)) first.set(settle.holdId, i);
  });
  if (first.size === 0) return answers;
  const chosen = [...first.values()].map((i) => settles[i]!);
  const closed = await host.repo.settleCalls(
    chosen.map((settle) => ({
      holdId: settle.holdId,
      charge: settle.charge,
      ledgerId: newId(host.now),
      kind: settle.movement.kind ?? 'usage',
      reason: settle.movement.reason.slice(0, 255),
      reference: settle.movement.reference ?? null,
      record: settle.record,
    })),
    host.now,
    db,
  );
  const done = new Set(closed.map((hold) => hold.id));
  for (const [holdId, i] of first)
    if (done.has(holdId)) answers[i] = { ok: true, value: { applied: true, charged: settles[i]!.charge } };
  return answers;
}

function byId<H extends ClosedHold>(holds: H[]): Map<string, H> {
  return new Map(holds.map((h) => [h.id, h]));
}

function holdOf(row: HoldRow): Hold {
  return { id: row.id, userId: row.user_id, amount: row.amount };
}
