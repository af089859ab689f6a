import type { Kysely } from 'kysely';
import type { BatchKind, GroupCommit, Outcome as UnitOutcome } from '#core/db/group-commit.ts';
import type { DB } from '#core/db/schema.ts';
import { DeferredWrites, dialectOfDb } from '#core/db/statements.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { MoneyBatch, ReserveRequest } from '#modules/credits/credits.batch.ts';
import type { CreditsService, Hold } from '#modules/credits/credits.service.ts';
import type { KeysService } from '#modules/keys/keys.service.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import type { UsageRow } from '#modules/usage/usage.tables.ts';

export interface MoneyWriterDeps {
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
  usage: UsageService;
}

/** One money move of a call, as the calls of one group commit are written together. */
export type MoneyMove =
  | { type: 'open'; userId: string; amount: number; reference: string }
  | { type: 'settle'; hold: Hold; charge: number; capKeyId: string | null; reason: string; reference: string; record: UsageRow }
  | { type: 'cancel'; hold: Hold | null; capKeyId: string | null; record: UsageRow }
  | { type: 'record'; record: UsageRow };

/**
 * Writes the money of metered calls: every hold, settle, release and usage record of the calls that
 * commit together is written by a few multi-row statements (CreditsService.applyBatch and
 * UsageService.recordMany) instead of a few statements each. Lock order stays hold → account → key.
 */
export class MoneyWriter {
  private readonly kind: BatchKind<MoneyMove, unknown>;

  constructor(private readonly deps: MoneyWriterDeps) {
    this.kind = {
      runMany: (trx, moves) => runMoves(deps, trx, moves),
      runAtomic: (db, moves, relaxed) => runAtomically(deps, db, relaxed, moves),
    };
  }

  /** Holds `amount` of the user's credits; INSUFFICIENT_CREDITS when they cannot cover it. */
  async hold(userId: string, amount: number, reference: string): Promise<Hold> {
    return (await this.holdsGroup().runBatched(this.kind, { type: 'open', userId, amount, reference })) as Hold;
  }

  /**
   * Holds `amount` of the user's credits and of the key's credit cap together, in one transaction:
   * both or neither (KEY_CREDIT_CAP when the cap cannot cover it). Rows are always locked in the order
   * hold → account → key (here and in the settle), so concurrent transactions never deadlock.
   */
  holdCapped(userId: string, keyId: string, amount: number, reference: string): Promise<Hold> {
    return this.holdsGroup().run(async (trx) => {
      const held = await this.deps.credits.reserveIn(trx, userId, amount, { idempotencyKey: `call:${newId()}`, reference });
      if (!(await this.deps.keys.spend(keyId, amount, false, trx))) throw new AppError('KEY_CREDIT_CAP');
      return held;
    });
  }

  /** Writes a settle, a cancel or a lone usage record; answers the credits a settle charged. */
  async write(move: Exclude<MoneyMove, { type: 'open' }>): Promise<number> {
    return ((await this.deps.group.runBatched(this.kind, move)) as number | undefined) ?? 0;
  }

  private holdsGroup(): GroupCommit {
    return this.deps.opening ?? this.deps.group;
  }
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
async function runAtomically(deps: MoneyWriterDeps, db: Kysely<DB>, relaxed: Kysely<DB>, moves: MoneyMove[]): Promise<Array<UnitOutcome<unknown> | undefined> | undefined> {
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

async function runMoves(deps: MoneyWriterDeps, trx: Kysely<DB>, moves: MoneyMove[]): Promise<Array<UnitOutcome<unknown>>> {
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

