import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';

/** Sums of one day (a day number in the zone the query was given). */
export interface CallsDay {
  day: number;
  calls: number;
  errors: number;
  latencySum: number;
}
export interface CreditsDay {
  day: number;
  granted: number;
  spent: number;
}
export interface UsersDay {
  day: number;
  newUsers: number;
}

const n = (value: unknown): number => Number(value ?? 0);

/**
 * The admin overview's figures, in SQL over everyone's books: usage records, the credit ledger and the
 * users, per day (days numbered as `/api/usage/daily-by-model` numbers them: dialect.dayNumber).
 */
export class OverviewRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectCapabilities,
  ) {}

  /** Calls, failed calls (status `error`: the upstream failed or refused) and summed latency per day since `from`. */
  async callsByDay(from: number, offsetMs: number): Promise<CallsDay[]> {
    const day = this.dialect.dayNumber('created_at', offsetMs);
    const rows = await this.db
      .selectFrom('usage_records')
      .select((eb) => [
        day.as('day'),
        eb.fn.countAll<number>().as('calls'),
        sql<number>`coalesce(sum(case when status = 'error' then 1 else 0 end), 0)`.as('errors'),
        eb.fn.sum<number>('latency_ms').as('latencySum'),
      ])
      .where('created_at', '>=', from)
      .groupBy(day)
      .orderBy(day)
      .execute();
    return rows.map((r) => ({ day: n(r.day), calls: n(r.calls), errors: n(r.errors), latencySum: n(r.latencySum) }));
  }

  /**
   * The `rank`th smallest latency (from 1) of the calls in [from, to): with rank ⌈0.95·count⌉, the
   * nearest-rank 95th percentile. One indexed read per asked window (created_at is indexed).
   */
  async latencyAtRank(from: number, to: number, rank: number): Promise<number | null> {
    const row = await this.db
      .selectFrom('usage_records')
      .select('latency_ms')
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .orderBy('latency_ms')
      .limit(1)
      .offset(rank - 1)
      .executeTakeFirst();
    return row ? n(row.latency_ms) : null;
  }

  /** Credits granted (every positive ledger row) and spent (what calls were charged) per day since `from`. */
  async creditsByDay(from: number, offsetMs: number): Promise<CreditsDay[]> {
    const day = this.dialect.dayNumber('created_at', offsetMs);
    const rows = await this.db
      .selectFrom('credit_ledger')
      .select([
        day.as('day'),
        sql<number>`coalesce(sum(case when amount > 0 then amount else 0 end), 0)`.as('granted'),
        sql<number>`coalesce(sum(case when kind = 'usage' and amount < 0 then -amount else 0 end), 0)`.as('spent'),
      ])
      .where('created_at', '>=', from)
      .groupBy(day)
      .orderBy(day)
      .execute();
    return rows.map((r) => ({ day: n(r.day), granted: n(r.granted), spent: n(r.spent) }));
  }

  /** Accounts created per day since `from` (deleted ones not counted, as in the admin stats). */
  async newUsersByDay(from: number, offsetMs: number): Promise<UsersDay[]> {
    const day = this.dialect.dayNumber('created_at', offsetMs);
    const rows = await this.db
      .selectFrom('users')
      .select((eb) => [day.as('day'), eb.fn.countAll<number>().as('newUsers')])
      .where('created_at', '>=', from)
      .where('deleted_at', 'is', null)
      .groupBy(day)
      .orderBy(day)
      .execute();
    return rows.map((r) => ({ day: n(r.day), newUsers: n(r.newUsers) }));
  }

  /** Accounts now (deleted ones not counted). */
  async users(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return n(row.n);
  }
}
