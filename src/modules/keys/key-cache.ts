import { InvalidationBus } from '#core/invalidation.ts';

/**
 * Authenticated keys by hash, so the hot path does not read the database on every call. Entries live
 * `ttlMs` at most and are dropped at once when the key or its owner changes (through the
 * InvalidationBus, on every instance). Unknown hashes are remembered briefly too, so a flood of
 * made-up keys does not become a flood of queries.
 */
export class KeyCache<T extends { userId: string }> {
  private readonly entries = new Map<string, { value: T | null; expiresAt: number }>();
  /** Counts invalidations: a lookup that began before one must not cache what it read. */
  generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly negativeTtlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** undefined: not cached; null: known not to exist. */
  get(hash: string): T | null | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.value;
  }

  /** Caches what a lookup that began at `generation` read, unless something changed since. */
  set(hash: string, value: T | null, generation: number): void {
    if (generation !== this.generation) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { value, expiresAt: Date.now() + (value ? this.ttlMs : this.negativeTtlMs) });
  }

  /** Topics: `key:<hash>` drops one key, `user:<id>` every key of that user, EVERYTHING all. */
  invalidate(topic: string): void {
    this.generation += 1;
    if (topic === InvalidationBus.EVERYTHING) return this.clear();
    const [kind, id] = topic.split(':', 2);
    if (kind === 'key' && id) this.entries.delete(id);
    if (kind === 'user' && id)
      for (const [hash, entry] of this.entries) if (entry.value?.userId === id) this.entries.delete(hash);
  }

  clear(): void {
    this.entries.clear();
  }
}
