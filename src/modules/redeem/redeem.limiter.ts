import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';

export interface RedeemLimits {
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
  windowMs: number;
}

interface Gate {
  counter: string;
  lock: string;
  max: number;
}

/** One redeem attempt that was let through: the gates it was counted on and the count it got. */
export interface Attempt {
  gates: Gate[];
  counts: number[];
}

/**
 * Failed redeem attempts, counted per user and per IP against guessing. An attempt is counted
 * before the code is looked at, so parallel guesses cannot slip past the limit; a success (or a
 * server error) gives its count back. The failure that reaches a limit locks that user or IP for
 * the window; the lock's end is checked against the injectable clock, so it is what a user sees.
 */
export class RedeemLimiter {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly clock: Clock,
    private readonly limits: RedeemLimits,
  ) {}

  /** Refuses a locked user or IP (429 with Retry-After); otherwise counts the attempt in advance. */
  async begin(userId: string, ip: string): Promise<Attempt> {
    const gates: Gate[] = [
      { counter: `redeem:fail:user:${userId}`, lock: `redeem:lock:user:${userId}`, max: this.limits.maxFailuresPerUser },
      { counter: `redeem:fail:ip:${ip}`, lock: `redeem:lock:ip:${ip}`, max: this.limits.maxFailuresPerIp },
    ];
    for (const gate of gates) await this.refuseIfLocked(gate);
    const counts = await Promise.all(gates.map((gate) => this.kv.increment(gate.counter, this.limits.windowMs)));
    if (gates.some((gate, i) => counts[i]! > gate.max)) {
      // Attempts still in flight have filled the limit: this one tries nothing and is not counted.
      await this.giveBack({ gates, counts });
      for (const gate of gates) await this.refuseIfLocked(gate);
      throw tooMany(Math.ceil(this.limits.windowMs / 1000));
    }
    return { gates, counts };
  }

  /** The code was redeemed (or the server failed): the attempt was no guess. */
  async giveBack(attempt: Attempt): Promise<void> {
    await Promise.all(attempt.gates.map((gate) => this.kv.increment(gate.counter, this.limits.windowMs, -1)));
  }

  /**
   * The attempt failed; a gate whose limit it reached is locked for the window. The lock is kept
   * twice as long as it lasts, so the first attempt after its end finds it and clears the count.
   */
  async failed(attempt: Attempt): Promise<void> {
    const until = this.clock.now() + this.limits.windowMs;
    await Promise.all(
      attempt.gates.map(async (gate, i) => {
        if (attempt.counts[i]! >= gate.max && (await this.lockedFor(gate)) === 0) await this.kv.set(gate.lock, String(until), 2 * this.limits.windowMs);
      }),
    );
  }

  /** Milliseconds the gate stays locked; a lock whose end has passed is cleared with its count. */
  private async lockedFor(gate: Gate): Promise<number> {
    const value = await this.kv.get(gate.lock);
    if (value === null) return 0;
    const remaining = Number(value) - this.clock.now();
    if (remaining > 0) return remaining;
    await this.kv.del(gate.lock, gate.counter);
    return 0;
  }

  private async refuseIfLocked(gate: Gate): Promise<void> {
    const remaining = await this.lockedFor(gate);
    if (remaining > 0) throw tooMany(Math.ceil(remaining / 1000));
  }
}

function tooMany(seconds: number): AppError {
  const retryAfter = Math.max(1, seconds);
  return new AppError('REDEEM_TOO_MANY_ATTEMPTS', { minutes: Math.max(1, Math.ceil(retryAfter / 60)) }, {}, retryAfter);
}
