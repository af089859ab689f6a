import { Type } from 'typebox';
import type { Config } from '#core/config.ts';
import type { Database } from '#core/db/create-db.ts';
import type { App } from '#core/http/route-config.ts';
import type { KeyValueStore } from '#core/kv.ts';

const Dependency = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled')]),
  latencyMs: Type.Optional(Type.Number()),
  kind: Type.Optional(Type.String()),
});

const HealthResponse = Type.Object({
  success: Type.Boolean(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  timestamp: Type.String(),
  uptime: Type.Number({ description: 'Seconds since the process started' }),
  environment: Type.String(),
  database: Dependency,
  redis: Dependency,
});

async function probe(check: () => Promise<unknown>): Promise<{ status: 'up' | 'down'; latencyMs?: number }> {
  const started = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
    ]);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch {
    return { status: 'down' };
  }
}

/** Seed 001 §6: `/`, `/api/health` (and `/health`), plus the state of the database and of Redis. */
export function registerHealthRoutes(app: App, deps: { config: Config; database: Database; kv: KeyValueStore }): void {
  const { config, database, kv } = deps;

  app.get(
    '/',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], summary: 'Hello World!', response: { 200: Type.String() } },
    },
    (_request, reply) => {
      reply.type('text/plain; charset=utf-8');
      return 'Hello World!';
    },
  );

  for (const url of ['/api/health', '/health']) {
    app.get(
      url,
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          summary: 'Service, database and Redis status',
          response: { 200: HealthResponse, 503: HealthResponse },
        },
      },
      async (_request, reply) => {
        const [db, redis] = await Promise.all([
          probe(() => database.ping()),
          kv.kind === 'redis' ? probe(() => kv.ping()) : Promise.resolve({ status: 'disabled' as const }),
        ]);
        const ok = db.status === 'up' && redis.status !== 'down';
        reply.status(ok ? 200 : 503);
        return {
          success: ok,
          status: ok ? ('ok' as const) : ('error' as const),
          timestamp: new Date().toISOString(),
          uptime: Math.round(process.uptime() * 1000) / 1000,
          environment: config.NODE_ENV,
          database: { ...db, kind: database.dialect },
          redis,
        };
      },
    );
  }
}
