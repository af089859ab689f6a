import type { Kysely } from 'kysely';
import { dropIndex } from '#core/db/dialect.ts';

/**
 * A username Tollgate made up from the email (seed 000 registers without one) is also written to
 * `derived_username`, whose unique index lets two sign-ups at once never end up with the same made-up
 * name (the loser retries with a numeric suffix). Usernames people choose may repeat, as before, so
 * theirs leave it null; `username` gets an index for the lookup of names already in use.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('derived_username', 'varchar(64)').execute();
  await db.schema
    .createIndex('users_derived_username_unique')
    .on('users')
    .column('derived_username')
    .unique()
    .execute();
  await db.schema.createIndex('users_username_idx').on('users').column('username').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await dropIndex(db, 'users_username_idx', 'users');
  await dropIndex(db, 'users_derived_username_unique', 'users');
  await db.schema.alterTable('users').dropColumn('derived_username').execute();
}
