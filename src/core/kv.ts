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
   * Takes every part of `takes` or none, atomically, in one step (one round trip to Redis): a counter
   * whose value with `amount` added would pass its `limit`, or a slot set already holding `limit` live
   * slots, refuses them all, and the first such is named. A counter's TTL restarts, as in `increment`.
   * Slots taken `maxAgeMs` or more before `nowMs` no longer count (and are dropped), so a slot its
   * holder never gave back (a crash) ages out; a slot set expires `maxAgeMs` after its last taken slot,
   * so idle sets vanish.
   */
  takeAll(takes: readonly Take[], nowMs: number): Promise<Taking>;
  /**
   * Makes every change in one step (one round trip to Redis): what a call took is given back or
   * corrected when it ends. A slot not there (given back before, aged out) is nothing to give back.
   */
  adjustAll(adjustments: readonly Adjustment[]): Promise<void>;
  /**
   * Restarts the age of slot `slotId` of the slot set `key` at `nowMs` (its call is still running), and
   * the set's expiry; nothing when the slot is not there (given back, or aged out).
   */
  renewSlot(key: string, slotId: string, nowMs: number, maxAgeMs: number): Promise<void>;
  /** Remaining lifetime in ms, or 0 when the key does not exist. */
  ttl(key: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One part of an `adjustAll`: `by` added to a counter (its TTL restarted, as in `increment`), or a slot given back. */
export type Adjustment =
  { kind: 'counter'; key: string; by: number; ttlMs: number } | { kind: 'slot'; key: string; slotId: string };

/** One part of a `takeAll`: an amount added to a counter, or a slot taken in a slot set, up to a limit. */
export type Take =
  | {
      kind: 'counter';
      key: string;
      amount: number;
      limit: number;
      ttlMs: number;
      /**
       * Set: when `amount` would pass the limit, take what is left instead, if that is at least `least`
       * (a budget: a plan's credits or tokens allowance, which a call can be cut to fit).
       */
      least?: number;
    }
  | { kind: 'slot'; key: string; slotId: string; limit: number; maxAgeMs: number };

export interface Taking {
  /** The index of the first part that would pass its limit (then nothing was taken), or -1 (all were). */
  refused: number;
  /** For each part up to the refused one: the counter's value, or the live slots in use, with it taken. */
  values: number[];
  /** For each part taken: the amount added (a counter with `least` may take less than its amount); 1 for a slot. */
  taken: number[];
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
    return Promise.resolve(this.add(key, ttlMs, by));
  }

  private add(key: string, ttlMs: number, by: number): number {
    const next = Number(this.live(key)?.value ?? 0) + by;
    this.entries.set(key, { value: String(next), expiresAt: Date.now() + ttlMs });
    return next;
  }

  /** The live slots of set `key` at `nowMs`, the aged ones dropped. */
  private slotsInUse(key: string, nowMs: number, maxAgeMs: number): number {
    const set = this.liveSlots(key);
    if (!set) return 0;
    for (const [id, takenAt] of set.slots) if (takenAt <= nowMs - maxAgeMs) set.slots.delete(id);
    return set.slots.size;
  }

  // Synchronous from the first read to the last write, so atomic within the process.
  takeAll(takes: readonly Take[], nowMs: number) {
    const values: number[] = [];
    const taken: number[] = [];
    for (const take of takes) {
      if (take.kind === 'counter') {
        const current = Number(this.live(take.key)?.value ?? 0);
        let amount = take.amount;
        if (take.least !== undefined && current + amount > take.limit && current + take.least <= take.limit)
          amount = take.limit - current;
        taken.push(amount);
        values.push(current + amount);
      } else {
        taken.push(1);
        values.push(this.slotsInUse(take.key, nowMs, take.maxAgeMs) + 1);
      }
      if (values.at(-1)! > take.limit) return Promise.resolve({ refused: values.length - 1, values, taken });
    }
    for (const [i, take] of takes.entries()) {
      if (take.kind === 'counter') {
        this.add(take.key, take.ttlMs, taken[i]!);
        continue;
      }
      const set = this.liveSlots(take.key) ?? { slots: new Map<string, number>(), expiresAt: 0 };
      set.slots.set(take.slotId, nowMs);
      set.expiresAt = Date.now() + take.maxAgeMs;
      this.slotSets.set(take.key, set);
    }
    return Promise.resolve({ refused: -1, values, taken });
  }

  adjustAll(adjustments: readonly Adjustment[]) {
    for (const change of adjustments) {
      if (change.kind === 'counter') {
        this.add(change.key, change.ttlMs, change.by);
        continue;
      }
      const set = this.liveSlots(change.key);
      if (set) {
        set.slots.delete(change.slotId);
        if (set.slots.size === 0) this.slotSets.delete(change.key);
      }
    }
    return Promise.resolve();
  }

  renewSlot(key: string, slotId: string, nowMs: number, maxAgeMs: number) {
    const set = this.liveSlots(key);
    if (set?.slots.has(slotId)) {
      set.slots.set(slotId, nowMs);
      set.expiresAt = Math.max(set.expiresAt, Date.now() + maxAgeMs);
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

/** KEYS[1] a slot set; ARGV now (ms), slot id, max age (ms): a slot still there starts its age again. */
const RENEW_SLOT = `
if redis.call('zadd', KEYS[1], 'XX', 'CH', ARGV[1], ARGV[2]) == 1 then redis.call('pexpire', KEYS[1], ARGV[3]) end
return 0`;

/**
 * KEYS: the counters and slot sets; ARGV: three per key: 'c', the amount to add, TTL (ms) for a
 * counter; 's', slot id, 0 for a slot set (the slot is given back).
 */
const ADJUST_ALL = `
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 3
  if ARGV[at + 1] == 'c' then
    redis.call('incrby', key, ARGV[at + 2])
    redis.call('pexpire', key, ARGV[at + 3])
  else
    redis.call('zrem', key, ARGV[at + 2])
  end
end
return 0`;

/**
 * KEYS: the counters and slot sets; ARGV: now (ms), then five per key: 'c', amount, limit, TTL (ms),
 * least (-1: none) for a counter, 's', slot id, limit, max age (ms), 0 for a slot set. Returns
 * {refused (1-based, 0 for none), values, taken}: see KeyValueStore.takeAll.
 */
const TAKE_ALL = `
local now = tonumber(ARGV[1])
local values = {}
local taken = {}
for i, key in ipairs(KEYS) do
  local at = 2 + (i - 1) * 5
  local value
  local limit = tonumber(ARGV[at + 2])
  if ARGV[at] == 'c' then
    local current = tonumber(redis.call('get', key) or '0')
    local amount = tonumber(ARGV[at + 1])
    local least = tonumber(ARGV[at + 4])
    if least >= 0 and current + amount > limit and current + least <= limit then amount = limit - current end
    taken[i] = amount
    value = current + amount
  else
    redis.call('zremrangebyscore', key, '-inf', now - tonumber(ARGV[at + 3]))
    taken[i] = 1
    value = redis.call('zcard', key) + 1
  end
  values[i] = value
  if value > limit then return {i, values, taken} end
end
for i, key in ipairs(KEYS) do
  local at = 2 + (i - 1) * 5
  if ARGV[at] == 'c' then
    redis.call('incrby', key, taken[i])
  else
    redis.call('zadd', key, now, ARGV[at + 1])
  end
  redis.call('pexpire', key, ARGV[at + 3])
end
return {0, values, taken}`;

/**
 * The scripts above as commands of one client (ioredis `defineCommand`): each runs by its SHA1 in one
 * round trip, and is sent whole only when the server does not have it (first use on a connection, or
 * NOSCRIPT after a restart or SCRIPT FLUSH). Keys get the client's prefix like any command's.
 */
interface ScriptCommands {
  deleteIfEqualsScript(key: string, value: string): Promise<number>;
  renewSlotScript(key: string, nowMs: number, slotId: string, maxAgeMs: number): Promise<number>;
  /** The number of keys first, then the keys, then the arguments. */
  adjustAllScript(keyCount: number, ...keysThenArgs: Array<string | number>): Promise<number>;
  /** The number of keys first, then the keys, then the arguments. */
  takeAllScript(keyCount: number, ...keysThenArgs: Array<string | number>): Promise<[number, number[], number[]]>;
}

function defineScripts(client: Redis): ScriptCommands {
  client.defineCommand('deleteIfEqualsScript', { numberOfKeys: 1, lua: DELETE_IF_EQUALS });
  client.defineCommand('renewSlotScript', { numberOfKeys: 1, lua: RENEW_SLOT });
  client.defineCommand('takeAllScript', { lua: TAKE_ALL });
  client.defineCommand('adjustAllScript', { lua: ADJUST_ALL });
  return client as unknown as ScriptCommands;
}

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis';
  private readonly scripts: ScriptCommands;

  constructor(readonly client: Redis) {
    this.scripts = defineScripts(client);
  }

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
      throw new ConfigError(`Cannot connect to Redis at REDIS_URL=${maskUrl(url)}: ${reason}`, {
        cause: lastError ?? error,
      });
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
    return (await this.scripts.deleteIfEqualsScript(key, value)) === 1;
  }

  async increment(key: string, ttlMs: number, by = 1) {
    const results = await this.client.multi().incrby(key, by).pexpire(key, ttlMs).exec();
    const [error, value] = results?.[0] ?? [new Error('Redis transaction aborted'), null];
    if (error) throw error;
    return Number(value);
  }

  async takeAll(takes: readonly Take[], nowMs: number) {
    const args: Array<string | number> = [Math.round(nowMs)];
    for (const take of takes) {
      if (take.kind === 'counter') args.push('c', take.amount, take.limit, Math.round(take.ttlMs), take.least ?? -1);
      else args.push('s', take.slotId, take.limit, Math.round(take.maxAgeMs), 0);
    }
    const [refused, values, taken] = await this.scripts.takeAllScript(
      takes.length,
      ...takes.map((take) => take.key),
      ...args,
    );
    return { refused: refused - 1, values, taken };
  }

  async adjustAll(adjustments: readonly Adjustment[]) {
    if (adjustments.length === 0) return;
    const args: Array<string | number> = [];
    for (const change of adjustments) {
      if (change.kind === 'counter') args.push('c', change.by, Math.round(change.ttlMs));
      else args.push('s', change.slotId, 0);
    }
    await this.scripts.adjustAllScript(adjustments.length, ...adjustments.map((change) => change.key), ...args);
  }

  async renewSlot(key: string, slotId: string, nowMs: number, maxAgeMs: number) {
    await this.scripts.renewSlotScript(key, Math.round(nowMs), slotId, Math.round(maxAgeMs));
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
