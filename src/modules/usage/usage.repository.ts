import type { Kysely } from 'kysely';
import type { DialectName } from '#core/db/create-db.ts';
import { dayNumber } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { Statement, type DeferredWrites } from '#core/db/statements.ts';
import type { UsageRow, UsageStatus } from './usage.tables.ts';

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

const COLUMNS = [
  'id',
  'request_id',
  'user_id',
  'key_id',
  'channel_id',
  'endpoint',
  'model',
  'stream',
  'input_tokens',
  'output_tokens',
  'credits',
  'latency_ms',
  'status',
  'http_status',
  'end_reason',
  'usage_source',
  'error',
  'created_at',
] as const satisfies ReadonlyArray<keyof UsageRow>;
const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');
const INSERT_HEAD = `insert into "usage_records" (${COLUMN_LIST}) values `;
/** PostgreSQL types of the columns that are not text. */
const PG_TYPES: Partial<Record<(typeof COLUMNS)[number], string>> = {
  stream: 'integer',
  input_tokens: 'bigint',
  output_tokens: 'bigint',
  credits: 'bigint',
  latency_ms: 'integer',
  http_status: 'integer',
  created_at: 'bigint',
};

export class UsageRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectName,
  ) {}

  async insert(row: UsageRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('usage_records').values(row).execute();
  }

  /**
   * A record already written (its id: one per call) is left as it is: a settle tried again after a
   * failure whose commit may have happened (see BillingSession) must not fail on its own record.
   */
  private ignoreWritten(): string {
    return this.dialect === 'mysql' ? ' on duplicate key update "id" = "id"' : ' on conflict ("id") do nothing';
  }

  /** Many records in one statement (hand-written: it runs for every metered call); added to `writes` when given. */
  async insertMany(rows: readonly UsageRow[], db: Kysely<DB> = this.db, writes?: DeferredWrites): Promise<void> {
    if (rows.length === 0) return;
    const shape = `insertUsage:${rows.length}`;
    const statement = (writes ? writes.add(shape) : new Statement(this.dialect, shape)).sql(INSERT_HEAD);
    rows.forEach((row, i) => {
      if (i > 0) statement.sql(', ');
      statement.tuple(COLUMNS.map((c) => row[c]));
    });
    statement.sql(this.ignoreWritten());
    if (!writes) await statement.run(db);
  }

  /**
   * (PostgreSQL.) The insert of those of `rows` whose `guards[i]` is an `id` of `guard`, a query of the
   * WITH chain this statement joins: written in the same statement as what decides that they exist.
   */
  guardedInsert(rows: readonly UsageRow[], guards: readonly string[], guard: string): Statement {
    const statement = new Statement(this.dialect, `insertUsageGuarded:${guard}:${rows.length}`).sql(
      `insert into "usage_records" (${COLUMN_LIST}) select ${COLUMNS.map((c) => `"v"."${c}"`).join(', ')} from (values `,
    );
    rows.forEach((row, i) => {
      statement.sql(i > 0 ? ', (' : '(');
      for (const column of COLUMNS) {
        statement.param(row[column]);
        // The values of a SELECT are text unless told: the other columns say their type.
        statement.sql(`${PG_TYPES[column] ? `::${PG_TYPES[column]}` : ''}, `);
      }
      statement.param(guards[i]).sql(')');
    });
    return statement.sql(`) as "v" (${COLUMN_LIST}, "guard") where "v"."guard" in (select "id" from "${guard}")`).sql(this.ignoreWritten());
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

  async count(userId: string): Promise<number> {
    const row = await this.db.selectFrom('usage_records').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Per-day sums since `from`, days counted in a zone `offsetMs` from UTC. */
  async daily(userId: string, from: number, offsetMs: number): Promise<DailyUsage[]> {
    const day = dayNumber(this.dialect, 'created_at', offsetMs);
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

  /** Deletes up to `batch` records older than `before`; returns how many. */
  async prune(before: number, batch: number): Promise<number> {
    const ids = await this.db.selectFrom('usage_records').select('id').where('created_at', '<', before).limit(batch).execute();
    if (ids.length === 0) return 0;
    const result = await this.db.deleteFrom('usage_records').where('id', 'in', ids.map((r) => r.id)).executeTakeFirst();
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
