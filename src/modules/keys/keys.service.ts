import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { Clock } from '#core/clock.ts';
import { sha256Hex } from '#core/crypto.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { InvalidationBus } from '#core/invalidation.ts';
import { MemoryStore, type KeyValueStore } from '#core/kv.ts';
import type { Role } from '#modules/users/users.tables.ts';
import { ipMatcher } from './ip-allowlist.ts';
import { keyRefusal } from './key-access.ts';
import { KeyCache } from './key-cache.ts';
import { DEFAULT_GUESS_LIMITS, KeyGuessGuard, type GuessLimits } from './key-guessing.ts';
import { newKeySecret, secretEnds } from './key-secret.ts';
import type { KeyChanges, KeysRepository } from './keys.repository.ts';
import type { ApiKeyRow } from './keys.tables.ts';

export interface KeyLimits {
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  rpd: number | null;
}

export interface KeySettings {
  name: string;
  enabled: boolean;
  expiresAt: number | null;
  allowedModels: string[] | null;
  allowedIps: string[] | null;
  creditCap: number | null;
  limits: KeyLimits;
}

/** What a call made with a key is allowed to do; cached per key hash. */
export interface ResolvedKey {
  keyId: string;
  userId: string;
  role: Role;
  allowedModels: ReadonlySet<string> | null;
  allowsIp: ((ip: string) => boolean) | null;
  creditCap: number | null;
  limits: KeyLimits;
  enabled: boolean;
  userActive: boolean;
  expiresAt: number | null;
}

export const MAX_KEYS_PER_USER = 50;

/** API keys (docs/gateway.md): created with the secret shown once, stored as SHA-256, checked on every call. */
export class KeysService {
  private readonly cache = new KeyCache<ResolvedKey>(30_000, 5_000);
  /** Lookups in flight by key hash: calls that miss the cache for one secret at once share one. */
  private readonly lookups = new Map<string, Promise<ResolvedKey | null>>();
  private readonly used = new Set<string>();
  private readonly guessing: KeyGuessGuard;

  /**
   * `guessing.store` holds the per-IP counters of unknown keys: pass the shared store (Redis) so every
   * instance counts together; the default, process memory, limits each instance on its own.
   */
  constructor(
    private readonly repo: KeysRepository,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
    guessing: { store?: KeyValueStore; limits?: GuessLimits } = {},
  ) {
    bus.subscribe((topic) => {
      this.cache.invalidate(topic);
      // A call after a change must read the key again, not join a lookup that began before it.
      this.lookups.clear();
    });
    this.guessing = new KeyGuessGuard(
      guessing.store ?? new MemoryStore(),
      clock,
      guessing.limits ?? DEFAULT_GUESS_LIMITS,
    );
  }

  async create(userId: string, settings: KeySettings): Promise<{ key: ApiKeyRow; secret: string }> {
    if ((await this.repo.countOwned(userId)) >= MAX_KEYS_PER_USER)
      throw new AppError('TOO_MANY_KEYS', { max: MAX_KEYS_PER_USER });
    const now = this.clock.now();
    const secret = newKeySecret();
    const ends = secretEnds(secret);
    const row: ApiKeyRow = {
      id: newId(now),
      user_id: userId,
      name: settings.name,
      key_hash: sha256Hex(secret),
      key_prefix: ends.prefix,
      key_last4: ends.last4,
      enabled: settings.enabled ? 1 : 0,
      expires_at: settings.expiresAt,
      allowed_models: settings.allowedModels ? JSON.stringify(settings.allowedModels) : null,
      allowed_ips: settings.allowedIps ? JSON.stringify(settings.allowedIps) : null,
      credit_cap: settings.creditCap,
      credits_used: 0,
      ...settings.limits,
      last_used_at: null,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    await this.repo.insert(row);
    return { key: row, secret };
  }

  list(userId: string): Promise<ApiKeyRow[]> {
    return this.repo.listOwned(userId);
  }

  /**
   * Changes a key. `spentSoFar` says what the key has been charged: a cap put on a key that had none
   * starts from there, so it limits the key's whole spending, not only what comes after.
   */
  async update(
    userId: string,
    id: string,
    changes: Partial<KeySettings>,
    spentSoFar: () => Promise<number>,
  ): Promise<ApiKeyRow> {
    const existing = await this.repo.findOwned(userId, id);
    if (!existing) throw new AppError('NOT_FOUND');
    const columns = toColumns(changes);
    if (existing.credit_cap === null && typeof changes.creditCap === 'number')
      columns.credits_used = await spentSoFar();
    await this.repo.update(userId, id, columns, this.clock.now());
    await this.bus.publish(`key:${existing.key_hash}`);
    return (await this.repo.findOwned(userId, id))!;
  }

  async remove(userId: string, id: string): Promise<void> {
    const existing = await this.repo.findOwned(userId, id);
    if (!existing || !(await this.repo.softDelete(userId, id, this.clock.now()))) throw new AppError('NOT_FOUND');
    await this.bus.publish(`key:${existing.key_hash}`);
  }

  /** Deletes every key of a user (their account was deleted): refused by every instance before this returns. */
  async removeAllOf(userId: string): Promise<number> {
    const removed = await this.repo.softDeleteAllOf(userId, this.clock.now());
    await this.bus.publish(`user:${userId}`);
    return removed;
  }

  /**
   * The key behind a bearer secret, checked for state, expiry and source IP; throws otherwise. A secret
   * that is no key counts against the caller's IP (API_KEY_GUESSING past the limit); a real key is
   * looked up first and never refused for what its IP got wrong.
   */
  async authenticate(secret: string, ip: string): Promise<ResolvedKey> {
    const hash = sha256Hex(secret);
    const cached = this.cache.get(hash);
    const key = cached === undefined ? await this.lookUpOnce(hash) : cached;
    if (!key) {
      await this.guessing.miss(ip);
      throw new AppError('INVALID_API_KEY');
    }
    const refusal = keyRefusal(key, ip, this.clock.now());
    if (refusal) throw refusal;
    this.used.add(key.keyId);
    return key;
  }

  /** One lookup for every call that misses the cache for `hash` meanwhile (a client's connections meeting an expired entry together). */
  private lookUpOnce(hash: string): Promise<ResolvedKey | null> {
    const pending = this.lookups.get(hash);
    if (pending) return pending;
    const lookup = this.lookUp(hash);
    this.lookups.set(hash, lookup);
    const forget = () => {
      if (this.lookups.get(hash) === lookup) this.lookups.delete(hash);
    };
    lookup.then(forget, forget);
    return lookup;
  }

  private async lookUp(hash: string): Promise<ResolvedKey | null> {
    const generation = this.cache.generation;
    const row = await this.repo.findByHash(hash);
    const key = row ? resolve(row) : null;
    this.cache.set(hash, key, generation);
    return key;
  }

  /** Writes the last-used time of keys used since the last flush (one statement, not one per call). */
  async flushLastUsed(): Promise<void> {
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used.clear();
    await this.repo.touch(ids, this.clock.now());
  }

  /** Counts credits against the key's cap; false when they do not fit (unless `beyondCap`). */
  spend(keyId: string, amount: number, beyondCap = false, trx?: Kysely<DB>): Promise<boolean> {
    return this.repo.spend(keyId, amount, beyondCap, trx);
  }

  unspend(keyId: string, amount: number, trx?: Kysely<DB>): Promise<void> {
    return this.repo.unspend(keyId, amount, trx);
  }

  /** Credits the key's cap has left (Infinity for a key without a cap, 0 for one that is gone). */
  async capLeft(keyId: string): Promise<number> {
    const row = await this.repo.capOf(keyId);
    if (!row) return 0;
    return row.credit_cap === null ? Infinity : Math.max(0, row.credit_cap - row.credits_used);
  }
}

function resolve(row: ApiKeyRow & { role: Role; user_status: string }): ResolvedKey {
  const ips = parseList(row.allowed_ips);
  const models = parseList(row.allowed_models);
  return {
    keyId: row.id,
    userId: row.user_id,
    role: row.role,
    allowedModels: models ? new Set(models) : null,
    allowsIp: ips ? ipMatcher(ips) : null,
    creditCap: row.credit_cap,
    limits: { rpm: row.rpm, tpm: row.tpm, concurrency: row.concurrency, rpd: row.rpd },
    enabled: row.enabled === 1,
    userActive: row.user_status === 'active',
    expiresAt: row.expires_at,
  };
}

function parseList(json: string | null): string[] | null {
  return json === null ? null : (JSON.parse(json) as string[]);
}

function toColumns(settings: Partial<KeySettings>): KeyChanges {
  const columns: KeyChanges = {};
  if (settings.name !== undefined) columns.name = settings.name;
  if (settings.enabled !== undefined) columns.enabled = settings.enabled ? 1 : 0;
  if (settings.expiresAt !== undefined) columns.expires_at = settings.expiresAt;
  if (settings.allowedModels !== undefined)
    columns.allowed_models = settings.allowedModels ? JSON.stringify(settings.allowedModels) : null;
  if (settings.allowedIps !== undefined)
    columns.allowed_ips = settings.allowedIps ? JSON.stringify(settings.allowedIps) : null;
  if (settings.creditCap !== undefined) columns.credit_cap = settings.creditCap;
  if (settings.limits !== undefined) Object.assign(columns, settings.limits);
  return columns;
}
