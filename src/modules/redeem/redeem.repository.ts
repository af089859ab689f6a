import { sql, type Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { RedeemCodeRow, RedemptionRow } from './redeem.tables.ts';

export type CodeState = 'active' | 'used' | 'expired' | 'disabled';

export interface CodeFilter {
  batchId?: string | undefined;
  state?: CodeState | undefined;
}

/** A batch as the codes made together read: how many, how used, on what terms (the batch's codes share them). */
export interface BatchSummaryRow {
  batch_id: string;
  codes: number;
  uses: number;
  max_uses: number;
  disabled: number;
  credits: number;
  plan_id: string | null;
  expires_at: number | null;
  note: string | null;
  created_at: number;
}

/** The latest redemption of a code: who and when. */
export interface LastRedemption {
  userId: string;
  email: string | null;
  at: number;
}

export class RedeemRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertCodes(rows: RedeemCodeRow[], db: Kysely<DB> = this.db): Promise<void> {
    for (let i = 0; i < rows.length; i += 100)
      await db
        .insertInto('redeem_codes')
        .values(rows.slice(i, i + 100))
        .execute();
  }

  findByHash(codeHash: string): Promise<RedeemCodeRow | undefined> {
    return this.db.selectFrom('redeem_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
  }

  findById(id: string): Promise<RedeemCodeRow | undefined> {
    return this.db.selectFrom('redeem_codes').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async batchExists(batchId: string): Promise<boolean> {
    return (
      (await this.db
        .selectFrom('redeem_codes')
        .select('id')
        .where('batch_id', '=', batchId)
        .limit(1)
        .executeTakeFirst()) !== undefined
    );
  }

  async hasRedeemed(codeId: string, userId: string, db: Kysely<DB> = this.db): Promise<boolean> {
    const row = await db
      .selectFrom('redemptions')
      .select('id')
      .where('code_id', '=', codeId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Takes one use of a live code in one statement; false when it is used up, expired or disabled. */
  async takeUse(id: string, now: number, db: Kysely<DB> = this.db): Promise<boolean> {
    const result = await db
      .updateTable('redeem_codes')
      .set({ used_count: sql`used_count + 1` })
      .where('id', '=', id)
      .where(sql<boolean>`used_count < max_uses`)
      .where('disabled_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Throws the driver's unique violation when this user redeemed this code before. */
  async insertRedemption(row: RedemptionRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('redemptions').values(row).execute();
  }

  async list(
    filter: CodeFilter,
    now: number,
    offset: number,
    limit: number,
  ): Promise<{ rows: RedeemCodeRow[]; total: number }> {
    const base = this.filtered(filter, now);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('created_at', 'desc').orderBy('id').offset(offset).limit(limit).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  /** Batches, newest first, a page at a time. */
  async batches(offset: number, limit: number): Promise<{ rows: BatchSummaryRow[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.db
        .selectFrom('redeem_codes')
        .select((eb) => [
          'batch_id',
          eb.fn.countAll<number>().as('codes'),
          eb.fn.sum<number>('used_count').as('uses'),
          eb.fn.sum<number>('max_uses').as('max_uses'),
          eb.fn.sum<number>(sql`case when disabled_at is null then 0 else 1 end`).as('disabled'),
          eb.fn.max('credits').as('credits'),
          eb.fn.max('plan_id').as('plan_id'),
          eb.fn.max('expires_at').as('expires_at'),
          eb.fn.max('note').as('note'),
          eb.fn.min('created_at').as('created_at'),
        ])
        .groupBy('batch_id')
        .orderBy('created_at', 'desc')
        .orderBy('batch_id')
        .offset(offset)
        .limit(limit)
        .execute(),
      this.db
        .selectFrom('redeem_codes')
        .select((eb) => eb.fn.count<number>('batch_id').distinct().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    // Sums and aggregates come back as strings from some drivers.
    const toNumber = (v: unknown) => (v === null ? null : Number(v));
    return {
      rows: rows.map((r) => ({
        batch_id: r.batch_id,
        codes: Number(r.codes),
        uses: Number(r.uses),
        max_uses: Number(r.max_uses),
        disabled: Number(r.disabled),
        credits: Number(r.credits),
        plan_id: r.plan_id ?? null,
        expires_at: toNumber(r.expires_at),
        note: r.note ?? null,
        created_at: Number(r.created_at),
      })),
      total: Number(count.n),
    };
  }

  /** Each listed code's latest redemption (who, by email, and when). */
  async lastRedemptions(codeIds: readonly string[]): Promise<Map<string, LastRedemption>> {
    const last = new Map<string, LastRedemption>();
    if (codeIds.length === 0) return last;
    const rows = await this.db
      .selectFrom('redemptions')
      .leftJoin('users', 'users.id', 'redemptions.user_id')
      .select(['redemptions.code_id', 'redemptions.user_id', 'users.email', 'redemptions.created_at'])
      .where('redemptions.code_id', 'in', codeIds)
      .orderBy('redemptions.created_at', 'desc')
      .orderBy('redemptions.id', 'desc')
      .execute();
    for (const row of rows)
      if (!last.has(row.code_id))
        last.set(row.code_id, { userId: row.user_id, email: row.email ?? null, at: Number(row.created_at) });
    return last;
  }

  listAll(filter: CodeFilter, now: number): Promise<RedeemCodeRow[]> {
    return this.filtered(filter, now).selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
  }

  /** Disables live codes by id or by batch; returns how many changed. */
  async disable(target: { id: string } | { batchId: string }, now: number): Promise<number> {
    let query = this.db.updateTable('redeem_codes').set({ disabled_at: now }).where('disabled_at', 'is', null);
    query = 'id' in target ? query.where('id', '=', target.id) : query.where('batch_id', '=', target.batchId);
    return Number((await query.executeTakeFirst()).numUpdatedRows);
  }

  /** The codes a filter selects; a code has one state, by precedence disabled, expired, used, active (stateOf). */
  private filtered(filter: CodeFilter, now: number) {
    let query = this.db.selectFrom('redeem_codes');
    if (filter.batchId) query = query.where('batch_id', '=', filter.batchId);
    switch (filter.state) {
      case 'disabled':
        return query.where('disabled_at', 'is not', null);
      case 'expired':
        return query.where('disabled_at', 'is', null).where('expires_at', '<=', now);
      case 'used':
        return query
          .where('disabled_at', 'is', null)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
          .where(sql<boolean>`used_count >= max_uses`);
      case 'active':
        return query
          .where('disabled_at', 'is', null)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
          .where(sql<boolean>`used_count < max_uses`);
      case undefined:
        return query;
    }
  }
}
