import type { Clock } from '#core/clock.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type { FavoritesService } from '#modules/favorites/favorites.service.ts';
import type { GalleryService } from '#modules/gallery/gallery.service.ts';
import type { ImageJobsService } from '#modules/image-jobs/image-jobs.service.ts';
import type { OrderStatus } from '#modules/orders/orders.tables.ts';
import type { OrdersService } from '#modules/orders/orders.service.ts';
import type { UsersService } from '#modules/users/users.service.ts';

/** Orders whose money arrived (granted, or kept for a refund, or refunded since). */
const PAID: readonly OrderStatus[] = ['paid', 'fulfilled', 'partially_refunded', 'refunded'];

/** How long the whole site's figures are kept before they are counted again (each instance keeps its own). */
export const GLOBAL_STATS_TTL_MS = 60_000;

export interface UserOverview {
  orders: { total: number; paid: number; pending: number };
  favorites: { total: number; images: number; prompts: number };
  points: { balance: number; held: number; available: number };
  images: { made: number; published: number };
}

export interface GlobalStats {
  users: number;
  orders: { paid: number };
  images: { made: number; published: number };
  /** When these were counted (ISO-8601): they may be up to a minute old. */
  countedAt: string;
}

export interface StatsDeps {
  users: UsersService;
  orders: OrdersService;
  favorites: FavoritesService;
  credits: CreditsService;
  imageJobs: ImageJobsService;
  gallery: GalleryService;
  clock: Clock;
}

/** Seed 003's statistics (docs/seed-003.md, Statistics): one user's at a glance, and the whole site's. */
export class StatsService {
  private global: { value: Promise<GlobalStats>; until: number } | undefined;

  constructor(private readonly deps: StatsDeps) {}

  async overview(userId: string): Promise<UserOverview> {
    const { orders, favorites, credits, imageJobs, gallery } = this.deps;
    const [byStatus, byType, account, made, published] = await Promise.all([
      orders.countsByStatus(userId),
      favorites.countsByType(userId),
      credits.account(userId),
      imageJobs.imagesMade(userId),
      gallery.countPublished(userId),
    ]);
    const images = byType.get('image') ?? 0;
    const prompts = byType.get('prompt') ?? 0;
    return {
      orders: {
        total: sum([...byStatus.values()]),
        paid: sum(PAID.map((status) => byStatus.get(status) ?? 0)),
        pending: byStatus.get('pending') ?? 0,
      },
      favorites: { total: images + prompts, images, prompts },
      points: { balance: account.balance, held: account.held, available: account.available },
      images: { made, published },
    };
  }

  /**
   * The whole site's figures, counted at most once a minute per instance: a public route that every
   * mini-program's home page may call must not count every table on each call. Calls that come while
   * a count runs share it; a count that fails is not kept.
   */
  globalStats(): Promise<GlobalStats> {
    const now = this.deps.clock.now();
    if (this.global && now < this.global.until) return this.global.value;
    const value = this.countGlobal(now);
    this.global = { value, until: now + GLOBAL_STATS_TTL_MS };
    value.catch(() => {
      if (this.global?.value === value) this.global = undefined;
    });
    return value;
  }

  private async countGlobal(now: number): Promise<GlobalStats> {
    const { users, orders, imageJobs, gallery } = this.deps;
    const [accounts, byStatus, made, published] = await Promise.all([
      users.counts(now),
      orders.countsByStatus(),
      imageJobs.imagesMade(),
      gallery.countPublished(),
    ]);
    return {
      users: accounts.total,
      orders: { paid: sum(PAID.map((status) => byStatus.get(status) ?? 0)) },
      images: { made, published },
      countedAt: new Date(now).toISOString(),
    };
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}
