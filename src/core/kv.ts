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
  /** Remaining lifetime in ms, or 0 when the key does not exist. */
  ttl(key: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  value: string;
  expiresAt: number;
}

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
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

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
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
    for (const key of keys) this.entries.delete(key);
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

  ttl(key: string) {
    const entry = this.live(key);
    return Promise.resolve(entry ? entry.expiresAt - Date.now() : 0);
  }

  ping() {
    return Promise.resolve();
  }

  close() {
    clearInterval(this.sweeper);
    this.entries.clear();
    return Promise.resolve();
  }
}

const DELETE_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

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
