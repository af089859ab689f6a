import { sql, type Insertable, type Kysely, type RawBuilder, type SqlBool, type Updateable } from 'kysely';
import type { DialectCapabilities } from '#core/db/dialect.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import { olderThan } from '#core/db/keyset.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { ParamTemplatesTable, PromptTemplatesTable, TemplatesTables } from './templates.tables.ts';

export type TemplateTable = keyof TemplatesTables;
type RowOf<T extends TemplateTable> = TemplatesTables[T];
type Shared = { prompt_templates: PromptTemplatesTable };

/**
 * The orders a template list comes in. `default`: the admins' `sort_order`, ascending; `trending`: most
 * used first; `newest`: newest first. Each ends on the id, so a cursor names one place in it.
 */
export type TemplateSort = 'default' | 'trending' | 'newest';

export interface TemplateFilter {
  category?: string | undefined;
  /** Users see active templates only; admins see all, or those of one state. */
  active?: boolean | undefined;
  sort: TemplateSort;
  /** The last row of the previous page (keyset), in the list's own order. */
  after?: CursorPosition | undefined;
}

/** The value of the row that a cursor records for `sort` (the keyset's first column). */
export function sortValue(sort: TemplateSort, row: { sort_order: number; usage_count: number; created_at: number }) {
  return Number(sort === 'default' ? row.sort_order : sort === 'trending' ? row.usage_count : row.created_at);
}

/** The rows after `cursor` in the order `sort` (olderThan for newest first; its like for the other two). */
function after(sort: TemplateSort, cursor: CursorPosition): RawBuilder<SqlBool> {
  if (sort === 'newest') return olderThan(cursor);
  const id = sql.ref('id');
  if (sort === 'trending') {
    const used = sql.ref('usage_count');
    return sql<SqlBool>`(${used} < ${cursor.at} or (${used} = ${cursor.at} and ${id} < ${cursor.id}))`;
  }
  const order = sql.ref('sort_order');
  return sql<SqlBool>`(${order} > ${cursor.at} or (${order} = ${cursor.at} and ${id} > ${cursor.id}))`;
}

/** The SQL of prompt and parameter templates (docs/seed-003.md, Templates): one shape of query for both tables. */
export class TemplatesRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectCapabilities,
  ) {}

  /**
   * Both tables have the same list, counter and seed columns, and the queries below use only those: each
   * is written once, against the prompt table's type, with the table's real name.
   */
  private of(table: TemplateTable): { db: Kysely<Shared>; t: 'prompt_templates' } {
    return { db: this.db, t: table as 'prompt_templates' };
  }

  async list<T extends TemplateTable>(
    table: T,
    filter: TemplateFilter,
    offset: number,
    limit: number,
  ): Promise<{ rows: RowOf<T>[]; total: number }> {
    const { db, t } = this.of(table);
    let rows = db.selectFrom(t).selectAll();
    let count = db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n'));
    if (filter.category !== undefined) {
      rows = rows.where('category', '=', filter.category);
      count = count.where('category', '=', filter.category);
    }
    if (filter.active !== undefined) {
      rows = rows.where('is_active', '=', filter.active ? 1 : 0);
      count = count.where('is_active', '=', filter.active ? 1 : 0);
    }
    if (filter.after) rows = rows.where(after(filter.sort, filter.after));
    if (filter.sort === 'default') rows = rows.orderBy('sort_order', 'asc').orderBy('id', 'asc');
    else rows = rows.orderBy(filter.sort === 'trending' ? 'usage_count' : 'created_at', 'desc').orderBy('id', 'desc');
    const [page, counted] = await Promise.all([
      rows.offset(offset).limit(limit).execute(),
      count.executeTakeFirstOrThrow(),
    ]);
    return { rows: page as unknown as RowOf<T>[], total: Number(counted.n) };
  }

  async find<T extends TemplateTable>(table: T, id: string): Promise<RowOf<T> | undefined> {
    const { db, t } = this.of(table);
    const row = await db.selectFrom(t).selectAll().where('id', '=', id).executeTakeFirst();
    return row as RowOf<T> | undefined;
  }

  async insert<T extends TemplateTable>(table: T, row: Insertable<RowOf<T>>): Promise<void> {
    const { db, t } = this.of(table);
    await db
      .insertInto(t)
      .values(row as unknown as Insertable<PromptTemplatesTable>)
      .execute();
  }

  /** Changes the fields of `patch`; false when there is no such template. */
  async update<T extends TemplateTable>(table: T, id: string, patch: Updateable<RowOf<T>>): Promise<boolean> {
    const { db, t } = this.of(table);
    await db
      .updateTable(t)
      .set(patch as unknown as Updateable<PromptTemplatesTable>)
      .where('id', '=', id)
      .execute();
    // Read back rather than trusting the affected-row count, which MySQL may give as "changed" (0 for a same-value update).
    return (await this.find(table, id)) !== undefined;
  }

  /** Deletes the template; false when there was none (a concurrent delete got there first). */
  async delete(table: TemplateTable, id: string): Promise<boolean> {
    const { db, t } = this.of(table);
    const result = await db.deleteFrom(t).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Adds one to the use counter of an active template in one statement (the database serialises
   * concurrent ones on the row, so none is lost) and gives the count it made; undefined when there is
   * no such active template. Where UPDATE cannot return the row (MySQL), the count is read in the same
   * transaction, while the row is still locked by the update: it is this call's count.
   */
  async incrementUsage(table: TemplateTable, id: string): Promise<number | undefined> {
    const { db, t } = this.of(table);
    const raise = (on: Kysely<Shared>) =>
      on
        .updateTable(t)
        .set({ usage_count: sql<number>`${sql.ref('usage_count')} + 1` })
        .where('id', '=', id)
        .where('is_active', '=', 1);
    if (this.dialect.returning) {
      const row = await raise(db).returning('usage_count').executeTakeFirst();
      return row === undefined ? undefined : Number(row.usage_count);
    }
    return transact(this.db, async (trx) => {
      const inTrx = trx as unknown as Kysely<Shared>;
      const result = await raise(inTrx).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return undefined;
      const row = await inTrx.selectFrom(t).select('usage_count').where('id', '=', id).executeTakeFirstOrThrow();
      return Number(row.usage_count);
    });
  }

  /**
   * Inserts the rows whose id no row has (`npm run seed`), leaving every existing row as it is; the
   * number inserted. A row another seeder inserted meanwhile is skipped, not an error.
   */
  async insertMissing<T extends TemplateTable>(table: T, rows: Insertable<RowOf<T>>[]): Promise<number> {
    if (rows.length === 0) return 0;
    const { db, t } = this.of(table);
    const ids = rows.map((row) => (row as unknown as { id: string }).id);
    const present = new Set(
      (await db.selectFrom(t).select('id').where('id', 'in', ids).execute()).map((row) => row.id),
    );
    let added = 0;
    for (const row of rows) {
      if (present.has((row as unknown as { id: string }).id)) continue;
      try {
        await db
          .insertInto(t)
          .values(row as unknown as Insertable<PromptTemplatesTable>)
          .execute();
        added += 1;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    return added;
  }
}

export type { ParamTemplatesTable, PromptTemplatesTable };
