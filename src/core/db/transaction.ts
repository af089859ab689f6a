import type { Kysely } from 'kysely';
import { isTransientConflict } from './dialect.ts';
import type { DB } from './schema.ts';

/**
 * Runs `work` in a transaction, retrying a few times when the database aborts it for a deadlock or a
 * serialization conflict (PostgreSQL, MySQL). `work` must therefore be safe to run again.
 */
export async function transact<T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if (attempt >= attempts || !isTransientConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10));
    }
  }
}
