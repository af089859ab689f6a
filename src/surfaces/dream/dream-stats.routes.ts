import { Type } from 'typebox';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import type { StatsService } from '#modules/stats/stats.service.ts';
import { Ok, ok } from './envelope.ts';

const Count = Type.Integer({ minimum: 0 });

const Overview = Type.Object({
  orders: Type.Object({
    total: Count,
    paid: Type.Integer({ minimum: 0, description: 'Orders whose money arrived (refunded ones included)' }),
    pending: Count,
  }),
  favorites: Type.Object({ total: Count, images: Count, prompts: Count }),
  points: Type.Object({
    balance: Type.Integer({ description: 'The points balance (the same as /v1/points/balance)' }),
    held: Type.Integer({ description: 'Set aside for calls and image jobs in flight' }),
    available: Type.Integer({ description: 'balance − held: what a new job may spend' }),
  }),
  images: Type.Object({
    made: Type.Integer({ minimum: 0, description: 'Images your finished jobs made (and were charged for)' }),
    published: Type.Integer({ minimum: 0, description: 'Your images in the gallery' }),
  }),
});

const Global = Type.Object({
  users: Count,
  orders: Type.Object({ paid: Count }),
  images: Type.Object({ made: Count, published: Count }),
  countedAt: Type.String({ format: 'date-time', description: 'Counted at most once a minute' }),
});

/** Seed 003's statistics (docs/seed-003.md, Statistics). */
export function registerDreamStatsRoutes(app: App, stats: StatsService): void {
  app.get(
    '/v1/stats/overview',
    {
      config: { access: 'user' },
      schema: {
        tags: ['stats'],
        security: [{ bearer: [] }],
        summary: 'My orders, favorites, points and images at a glance',
        response: { 200: Ok(Overview) },
      },
    },
    async (request) => ok(await stats.overview(principalOf(request).userId)),
  );

  app.get(
    '/v1/stats/global',
    {
      config: { access: 'public' },
      schema: {
        tags: ['stats'],
        summary: 'The whole site: users, paid orders, images made and published (counted at most once a minute)',
        response: { 200: Ok(Global) },
      },
    },
    async () => ok(await stats.globalStats()),
  );
}
