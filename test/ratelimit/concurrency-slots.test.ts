import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore, RedisStore, type KeyValueStore } from '#core/kv.ts';
import { RateLimiter, RateLimitExceeded, type LimitScope } from '#modules/ratelimit/rate-limiter.ts';
import { LONG_SESSIONS, ManualClock, MINUTE } from '#test/helpers/clock.ts';
import { availableKvKinds, clearRedisPrefix, uniquePrefix } from '#test/helpers/kv.ts';
import { backends } from '#test/helpers/test-app.ts';
import { chatBody, newCaller, startGateway, v1, type Gateway } from '#test/helpers/gateway.ts';

const MAX_AGE = 15 * MINUTE;
const limits = (concurrency: number) => ({ rpm: 0, tpm: 0, concurrency, rpd: 0 });
let scopeCounter = 0;
const userScope = (concurrency: number): LimitScope => ({
  kind: 'user',
  id: `slots-user-${Date.now()}-${++scopeCounter}`,
  limits: limits(concurrency),
});

/** A store whose give-backs fail, as when Redis is briefly down at the end of a call. */
function failingGiveBacks(kv: KeyValueStore): KeyValueStore {
  return new Proxy(kv, {
    get(target, property, receiver) {
      if (property === 'adjustAll') return () => Promise.reject(new Error('Connection is closed.'));
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe.each(availableKvKinds())('concurrency slots of the RateLimiter on %s', (kind) => {
  let kv: KeyValueStore;
  let clock: ManualClock;
  let limiter: RateLimiter;
  const prefix = uniquePrefix();
  const redisUrl = process.env.TEST_REDIS_URL;

  beforeAll(async () => {
    kv = kind === 'redis' ? await RedisStore.connect(redisUrl!, prefix) : new MemoryStore();
  });
  afterAll(async () => {
    await kv.close();
    if (kind === 'redis') await clearRedisPrefix(redisUrl!, prefix);
  });
  beforeEach(() => {
    clock = new ManualClock();
    limiter = new RateLimiter(kv, clock, { slotMaxAgeMs: MAX_AGE });
  });

  it('release and refund free the slot', async () => {
    const scope = userScope(1);
    const first = await limiter.admit([scope], 10);
    await expect(limiter.admit([scope], 10)).rejects.toBeInstanceOf(RateLimitExceeded);
    await first.finish(10);
    const second = await limiter.admit([scope], 10);
    await second.refund();
    await (await limiter.admit([scope], 10)).finish(10);
  });

  it('a slot a crash never gave back stops counting after the maximum age, though the user keeps calling', async () => {
    const scope = userScope(3);
    // The crash: two calls admitted, their Admissions dropped without release.
    await limiter.admit([scope], 10);
    clock.advance(MINUTE);
    await limiter.admit([scope], 10);
    const refusal = () =>
      limiter.admit([scope], 10).then(
        () => 'admitted',
        (e: unknown) => (e instanceof RateLimitExceeded ? 'refused' : String(e)),
      );

    // The same user keeps making calls every minute: each one takes and gives back a slot, which
    // restarts the set's expiry, yet the leaked slots still age out by their own start times.
    const limitSeen: number[] = [];
    for (let elapsed = MINUTE; elapsed <= 17 * MINUTE; elapsed += MINUTE) {
      clock.advance(MINUTE);
      const a = await limiter.admit([scope], 10);
      const b = await limiter.admit([scope], 10).catch(() => null);
      const c = await limiter.admit([scope], 10).catch(() => null);
      limitSeen.push([a, b, c].filter(Boolean).length);
      await Promise.all([a, b, c].map((x) => (x ? x.finish(10) : Promise.resolve())));
    }
    // Leaked at 0 and 1 min; now = 2..18 min. Both count until 15 min, the second until 16 min.
    expect(limitSeen).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3]);
    const all = await Promise.all([limiter.admit([scope], 10), limiter.admit([scope], 10), limiter.admit([scope], 10)]);
    expect(await refusal()).toBe('refused');
    await Promise.all(all.map((a) => a.finish(10)));
    expect(await refusal()).toBe('admitted');
  });

  it("a running call's slot is renewed past the maximum age and keeps counting; once released it is not renewed", async () => {
    const scope = userScope(1);
    const running = await limiter.admit([scope], 10);
    for (let i = 0; i < 4; i++) {
      clock.advance(MAX_AGE / 2);
      expect(await limiter.renewSlots()).toBe(1);
      await expect(limiter.admit([scope], 10)).rejects.toBeInstanceOf(RateLimitExceeded);
    }
    await running.finish(10);
    expect(await limiter.renewSlots()).toBe(0);
    await (await limiter.admit([scope], 10)).finish(10);
  });

  it('a refused request takes no slot: the refusal by a key leaves the user its slot', async () => {
    const user = userScope(2);
    const key: LimitScope = { kind: 'key', id: `slots-key-${++scopeCounter}`, limits: limits(1) };
    const first = await limiter.admit([user, key], 10);
    await expect(limiter.admit([user, key], 10)).rejects.toThrow(RateLimitExceeded);
    // The user still has one slot free, the refused call did not keep one.
    const other = await limiter.admit([user], 10);
    await expect(limiter.admit([user], 10)).rejects.toBeInstanceOf(RateLimitExceeded);
    await Promise.all([first.finish(10), other.finish(10)]);
  });

  it('release and refund never throw when the store fails to take things back; the slot then ages out', async () => {
    const flaky = new RateLimiter(failingGiveBacks(kv), clock, { slotMaxAgeMs: MAX_AGE });
    const scope: LimitScope = { ...userScope(1), limits: { rpm: 10, tpm: 10_000, concurrency: 1, rpd: 100 } };
    const released = await flaky.admit([scope], 100);
    await expect(released.finish(50)).resolves.toBeUndefined();
    // Not given back: still counts...
    await expect(limiter.admit([scope], 100)).rejects.toBeInstanceOf(RateLimitExceeded);
    clock.advance(MAX_AGE);
    const refunded = await flaky.admit([scope], 100);
    await expect(refunded.refund()).resolves.toBeUndefined();
    clock.advance(MAX_AGE);
    // ...until it ages out.
    const after = await limiter.admit([scope], 100);
    await after.finish(100);
  });

  it('a refusal stays a RateLimitExceeded when giving back what was taken fails', async () => {
    const flaky = new RateLimiter(failingGiveBacks(kv), clock, { slotMaxAgeMs: MAX_AGE });
    const scope: LimitScope = { ...userScope(1), limits: { rpm: 10, tpm: 0, concurrency: 1, rpd: 0 } };
    const held = await limiter.admit([scope], 10);
    await expect(flaky.admit([scope], 10)).rejects.toBeInstanceOf(RateLimitExceeded);
    await held.finish(10);
  });
});

describe.each(backends().slice(0, 2))(
  'the gateway ages out leaked concurrency slots after CREDIT_HOLD_TTL on $label',
  (backend) => {
    let g: Gateway;
    beforeAll(async () => {
      g = await startGateway(backend, {
        env: { ...LONG_SESSIONS, RATE_LIMIT_USER_RPM: '0', RATE_LIMIT_USER_CONCURRENCY: '2', CREDIT_HOLD_TTL: '120' },
      });
    });
    afterAll(() => g.close());
    afterEach(() => g.fake.reset());

    it("a crashed call's slots stop counting CREDIT_HOLD_TTL after they were taken", async () => {
      const c = await newCaller(g);
      const chat = async () =>
        (await v1(g, c.secret, 'POST', '/v1/chat/completions', chatBody({ fake_behavior: 'usage=10,5' }))).statusCode;
      // Two calls admitted on the user's limits and never released, as an instance crash leaves them.
      const scope: LimitScope = { kind: 'user', id: c.user.id, limits: limits(2) };
      await g.t.app.services.limiter.admit([scope], 10);
      await g.t.app.services.limiter.admit([scope], 10);
      expect(await chat()).toBe(429);
      g.t.clock.advance(119_000);
      expect(await chat()).toBe(429);
      g.t.clock.advance(1_000);
      expect([await chat(), await chat(), await chat()]).toEqual([200, 200, 200]);
    });
  },
);
