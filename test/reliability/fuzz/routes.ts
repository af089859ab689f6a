import type { App } from '#core/http/route-config.ts';
import type { JsonSchema } from './schema-arbitrary.ts';

export type Access = 'public' | 'user' | 'admin' | 'apikey';

/** One public operation of the app, as its OpenAPI document describes it. */
export interface RouteOperation {
  method: string;
  /** Fastify's form, `/api/keys/:id`. */
  path: string;
  pathParams: string[];
  query: Record<string, JsonSchema>;
  headers: Record<string, JsonSchema>;
  body: JsonSchema | undefined;
  secured: boolean;
}

interface OpenApiParameter {
  in: 'path' | 'query' | 'header';
  name: string;
  schema?: JsonSchema;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: unknown[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation in the app's own OpenAPI document (/api/docs/json): the routes users can reach. */
export async function routesOf(app: App): Promise<RouteOperation[]> {
  const doc = (await app.inject({ method: 'GET', url: '/api/docs/json' })).json<{
    paths: Record<string, Record<string, OpenApiOperation>>;
  }>();
  const operations: RouteOperation[] = [];
  for (const [openApiPath, byMethod] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = byMethod[method];
      if (!op) continue;
      const parameters = op.parameters ?? [];
      const of = (where: OpenApiParameter['in']) =>
        Object.fromEntries(parameters.filter((p) => p.in === where).map((p) => [p.name, p.schema ?? {}]));
      operations.push({
        method: method.toUpperCase(),
        path: openApiPath.replace(/\{(\w+)\}/g, ':$1'),
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: of('query'),
        headers: of('header'),
        body: op.requestBody?.content?.['application/json']?.schema,
        secured: Array.isArray(op.security) && op.security.length > 0,
      });
    }
  }
  return operations;
}

/**
 * Every route Fastify serves, from `printRoutes` (a tree: each line's fragment is appended to its
 * parent's path). Used to prove the OpenAPI document leaves no route out of the fuzzing.
 */
export function servedRoutes(app: App): Array<{ path: string; methods: string[] }> {
  const lines = app
    .printRoutes({ commonPrefix: false })
    .split('\n')
    .filter((line) => line.includes('── '));
  const stack: string[] = [];
  const routes: Array<{ path: string; methods: string[] }> = [];
  for (const line of lines) {
    const at = line.indexOf('── ');
    const depth = Math.round(at / 4);
    const match = /── (\S+)(?: \(([^)]*)\))?/.exec(line.slice(at));
    if (!match) continue;
    const fragment = match[1]!;
    const parent = depth > 0 ? (stack[depth - 1] ?? '') : '';
    const path = depth === 0 ? fragment : parent === '/' ? `/${fragment}` : `${parent}${fragment}`;
    stack[depth] = path;
    stack.length = depth + 1;
    if (match[2]) routes.push({ path, methods: match[2].split(',').map((m) => m.trim()) });
  }
  return routes;
}

/** Fills `:name` segments with `values` (already encoded as the caller wants them). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/:(\w+)/g, (_, name: string) => values[name] ?? 'x');
}
