import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '#core/db/dialect.ts';
import type { Asked, BatchKind, GroupCommit, UnitResult } from '#core/db/group-commit.ts';
import type { DB } from '#core/db/schema.ts';
import { DeferredWrites } from '#core/db/statements.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { ReserveRequest, SettleRequest } from '#modules/credits/credits.batch.ts';
import type { CreditsService, Hold } from '#modules/credits/credits.service.ts';
import type { KeysService } from '#modules/keys/keys.service.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import type { UsageRow } from '#modules/usage/usage.tables.ts';

export interface MoneyWriterDeps {
  /** Every money write of a call goes through it: concurrent calls share commits. */
  group: GroupCommit;
  /**
   * The one the holds go through, when not `group` (where the database's `holdsCommitApart`): a batch
   * of new holds is then sent while the previous batch of settles is still on its way, instead of after it.
   */
  opening?: GroupCommit;
  /** What the database can do: with data-modifying WITH queries, holds and settles are written apart from the batch's transaction (see runAtomically). */
  dialect: DialectCapabilities;
  credits: CreditsService;
  keys: KeysService;
  usage: UsageService;
}

export interface OpenMove {
  type: 'open';
  userId: string;
  amount: number;
  reference: string;
  /** How long the hold lasts unless renewed (default: CreditsService's hold TTL). */
  ttlMs?: number | undefined;
}
export interface SettleMove {
  type: 'settle';
  hold: Hold;
  charge: number;
  capKeyId: string | null;
  reason: string;
  reference: string;
  record: UsageRow;
}
export interface CancelMove {
  type: 'cancel';
  hold: Hold | null;
  capKeyId: string | null;
  record: UsageRow;
}
export interface RecordMove {
  type: 'record';
  record: UsageRow;
}

/** One money move of a call, as the calls of one group commit are written together. */
export type MoneyMove = OpenMove | SettleMove | CancelMove | RecordMove;

/** What each move is answered: a hold its Hold, a settle the credits it charged, a cancel or a lone record nothing. */
type MoneyAsked = Asked<OpenMove, Hold> | Asked<SettleMove, number> | Asked<CancelMove | RecordMove, undefined>;
type MoneyResult = UnitResult<MoneyAsked['answer']>;

/**
 * Writes the money of metered calls: every hold, settle, release and usage record of the calls that
 * commit together is written by a few multi-row statements (CreditsService.applyBatch and
 * UsageService.recordMany) instead of a few statements each. Lock order stays hold → account → key.
 */
export class MoneyWriter {
  private readonly kind: BatchKind<MoneyAsked>;

  constructor(private readonly deps: MoneyWriterDeps) {
    const runMany = (trx: Kysely<DB>, moves: MoneyMove[]) => runMoves(deps, trx, moves);
    this.kind = deps.dialect.writingCtes
      ? { runMany, runAtomic: (db, moves, relaxed) => runAtomically(deps, db, relaxed, moves) }
      : { runMany };
  }

  /**
   * Holds `amount` of the user's credits, for `ttlMs` (default: the hold TTL) unless renewed;
   * INSUFFICIENT_CREDITS when they cannot cover it.
   */
  hold(userId: string, amount: number, reference: string, ttlMs?: number): Promise<Hold> {
    return this.holdsGroup().runBatched(this.kind, { type: 'open', userId, amount, reference, ttlMs });
  }

  /**
   * Holds `amount` of the user's credits and of the key's credit cap together, in one transaction:
   * both or neither (KEY_CREDIT_CAP when the cap cannot cover it). Rows are always locked in the order
   * hold → account → key (here and in the settle), so concurrent transactions never deadlock.
   */
  holdCapped(userId: string, keyId: string, amount: number, reference: string, ttlMs?: number): Promise<Hold> {
    return this.holdsGroup().run(async (trx) => {
      const held = await this.deps.credits.reserveIn(trx, userId, amount, {
        idempotencyKey: `call:${newId()}`,
        reference,
        ttlMs,
      });
      if (!(await this.deps.keys.spend(keyId, amount, false, trx))) throw new AppError('KEY_CREDIT_CAP');
      return held;
    });
  }

  /** Writes a settle, a cancel or a lone usage record; answers the credits a settle charged (0 for the others). */
  async write(move: SettleMove | CancelMove | RecordMove): Promise<number> {
    return (await this.deps.group.runBatched(this.kind, move)) ?? 0;
  }

  private holdsGroup(): GroupCommit {
    return this.deps.opening ?? this.deps.group;
  }
}

function reserveRequest(move: OpenMove): ReserveRequest {
  // The request id may come from the client, so it names the call but never keys the money.
  return {
    userId: move.userId,
    amount: move.amount,
    idempotencyKey: `call:${newId()}`,
    reference: move.reference,
    ttlMs: move.ttlMs,
  };
}

function settleRequest(move: SettleMove): SettleRequest {
  return { holdId: move.hold.id, charge: move.charge, movement: { reason: move.reason, reference: move.reference } };
}

/** A move with where it stands in its batch. */
interface Placed<M> {
  at: number;
  move: M;
}

/**
 * Where the database has data-modifying WITH queries (PostgreSQL), the parts of a batch written apart
 * from its transaction, each ONE statement sent alone: the new holds, on the relaxed connection (a
 * database crash that loses a hold has released it; a hold that commits though its caller saw an
 * error is freed by the sweeper), and the settles of calls whose key has no cap, each with its ledger
 * row and its usage record. PostgreSQL may commit a settle though its connection broke; the batch's
 * transaction, or the caller's untilWritten, then finds the hold settled and answers what was
 * charged. Cancels, free calls, capped keys, settles whose hold is no longer open and the calls of a
 * failed part are left to the batch's transaction.
 */
async function runAtomically(
  deps: MoneyWriterDeps,
  db: Kysely<DB>,
  relaxed: Kysely<DB>,
  moves: MoneyMove[],
): Promise<Array<MoneyResult | undefined>> {
  const answers: Array<MoneyResult | undefined> = [];
  const opens: Array<Placed<OpenMove>> = [];
  const settles: Array<Placed<SettleMove>> = [];
  const settling = new Set<string>(); // each hold once: its usage record is guarded by the hold
  moves.forEach((move, at) => {
    if (move.type === 'open') opens.push({ at, move });
    else if (move.type === 'settle' && move.capKeyId === null && !settling.has(move.hold.id)) {
      settling.add(move.hold.id);
      settles.push({ at, move });
    }
  });
  const hold = async () => {
    const held = await deps.credits.reserveAtomic(
      opens.map(({ move }) => reserveRequest(move)),
      relaxed,
    );
    held?.forEach((answer, j) => (answers[opens[j]!.at] = answer));
  };
  const settle = async () => {
    const settled = await deps.credits.settleAtomic(
      settles.map(({ move }) => ({ ...settleRequest(move), record: { ...move.record, credits: move.charge } })),
      db,
    );
    settled?.forEach(
      (answer, j) => (answers[settles[j]!.at] = answer?.ok ? { ok: true, value: answer.value.charged } : answer),
    );
  };
  // Both at once, on two connections: each locks its accounts in id order, so they may wait for each
  // other but never deadlock.
  await Promise.all([
    opens.length > 0 && hold().catch(() => undefined),
    settles.length > 0 && settle().catch(() => undefined),
  ]);
  return answers;
}

async function runMoves(deps: MoneyWriterDeps, trx: Kysely<DB>, moves: MoneyMove[]): Promise<MoneyResult[]> {
  const reserves: Array<Placed<OpenMove>> = [];
  const settles: Array<Placed<SettleMove>> = [];
  const releases: Array<Placed<CancelMove> & { hold: Hold }> = [];
  moves.forEach((move, at) => {
    if (move.type === 'open') reserves.push({ at, move });
    else if (move.type === 'settle') settles.push({ at, move });
    else if (move.type === 'cancel' && move.hold) releases.push({ at, move, hold: move.hold });
  });
  // The inserts of the batch (ledger rows, holds, usage records) go together just before the commit.
  const writes = new DeferredWrites();
  const money = await deps.credits.applyBatch(
    trx,
    {
      reserves: reserves.map(({ move }) => reserveRequest(move)),
      settles: settles.map(({ move }) => settleRequest(move)),
      releases: releases.map(({ hold }) => hold.id),
    },
    writes,
  );

  const results: MoneyResult[] = moves.map(() => ({ ok: true, value: undefined }));
  // Every call that was not refused leaves its usage record (a settle's with what it was charged), in the order of the moves.
  const records: Array<UsageRow | undefined> = moves.map((move) =>
    move.type === 'cancel' || move.type === 'record' ? move.record : undefined,
  );
  reserves.forEach(({ at }, j) => (results[at] = money.reserves[j]!));
  // A capped key's counter follows the charge (after the accounts: lock order hold → account → key).
  for (const [j, { at, move }] of settles.entries()) {
    const settled = money.settles[j]!;
    if (!settled.ok) {
      results[at] = settled;
      continue;
    }
    results[at] = { ok: true, value: settled.value.charged };
    records[at] = { ...move.record, credits: settled.value.charged };
    if (!settled.value.applied || !move.capKeyId || move.charge === move.hold.amount) continue;
    if (move.charge > move.hold.amount) await deps.keys.spend(move.capKeyId, move.charge - move.hold.amount, true, trx);
    else await deps.keys.unspend(move.capKeyId, move.hold.amount - move.charge, trx);
  }
  for (const [j, { move, hold }] of releases.entries()) {
    if (money.releases[j] && move.capKeyId) await deps.keys.unspend(move.capKeyId, hold.amount, trx);
  }
  await deps.usage.recordMany(
    records.filter((record) => record !== undefined),
    trx,
    writes,
  );
  await writes.flush(trx);
  return results;
}
