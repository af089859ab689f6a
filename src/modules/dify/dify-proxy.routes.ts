import type { FastifyRequest } from 'fastify';
import { AppError } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import { DIFY_ACCESS, DIFY_SECURITY, DIFY_TAGS } from './dify.routes.ts';
import { ProxyBody } from './dify.schemas.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * What `POST /api/dify/proxy` may reach: Dify service paths that have an endpoint of their own here,
 * so each is owned, billed and checked exactly as when called directly. No other path, and never
 * another host: the endpoint only ever becomes a path under /api/dify on this server.
 */
const ALLOWED: ReadonlyArray<readonly [Method, RegExp]> = [
  ['POST', /^chat-messages$/],
  ['POST', /^completion-messages$/],
  ['POST', /^workflows\/run$/],
  ['POST', /^(chat-messages|completion-messages)\/[\w-]+\/stop$/],
  ['POST', /^workflows\/tasks\/[\w-]+\/stop$/],
  ['GET', /^messages$/],
  ['GET', /^conversations$/],
  ['DELETE', /^conversations\/[\w-]+$/],
  ['POST', /^conversations\/[\w-]+\/name$/],
  ['GET', /^conversations\/[\w-]+\/(variables|messages)$/],
  ['POST', /^messages\/[\w-]+\/feedbacks$/],
  ['GET', /^messages\/[\w-]+\/(suggested|feedback-stats)$/],
  ['GET', /^(meta|parameters|info)$/],
  ['POST', /^text-to-audio$/],
];

/** The endpoint as a path under /api/dify (`/v1/meta`, `meta` and `/meta` are one), or undefined when it is not a plain path. */
function normalise(endpoint: string): string | undefined {
  const path = endpoint.trim().replace(/^\/+/, '').replace(/^v1\//, '');
  return /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(path) ? path : undefined;
}

/** The request headers that carry the caller's identity and language to the inner call; nothing else passes. */
function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['authorization', 'cookie', 'x-requested-with', 'accept-language', 'x-dify-app', 'x-request-id']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/** Seed 001 §4.6: `{endpoint, data, headers}` → `{data}`; the call runs as the caller's own call of that endpoint. */
export function registerDifyProxyRoute(app: App): void {
  app.post(
    '/api/dify/proxy',
    {
      config: DIFY_ACCESS,
      schema: {
        tags: DIFY_TAGS,
        security: DIFY_SECURITY,
        summary: 'Call an allowed Dify service path: {endpoint, method?, data} → {data}',
        body: ProxyBody,
      },
    },
    async (request, reply) => {
      const { endpoint, data } = request.body;
      const path = normalise(endpoint);
      const candidates = path ? ALLOWED.filter(([, pattern]) => pattern.test(path)) : [];
      const method = request.body.method ?? candidates[0]?.[0];
      if (!path || !candidates.some(([allowed]) => allowed === method))
        throw new AppError('PROXY_ENDPOINT_NOT_ALLOWED', { endpoint: endpoint.slice(0, 100) });
      const headers = forwardedHeaders(request);
      let url = `/api/dify/${path}`;
      let payload: Record<string, unknown> | undefined;
      if (method === 'GET') {
        const query = new URLSearchParams(
          Object.entries(data ?? {}).map(([name, value]): [string, string] => [name, String(value)]),
        );
        if ([...query].length > 0) url += `?${query.toString()}`;
      } else {
        // A proxied generation answers whole: the envelope {data} cannot carry a stream.
        payload = { ...data, ...(data && 'response_mode' in data ? { response_mode: 'blocking' } : {}) };
        headers['content-type'] = 'application/json';
      }
      const inner = await app.inject({
        method,
        url,
        headers,
        remoteAddress: request.ip,
        ...(payload ? { payload: JSON.stringify(payload) } : {}),
      });
      const type = String(inner.headers['content-type'] ?? '');
      const body: unknown = type.includes('json') && inner.body.length > 0 ? JSON.parse(inner.body) : inner.body;
      if (inner.statusCode >= 400) return reply.status(inner.statusCode).send(body);
      return reply.status(inner.statusCode === 201 ? 201 : 200).send({ data: body });
    },
  );
}
