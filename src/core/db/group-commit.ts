import { sql, type Kysely } from 'kysely';
import { AppError } from '#core/errors.ts';
import { isTransientConflict } from './dialect.ts';
import type { DB } from './schema.ts';
import { transact } from './transaction.ts';

type Work<T> = (trx: Kysely<DB>) => Promise<T>;

/** A unit's answer: its value, or the error that refused it. */
export type UnitResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * An item of a batch kind and the answer it gets. A kind whose answer depends on the item is a union
 * of these (a money move: a hold is answered the Hold, a settle the credits it charged), and whoever
 * runs an item is told the answer of that item (see AnswerTo), without a cast.
 */
export interface Asked<I, A> {
  item: I;
  answer: A;
}

/** The answer a kind of `Q` gives `item` (a union of items: the union of their answers). */
export type AnswerTo<Q, I> = I extends unknown
  ? Q extends Asked<infer Item, infer A>
    ? I extends Item
      ? A
      : never
    : never
  : never;

type AnyAsked = Asked<unknown, unknown>;

/**
 * Units that are better run together than one by one: all the items of a kind that are in a batch go
 * to ONE `runMany` call, which can then write them with a few multi-row statements instead of a few
 * statements each. `runMany` answers every item, in order: its value, or the error that refused it —
 * a refused item must have written nothing. Throwing fails the whole batch, which then runs again
 * unit by unit (each kind item alone in `runMany`). Like every unit it may run more than once (a
 * deadlocked batch is retried whole), so it must touch only the database.
 */
export interface BatchKind<Q extends AnyAsked> {
  runMany(trx: Kysely<DB>, items: Array<Q['item']>): Promise<Array<UnitResult<Q['answer']>>>;
  /**
   * Optional: writes what it can of its items apart from the batch's transaction, each part one
   * statement atomic by itself, where that takes fewer round trips to a server database than the
   * batch's way. `relaxed` is Database.relaxed, for statements whose loss in a crash of the
   * database server does no harm (a hold: the crash releases it anyway), whose commits need not wait
   * for the disk. Answers each item it wrote or refused, and leaves the others undefined to run as
   * usual, in the batch's transaction; the items of a statement that fails are left undefined too,
   * so whatever of it did commit must be safe to run again (idempotent). Returns undefined when it can
   * do nothing here.
   */
  runAtomic?(
    db: Kysely<DB>,
    items: Array<Q['item']>,
    relaxed: Kysely<DB>,
  ): Promise<Array<UnitResult<Q['answer']> | undefined> | undefined>;
}

interface Pending {
  /** A unit of its own, or … */
  work: Work<unknown> | null;
  savepoint: boolean;
  /** … an item of a kind. */
  kind: BatchKind<AnyAsked> | null;
  item: unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** Most units in one transaction. */
  maxBatch?: number;
  /** Database.relaxed, handed to `runAtomic`; the main database when absent. */
  relaxedDb?: Kysely<DB>;
  /**
   * Most batches in flight at once (default 1); units that arrive meanwhile wait for the next. One at
   * a time, the queue grows into large batches while a commit is on its way, instead of many small
   * transactions queueing on the same account row and the pool (PostgreSQL + Redis at 32 connections:
   * ~5× the throughput of unbounded batches). On SQLite a transaction runs within one turn anyway.
   */
  maxInFlight?: number;
}

/**
 * Group commit (docs/decisions.md, the money path of a metered call). Units of work that arrive in the same event-loop turn (or
 * while the previous batch is being committed) run inside ONE transaction, which commits before any of
 * them is answered: nothing is acknowledged that is not durable, a lone unit waits for nothing, and a
 * busy server pays for one commit per batch instead of one per request. Items of a `BatchKind` are run
 * together by their kind (first, kind by kind, in order of arrival); then every other unit runs on its
 * own, behind a savepoint so that one refusal (not enough credits) undoes only itself.
 *
 * Units must touch only the database (they may run again: a deadlocked batch is retried whole), and
 * must never wait for another unit of the same GroupCommit (that unit would wait for this batch).
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly relaxedDb: Kysely<DB>;

  constructor(
    private readonly db: Kysely<DB>,
    options: GroupCommitOptions | number = {},
  ) {
    const {
      maxBatch = 256,
      maxInFlight = 1,
      relaxedDb = db,
    } = typeof options === 'number' ? { maxBatch: options } : options;
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
    this.relaxedDb = relaxedDb;
  }

  /**
   * Runs `work` in the next batch. `savepoint: false` is for units that leave nothing written when they
   * throw (they check before they write): it saves two round trips. A unit that throws after writing
   * anyway, or a statement error, fails the batch, and every unit then runs again on its own.
   */
  run<T>(work: Work<T>, options: { savepoint?: boolean } = {}): Promise<T> {
    return this.enqueue(work, options.savepoint ?? true, null, undefined);
  }

  /** Runs `item` in the next batch, together with the other items of its kind there; answers what the kind answers that item. */
  runBatched<Q extends AnyAsked, const I extends Q['item']>(kind: BatchKind<Q>, item: I): Promise<AnswerTo<Q, I>> {
    return this.enqueue(null, false, kind, item);
  }

  private enqueue<T>(
    work: Work<unknown> | null,
    savepoint: boolean,
    kind: BatchKind<AnyAsked> | null,
    item: unknown,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, savepoint, kind, item, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.inFlight += 1;
    void this.commit(batch)
      // Only a bug gets here (every unit's own error is its answer): fail whoever is still waiting.
      .catch((error: unknown) => batch.forEach((unit) => unit.reject(error)))
      .finally(() => {
        this.inFlight -= 1;
        if (this.queue.length > 0) this.schedule();
      });
    if (this.queue.length > 0) this.schedule();
  }

  private async commit(all: Pending[]): Promise<void> {
    const batch = await this.tryAtomic(all);
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      await transact(this.db, (trx) => runAlone(trx, only)).then(only.resolve, only.reject);
      return;
    }
    let outcomes: Array<UnitResult<unknown>>;
    try {
      outcomes = await transact(this.db, (trx) => this.runAll(trx, batch));
    } catch {
      // The batch itself failed (not one unit): each unit gets its own transaction, and its own answer.
      await Promise.all(
        batch.map((unit) => transact(this.db, (trx) => runAlone(trx, unit)).then(unit.resolve, unit.reject)),
      );
      return;
    }
    outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.error)));
  }

  /** Gives every kind that can write without a transaction its items (see runAtomic); returns the units still to run. */
  private async tryAtomic(batch: Pending[]): Promise<Pending[]> {
    const atomic = new Map<BatchKind<AnyAsked>, Pending[]>();
    for (const unit of batch) {
      if (!unit.kind?.runAtomic) continue;
      const units = atomic.get(unit.kind);
      if (units) units.push(unit);
      else atomic.set(unit.kind, [unit]);
    }
    if (atomic.size === 0) return batch;
    const answered = new Set<Pending>();
    for (const [kind, units] of atomic) {
      let answers: Array<UnitResult<unknown> | undefined> | undefined;
      try {
        answers = await kind.runAtomic!(
          this.db,
          units.map((unit) => unit.item),
          this.relaxedDb,
        );
      } catch {
        continue; // nothing was written: the usual way, in a transaction
      }
      answers?.forEach((answer, i) => {
        if (!answer) return;
        const unit = units[i]!;
        answered.add(unit);
        if (answer.ok) unit.resolve(answer.value);
        else unit.reject(answer.error);
      });
    }
    return answered.size === 0 ? batch : batch.filter((unit) => !answered.has(unit));
  }

  private async runAll(trx: Kysely<DB>, batch: Pending[]): Promise<Array<UnitResult<unknown>>> {
    const outcomes: Array<UnitResult<unknown>> = new Array<UnitResult<unknown>>(batch.length);
    const kinds = new Map<BatchKind<AnyAsked>, number[]>();
    batch.forEach((unit, i) => {
      if (!unit.kind) return;
      const indices = kinds.get(unit.kind);
      if (indices) indices.push(i);
      else kinds.set(unit.kind, [i]);
    });
    for (const [kind, indices] of kinds) {
      const answers = await kind.runMany(
        trx,
        indices.map((i) => batch[i]!.item),
      );
      if (answers.length !== indices.length)
        throw new Error(`a batch kind answered ${answers.length} of ${indices.length} items`);
      indices.forEach((index, j) => (outcomes[index] = answers[j]!));
    }
    for (const [i, unit] of batch.entries()) {
      if (!unit.work) continue;
      if (!unit.savepoint) {
        try {
          outcomes[i] = { ok: true, value: await unit.work(trx) };
        } catch (error) {
          if (!(error instanceof AppError)) throw error; // not a clean refusal: the batch runs again, unit by unit
          outcomes[i] = { ok: false, error };
        }
        continue;
      }
      await sql`savepoint group_unit`.execute(trx);
      try {
        const value = await unit.work(trx);
        await sql`release savepoint group_unit`.execute(trx);
        outcomes[i] = { ok: true, value };
      } catch (error) {
        // A deadlock or serialization failure is the batch's, not the unit's: the whole batch runs again.
        if (isTransientConflict(error)) throw error;
        await sql`rollback to savepoint group_unit`.execute(trx);
        await sql`release savepoint group_unit`.execute(trx);
        outcomes[i] = { ok: false, error };
      }
    }
    return outcomes;
  }
}

/** One unit in a transaction of its own: a refusal rolls it back and is its answer. */
async function runAlone(trx: Kysely<DB>, unit: Pending): Promise<unknown> {
  if (unit.work) return unit.work(trx);
  const [outcome] = await unit.kind!.runMany(trx, [unit.item]);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}
