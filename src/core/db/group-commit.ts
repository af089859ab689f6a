import { sql, type Kysely } from 'kysely';
import { AppError } from '#core/errors.ts';
import { isTransientConflict } from './dialect.ts';
import type { DB } from './schema.ts';
import { transact } from './transaction.ts';

type Work<T> = (trx: Kysely<DB>) => Promise<T>;

interface Pending {
  work: Work<unknown>;
  savepoint: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit (DESIGN.md, the hot path). Units of work that arrive in the same event-loop turn run
 * one after another inside ONE transaction, each behind a savepoint so that one refusal (not enough
 * credits) undoes only itself; the transaction commits before any of them is answered. Nothing is
 * acknowledged that is not durable, a lone unit waits for nothing, and a busy server pays for one
 * commit per batch instead of one per request.
 *
 * Units must touch only the database (they may run again: a deadlocked batch is retried whole).
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly maxBatch = 256,
  ) {}

  /**
   * Runs `work` in the next batch. `savepoint: false` is for units that leave nothing written when they
   * throw (they check before they write): it saves two round trips. A unit that throws after writing
   * anyway, or a statement error, fails the batch, and every unit then runs again on its own.
   */
  run<T>(work: Work<T>, options: { savepoint?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, savepoint: options.savepoint ?? true, resolve: (value) => resolve(value as T), reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      await transact(this.db, only.work).then(only.resolve, only.reject);
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = await transact(this.db, (trx) => this.runAll(trx, batch));
    } catch {
      // The batch itself failed (not one unit): each unit gets its own transaction, and its own answer.
      await Promise.all(batch.map((unit) => transact(this.db, unit.work).then(unit.resolve, unit.reject)));
      return;
    }
    outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.error)));
  }

  private async runAll(trx: Kysely<DB>, batch: Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const unit of batch) {
      if (!unit.savepoint) {
        try {
          outcomes.push({ ok: true, value: await unit.work(trx) });
        } catch (error) {
          if (!(error instanceof AppError)) throw error; // not a clean refusal: the batch runs again, unit by unit
          outcomes.push({ ok: false, error });
        }
        continue;
      }
      await sql`savepoint group_unit`.execute(trx);
      try {
        const value = await unit.work(trx);
        await sql`release savepoint group_unit`.execute(trx);
        outcomes.push({ ok: true, value });
      } catch (error) {
        // A deadlock or serialization failure is the batch's, not the unit's: the whole batch runs again.
        if (isTransientConflict(error)) throw error;
        await sql`rollback to savepoint group_unit`.execute(trx);
        await sql`release savepoint group_unit`.execute(trx);
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }
}
