import { AppError } from '#core/errors.ts';
import type { KeyValueStore, Take } from '#core/kv.ts';
import type { CalendarWindows } from '#modules/plans/calendar.ts';
import type { Allowance, AllowanceMetric, AllowancePeriod } from '#modules/plans/plans.model.ts';

/**
 * What a paid call asks of its user's plan allowances (docs/plans.md, "How allowances are counted"):
 * one request, its tokens and its credits at most (taken at admission like a hold), and at least (a call
 * that can be cut short is cut to what is left, down to this).
 */
export interface AllowanceAsk {
  userId: string;
  allowances: readonly Allowance[];
  tokens: { most: number; least: number };
  credits: { most: number; least: number };
  images: number;
}

/** One allowance's counter for the call: its take and what a refusal names. */
export interface AllowanceTake {
  allowance: Allowance;
  take: Take & { kind: 'counter' };
  endsAt: number;
}

const METRIC_NAMES: Record<AllowanceMetric, { zh: string; en: string }> = {
  credits: { zh: '积分消耗', en: 'credits spent' },
  requests: { zh: '请求次数', en: 'requests' },
  tokens: { zh: 'Token 用量', en: 'tokens' },
  images: { zh: '图片数量', en: 'images' },
};
const PERIOD_NAMES: Record<AllowancePeriod, { zh: string; en: string }> = {
  day: { zh: '每日', en: 'day' },
  week: { zh: '每周', en: 'week' },
  month: { zh: '每月', en: 'month' },
};
const HOUR = 3_600_000;

/** The counter of `allowance` for `userId` in the window holding `now`: the window's start is in the key. */
export function allowanceKey(userId: string, allowance: Allowance, windowStart: string): string {
  return `al:${userId}:${allowance.metric}:${allowance.period}:${windowStart}`;
}

/** The counters a call takes from its plan's allowances, in the window of each that holds `now`. */
export function allowanceTakes(ask: AllowanceAsk, now: number, windows: CalendarWindows): AllowanceTake[] {
  const takes: AllowanceTake[] = [];
  for (const allowance of ask.allowances) {
    const window = windows.of(allowance.period, now);
    let amount: number;
    let least: number | undefined;
    if (allowance.metric === 'requests') amount = 1;
    else if (allowance.metric === 'images') amount = ask.images;
    else ({ most: amount, least } = ask[allowance.metric]);
    if (amount === 0 && allowance.metric === 'images') continue;
    takes.push({
      allowance,
      endsAt: window.endsAt,
      take: {
        kind: 'counter',
        key: allowanceKey(ask.userId, allowance, window.start),
        amount,
        limit: allowance.limit,
        // The key names its window: the TTL only bounds memory, an hour past the window's end.
        ttlMs: window.endsAt - now + HOUR,
        ...(least !== undefined && least < amount ? { least } : {}),
      },
    });
  }
  return takes;
}

/** One allowance as /v1/vip/info shows it: used and remaining in the current window, and when it resets. */
export interface AllowanceState extends Allowance {
  used: number;
  remaining: number;
  windowStart: string;
  resetsAt: string;
}

/** What `userId` has used of each allowance in its current window. */
export async function allowanceStates(
  kv: KeyValueStore,
  userId: string,
  allowances: readonly Allowance[],
  now: number,
  windows: CalendarWindows,
): Promise<AllowanceState[]> {
  return Promise.all(
    allowances.map(async (allowance) => {
      const window = windows.of(allowance.period, now);
      const used = Math.max(0, Number((await kv.get(allowanceKey(userId, allowance, window.start))) ?? 0));
      return {
        ...allowance,
        used,
        remaining: Math.max(0, allowance.limit - used),
        windowStart: window.start,
        resetsAt: new Date(window.endsAt).toISOString(),
      };
    }),
  );
}

/**
 * A plan allowance is used up: 429 for requests, tokens and images (try again when it resets), 402 for
 * credits (like a balance that is spent). Names the allowance and when it resets; Retry-After in seconds.
 */
export class AllowanceExceeded extends AppError {
  constructor(allowance: Allowance, used: number, endsAt: number, now: number) {
    const seconds = Math.max(1, Math.ceil((endsAt - now) / 1000));
    const resetAt = new Date(endsAt).toISOString();
    super(
      allowance.metric === 'credits' ? 'PLAN_CREDITS_ALLOWANCE_EXCEEDED' : 'PLAN_ALLOWANCE_EXCEEDED',
      {
        metric: METRIC_NAMES[allowance.metric].en,
        metricZh: METRIC_NAMES[allowance.metric].zh,
        period: PERIOD_NAMES[allowance.period].en,
        periodZh: PERIOD_NAMES[allowance.period].zh,
        limit: allowance.limit,
        resetAt,
      },
      { allowance: { ...allowance, used: Math.min(used, allowance.limit), resetAt } },
      seconds,
    );
  }
}
