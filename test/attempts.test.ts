import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptLimiter, type AttemptAdmission, type Attempt, type AttemptRule, type Subject } from '#core/attempts.ts';
import { MemoryStore, RedisStore, type KeyValueStore } from '#core/kv.ts';
import { ManualClock, MINUTE } from '#test/helpers/clock.ts';
import { availableKvKinds, clearRedisPrefix, uniquePrefix } from '#test/helpers/kv.ts';

let subjectCounter = 0;
const subjectOf = (rule: AttemptRule): Subject => ({ rule, id: `s${++subjectCounter}` });

/** Three tries allowed, then a 10-minute lock that starts afresh. */
const AFRESH: AttemptRule = {
  name: 'test:afresh',
  windowMs: 60 * MINUTE,
  lock: { after: 3, ms: 10 * MINUTE, countAfter: 0 },
};
/** Three tries allowed, then a 15-minute lock after which the next failure locks again. */
const STRICT: AttemptRule = {
  name: 'test:strict',
  windowMs: 60 * MINUTE,
  lock: { after: 3, ms: 15 * MINUTE, countAfter: 2 },
};
/** Counted, never locked. */
const COUNTED: AttemptRule = { name: 'test:counted', windowMs: 60 * MINUTE };

function admitted(admission: AttemptAdmission): Attempt {
  if (!admission.admitted) throw new Error(`refused, locked for ${admission.lockedMs} ms`);
  return admission.attempt;
}

describe.each(availableKvKinds())('AttemptLimiter on %s', (kind) => {
  const prefix = uniquePrefix();
  const clock = new ManualClock();
  let kv: KeyValueStore;
  let attempts: AttemptLimiter;
  beforeAll(async () => {
    kv = kind === 'redis' ? await RedisStore.connect(process.env.TEST_REDIS_URL!, prefix) : new MemoryStore();
    attempts = new AttemptLimiter(kv, clock);
  });
  afterAll(async () => {
    await kv.close();
    if (kind === 'redis') await clearRedisPrefix(process.env.TEST_REDIS_URL!, prefix);
  });

  /** Fails `times` attempts in turn; returns what the last failure's lock has left (0: none). */
  const fail = async (subjects: Subject[], times: number) => {
    let lockedMs = 0;
    for (let i = 0; i < times; i++) lockedMs = await attempts.failed(admitted(await attempts.begin(subjects)));
    return lockedMs;
  };

  it('counts each attempt in advance and gives a successful one back', async () => {
    const subject = subjectOf(AFRESH);
    const first = admitted(await attempts.begin([subject]));
    expect(first.counts).toEqual([1]);
    expect(await attempts.failures(subject)).toBe(1);
    await attempts.giveBack(first);
    expect(await attempts.failures(subject)).toBe(0);
    // Given back, successes never bring the lock closer.
    for (let i = 0; i < 10; i++) await attempts.giveBack(admitted(await attempts.begin([subject])));
    expect(await fail([subject], 2)).toBe(0);
    expect(await attempts.lockedFor(subject)).toBe(0);
  });

  it('the failure that reaches the limit locks for its time, by the clock, and Retry-After can be told', async () => {
    const subject = subjectOf(AFRESH);
    expect(await fail([subject], 2)).toBe(0);
    expect(await fail([subject], 1)).toBe(10 * MINUTE);
    expect(await attempts.begin([subject])).toEqual({ admitted: false, lockedMs: 10 * MINUTE });
    clock.advance(10 * MINUTE - 1000);
    expect(await attempts.begin([subject])).toEqual({ admitted: false, lockedMs: 1000 });
    expect(await attempts.failures(subject)).toBe(0); // refused attempts are not counted
    clock.advance(1000);
    expect(await attempts.lockedFor(subject)).toBe(0);
    // countAfter 0: a fresh start, three more tries.
    expect(await fail([subject], 2)).toBe(0);
    expect(await fail([subject], 1)).toBe(10 * MINUTE);
  });

  it('a lock that leaves the count below the limit locks again at the next failure after it ends', async () => {
    const subject = subjectOf(STRICT);
    expect(await fail([subject], 3)).toBe(15 * MINUTE);
    expect(await attempts.failures(subject)).toBe(2);
    clock.advance(15 * MINUTE);
    expect(await fail([subject], 1)).toBe(15 * MINUTE);
  });

  it('locking a locked subject leaves its lock as it is', async () => {
    const subject = subjectOf(AFRESH);
    expect(await attempts.lock(subject)).toBe(10 * MINUTE);
    clock.advance(4 * MINUTE);
    expect(await attempts.lock(subject)).toBe(6 * MINUTE);
    expect(await attempts.lockedFor(subject)).toBe(6 * MINUTE);
    await attempts.unlock(subject);
    expect(await attempts.lockedFor(subject)).toBe(0);
    expect(admitted(await attempts.begin([subject])).counts).toEqual([1]);
  });

  it('counts on several subjects all at once or not at all', async () => {
    const [user, ip] = [subjectOf(AFRESH), subjectOf(COUNTED)];
    await fail([user, ip], 2);
    const third = admitted(await attempts.begin([user, ip]));
    expect(third.counts).toEqual([3, 3]);
    // The user's limit is full while the third attempt runs: the next is refused and counted nowhere.
    expect(await attempts.begin([user, ip])).toEqual({ admitted: false, lockedMs: 0 });
    expect([await attempts.failures(user), await attempts.failures(ip)]).toEqual([3, 3]);
    // A subject without a lock is counted past any number and never locked.
    expect(await attempts.failed(third)).toBe(10 * MINUTE);
    expect(await attempts.lockedFor(ip)).toBe(0);
    expect(await fail([ip], 20)).toBe(0);
    expect(await attempts.failures(ip)).toBe(23);
    // One locked subject refuses the attempt for the other too, which is not counted.
    const other = subjectOf(COUNTED);
    expect(await attempts.begin([other, user])).toEqual({ admitted: false, lockedMs: 10 * MINUTE });
    expect(await attempts.failures(other)).toBe(0);
    await attempts.forgetFailures(ip, other);
    expect(await attempts.failures(ip)).toBe(0);
  });

  it('CONCURRENCY: of 30 parallel attempts against a limit of 3, exactly 3 are let through', async () => {
    const subject = subjectOf(AFRESH);
    const admissions = await Promise.all(Array.from({ length: 30 }, () => attempts.begin([subject])));
    const through = admissions.filter((a) => a.admitted);
    expect(through).toHaveLength(3);
    expect(await attempts.failures(subject)).toBe(3);
    expect(through.map((a) => admitted(a).counts[0]!).sort((a, b) => a - b)).toEqual([1, 2, 3]);
    // They fail: the one counted third locks.
    expect(Math.max(...(await Promise.all(through.map((a) => attempts.failed(admitted(a))))))).toBe(10 * MINUTE);
    expect(await attempts.begin([subject])).toEqual({ admitted: false, lockedMs: 10 * MINUTE });
  });

  it('an attempt that finds room under a lock (the count left below the limit) is refused and given back', async () => {
    const subject = subjectOf(STRICT);
    expect(await fail([subject], 3)).toBe(15 * MINUTE);
    expect(await attempts.begin([subject])).toEqual({ admitted: false, lockedMs: 15 * MINUTE });
    expect(await attempts.failures(subject)).toBe(2);
  });

  it('CONCURRENCY: attempts begun while another failure locks are never let through', async () => {
    const subject = subjectOf(STRICT);
    await fail([subject], 2);
    const last = admitted(await attempts.begin([subject]));
    const [lockedMs, ...parallel] = await Promise.all([
      attempts.failed(last),
      ...Array.from({ length: 10 }, () => attempts.begin([subject])),
    ]);
    expect(lockedMs).toBe(15 * MINUTE);
    expect(parallel.filter((a) => a.admitted)).toEqual([]);
    expect(await attempts.failures(subject)).toBe(2);
  });
});
