import type { ServerResponse } from 'node:http';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '#core/config.ts';
import type { App } from './route-config.ts';

/**
 * Helmet's headers depend only on the configuration, so they are worked out once, at start, by running
 * helmet against a recorder; every reply then gets the same list. (Running helmet per request, as its
 * Fastify plugin does, rebuilt the same CSP string every time: about 8 % of a metered call's CPU.)
 */
export function securityHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  // Helmet checks its options when it is made (a bad one throws here, at start); its middleware then only sets headers.
  helmet(options)({} as never, recorder as unknown as ServerResponse, () => undefined);
  return headers;
}

/** Security headers, CORS (CORS_ORIGIN: empty = same origin only, `*`, or a comma-separated list), cookies. */
export async function registerSecurity(app: App, config: Config): Promise<void> {
  // Over plain HTTP (a local trial) neither HSTS nor upgrade-insecure-requests may be sent.
  const headers = securityHeaders({
    strictTransportSecurity: config.isProduction,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: config.isProduction ? [] : null } },
  });
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  const origins = config.CORS_ORIGIN.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
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
