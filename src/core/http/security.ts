import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { Config } from '#core/config.ts';
import type { App } from './route-config.ts';

/** Security headers, CORS (CORS_ORIGIN: empty = same origin only, `*`, or a comma-separated list), cookies. */
export async function registerSecurity(app: App, config: Config): Promise<void> {
  // Over plain HTTP (a local trial) neither HSTS nor upgrade-insecure-requests may be sent.
  await app.register(helmet, {
    global: true,
    hsts: config.isProduction,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: config.isProduction ? [] : null } },
  });
  const origins = config.CORS_ORIGIN.split(',').map((o) => o.trim()).filter(Boolean);
  if (origins.length > 0) {
    const any = origins.includes('*');
    await app.register(cors, {
      origin: any ? true : origins,
      credentials: !any,
      exposedHeaders: ['x-request-id', 'retry-after'],
    });
  }
  await app.register(cookie);
}
