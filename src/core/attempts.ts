import type { Clock } from './clock.ts';
import type { KeyValueStore } from './kv.ts';

/**
 * What one kind of subject (an email, a user, a client IP) may get wrong. Failures are counted per
 * subject and forgotten `windowMs` after the last counted attempt.
 */
export interface AttemptRule {
  /** Names the kind of subject in the store's keys, e.g. `redeem:user`. */
  name: string;
  windowMs: number;
  /**
   * The failure that brings a subject to `after` locks it for `ms` (by the injectable clock), and an
   * attempt beyond `after` is refused without being counted. The lock leaves the count at `countAfter`:
   * 0 starts afresh when the lock ends, `after - 1` makes the next failure lock again. Absent: the
   * subject's failures are only counted (e.g. to ask for a captcha), it is never locked.
   */
  lock?: { after: number; ms: number; countAfter: number };
}

/** Whose attempt: one subject under its rule. */
export interface Subject {
  rule: AttemptRule;
  id: string;
}

/** An attempt counted in advance on its subjects, with each subject's count including it. */
export interface Attempt {
  subjects: readonly Subject[];
  counts: readonly number[];
}

export type AttemptAdmission =
  | { admitted: true; attempt: Attempt }
  /** `lockedMs`: the longest lock among the subjects; 0 when none is locked but attempts still running fill a limit. */
  | { admitted: false; lockedMs: number };

/** A limit no count reaches: a subject without a lock is counted, never refused. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * Failed attempts at something guessable (a password, a redeem code, an API key), counted per subject
 * in the KeyValueStore (so every instance counts together with Redis), with a lock past a limit.
 *
 * An attempt is counted before it is tried, on all its subjects at once or on none (one atomic step),
 * so parallel guesses cannot slip past a limit while the first ones are still being checked. The
 * caller then gives it back (the attempt was no guess: it succeeded, or the server failed) or reports
 * it failed (which may lock). A lock's end is stored as a time and read against the injectable clock,
 * so what a user is told (Retry-After) is what they see.
 */
export class AttemptLimiter {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one attempt on every subject, or refuses it (counting nothing) when a subject is locked or
   * would pass its limit. Locks are read after counting, so a lock that a parallel attempt set before
   * this one was counted is never missed.
   */
  async begin(subjects: readonly Subject[]): Promise<AttemptAdmission> {
    const taking = await this.kv.takeAll(
      subjects.map((subject) => ({
        kind: 'counter',
        key: countKey(subject),
        amount: 1,
        limit: subject.rule.lock?.after ?? UNLIMITED,
        ttlMs: subject.rule.windowMs,
      })),
      this.clock.now(),
    );
    const lockedMs = Math.max(0, ...(await Promise.all(subjects.map((subject) => this.lockedFor(subject)))));
    if (taking.refused !== -1) return { admitted: false, lockedMs };
    const attempt: Attempt = { subjects, counts: taking.values };
    if (lockedMs === 0) return { admitted: true, attempt };
    await this.giveBack(attempt);
    return { admitted: false, lockedMs };
  }

  /** The attempt was no guess (it succeeded, or the server failed): its count is given back. */
  async giveBack(attempt: Attempt): Promise<void> {
    await Promise.all(
      attempt.subjects.map((subject) => this.kv.increment(countKey(subject), subject.rule.windowMs, -1)),
    );
  }

  /** The attempt failed: each subject it brought to its limit is locked. Returns the longest lock's ms left, 0 for none. */
  async failed(attempt: Attempt): Promise<number> {
    const locks = await Promise.all(
      attempt.subjects.map(async (subject, i) => {
        const after = subject.rule.lock?.after;
        return after !== undefined && attempt.counts[i]! >= after ? this.lock(subject) : 0;
      }),
    );
    return Math.max(0, ...locks);
  }

  /** Locks `subject` unless it is locked already (then the lock is left as it is). Returns the lock's ms left. */
  async lock(subject: Subject): Promise<number> {
    const left = await this.lockedFor(subject);
    const lock = subject.rule.lock;
    if (left > 0 || !lock) return left;
    // The lock is written before the count is lowered, so an attempt that finds the room this makes
    // also finds the lock (begin reads locks after counting).
    await this.kv.set(lockKey(subject), String(this.clock.now() + lock.ms), lock.ms);
    if (lock.countAfter > 0) await this.kv.set(countKey(subject), String(lock.countAfter), subject.rule.windowMs);
    else await this.kv.del(countKey(subject));
    return lock.ms;
  }

  /** Milliseconds `subject` stays locked; 0 when it is not. */
  async lockedFor(subject: Subject): Promise<number> {
    if (!subject.rule.lock) return 0;
    const until = Number((await this.kv.get(lockKey(subject))) ?? 0);
    return Math.max(0, until - this.clock.now());
  }

  /** The failures counted for `subject` in its window. */
  async failures(subject: Subject): Promise<number> {
    return Number((await this.kv.get(countKey(subject))) ?? 0);
  }

  /** Forgets the subjects' failures (their locks stay). */
  async forgetFailures(...subjects: Subject[]): Promise<void> {
    await this.kv.del(...subjects.map(countKey));
  }

  async unlock(subject: Subject): Promise<void> {
    await this.kv.del(lockKey(subject));
  }
}

const countKey = (subject: Subject) => `attempts:${subject.rule.name}:${subject.id}`;
const lockKey = (subject: Subject) => `lockout:${subject.rule.name}:${subject.id}`;
