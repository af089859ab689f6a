import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '#core/config.ts';
import { MemoryStore, RedisStore, type KeyValueStore } from '#core/kv.ts';
import { closedPort } from '#test/fakes/silent.ts';
import { availableKvKinds, clearRedisPrefix, commandsSent, rawRedis, uniquePrefix } from '#test/helpers/kv.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let keyCounter = 0;
const freshKey = (tag: string) => `${tag}:${++keyCounter}`;

describe.each(availableKvKinds())('KeyValueStore contract on %s', (kind) => {
  let kv: KeyValueStore;
  const prefix = uniquePrefix();
  const redisUrl = process.env.TEST_REDIS_URL;

  const open = async (keyPrefix: string): Promise<KeyValueStore> =>
    kind === 'redis' ? RedisStore.connect(redisUrl!, keyPrefix) : new MemoryStore();

  beforeAll(async () => {
    kv = await open(prefix);
  });
  afterAll(async () => {
    await kv.close();
    if (kind === 'redis') await clearRedisPrefix(redisUrl!, prefix);
  });

  it('reports its kind and answers a ping', async () => {
    expect(kv.kind).toBe(kind);
    await expect(kv.ping()).resolves.toBeUndefined();
  });

  it('get returns what set stored, and null for an unknown key', async () => {
    const key = freshKey('get');
    expect(await kv.get(key)).toBeNull();
    await kv.set(key, 'hello 你好', 60_000);
    expect(await kv.get(key)).toBe('hello 你好');
    await kv.set(key, 'replaced', 60_000);
    expect(await kv.get(key)).toBe('replaced');
  });

  it('ttl reports the remaining lifetime, and 0 for a missing key', async () => {
    const key = freshKey('ttl');
    expect(await kv.ttl(key)).toBe(0);
    await kv.set(key, 'v', 60_000);
    const ttl = await kv.ttl(key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('a key is gone after its lifetime', async () => {
    const key = freshKey('expiry');
    await kv.set(key, 'v', 80);
    await kv.increment(`${key}:n`, 80);
    await sleep(250);
    expect(await kv.get(key)).toBeNull();
    expect(await kv.get(`${key}:n`)).toBeNull();
    expect(await kv.ttl(key)).toBe(0);
    expect(await kv.deleteIfEquals(key, 'v')).toBe(false);
    expect(await kv.setIfAbsent(key, 'again', 60_000)).toBe(true);
  });

  it('del removes one or several keys and ignores missing ones', async () => {
    const [a, b] = [freshKey('del'), freshKey('del')];
    await kv.set(a, '1', 60_000);
    await kv.set(b, '2', 60_000);
    await kv.del(a, b, freshKey('never-set'));
    expect(await kv.get(a)).toBeNull();
    expect(await kv.get(b)).toBeNull();
    await expect(kv.del()).resolves.toBeUndefined();
  });

  it('setIfAbsent sets only the first time', async () => {
    const key = freshKey('nx');
    expect(await kv.setIfAbsent(key, 'first', 60_000)).toBe(true);
    expect(await kv.setIfAbsent(key, 'second', 60_000)).toBe(false);
    expect(await kv.get(key)).toBe('first');
  });

  it('deleteIfEquals deletes only the expected value', async () => {
    const key = freshKey('cad');
    await kv.set(key, 'mine', 60_000);
    expect(await kv.deleteIfEquals(key, 'theirs')).toBe(false);
    expect(await kv.get(key)).toBe('mine');
    expect(await kv.deleteIfEquals(key, 'mine')).toBe(true);
    expect(await kv.get(key)).toBeNull();
    expect(await kv.deleteIfEquals(key, 'mine')).toBe(false);
  });

  it('increment counts from zero, by any step, and restarts the lifetime', async () => {
    const key = freshKey('incr');
    expect(await kv.increment(key, 1_000)).toBe(1);
    expect(await kv.increment(key, 1_000)).toBe(2);
    expect(await kv.increment(key, 60_000, 5)).toBe(7);
    expect(await kv.get(key)).toBe('7');
    expect(await kv.ttl(key)).toBeGreaterThan(50_000);
    expect(await kv.increment(key, 60_000, -3)).toBe(4);
  });

  it('keeps apart keys that differ only in case or suffix', async () => {
    const key = freshKey('Case');
    await kv.set(key, 'upper', 60_000);
    expect(await kv.get(key.toLowerCase())).toBeNull();
    expect(await kv.get(`${key}x`)).toBeNull();
  });

  it('CONCURRENCY: of 50 parallel deleteIfEquals of one key, exactly one wins', async () => {
    const key = freshKey('race-del');
    await kv.set(key, 'code-123456', 60_000);
    const results = await Promise.all(Array.from({ length: 50 }, () => kv.deleteIfEquals(key, 'code-123456')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await kv.get(key)).toBeNull();
  });

  it('CONCURRENCY: of 50 parallel setIfAbsent of one key, exactly one wins', async () => {
    const key = freshKey('race-nx');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => kv.setIfAbsent(key, String(i), 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await kv.get(key)).toBe(String(results.indexOf(true)));
  });

  it('CONCURRENCY: 100 parallel increments count to 100, each seeing a distinct value', async () => {
    const key = freshKey('race-incr');
    const values = await Promise.all(Array.from({ length: 100 }, () => kv.increment(key, 60_000)));
    expect(await kv.get(key)).toBe('100');
    expect(new Set(values).size).toBe(100);
    expect(Math.max(...values)).toBe(100);
  });

  describe('concurrency slots', () => {
    const T0 = 1_700_000_000_000;
    const MAX_AGE = 60_000;
    const release = (key: string, slotId: string) => kv.adjustAll([{ kind: 'slot', key, slotId }]);
    /** One slot taken alone: was it, and how many live slots the set holds now. */
    const acquireSlot = async (key: string, slotId: string, limit: number, nowMs: number, maxAgeMs: number) => {
      const { refused, values } = await kv.takeAll([{ kind: 'slot', key, slotId, limit, maxAgeMs }], nowMs);
      return { taken: refused === -1, inUse: refused === -1 ? values[0]! : values[0]! - 1 };
    };

    it('takes slots up to the limit, refuses beyond it without adding, and release frees one', async () => {
      const key = freshKey('slots');
      expect(await acquireSlot(key, 'a', 2, T0, MAX_AGE)).toEqual({ taken: true, inUse: 1 });
      expect(await acquireSlot(key, 'b', 2, T0 + 1, MAX_AGE)).toEqual({ taken: true, inUse: 2 });
      expect(await acquireSlot(key, 'c', 2, T0 + 2, MAX_AGE)).toEqual({ taken: false, inUse: 2 });
      await release(key, 'a');
      // Releasing a slot that is not there (twice, or refused) changes nothing.
      await release(key, 'a');
      await release(key, 'c');
      expect(await acquireSlot(key, 'd', 2, T0 + 3, MAX_AGE)).toEqual({ taken: true, inUse: 2 });
      expect(await acquireSlot(key, 'e', 2, T0 + 4, MAX_AGE)).toEqual({ taken: false, inUse: 2 });
      await release(key, 'b');
      await release(key, 'd');
      expect(await kv.ttl(key)).toBe(0);
      await expect(release(freshKey('slots-never'), 'x')).resolves.toBeUndefined();
    });

    it('a slot never released stops counting once it is maxAge old', async () => {
      const key = freshKey('slots-age');
      expect((await acquireSlot(key, 'leaked', 1, T0, MAX_AGE)).taken).toBe(true);
      expect(await acquireSlot(key, 'x', 1, T0 + MAX_AGE - 1, MAX_AGE)).toEqual({ taken: false, inUse: 1 });
      expect(await acquireSlot(key, 'y', 1, T0 + MAX_AGE, MAX_AGE)).toEqual({ taken: true, inUse: 1 });
      // Newer slots keep counting while older ones age out, even with calls all the time.
      expect(await acquireSlot(key, 'z', 2, T0 + MAX_AGE + 10, MAX_AGE)).toEqual({ taken: true, inUse: 2 });
      expect(await acquireSlot(key, 'w', 2, T0 + 2 * MAX_AGE, MAX_AGE)).toEqual({ taken: true, inUse: 2 });
      expect(await acquireSlot(key, 'v', 2, T0 + 2 * MAX_AGE + 5, MAX_AGE)).toEqual({ taken: false, inUse: 2 });
    });

    it('the slot set expires maxAge after its last slot was taken', async () => {
      const key = freshKey('slots-expiry');
      await acquireSlot(key, 'a', 5, Date.now(), 60_000);
      const ttl = await kv.ttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      const short = freshKey('slots-expiry');
      await acquireSlot(short, 'a', 5, Date.now(), 80);
      await sleep(250);
      expect(await kv.ttl(short)).toBe(0);
      expect((await acquireSlot(short, 'b', 1, Date.now(), 60_000)).inUse).toBe(1);
    });

    it('renewing a slot restarts its age; a slot given back is not brought back', async () => {
      const key = freshKey('slots-renew');
      expect((await acquireSlot(key, 'long', 1, T0, MAX_AGE)).taken).toBe(true);
      await kv.renewSlot(key, 'long', T0 + MAX_AGE - 1, MAX_AGE);
      expect(await acquireSlot(key, 'x', 1, T0 + MAX_AGE + 10, MAX_AGE)).toEqual({ taken: false, inUse: 1 });
      await release(key, 'long');
      await kv.renewSlot(key, 'long', T0 + MAX_AGE + 20, MAX_AGE);
      expect(await acquireSlot(key, 'y', 1, T0 + MAX_AGE + 30, MAX_AGE)).toEqual({ taken: true, inUse: 1 });
      await release(key, 'y');
    });

    it('CONCURRENCY: of 50 parallel acquisitions with a limit of 7, exactly 7 are taken', async () => {
      const key = freshKey('slots-race');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => acquireSlot(key, `s${i}`, 7, T0 + i, MAX_AGE)),
      );
      expect(results.filter((r) => r.taken)).toHaveLength(7);
      expect(results.every((r) => r.inUse <= 7)).toBe(true);
      await Promise.all(results.map((r, i) => (r.taken ? release(key, `s${i}`) : Promise.resolve())));
      expect((await acquireSlot(key, 'after', 7, T0 + 100, MAX_AGE)).inUse).toBe(1);
    });
  });

  describe('takeAll', () => {
    const T0 = 1_700_000_000_000;
    const counter = (key: string, amount: number, limit: number) => ({
      kind: 'counter' as const,
      key,
      amount,
      limit,
      ttlMs: 60_000,
    });
    const slot = (key: string, slotId: string, limit: number) => ({
      kind: 'slot' as const,
      key,
      slotId,
      limit,
      maxAgeMs: 60_000,
    });

    it('takes every part, or none when one would pass its limit, and names the first such', async () => {
      const [requests, tokens, slots] = [freshKey('all-rpm'), freshKey('all-tpm'), freshKey('all-slots')];
      expect(await kv.takeAll([counter(requests, 1, 2), counter(tokens, 70, 100), slot(slots, 'a', 5)], T0)).toEqual({
        refused: -1,
        values: [1, 70, 1],
        taken: [1, 70, 1],
      });
      // The tokens would pass 100: nothing is taken, not even the request counted before them.
      expect(await kv.takeAll([counter(requests, 1, 2), counter(tokens, 40, 100), slot(slots, 'b', 5)], T0)).toEqual({
        refused: 1,
        values: [2, 110],
        taken: [1, 40],
      });
      expect([await kv.get(requests), await kv.get(tokens)]).toEqual(['1', '70']);
      expect(await kv.takeAll([slot(slots, 'c', 1), counter(requests, 1, 2)], T0)).toEqual({
        refused: 0,
        values: [2],
        taken: [1],
      });
      expect(await kv.get(requests)).toBe('1');
      expect(await kv.takeAll([counter(requests, 1, 2), counter(tokens, 30, 100), slot(slots, 'd', 2)], T0)).toEqual({
        refused: -1,
        values: [2, 100, 2],
        taken: [1, 30, 1],
      });
      const ttl = await kv.ttl(tokens);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await kv.adjustAll([
        { kind: 'slot', key: slots, slotId: 'a' },
        { kind: 'slot', key: slots, slotId: 'd' },
      ]);
      expect(await kv.ttl(slots)).toBe(0);
    });

    it('adjustAll moves counters (restarting their TTL) and gives back slots in one step', async () => {
      const [requests, tokens, slots] = [freshKey('adj-rpm'), freshKey('adj-tpm'), freshKey('adj-slots')];
      await kv.takeAll([counter(requests, 1, 5), counter(tokens, 70, 100), slot(slots, 'a', 1)], T0);
      await kv.adjustAll([
        { kind: 'counter', key: requests, by: -1, ttlMs: 120_000 },
        { kind: 'counter', key: tokens, by: 25, ttlMs: 120_000 },
        { kind: 'slot', key: slots, slotId: 'a' },
        // A slot that is not there (given back before, or aged out) is nothing to give back.
        { kind: 'slot', key: slots, slotId: 'never-taken' },
      ]);
      expect([await kv.get(requests), await kv.get(tokens)]).toEqual(['0', '95']);
      expect(await kv.ttl(tokens)).toBeGreaterThan(60_000);
      // The slot is free again: a limit of 1 takes a new one.
      expect((await kv.takeAll([slot(slots, 'b', 1)], T0)).refused).toBe(-1);
      await expect(kv.adjustAll([])).resolves.toBeUndefined();
    });

    it('a budget counter (with `least`) takes what is left when its amount would pass, never less than `least`', async () => {
      const budget = freshKey('budget');
      const take = (amount: number, least: number) => ({ ...counter(budget, amount, 100), least });
      expect(await kv.takeAll([take(70, 10)], T0)).toEqual({ refused: -1, values: [70], taken: [70] });
      // 50 asked, 30 left, at least 20: 30 taken.
      expect(await kv.takeAll([take(50, 20)], T0)).toEqual({ refused: -1, values: [100], taken: [30] });
      // Nothing left: refused, and nothing taken.
      expect(await kv.takeAll([counter(freshKey('other'), 1, 5), take(5, 1)], T0)).toEqual({
        refused: 1,
        values: [1, 105],
        taken: [1, 5],
      });
      expect(await kv.get(budget)).toBe('100');
    });

    it('CONCURRENCY: of 50 parallel takes of a request (limit 10) and a slot (limit 20), exactly 10 pass and refusals leave no trace', async () => {
      const [requests, slots] = [freshKey('race-all-rpm'), freshKey('race-all-slots')];
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => kv.takeAll([counter(requests, 1, 10), slot(slots, `s${i}`, 20)], T0 + i)),
      );
      expect(results.filter((r) => r.refused === -1)).toHaveLength(10);
      expect(results.filter((r) => r.refused === 0)).toHaveLength(40);
      expect(await kv.get(requests)).toBe('10');
      expect((await kv.takeAll([slot(slots, 'probe', 20)], T0 + 100)).values).toEqual([11]);
    });
  });

  it('a store with another prefix (another deployment) does not see these keys', async () => {
    const otherPrefix = uniquePrefix();
    const other = await open(otherPrefix);
    try {
      const key = freshKey('isolated');
      await kv.set(key, 'ours', 60_000);
      expect(await other.get(key)).toBeNull();
      expect(await other.deleteIfEquals(key, 'ours')).toBe(false);
      expect(await other.setIfAbsent(key, 'theirs', 60_000)).toBe(true);
      expect(await kv.get(key)).toBe('ours');
    } finally {
      await other.close();
      if (kind === 'redis') await clearRedisPrefix(redisUrl!, otherPrefix);
    }
  });
});

describe.runIf(process.env.TEST_REDIS_URL)('RedisStore scripts', () => {
  const url = process.env.TEST_REDIS_URL!;
  const prefix = uniquePrefix();
  const T0 = 1_700_000_000_000;
  let kv: RedisStore;
  beforeAll(async () => {
    kv = await RedisStore.connect(url, prefix);
  });
  afterAll(async () => {
    await kv.close();
    await clearRedisPrefix(url, prefix);
  });

  /** One call of each script, checked; returns what each answered. */
  const runEachScript = async (tag: string) => {
    const [requests, slots, code] = [freshKey(`${tag}-rpm`), freshKey(`${tag}-slots`), freshKey(`${tag}-code`)];
    await kv.set(code, 'mine', 60_000);
    const taking = await kv.takeAll(
      [
        { kind: 'counter', key: requests, amount: 1, limit: 5, ttlMs: 60_000 },
        { kind: 'counter', key: `${requests}:tokens`, amount: 40, limit: 100, ttlMs: 60_000 },
        { kind: 'slot', key: slots, slotId: 'a', limit: 2, maxAgeMs: 60_000 },
      ],
      T0,
    );
    await kv.renewSlot(slots, 'a', T0 + 59_000, 60_000);
    const deleted = await kv.deleteIfEquals(code, 'mine');
    // The renewed slot still counts a minute after it was first taken.
    const after = await kv.takeAll(
      [{ kind: 'slot', key: slots, slotId: 'b', limit: 1, maxAgeMs: 60_000 }],
      T0 + 60_500,
    );
    return { taking, deleted, after, keys: { requests, slots, code } };
  };
  const expected = { taking: { refused: -1, values: [1, 40, 1] }, deleted: true, after: { refused: 0, values: [2] } };
  const names = (commands: string[][]) => commands.map((args) => args[0]!.toLowerCase());

  it('runs each script by its SHA in one command: a takeAll of several counters and a slot is one EVALSHA', async () => {
    await runEachScript('warm'); // the first use on a connection sends the scripts whole
    let result: Awaited<ReturnType<typeof runEachScript>> | undefined;
    const sent = await commandsSent(url, kv.client, async () => {
      result = await runEachScript('sha');
    });
    expect(result).toMatchObject(expected);
    expect(names(sent)).toEqual(['set', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
    // The keys carry the store's prefix, the whole take in the one command.
    expect(sent[1]!.slice(2, 6)).toEqual([
      '3',
      `${prefix}${result!.keys.requests}`,
      `${prefix}${result!.keys.requests}:tokens`,
      `${prefix}${result!.keys.slots}`,
    ]);
  });

  it('after SCRIPT FLUSH (NOSCRIPT) every script still runs, sent whole once, then by SHA again', async () => {
    await runEachScript('before-flush');
    const admin = await rawRedis(url);
    try {
      await admin.script('FLUSH');
    } finally {
      await admin.quit();
    }
    let result: Awaited<ReturnType<typeof runEachScript>> | undefined;
    const sent = await commandsSent(url, kv.client, async () => {
      result = await runEachScript('flushed');
    });
    expect(result).toMatchObject(expected);
    // Each script is asked for by SHA, refused (NOSCRIPT), and sent whole; the last one is known by then.
    expect(names(sent)).toEqual(['set', 'evalsha', 'eval', 'evalsha', 'eval', 'evalsha', 'eval', 'evalsha']);
    const again = await commandsSent(url, kv.client, () => runEachScript('by-sha'));
    expect(names(again)).toEqual(['set', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
  });
});

describe('RedisStore.connect', () => {
  it('fails at once on an unreachable Redis, naming REDIS_URL without its password', async () => {
    const port = await closedPort();
    const connecting = RedisStore.connect(`redis://:hunter2@127.0.0.1:${port}`, uniquePrefix());
    await expect(connecting).rejects.toBeInstanceOf(ConfigError);
    const message = await connecting.catch((error: Error) => error.message);
    expect(message).toContain('REDIS_URL');
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain('hunter2');
  });
});
