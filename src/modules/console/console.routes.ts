import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '#core/http/route-config.ts';
import type { ConsoleBundle, ConsoleFile } from './console.assets.ts';

/** Hashed names change with their content: a year, never revalidated. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the current hashes: always asked for again. */
const REVALIDATE = 'no-cache';

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tollgate</title></head>
<body><h1>Tollgate</h1><p>The web console has not been built. Run <code>npm run console:build</code>
(or <code>npm install</code>, which builds it) and start again.</p>
<p>控制台尚未构建：请运行 <code>npm run console:build</code> 后重新启动。</p></body></html>`;

/**
 * The paths of the console's pages and files (not API operations, so not in the OpenAPI document).
 * `*` right after an area matches how Fastify's route listing prints `/dashboard/*`.
 */
export const CONSOLE_PATH = /^\/(dashboard|admin)(\/|\*|$)|^\/assets\/|^\/[\w.-]+\.(svg|ico|png|txt|webmanifest)$/;

/** Which areas of the console are single-page deep links: every path under them gets index.html. */
const AREAS = ['/dashboard', '/admin'];

function wantsHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/.test(request.headers.accept ?? '');
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile, cacheControl: string): FastifyReply {
  reply.header('cache-control', cacheControl).header('vary', 'accept-encoding').type(file.type);
  if (file.gzipped && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
    return reply.header('content-encoding', 'gzip').send(file.gzipped);
  }
  return reply.send(file.body);
}

function sendIndex(request: FastifyRequest, reply: FastifyReply, bundle: ConsoleBundle): FastifyReply {
  if (!bundle.index) return reply.status(503).header('cache-control', REVALIDATE).type('text/html').send(NOT_BUILT);
  return send(request, reply, bundle.index, REVALIDATE);
}

/**
 * The web console (docs/console.md): `/dashboard/*` (a user's pages) and `/admin/*` answer its
 * index.html, so deep links survive a reload; `/assets/*` its hashed files. `/` stays the API's
 * "Hello World!" for API clients; a browser (Accept: text/html) gets the console there.
 */
export function registerConsoleRoutes(app: App, bundle: ConsoleBundle): void {
  const route = { config: { access: 'public' as const }, schema: { hide: true } };

  app.addHook('onRequest', (request, reply, done) => {
    if (
      (request.method === 'GET' || request.method === 'HEAD') &&
      request.url.split('?')[0] === '/' &&
      wantsHtml(request)
    ) {
      void sendIndex(request, reply, bundle);
      return;
    }
    done();
  });

  for (const area of AREAS) {
    for (const url of [area, `${area}/*`]) {
      app.get(url, route, (request, reply) => sendIndex(request, reply, bundle));
    }
  }

  // One route per built file (known at start): any other path is simply not a route.
  for (const url of bundle.urls()) {
    const file = bundle.file(url)!;
    // Vite's hashed output lives under /assets; what it copies from web/public (the icon) keeps its name.
    const cacheControl = url.startsWith('/assets/') ? IMMUTABLE : 'public, max-age=3600';
    app.get(url, route, (request, reply) => send(request, reply, file, cacheControl));
  }
}
