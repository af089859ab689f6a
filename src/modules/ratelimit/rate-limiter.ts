import { randomUUID } from 'node:crypto';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';

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
   * Frees the concurrency slots and corrects the token count to what the call really used. Never
   * throws: a slot it cannot give back (the store is down) ages out instead.
   */
  release(actualTokens: number): Promise<void>;
  /** The call was refused after admission (e.g. not enough credits): gives back everything it took. Never throws. */
  refund(): Promise<void>;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const SCOPE_NAMES = { key: { zh: 'API 密钥', en: 'API key' }, user: { zh: '账户', en: 'account' } } as const;
const LIMIT_NAMES = {
  rpm: { zh: '每分钟请求数', en: 'requests per minute (RPM)' },
  tpm: { zh: '每分钟 Token 数', en: 'tokens per minute (TPM)' },
  concurrency: { zh: '并发请求数', en: 'concurrent requests' },
  rpd: { zh: '每日请求数', en: 'requests per day (RPD)' },
} as const;

interface Taken {
  key: string;
  amount: number;
  ttlMs: number;
}

/** Everything an admission took: counter increments and concurrency slots. */
interface TakenAll {
  counters: Taken[];
  slots: { key: string; slotId: string }[];
}

export interface RateLimiterOptions {
  /**
   * How long a concurrency slot counts at most (the credit hold TTL): a call still running after that
   * has lost its hold too, and a slot a crashed instance never gave back stops counting then.
   */
  slotMaxAgeMs?: number;
}

/**
 * Counters in the shared KeyValueStore (atomic INCRBY in Redis, so N instances share one limit; process
 * memory otherwise). Fixed windows per minute and per (UTC) day; a refused request takes nothing.
 * Concurrency is a set of slots per scope, each taken with its start time and aging out after
 * `slotMaxAgeMs`, so slots a crash left behind free themselves.
 */
export class RateLimiter {
  private readonly slotMaxAgeMs: number;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly clock: Clock,
    options: RateLimiterOptions = {},
  ) {
    this.slotMaxAgeMs = options.slotMaxAgeMs ?? 15 * MINUTE;
  }

  async admit(scopes: LimitScope[], estimatedTokens: number): Promise<Admission> {
    const now = this.clock.now();
    const minute = Math.floor(now / MINUTE);
    const day = Math.floor(now / DAY);
    const taken: TakenAll = { counters: [], slots: [] };
    const headers: Record<string, string> = {};
    let tightestRequests: { limit: number; remaining: number } | undefined;
    let tightestTokens: { limit: number; remaining: number } | undefined;
    try {
      for (const scope of scopes) {
        const base = `rl:${scope.kind}:${scope.id}`;
        const { rpm, tpm, concurrency, rpd } = scope.limits;
        if (rpm > 0) {
          const used = await this.take(taken, `${base}:rpm:${minute}`, 1, MINUTE + 5_000);
          if (used > rpm) this.refuse(scope, 'rpm', rpm, Math.ceil(((minute + 1) * MINUTE - now) / 1000));
          if (!tightestRequests || rpm - used < tightestRequests.remaining) tightestRequests = { limit: rpm, remaining: rpm - used };
        }
        if (tpm > 0) {
          const used = await this.take(taken, `${base}:tpm:${minute}`, estimatedTokens, MINUTE + 5_000);
          if (used > tpm) this.refuse(scope, 'tpm', tpm, Math.ceil(((minute + 1) * MINUTE - now) / 1000));
          if (!tightestTokens || tpm - used < tightestTokens.remaining) tightestTokens = { limit: tpm, remaining: tpm - used };
        }
        if (rpd > 0) {
          const used = await this.take(taken, `${base}:rpd:${day}`, 1, DAY + 3_600_000);
          if (used > rpd) this.refuse(scope, 'rpd', rpd, Math.ceil(((day + 1) * DAY - now) / 1000));
        }
        if (concurrency > 0) {
          // One slot per call, aging out after slotMaxAgeMs, so a crashed instance cannot hold one for ever.
          const key = `${base}:concurrency-slots`;
          const slotId = randomUUID();
          const slot = await this.kv.acquireSlot(key, slotId, concurrency, now, this.slotMaxAgeMs);
          if (!slot.taken) this.refuse(scope, 'concurrency', concurrency, 1);
          taken.slots.push({ key, slotId });
        }
      }
    } catch (error) {
      await this.giveBack(taken);
      throw error;
    }
    const reset = `${Math.ceil(((minute + 1) * MINUTE - now) / 1000)}s`;
    if (tightestRequests) {
      headers['x-ratelimit-limit-requests'] = String(tightestRequests.limit);
      headers['x-ratelimit-remaining-requests'] = String(Math.max(0, tightestRequests.remaining));
      headers['x-ratelimit-reset-requests'] = reset;
    }
    if (tightestTokens) {
      headers['x-ratelimit-limit-tokens'] = String(tightestTokens.limit);
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, tightestTokens.remaining));
      headers['x-ratelimit-reset-tokens'] = reset;
    }
    let released = false;
    return {
      headers,
      release: async (actualTokens: number) => {
        if (released) return;
        released = true;
        const corrections: Taken[] = [];
        for (const t of taken.counters) {
          if (t.key.includes(':tpm:') && actualTokens !== estimatedTokens) corrections.push({ ...t, amount: actualTokens - estimatedTokens });
        }
        await Promise.all([
          ...taken.slots.map((s) => this.quietly(() => this.kv.releaseSlot(s.key, s.slotId))),
          ...corrections.map((c) => this.quietly(() => this.kv.increment(c.key, c.ttlMs, c.amount))),
        ]);
      },
      refund: async () => {
        if (released) return;
        released = true;
        await this.giveBack(taken);
      },
    };
  }

  private async take(taken: TakenAll, key: string, amount: number, ttlMs: number): Promise<number> {
    const used = await this.kv.increment(key, ttlMs, amount);
    taken.counters.push({ key, amount, ttlMs });
    return used;
  }

  /** Gives back everything taken; never throws (see `quietly`). */
  private async giveBack(taken: TakenAll): Promise<void> {
    await Promise.all([
      ...taken.slots.map((s) => this.quietly(() => this.kv.releaseSlot(s.key, s.slotId))),
      ...taken.counters.map((t) => this.quietly(() => this.kv.increment(t.key, t.ttlMs, -t.amount))),
    ]);
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

  private refuse(scope: LimitScope, limit: keyof typeof LIMIT_NAMES, max: number, seconds: number): never {
    throw new RateLimitExceeded(scope, limit, max, seconds);
  }
}

/** RATE_LIMITED, with the `x-ratelimit-*` headers of the limit that refused (per-minute limits have them). */
export class RateLimitExceeded extends AppError {
  readonly headers: Record<string, string> = {};

  constructor(scope: LimitScope, limit: keyof typeof LIMIT_NAMES, max: number, seconds: number) {
    super(
      'RATE_LIMITED',
      { scope: SCOPE_NAMES[scope.kind].en, scopeZh: SCOPE_NAMES[scope.kind].zh, limit: LIMIT_NAMES[limit].en, limitZh: LIMIT_NAMES[limit].zh, max, seconds },
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
