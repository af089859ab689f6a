import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { Statement, type DeferredWrites } from '#core/db/statements.ts';
import { USAGE_COLUMNS, type UsageRow, type UsageStatus } from './usage.tables.ts';

export interface UsageFilter {
  userId: string;
  model?: string | undefined;
  keyId?: string | undefined;
  status?: UsageStatus | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

export interface DailyUsage {
  day: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  credits: number;
}

const COLUMN_LIST = USAGE_COLUMNS.map((c) => `"${c}"`).join(', ');
const INSERT_HEAD = `insert into "usage_records" (${COLUMN_LIST}) values `;

/**
 * Many records in one statement (hand-written: it runs for every metered call). A record already
 * written (its id: one per call) is left as it is: a settle tried again after a failure whose commit
 * may have happened (see BillingSession) must not fail on its own record.
 */
export function insertUsage(dialect: DialectCapabilities, rows: readonly UsageRow[]): Statement {
  const statement = new Statement(dialect, `insertUsage:${rows.length}`).sql(INSERT_HEAD);
  rows.forEach((row, i) => {
    if (i > 0) statement.sql(', ');
    statement.tuple(USAGE_COLUMNS.map((c) => row[c]));
  });
  return statement.sql(dialect.insertIfNewId);
}

export class UsageRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectCapabilities,
  ) {}

  async insert(row: UsageRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('usage_records').values(row).execute();
  }

  /** Many records in one statement (see insertUsage); deferred to `writes` when given. */
  async insertMany(rows: readonly UsageRow[], db: Kysely<DB> = this.db, writes?: DeferredWrites): Promise<void> {
    if (rows.length === 0) return;
    const insert = insertUsage(this.dialect, rows);
    if (writes) writes.defer(insert);
    else await insert.run(db);
  }

  async list(filter: UsageFilter, offset: number, limit: number): Promise<{ rows: UsageRow[]; total: number }> {
    const base = this.filtered(filter);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  /** Credits charged through each of `keyIds`, all time. */
  async creditsByKey(keyIds: string[]): Promise<Map<string, number>> {
    if (keyIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('usage_records')
      .select((eb) => ['key_id', eb.fn.sum<number>('credits').as('credits')])
      .where('key_id', 'in', keyIds)
      .groupBy('key_id')
      .execute();
    return new Map(rows.map((r) => [r.key_id!, Number(r.credits)]));
  }

  /** The records of `userId`, or of everyone. */
  async count(userId?: string): Promise<number> {
    let query = this.db.selectFrom('usage_records').select((eb) => eb.fn.countAll<number>().as('n'));
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Per-day sums since `from`, days counted in a zone `offsetMs` from UTC. */
  async daily(userId: string, from: number, offsetMs: number): Promise<DailyUsage[]> {
    const day = this.dialect.dayNumber('created_at', offsetMs);
    const rows = await this.db
      .selectFrom('usage_records')
      .select((eb) => [
        day.as('day'),
        eb.fn.countAll<number>().as('requests'),
        eb.fn.sum<number>('input_tokens').as('inputTokens'),
        eb.fn.sum<number>('output_tokens').as('outputTokens'),
        eb.fn.sum<number>('credits').as('credits'),
      ])
      .where('user_id', '=', userId)
      .where('created_at', '>=', from)
      .groupBy(day)
      .orderBy(day)
      .execute();
    return rows.map((r) => ({
      day: Number(r.day),
      requests: Number(r.requests),
      inputTokens: Number(r.inputTokens),
      outputTokens: Number(r.outputTokens),
      credits: Number(r.credits),
    }));
  }

  /** Per-day and per-model sums since `from` (the console's charts), days as in `daily`. */
  async dailyByModel(userId: string, from: number, offsetMs: number): Promise<(DailyUsage & { model: string })[]> {
    const day = this.dialect.dayNumber('created_at', offsetMs);
    const rows = await this.db
      .selectFrom('usage_records')
      .select((eb) => [
        day.as('day'),
        'model',
        eb.fn.countAll<number>().as('requests'),
        eb.fn.sum<number>('input_tokens').as('inputTokens'),
        eb.fn.sum<number>('output_tokens').as('outputTokens'),
        eb.fn.sum<number>('credits').as('credits'),
      ])
      .where('user_id', '=', userId)
      .where('created_at', '>=', from)
      .groupBy([day, 'model'])
      .orderBy(day)
      .orderBy('model')
      .execute();
    return rows.map((r) => ({
      day: Number(r.day),
      model: r.model,
      requests: Number(r.requests),
      inputTokens: Number(r.inputTokens),
      outputTokens: Number(r.outputTokens),
      credits: Number(r.credits),
    }));
  }

  /** Deletes up to `batch` records older than `before`; returns how many. */
  async prune(before: number, batch: number): Promise<number> {
    const ids = await this.db
      .selectFrom('usage_records')
      .select('id')
      .where('created_at', '<', before)
      .limit(batch)
      .execute();
    if (ids.length === 0) return 0;
    const result = await this.db
      .deleteFrom('usage_records')
      .where(
        'id',
        'in',
        ids.map((r) => r.id),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private filtered(filter: UsageFilter) {
    let query = this.db.selectFrom('usage_records').where('user_id', '=', filter.userId);
    if (filter.model) query = query.where('model', '=', filter.model);
    if (filter.keyId) query = query.where('key_id', '=', filter.keyId);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.from !== undefined) query = query.where('created_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('created_at', '<', filter.to);
    return query;
  }
}
