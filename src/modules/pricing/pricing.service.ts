import type { Clock } from '#core/clock.ts';
import { InvalidationBus, reloadOnChange } from '#core/invalidation.ts';
import type { Role } from '#modules/users/users.tables.ts';
import { chargeFor, fromMicro, toMicro, type ModelPrice, type Price, type Usage } from './price.ts';
import { DEFAULT_MODELS, shippedPrice } from './pricing.defaults.ts';
import type { PricingRepository } from './pricing.repository.ts';
import type { ModelPricesTable } from './pricing.tables.ts';

export const DEFAULT_MODEL = '*';

export interface PriceEntry extends ModelPrice {
  model: string;
  source: 'admin' | 'default';
}

/**
 * Model prices: the admin's table (kept in memory, reloaded on every instance when it changes), over
 * the shipped defaults. A model with neither, and no admin default `*`, cannot be used.
 *
 * An admin row that leaves the most output tokens unset takes the shipped default of its model, then
 * the `*` row's, then none: repricing a known model does not make its answers unbounded.
 */
export class PricingService {
  /** Every priced model: the shipped defaults, overwritten by the admin's rows, with their maxima resolved. */
  private prices = new Map<string, PriceEntry>();
  /** Loads started and the newest applied: a slow, older load never overwrites a newer one. */
  private loadsStarted = 0;
  private loadApplied = 0;
  private readonly defaults: Map<string, PriceEntry>;

  constructor(
    private readonly repo: PricingRepository,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
    private readonly options: { creditsPerUsd: number; multiplierPermille: Record<Role, number> },
  ) {
    this.defaults = new Map(
      Object.entries(DEFAULT_MODELS).map(([model, shipped]) => [
        model,
        { model, ...shippedPrice(shipped, options.creditsPerUsd), source: 'default' },
      ]),
    );
    this.prices = new Map(this.defaults);
    const reload = reloadOnChange(() => this.load());
    bus.subscribe((topic) => {
      if (topic === 'pricing' || topic === InvalidationBus.EVERYTHING) reload();
    });
  }

  async load(): Promise<void> {
    const load = ++this.loadsStarted;
    const rows = await this.repo.all();
    if (load < this.loadApplied) return;
    this.loadApplied = load;
    const fallbackMax = rows.find((r) => r.model === DEFAULT_MODEL)?.max_output_tokens ?? null;
    const prices = new Map(this.defaults);
    for (const row of rows) prices.set(row.model, this.entryOf(row, fallbackMax));
    this.prices = prices;
  }

  /** An admin row as the price it sets; `fallbackMax` is the `*` row's maximum. */
  private entryOf(row: ModelPricesTable, fallbackMax: number | null): PriceEntry {
    return {
      model: row.model,
      input: fromMicro(row.input_micro),
      output: fromMicro(row.output_micro),
      perRequest: fromMicro(row.per_request_micro),
      perImage: fromMicro(row.per_image_micro),
      maxOutputTokens: row.max_output_tokens ?? this.defaults.get(row.model)?.maxOutputTokens ?? fallbackMax,
      source: 'admin',
    };
  }

  /** The price that applies to `model`, or undefined when it may not be used. */
  priceOf(model: string): ModelPrice | undefined {
    return this.prices.get(model) ?? this.prices.get(DEFAULT_MODEL);
  }

  /** The price set for exactly `model` (the admin's or a shipped default), without the `*` fallback. */
  priceExactly(model: string): ModelPrice | undefined {
    return this.prices.get(model);
  }

  /**
   * Whole credits for `usage` of `model` at `role`'s multiplier, times the user's plan's (in thousandths;
   * docs/money.md, 4. Price, and docs/plans.md).
   */
  charge(price: Price, usage: Usage, role: Role, planPermille = 1000): number {
    return chargeFor(price, usage, this.options.multiplierPermille[role], planPermille);
  }

  /** Every priced model, by name. */
  list(): PriceEntry[] {
    return [...this.prices.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  /** Sets `model`'s price and returns it as listed; a null maxOutputTokens takes the default (see the class). */
  async set(model: string, price: ModelPrice): Promise<PriceEntry> {
    const row: ModelPricesTable = {
      model,
      input_micro: toMicro(price.input),
      output_micro: toMicro(price.output),
      per_request_micro: toMicro(price.perRequest),
      per_image_micro: toMicro(price.perImage),
      max_output_tokens: price.maxOutputTokens,
      updated_at: this.clock.now(),
    };
    await this.repo.put(row);
    await this.bus.publish('pricing');
    await this.load();
    return this.entryOf(row, this.prices.get(DEFAULT_MODEL)?.maxOutputTokens ?? null);
  }

  async remove(model: string): Promise<boolean> {
    const removed = await this.repo.remove(model);
    await this.bus.publish('pricing');
    await this.load();
    return removed;
  }
}
