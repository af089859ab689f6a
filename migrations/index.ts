import type { Migration } from 'kysely';
import * as accounts from './20261121_0001_accounts.ts';

/** Every migration, in order. Append only: never edit or reorder one that has landed. */
export const migrations: Record<string, Migration> = {
  '20261121_0001_accounts': accounts,
};
