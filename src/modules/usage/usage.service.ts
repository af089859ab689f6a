import type { Clock } from '#core/clock.ts';
import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { DeferredWrites } from '#core/db/statements.ts';
import type { DailyUsage, UsageFilter, UsageRepository } from './usage.repository.ts';
import type { UsageRow } from './usage.tables.ts';

const DAY = 86_400_000;
/** `YYYY-MM-DD` of a day number (days since 1970-01-01 in the service's zone). */
const dateOf = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

export interface DailyStat extends Omit<DailyUsage, 'day'> {
  date: string;
}

/** How far `timeZone` is ahead of UTC at `at` (ms); DST is taken at that instant. */
export function zoneOffsetMs(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return local - Math.floor(at / 1000) * 1000;
}

/** Usage records: written once per metered call, read as logs and daily statistics. */
export class UsageService {
  constructor(
    private readonly repo: UsageRepository,
    private readonly clock: Clock,
    private readonly options: { timeZone: string; retentionDays: number },
  ) {}

  record(row: UsageRow, trx?: Kysely<DB>): Promise<void> {
    return this.repo.insert(row, trx);
  }

  /** Many records at once (the calls of one group commit); with `writes`, left to its flush. */
  recordMany(rows: readonly UsageRow[], trx?: Kysely<DB>, writes?: DeferredWrites): Promise<void> {
    return this.repo.insertMany(rows, trx, writes);
  }

  logs(filter: UsageFilter, page: number, limit: number): Promise<{ rows: UsageRow[]; total: number }> {
    return this.repo.list(filter, (page - 1) * limit, limit);
  }

  /** Credits charged through each of these API keys. */
  creditsByKey(keyIds: string[]): Promise<Map<string, number>> {
    return this.repo.creditsByKey(keyIds);
  }

  calls(userId: string): Promise<number> {
    return this.repo.count(userId);
  }

  /** Metered calls of everyone still kept (USAGE_RETENTION_DAYS). */
  allCalls(): Promise<number> {
    return this.repo.count();
  }

  /** The first and last day numbers of the last `days` calendar days (service's time zone) and its offset. */
  private window(days: number): { first: number; today: number; offset: number } {
    const now = this.clock.now();
    const offset = zoneOffsetMs(this.options.timeZone, now);
    const today = Math.floor((now + offset) / DAY);
    return { first: today - days + 1, today, offset };
  }

  /** The same window as `daily` (its dates, oldest first), with sums split by model for the days that had calls. */
  async dailyByModel(
    userId: string,
    days: number,
  ): Promise<{ dates: string[]; items: (DailyStat & { model: string })[] }> {
    const { first, today, offset } = this.window(days);
    const rows = await this.repo.dailyByModel(userId, first * DAY - offset, offset);
    const dates: string[] = [];
    for (let day = first; day <= today; day++) dates.push(dateOf(day));
    return { dates, items: rows.map(({ day, ...sums }) => ({ date: dateOf(day), ...sums })) };
  }

  /** The last `days` calendar days (in the service's time zone, today included), zeros filled in. */
  async daily(userId: string, days: number): Promise<DailyStat[]> {
    const { first, today, offset } = this.window(days);
    const rows = await this.repo.daily(userId, first * DAY - offset, offset);
    const byDay = new Map(rows.map((r) => [r.day, r]));
    const stats: DailyStat[] = [];
    for (let day = first; day <= today; day++) {
      const row = byDay.get(day);
      stats.push({
        date: dateOf(day),
        requests: row?.requests ?? 0,
        inputTokens: row?.inputTokens ?? 0,
        outputTokens: row?.outputTokens ?? 0,
        credits: row?.credits ?? 0,
      });
    }
    return stats;
  }

  /** Deletes records older than the retention period (0 keeps everything); returns how many. */
  async prune(batch = 1_000): Promise<number> {
    if (this.options.retentionDays === 0) return 0;
    const before = this.clock.now() - this.options.retentionDays * DAY;
    let total = 0;
    for (;;) {
      const deleted = await this.repo.prune(before, batch);
      total += deleted;
      if (deleted < batch) return total;
    }
  }
}
