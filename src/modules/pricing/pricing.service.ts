import type { Clock } from '#core/clock.ts';
import { reloadOnChange, type InvalidationBus } from '#core/invalidation.ts';
import type { Role } from '#modules/users/users.tables.ts';
import { chargeFor, fromMicro, toMicro, type Price, type Usage } from './price.ts';
import { DEFAULT_USD_PRICES } from './pricing.defaults.ts';
import type { PricingRepository } from './pricing.repository.ts';

export const DEFAULT_MODEL = '*';

export interface PriceEntry extends Price {
  model: string;
  source: 'admin' | 'default';
}

/**
 * Model prices: the admin's table (kept in memory, reloaded on every instance when it changes), over
 * the shipped defaults. A model with neither, and no admin default `*`, cannot be used.
 */
export class PricingService {
  private adminPrices = new Map<string, Price>();
  /** Loads started and the newest applied: a slow, older load never overwrites a newer one. */
  private loadsStarted = 0;
  private loadApplied = 0;
  private readonly defaults: Map<string, Price>;

  constructor(
    private readonly repo: PricingRepository,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
    private readonly options: { creditsPerUsd: number; multiplierPermille: Record<Role, number> },
  ) {
    this.defaults = new Map(
      Object.entries(DEFAULT_USD_PRICES).map(([model, usd]) => [
        model,
        {
          input: ((usd.input ?? 0) * options.creditsPerUsd) / 1000,
          output: ((usd.output ?? 0) * options.creditsPerUsd) / 1000,
          perRequest: 0,
          perImage: (usd.perImage ?? 0) * options.creditsPerUsd,
        },
      ]),
    );
    const reload = reloadOnChange(() => this.load());
    bus.subscribe((topic) => {
      if (topic === 'pricing') reload();
    });
  }

  async load(): Promise<void> {
    const load = ++this.loadsStarted;
    const rows = await this.repo.all();
    if (load < this.loadApplied) return;
    this.loadApplied = load;
    this.adminPrices = new Map(
      rows.map((r) => [r.model, { input: fromMicro(r.input_micro), output: fromMicro(r.output_micro), perRequest: fromMicro(r.per_request_micro), perImage: fromMicro(r.per_image_micro) }]),
    );
  }

  /** The price that applies to `model`, or undefined when it may not be used. */
  priceOf(model: string): Price | undefined {
    return this.adminPrices.get(model) ?? this.defaults.get(model) ?? this.adminPrices.get(DEFAULT_MODEL);
  }

  /** Whole credits for `usage` of `model` at `role`'s multiplier (money rule 4). */
  charge(price: Price, usage: Usage, role: Role): number {
    return chargeFor(price, usage, this.options.multiplierPermille[role]);
  }

  list(): PriceEntry[] {
    const entries = new Map<string, PriceEntry>();
    for (const [model, price] of this.defaults) entries.set(model, { model, ...price, source: 'default' });
    for (const [model, price] of this.adminPrices) entries.set(model, { model, ...price, source: 'admin' });
    return [...entries.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  async set(model: string, price: Price): Promise<void> {
    await this.repo.put({
      model,
      input_micro: toMicro(price.input),
      output_micro: toMicro(price.output),
      per_request_micro: toMicro(price.perRequest),
      per_image_micro: toMicro(price.perImage),
      updated_at: this.clock.now(),
    });
    await this.bus.publish('pricing');
    await this.load();
  }

  async remove(model: string): Promise<boolean> {
    const removed = await this.repo.remove(model);
    await this.bus.publish('pricing');
    await this.load();
    return removed;
  }
}
