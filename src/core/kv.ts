import { Redis } from 'ioredis';
import { ConfigError, maskUrl } from './config.ts';

/**
 * Short-lived shared state: codes, captchas, counters, cooldowns. Redis when REDIS_URL is set
 * (shared by every instance), process memory otherwise (one instance). Same behaviour on both.
 * TTLs here only bound memory; anything whose expiry a user can notice also stores its own
 * deadline, checked against the injectable clock.
 */
export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when the key is absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  del(...keys: string[]): Promise<void>;
  /** Deletes only if the key still holds `value`; true when this call deleted it. The single-use gate. */
  deleteIfEquals(key: string, value: string): Promise<boolean>;
  /** Adds `by` (default 1) and restarts the key's TTL; returns the new value. */
  increment(key: string, ttlMs: number, by?: number): Promise<number>;
  /**
   * Takes slot `slotId` in the slot set `key` if fewer than `limit` slots are in use, atomically. Slots
   * taken `maxAgeMs` or more before `nowMs` no longer count (and are dropped), so a slot its holder never
   * gave back (a crash) ages out. The set itself expires `maxAgeMs` after its last taken slot, so idle
   * sets vanish. `inUse` counts the live slots after the call (including this one when taken).
   */
  acquireSlot(key: string, slotId: string, limit: number, nowMs: number, maxAgeMs: number): Promise<{ taken: boolean; inUse: number }>;
  /** Gives back slot `slotId` of the slot set `key`; nothing when it is not there. */
  releaseSlot(key: string, slotId: string): Promise<void>;
  /** Remaining lifetime in ms, or 0 when the key does not exist. */
  ttl(key: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  value: string;
  expiresAt: number;
}

/** A slot set: slot id -> the time (ms) it was taken. */
interface SlotSet {
  slots: Map<string, number>;
  expiresAt: number;
}

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
  private readonly slotSets = new Map<string, SlotSet>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs = 60_000) {
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.sweeper.unref();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private liveSlots(key: string): SlotSet | undefined {
    const set = this.slotSets.get(key);
    if (set && set.expiresAt <= Date.now()) {
      this.slotSets.delete(key);
      return undefined;
    }
    return set;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const [key, set] of this.slotSets) if (set.expiresAt <= now) this.slotSets.delete(key);
  }

  get(key: string) {
    return Promise.resolve(this.live(key)?.value ?? null);
  }

  set(key: string, value: string, ttlMs: number) {
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return Promise.resolve();
  }

  setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return Promise.resolve(false);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return Promise.resolve(true);
  }

  del(...keys: string[]) {
    for (const key of keys) {
      this.entries.delete(key);
      this.slotSets.delete(key);
    }
    return Promise.resolve();
  }

  deleteIfEquals(key: string, value: string) {
    if (this.live(key)?.value !== value) return Promise.resolve(false);
    this.entries.delete(key);
    return Promise.resolve(true);
  }

  increment(key: string, ttlMs: number, by = 1) {
    const next = Number(this.live(key)?.value ?? 0) + by;
    this.entries.set(key, { value: String(next), expiresAt: Date.now() + ttlMs });
    return Promise.resolve(next);
  }

  // Synchronous from the read to the write, so atomic within the process.
  acquireSlot(key: string, slotId: string, limit: number, nowMs: number, maxAgeMs: number) {
    const set = this.liveSlots(key) ?? { slots: new Map<string, number>(), expiresAt: 0 };
    for (const [id, takenAt] of set.slots) if (takenAt <= nowMs - maxAgeMs) set.slots.delete(id);
    if (set.slots.size >= limit) {
      if (set.slots.size === 0) this.slotSets.delete(key);
      return Promise.resolve({ taken: false, inUse: set.slots.size });
    }
    set.slots.set(slotId, nowMs);
    set.expiresAt = Date.now() + maxAgeMs;
    this.slotSets.set(key, set);
    return Promise.resolve({ taken: true, inUse: set.slots.size });
  }

  releaseSlot(key: string, slotId: string) {
    const set = this.liveSlots(key);
    if (set) {
      set.slots.delete(slotId);
      if (set.slots.size === 0) this.slotSets.delete(key);
    }
    return Promise.resolve();
  }

  ttl(key: string) {
    const expiresAt = this.live(key)?.expiresAt ?? this.liveSlots(key)?.expiresAt;
    return Promise.resolve(expiresAt === undefined ? 0 : expiresAt - Date.now());
  }

  ping() {
    return Promise.resolve();
  }

  close() {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.slotSets.clear();
    return Promise.resolve();
  }
}

const DELETE_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** KEYS[1] slot set; ARGV slot id, limit, now (ms), max age (ms). Returns {taken (1/0), slots in use}. */
const ACQUIRE_SLOT = `
local now = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - maxAge)
local inUse = redis.call('zcard', KEYS[1])
if inUse >= tonumber(ARGV[2]) then return {0, inUse} end
redis.call('zadd', KEYS[1], now, ARGV[1])
redis.call('pexpire', KEYS[1], maxAge)
return {1, inUse + 1}`;

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis';

  constructor(readonly client: Redis) {}

  /**
   * Connects or fails at once with a message naming REDIS_URL (and stops retrying). Later
   * connection errors go to `onError` while ioredis reconnects; commands fail meanwhile.
   */
  static async connect(url: string, prefix: string, onError: (error: Error) => void = () => {}): Promise<RedisStore> {
    const client = new Redis(url, {
      keyPrefix: prefix,
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      connectTimeout: 5_000,
    });
    let lastError: Error | undefined;
    client.on('error', (error: Error) => {
      lastError = error;
      onError(error);
    });
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      const reason = (lastError ?? (error as Error)).message;
      throw new ConfigError(`Cannot connect to Redis at REDIS_URL=${maskUrl(url)}: ${reason}`, { cause: lastError ?? error });
    }
    return new RedisStore(client);
  }

  get(key: string) {
    return this.client.get(key);
  }

  async set(key: string, value: string, ttlMs: number) {
    await this.client.set(key, value, 'PX', ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.client.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async del(...keys: string[]) {
    if (keys.length > 0) await this.client.del(...keys);
  }

  async deleteIfEquals(key: string, value: string) {
    return (await this.client.eval(DELETE_IF_EQUALS, 1, key, value)) === 1;
  }

  async increment(key: string, ttlMs: number, by = 1) {
    const results = await this.client.multi().incrby(key, by).pexpire(key, ttlMs).exec();
    const [error, value] = results?.[0] ?? [new Error('Redis transaction aborted'), null];
    if (error) throw error;
    return Number(value);
  }

  async acquireSlot(key: string, slotId: string, limit: number, nowMs: number, maxAgeMs: number) {
    const [taken, inUse] = (await this.client.eval(ACQUIRE_SLOT, 1, key, slotId, limit, Math.round(nowMs), Math.round(maxAgeMs))) as [number, number];
    return { taken: taken === 1, inUse };
  }

  async releaseSlot(key: string, slotId: string) {
    await this.client.zrem(key, slotId);
  }

  async ttl(key: string) {
    return Math.max(0, await this.client.pttl(key));
  }

  async ping() {
    await this.client.ping();
  }

  async close() {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
