import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { App } from './route-config.ts';
import { securityHeaders } from './security.ts';

/**
 * OpenAPI generated from the route schemas: the UI at /api/docs, the document at /api/docs/json, and
 * seed 002's ReDoc page at /api/redoc (served from the installed `redoc` bundle, so it works offline).
 */
export async function registerDocs(app: App, version: string, options: { production: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tollgate API',
        version,
        description:
          'Self-hosted AI API gateway with accounts and credits. Errors use `{success:false,statusCode,error,message,timestamp,path}`; ' +
          'messages are Chinese unless `Accept-Language: en`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // Every admin route takes it next to an admin's session (app.ts adds it to their `security`).
          adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' },
        },
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    staticCSP: true,
    // As in security.ts: over plain HTTP (a local trial) the UI's own assets must not be upgraded to https.
    transformStaticCSP: (header) =>
      options.production ? header : header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });
  registerRedoc(app, options);
}

const redocBundlePath = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
const redocVersion = (createRequire(import.meta.url)('redoc/package.json') as { version: string }).version;
/** The bundle's URL carries redoc's version, so a year-long cache still sees an upgrade. */
export const REDOC_BUNDLE_URL = `/api/redoc/redoc.standalone.js?v=${redocVersion}`;

const redocPage = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Tollgate API - ReDoc</title>
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="/api/docs/json"></redoc>
    <script src="${REDOC_BUNDLE_URL}"></script>
  </body>
</html>
`;

/** GET /api/redoc (the page) and the bundle it loads; neither is part of the OpenAPI document. */
function registerRedoc(app: App, options: { production: boolean }): void {
  // ReDoc indexes the spec for search in a web worker made from a blob: URL, and styles inline.
  const csp = securityHeaders({
    contentSecurityPolicy: {
      directives: { workerSrc: ["'self'", 'blob:'], upgradeInsecureRequests: options.production ? [] : null },
    },
  })['content-security-policy']!;
  let bundle: Promise<Buffer> | undefined;
  const route = { config: { access: 'public' as const }, schema: { hide: true } };
  app.get('/api/redoc', route, (_request, reply) =>
    reply.header('content-security-policy', csp).type('text/html; charset=utf-8').send(redocPage),
  );
  app.get('/api/redoc/redoc.standalone.js', route, async (_request, reply) => {
    bundle ??= readFile(redocBundlePath);
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type('application/javascript; charset=utf-8')
      .send(await bundle);
  });
}
