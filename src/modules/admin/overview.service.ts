import type { Clock } from '#core/clock.ts';
import type { OrdersService } from '#modules/orders/orders.service.ts';
import { zoneOffsetMs } from '#modules/usage/usage.service.ts';
import type { OverviewRepository } from './overview.repository.ts';

const DAY = 86_400_000;
/** `YYYY-MM-DD` of a day number (days since 1970-01-01 in the zone), as the usage charts write it. */
const dateOf = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);
/** Nearest rank of the 95th percentile among `count` values (from 1). */
const p95Rank = (count: number) => Math.ceil(count * 0.95);

export interface OverviewDay {
  date: string;
  newUsers: number;
  calls: number;
  errors: number;
  creditsGranted: number;
  creditsSpent: number;
  latencyAvgMs: number | null;
  latencyP95Ms: number | null;
}

export interface Money {
  currency: string;
  received: number;
  refunded: number;
  net: number;
}

export interface Overview {
  days: number;
  totals: Omit<OverviewDay, 'date'> & { users: number; revenue: Money[] };
  daily: OverviewDay[];
  revenue: (Money & { date: string })[];
}

/**
 * The admin overview (GET /api/admin/overview): the last `days` calendar days in CHECKIN_TZ, today
 * included, the same days as a user's usage charts. Revenue is the orders' own (OrdersService.revenue:
 * received on the day of payment, refunded on the day the refund succeeded), kept to these days.
 */
export class OverviewService {
  constructor(
    private readonly repo: OverviewRepository,
    private readonly orders: Pick<OrdersService, 'revenue'>,
    private readonly clock: Clock,
    private readonly timeZone: string,
  ) {}

  async overview(days: number): Promise<Overview> {
    const now = this.clock.now();
    const offset = zoneOffsetMs(this.timeZone, now);
    const today = Math.floor((now + offset) / DAY);
    const first = today - days + 1;
    const from = first * DAY - offset;
    const [calls, credits, newUsers, users, revenue] = await Promise.all([
      this.repo.callsByDay(from, offset),
      this.repo.creditsByDay(from, offset),
      this.repo.newUsersByDay(from, offset),
      this.repo.users(),
      // Its window starts `days + 1` days back from now: every one of these calendar days whole.
      this.orders.revenue(this.timeZone, days + 1),
    ]);
    const callsOf = new Map(calls.map((c) => [c.day, c]));
    const creditsOf = new Map(credits.map((c) => [c.day, c]));
    const usersOf = new Map(newUsers.map((u) => [u.day, u.newUsers]));

    const windowDays = Array.from({ length: days }, (_, i) => first + i);
    const daily: OverviewDay[] = await Promise.all(
      windowDays.map(async (day) => {
        const c = callsOf.get(day);
        const start = day * DAY - offset;
        return {
          date: dateOf(day),
          newUsers: usersOf.get(day) ?? 0,
          calls: c?.calls ?? 0,
          errors: c?.errors ?? 0,
          creditsGranted: creditsOf.get(day)?.granted ?? 0,
          creditsSpent: creditsOf.get(day)?.spent ?? 0,
          latencyAvgMs: c ? Math.round(c.latencySum / c.calls) : null,
          latencyP95Ms: c ? await this.repo.latencyAtRank(start, start + DAY, p95Rank(c.calls)) : null,
        };
      }),
    );

    const dates = new Set(daily.map((d) => d.date));
    const inWindow = revenue.days.filter((d) => dates.has(d.date));
    const byCurrency = new Map<string, Money>();
    for (const d of inWindow) {
      const sum = byCurrency.get(d.currency) ?? { currency: d.currency, received: 0, refunded: 0, net: 0 };
      sum.received += d.received;
      sum.refunded += d.refunded;
      sum.net = sum.received - sum.refunded;
      byCurrency.set(d.currency, sum);
    }

    const total = (field: 'newUsers' | 'calls' | 'errors' | 'creditsGranted' | 'creditsSpent') =>
      daily.reduce((sum, d) => sum + d[field], 0);
    const callCount = total('calls');
    const latencySum = windowDays.reduce((sum, day) => sum + (callsOf.get(day)?.latencySum ?? 0), 0);
    const end = (today + 1) * DAY - offset;
    return {
      days,
      totals: {
        users,
        newUsers: total('newUsers'),
        calls: callCount,
        errors: total('errors'),
        creditsGranted: total('creditsGranted'),
        creditsSpent: total('creditsSpent'),
        latencyAvgMs: callCount > 0 ? Math.round(latencySum / callCount) : null,
        latencyP95Ms: callCount > 0 ? await this.repo.latencyAtRank(from, end, p95Rank(callCount)) : null,
        revenue: [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
      },
      daily,
      revenue: inWindow,
    };
  }
}
