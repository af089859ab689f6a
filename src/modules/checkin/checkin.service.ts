import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type { CheckinRepository } from './checkin.repository.ts';
import { liveStreak, localDate, rewardFor, streakOn, type CheckinRules } from './checkin.rules.ts';
import type { CheckinRow } from './checkin.tables.ts';

export interface CheckinResult {
  creditEarned: number;
  consecutiveDays: number;
  totalCredits: number;
}

export interface CheckinStatus {
  hasCheckedIn: boolean;
  consecutiveDays: number;
  lastCheckinDate: string | null;
}

/** Daily check-in (seed 000/001 §3): one per user per calendar day in CHECKIN_TZ, streak rewards. */
export class CheckinService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly repo: CheckinRepository,
    private readonly credits: CreditsService,
    private readonly clock: Clock,
    private readonly options: { timeZone: string; rules: CheckinRules },
  ) {}

  today(): string {
    return localDate(this.clock.now(), this.options.timeZone);
  }

  /** Checks in for today. A second check-in the same day is CHECKIN_ALREADY_DONE; the unique (user, day) key decides races. */
  async checkIn(userId: string): Promise<CheckinResult> {
    const now = this.clock.now();
    const today = localDate(now, this.options.timeZone);
    const last = await this.repo.latest(userId);
    if (last?.checkin_date === today) throw new AppError('CHECKIN_ALREADY_DONE');
    const consecutiveDays = streakOn(today, last);
    const creditEarned = rewardFor(consecutiveDays, this.options.rules);
    const row: CheckinRow = {
      id: newId(now),
      user_id: userId,
      checkin_date: today,
      credit_earned: creditEarned,
      consecutive_days: consecutiveDays,
      created_at: now,
    };
    try {
      const { balance } = await transact(this.db, async (trx) => {
        await this.repo.insert(row, trx);
        return this.credits.grant(
          userId,
          creditEarned,
          {
            kind: 'checkin',
            reason: `Daily check-in (day ${consecutiveDays})`,
            reference: today,
            idempotencyKey: `checkin:${userId}:${today}`,
          },
          trx,
        );
      });
      return { creditEarned, consecutiveDays, totalCredits: balance };
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('CHECKIN_ALREADY_DONE');
      throw error;
    }
  }

  async status(userId: string): Promise<CheckinStatus> {
    const today = this.today();
    const last = await this.repo.latest(userId);
    return {
      hasCheckedIn: last?.checkin_date === today,
      consecutiveDays: liveStreak(today, last),
      lastCheckinDate: last?.checkin_date ?? null,
    };
  }

  history(userId: string, page: number, limit: number): Promise<{ rows: CheckinRow[]; total: number }> {
    return this.repo.list(userId, (page - 1) * limit, limit);
  }

  totalCheckins(userId: string): Promise<number> {
    return this.repo.count(userId);
  }
}
