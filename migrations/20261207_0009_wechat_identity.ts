import { sql, type Kysely } from 'kysely';
import { capabilitiesOf, dropIndex } from '#core/db/dialect.ts';

/**
 * Accounts with more than one way in (docs/seed-003.md): an account may have only a WeChat identity,
 * so `email` and `password_hash` become nullable, and the WeChat identity is added: the mini-program
 * `openid` (unique), the `unionid` WeChat gives when the app is bound to an Open Platform account
 * (unique; a unique index admits any number of nulls on all three databases), the `session_key`
 * sealed with the MASTER_KEY (never returned), the profile WeChat users give (nickname, avatar,
 * phone) and `deleted_at` (an account deleted by an admin keeps its books; its personal data is erased).
 *
 * PostgreSQL and MySQL change a column's nullability in place. SQLite cannot: the table is rebuilt.
 * Dropping the old `users` there with foreign keys enforced would run an implicit DELETE that cascades
 * to every row referencing a user (sessions, ledger, check-ins, keys, usage…). The migration guard
 * (core/db/dialect.ts, migrationGuard) therefore runs SQLite's migrations with foreign keys off,
 * checked with `foreign_key_check` before it commits; this migration refuses to rebuild otherwise.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const dialect = capabilitiesOf(db).name;
  if (dialect === 'sqlite') {
    await rebuildUsersOnSqlite(db, true);
  } else {
    if (dialect === 'mysql') {
      await db.schema.alterTable('users').modifyColumn('email', 'varchar(254)').execute();
      await db.schema.alterTable('users').modifyColumn('password_hash', 'varchar(255)').execute();
    } else {
      await db.schema
        .alterTable('users')
        .alterColumn('email', (c) => c.dropNotNull())
        .execute();
      await db.schema
        .alterTable('users')
        .alterColumn('password_hash', (c) => c.dropNotNull())
        .execute();
    }
    for (const [name, type] of NEW_COLUMNS) {
      await db.schema.alterTable('users').addColumn(name, type).execute();
    }
  }
  await db.schema.createIndex('users_wechat_openid_unique').on('users').column('wechat_openid').unique().execute();
  await db.schema.createIndex('users_wechat_unionid_unique').on('users').column('wechat_unionid').unique().execute();
}

/**
 * Back to accounts that all have an email and a password. Refused while an account has neither
 * (a WeChat-only account): going down would have to delete it with its books.
 */
export async function down(db: Kysely<unknown>): Promise<void> {
  const orphan = await sql<{ id: string }>`select id from users where email is null or password_hash is null`.execute(
    db,
  );
  if (orphan.rows.length > 0)
    throw new Error(
      `${orphan.rows.length} account(s) have no email or no password (WeChat-only); undoing 20261207_0009_wechat_identity would lose them`,
    );
  await dropIndex(db, 'users_wechat_unionid_unique', 'users');
  await dropIndex(db, 'users_wechat_openid_unique', 'users');
  const dialect = capabilitiesOf(db).name;
  if (dialect === 'sqlite') {
    await rebuildUsersOnSqlite(db, false);
    return;
  }
  for (const [name] of [...NEW_COLUMNS].reverse()) {
    await db.schema.alterTable('users').dropColumn(name).execute();
  }
  if (dialect === 'mysql') {
    await db.schema
      .alterTable('users')
      .modifyColumn('email', 'varchar(254)', (c) => c.notNull())
      .execute();
    await db.schema
      .alterTable('users')
      .modifyColumn('password_hash', 'varchar(255)', (c) => c.notNull())
      .execute();
  } else {
    await db.schema
      .alterTable('users')
      .alterColumn('email', (c) => c.setNotNull())
      .execute();
    await db.schema
      .alterTable('users')
      .alterColumn('password_hash', (c) => c.setNotNull())
      .execute();
  }
}

const NEW_COLUMNS = [
  ['wechat_openid', 'varchar(64)'],
  ['wechat_unionid', 'varchar(64)'],
  ['wechat_session_key', 'varchar(255)'],
  ['nickname', 'varchar(100)'],
  ['avatar_url', 'varchar(1024)'],
  ['phone', 'varchar(32)'],
  ['deleted_at', 'bigint'],
] as const;

/** The columns users had before this migration (0001 and 0007), in order. */
const OLD_COLUMNS = [
  'id',
  'email',
  'username',
  'password_hash',
  'role',
  'status',
  'created_at',
  'updated_at',
  'derived_username',
];

/**
 * SQLite's way to change a column's constraints (https://www.sqlite.org/lang_altertable.html, "other
 * kinds of table schema changes"): a new table, every row copied, the old one dropped, the new one
 * renamed, its indexes made again. `withIdentity` chooses the shape after (true) or before this migration.
 */
async function rebuildUsersOnSqlite(db: Kysely<unknown>, withIdentity: boolean): Promise<void> {
  const { rows } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
  if (Number(rows[0]?.foreign_keys) !== 0)
    throw new Error('rebuilding users needs foreign keys off (see migrationGuard): dropping it would cascade');

  let table = db.schema
    .createTable('users_rebuilt')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('email', 'varchar(254)', (c) => (withIdentity ? c.unique() : c.notNull().unique()))
    .addColumn('username', 'varchar(64)', (c) => c.notNull())
    .addColumn('password_hash', 'varchar(255)', (c) => (withIdentity ? c : c.notNull()))
    .addColumn('role', 'varchar(16)', (c) => c.notNull().defaultTo('user'))
    .addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('active'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('derived_username', 'varchar(64)');
  if (withIdentity) for (const [name, type] of NEW_COLUMNS) table = table.addColumn(name, type);
  await table.execute();

  const columns = sql.join(OLD_COLUMNS.map((name) => sql.ref(name)));
  await sql`insert into users_rebuilt (${columns}) select ${columns} from users`.execute(db);
  await db.schema.dropTable('users').execute();
  await db.schema.alterTable('users_rebuilt').renameTo('users').execute();
  // The indexes of 0007 went with the old table.
  await db.schema
    .createIndex('users_derived_username_unique')
    .on('users')
    .column('derived_username')
    .unique()
    .execute();
  await db.schema.createIndex('users_username_idx').on('users').column('username').execute();
}
