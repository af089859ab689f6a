import { randomUUID } from 'node:crypto';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { Adjustment, KeyValueStore, Take } from '#core/kv.ts';
import { RunningCalls } from '#core/running-calls.ts';
import { CalendarWindows } from '#modules/plans/calendar.ts';
import { AllowanceExceeded, allowanceTakes, type AllowanceAsk } from './allowances.ts';

/** Requests per minute, tokens per minute, concurrent requests, requests per day; 0 = unlimited. */
export interface Limits {
  rpm: number;
  tpm: number;
  concurrency: number;
  rpd: number;
}

/** Whose limits: a key's or a user's (all their keys together). */
export interface LimitScope {
  kind: 'key' | 'user';
  id: string;
  limits: Limits;
}

export interface Admission {
  /** `x-ratelimit-*` headers of the tightest per-minute limits. */
  headers: Record<string, string>;
  /**
   * What the call took of its plan's tokens and credits allowances (undefined: it has none of that
   * kind): the most it may use, as the call is cut to fit (see admission.ts).
   */
  allowance: { tokens: number | undefined; credits: number | undefined };
  /**
   * The requests, credits and images allowance counters the call took, with what it took: a job paid
   * later keeps them (with its hold) and corrects them when it settles (`RateLimiter.correctAllowances`).
   */
  counted: readonly CountedAllowance[];
  /**
   * The call is over: frees its concurrency slots and corrects the token count (and, when given, the
   * credits allowance) to what it really used. A call that was not `served` (it failed upstream or was
   * cancelled, nothing charged) also gives back what it took of the requests and images allowances: a
   * plan's "calls a day" counts the calls a user got. The per-minute limits keep counting it. Never
   * throws: a slot it cannot give back (the store is down) ages out instead.
   */
  finish(actualTokens: number, actualCredits?: number, served?: boolean): Promise<void>;
  /** The call was refused after admission (e.g. not enough credits): gives back everything it took. Never throws. */
  refund(): Promise<void>;
}

/** One allowance counter a call took from: enough to correct it later, from any instance. */
export interface CountedAllowance {
  metric: 'requests' | 'credits' | 'images';
  key: string;
  amount: number;
  /** When the counter's window ends (epoch ms): a correction after that is moot. */
  endsAt: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SCOPE_NAMES = { key: { zh: 'API 密钥', en: 'API key' }, user: { zh: '账户', en: 'account' } } as const;
const LIMIT_NAMES = {
  rpm: { zh: '每分钟请求数', en: 'requests per minute (RPM)' },
  tpm: { zh: '每分钟 Token 数', en: 'tokens per minute (TPM)' },
  concurrency: { zh: '并发请求数', en: 'concurrent requests' },
  rpd: { zh: '每日请求数', en: 'requests per day (RPD)' },
} as const;

/** No limits to count: nothing taken, nothing to give back. */
const UNLIMITED: Admission = {
  headers: Object.freeze({}),
  allowance: Object.freeze({ tokens: undefined, credits: undefined }),
  counted: Object.freeze([]),
  finish: () => Promise.resolve(),
  refund: () => Promise.resolve(),
};

export interface RateLimiterOptions {
  /**
   * How long a concurrency slot counts at most (the credit hold TTL): a call still running after that
   * has lost its hold too, and a slot a crashed instance never gave back stops counting then.
   */
  slotMaxAgeMs?: number;
  /** The calendar of plan allowances' windows (CHECKIN_TZ). */
  timeZone?: string;
}

/**
 * Counters in the shared KeyValueStore (Redis, so N instances share one limit; process memory
 * otherwise), every limit of a call taken in one atomic step (one script, one round trip in Redis):
 * all of them or, when one would be passed, none, so a refused request takes nothing and never makes
 * another one look over a limit meanwhile. Fixed windows per minute and per (UTC) day.
 * Concurrency is a set of slots per scope, each taken with its start time and aging out after
 * `slotMaxAgeMs`, so slots a crash left behind free themselves.
 */
export class RateLimiter {
  private readonly slotMaxAgeMs: number;
  private readonly windows: CalendarWindows;
  /** Slots of the calls running in this process: slot set key by slot id (see renewSlots). */
  private readonly running = new RunningCalls<string>();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly clock: Clock,
    options: RateLimiterOptions = {},
  ) {
    this.slotMaxAgeMs = options.slotMaxAgeMs ?? 15 * MINUTE;
    this.windows = new CalendarWindows(options.timeZone ?? 'Asia/Shanghai');
  }

  /**
   * Takes every limit of the call's scopes and, with `plan`, its user's plan allowances (their calendar
   * windows), in one atomic step: all of them, or none and the first that would be passed is named.
   */
  async admit(scopes: LimitScope[], estimatedTokens: number, plan?: AllowanceAsk): Promise<Admission> {
    const now = this.clock.now();
    const minute = Math.floor(now / MINUTE);
    const day = Math.floor(now / DAY);
    const toNextMinute = Math.ceil(((minute + 1) * MINUTE - now) / 1000);
    // Every limit of every scope, in the order a refusal names them; taken all at once or not at all.
    const takes: Take[] = [];
    const checks: Array<{ scope: LimitScope; limit: keyof typeof LIMIT_NAMES; retryAfter: number }> = [];
    for (const scope of scopes) {
      const base = `rl:${scope.kind}:${scope.id}`;
      const { rpm, tpm, concurrency, rpd } = scope.limits;
      if (rpm > 0) {
        takes.push({ kind: 'counter', key: `${base}:rpm:${minute}`, amount: 1, limit: rpm, ttlMs: MINUTE + 5_000 });
        checks.push({ scope, limit: 'rpm', retryAfter: toNextMinute });
      }
      if (tpm > 0) {
        takes.push({
          kind: 'counter',
          key: `${base}:tpm:${minute}`,
          amount: estimatedTokens,
          limit: tpm,
          ttlMs: MINUTE + 5_000,
        });
        checks.push({ scope, limit: 'tpm', retryAfter: toNextMinute });
      }
      if (rpd > 0) {
        takes.push({ kind: 'counter', key: `${base}:rpd:${day}`, amount: 1, limit: rpd, ttlMs: DAY + 3_600_000 });
        checks.push({ scope, limit: 'rpd', retryAfter: Math.ceil(((day + 1) * DAY - now) / 1000) });
      }
      if (concurrency > 0) {
        // One slot per call, aging out after slotMaxAgeMs, so a crashed instance cannot hold one for ever.
        takes.push({
          kind: 'slot',
          key: `${base}:concurrency-slots`,
          slotId: randomUUID(),
          limit: concurrency,
          maxAgeMs: this.slotMaxAgeMs,
        });
        checks.push({ scope, limit: 'concurrency', retryAfter: 1 });
      }
    }
    const limitTakes = takes.length;
    const allowances = plan ? allowanceTakes(plan, now, this.windows) : [];
    for (const { take } of allowances) takes.push(take);
    if (takes.length === 0) return UNLIMITED;
    const { refused, values, taken } = await this.kv.takeAll(takes, now);
    if (refused >= limitTakes) {
      const { allowance, take, endsAt } = allowances[refused - limitTakes]!;
      throw new AllowanceExceeded(allowance, values[refused]! - take.amount, endsAt, now);
    }
    if (refused >= 0) {
      const { scope, limit, retryAfter } = checks[refused]!;
      throw new RateLimitExceeded(scope, limit, takes[refused]!.limit, retryAfter);
    }
    // A budget counter may have taken less than asked: what it took is what is corrected and given back.
    const allowance: Admission['allowance'] = { tokens: undefined, credits: undefined };
    allowances.forEach((entry, i) => {
      const amount = taken[limitTakes + i]!;
      entry.take.amount = amount;
      const metric = entry.allowance.metric;
      if (metric === 'tokens' || metric === 'credits')
        allowance[metric] = Math.min(allowance[metric] ?? amount, amount);
    });

    const headers: Record<string, string> = {};
    const tightest: Partial<Record<'rpm' | 'tpm', { limit: number; remaining: number }>> = {};
    checks.forEach(({ limit }, i) => {
      if (limit !== 'rpm' && limit !== 'tpm') return;
      const remaining = takes[i]!.limit - values[i]!;
      if (!tightest[limit] || remaining < tightest[limit].remaining)
        tightest[limit] = { limit: takes[i]!.limit, remaining };
    });
    for (const [limit, kind] of [
      ['rpm', 'requests'],
      ['tpm', 'tokens'],
    ] as const) {
      const seen = tightest[limit];
      if (!seen) continue;
      headers[`x-ratelimit-limit-${kind}`] = String(seen.limit);
      headers[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, seen.remaining));
      headers[`x-ratelimit-reset-${kind}`] = `${toNextMinute}s`;
    }
    const slots = takes.filter((take) => take.kind === 'slot');
    for (const slot of slots) this.running.add(slot.slotId, slot.key, now);
    let over = false;
    const stopRenewing = () => {
      for (const slot of slots) this.running.delete(slot.slotId);
    };
    const correction = (i: number, actualTokens: number, actualCredits: number | undefined, served: boolean) => {
      if (i < limitTakes) return checks[i]!.limit === 'tpm' ? actualTokens - estimatedTokens : 0;
      const { allowance: counted, take } = allowances[i - limitTakes]!;
      if (!served && (counted.metric === 'requests' || counted.metric === 'images')) return -take.amount;
      if (counted.metric === 'tokens') return actualTokens - take.amount;
      // Credits are corrected when the call says what it was charged (a job keeps its reserve until settled).
      if (counted.metric === 'credits' && actualCredits !== undefined) return actualCredits - take.amount;
      return 0;
    };
    const counted: CountedAllowance[] = [];
    for (const { allowance: a, take, endsAt } of allowances)
      if (a.metric !== 'tokens') counted.push({ metric: a.metric, key: take.key, amount: take.amount, endsAt });
    return {
      headers,
      allowance,
      counted,
      finish: async (actualTokens: number, actualCredits?: number, served = true) => {
        if (over) return;
        over = true;
        stopRenewing();
        // Slots given back, and tokens (and credits) corrected to what the call really used: one step.
        const adjustments: Adjustment[] = [];
        takes.forEach((take, i) => {
          if (take.kind === 'slot') return adjustments.push({ kind: 'slot', key: take.key, slotId: take.slotId });
          const by = correction(i, actualTokens, actualCredits, served);
          if (by !== 0) adjustments.push({ kind: 'counter', key: take.key, by, ttlMs: take.ttlMs });
        });
        await this.quietly(() => this.kv.adjustAll(adjustments));
      },
      refund: async () => {
        if (over) return;
        over = true;
        stopRenewing();
        await this.giveBack(takes);
      },
    };
  }

  /**
   * Restarts the age of the slots of the calls still running here, so a call longer than slotMaxAgeMs
   * keeps counting against its limits (run more often than that; a dead process renews nothing and its
   * slots age out). A call running for over a day is let go. Never throws: a slot not renewed ages out.
   */
  async renewSlots(): Promise<number> {
    const now = this.clock.now();
    const slots = this.running.current(now);
    await Promise.all(
      slots.map(([slotId, key]) => this.quietly(() => this.kv.renewSlot(key, slotId, now, this.slotMaxAgeMs))),
    );
    return slots.length;
  }

  /**
   * Corrects the allowance counters a job took at admission to what it really used (`actual`), when it
   * settles — on any instance, maybe after a restart: credits and images to what it was charged and
   * made; its request given back when it made nothing. A window that has ended is left alone. Never throws.
   */
  async correctAllowances(counted: readonly CountedAllowance[], actual: { credits: number; images: number }) {
    const now = this.clock.now();
    const served = actual.credits > 0 || actual.images > 0;
    const adjustments: Adjustment[] = [];
    for (const counter of counted) {
      const by =
        counter.metric === 'requests' ? (served ? 0 : -counter.amount) : actual[counter.metric] - counter.amount;
      if (by !== 0 && now < counter.endsAt)
        adjustments.push({ kind: 'counter', key: counter.key, by, ttlMs: counter.endsAt - now + HOUR });
    }
    if (adjustments.length > 0) await this.quietly(() => this.kv.adjustAll(adjustments));
  }

  /** Gives back everything taken; never throws (see `quietly`). */
  private async giveBack(takes: readonly Take[]): Promise<void> {
    const adjustments = takes.map((take): Adjustment =>
      take.kind === 'slot'
        ? { kind: 'slot', key: take.key, slotId: take.slotId }
        : { kind: 'counter', key: take.key, by: -take.amount, ttlMs: take.ttlMs },
    );
    await this.quietly(() => this.kv.adjustAll(adjustments));
  }

  /**
   * Giving back is best effort: a failure (the store briefly down) must not replace the answer the
   * client is getting or the error that refused it. What was not given back corrects itself: a slot
   * ages out after slotMaxAgeMs, a counter ends with its window. No logger here, so it is ignored.
   */
  private async quietly(give: () => Promise<unknown>): Promise<void> {
    try {
      await give();
    } catch {
      // Ignored on purpose: see above.
    }
  }
}

/** RATE_LIMITED, with the `x-ratelimit-*` headers of the limit that refused (per-minute limits have them). */
export class RateLimitExceeded extends AppError {
  readonly headers: Record<string, string> = {};

  constructor(scope: LimitScope, limit: keyof typeof LIMIT_NAMES, max: number, seconds: number) {
    super(
      'RATE_LIMITED',
      {
        scope: SCOPE_NAMES[scope.kind].en,
        scopeZh: SCOPE_NAMES[scope.kind].zh,
        limit: LIMIT_NAMES[limit].en,
        limitZh: LIMIT_NAMES[limit].zh,
        max,
        seconds,
      },
      { limitType: limit === 'tpm' ? 'tokens' : 'requests' },
      seconds,
    );
    const kind = limit === 'rpm' ? 'requests' : limit === 'tpm' ? 'tokens' : undefined;
    if (kind) {
      this.headers[`x-ratelimit-limit-${kind}`] = String(max);
      this.headers[`x-ratelimit-remaining-${kind}`] = '0';
      this.headers[`x-ratelimit-reset-${kind}`] = `${seconds}s`;
    }
  }
}
