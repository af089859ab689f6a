import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type AppOverrides } from '#src/app.ts';
import type { App } from '#core/http/route-config.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';
import { clearRedisPrefix, uniquePrefix } from './kv.ts';
import { testConfig, type Backend } from './test-app.ts';

/**
 * One database, data folder and Redis prefix that several Tollgate instances start on, one after
 * another or side by side (restarts, the first admin, multi-instance behaviour). `close` stops
 * every instance started and removes every trace.
 */
export interface SharedBackend {
  readonly database: TestDatabase;
  readonly dataDir: string;
  /** The Redis key prefix (REDIS_PREFIX) the instances share. */
  readonly prefix: string;
  /** Builds (does not listen) a new instance; `env` adds to or overrides the test environment. */
  start(env?: Record<string, string>, overrides?: AppOverrides): Promise<App>;
  close(): Promise<void>;
}

export async function createSharedBackend(backend: Backend): Promise<SharedBackend> {
  const database = await createTestDatabase(backend.dialect);
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-shared-'));
  const prefix = uniquePrefix();
  const redisUrl = backend.kv === 'redis' ? process.env.TEST_REDIS_URL : undefined;
  const apps: App[] = [];
  return {
    database,
    dataDir,
    prefix,
    async start(env = {}, overrides = {}) {
      const config = testConfig({ databaseUrl: database.url, dataDir, redisUrl, prefix }, env);
      const app = await buildApp(config, overrides);
      apps.push(app);
      return app;
    },
    async close() {
      await Promise.all(apps.splice(0).map((app) => app.close()));
      await database.drop();
      if (redisUrl) await clearRedisPrefix(redisUrl, prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
