import type { Kysely } from 'kysely';
import { retry } from '#core/retry.ts';
import { isTransientConflict } from './dialect.ts';
import type { DB } from './schema.ts';

/**
 * Runs `work` in a transaction, retrying a few times when the database aborts it for a deadlock or a
 * serialization conflict (PostgreSQL, MySQL). `work` must therefore be safe to run again.
 */
export function transact<T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>, attempts = 4): Promise<T> {
  return retry(() => db.transaction().execute(work), {
    attempts,
    retryable: isTransientConflict,
    // A little more each time, and spread, so that the transactions that collided do not meet again.
    pause: (attempt) => 5 * attempt + Math.random() * 10,
  });
}
