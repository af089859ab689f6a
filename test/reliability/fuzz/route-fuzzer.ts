import fc from 'fast-check';
import { describeDefect, knownIssueFor } from '#test/reliability/known-issues.ts';
import type { FuzzApp } from './fuzz-app.ts';
import { fillPath, type Access, type RouteOperation } from './routes.ts';
import { arbitraryFor, hostileValue, TRICKY_STRINGS, type JsonSchema } from './schema-arbitrary.ts';
import { MAY_CHANGE_WHEN_REJECTED } from './rejection.ts';
import { changedTables, snapshot, writeCounter, type Snapshot } from './snapshot.ts';

interface FuzzedRequest {
  url: string;
  headers: Record<string, string>;
  payload: string | undefined;
}

/** Percent-encodes like a browser; a lone surrogate (which encodeURIComponent refuses) goes as its raw UTF-8 bytes. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...Buffer.from(text, 'utf8')]
      .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
      .join('');
  }
}

/** Path segments as an attacker would write them: real ids (own and foreign), junk, and traversal tricks. */
function paramArbitrary(pool: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...pool).map(encode) },
    { weight: 2, arbitrary: fc.constantFrom(...TRICKY_STRINGS).map(encode) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map(encode) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('..', '%2e%2e', '..%2F..%2Fadmin', '%00', '%ff', '%', 'a%2Fb', '%252e%252e', '.%2E'),
    },
  );
}

/** A value as query-string text: strings as they are, anything else as JSON (objects may lack a prototype). */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

function queryArbitrary(query: Record<string, JsonSchema>): fc.Arbitrary<string> {
  const known = Object.entries(query).map(([name, schema]) => fc.tuple(fc.constant(name), arbitraryFor(schema)));
  const extra = fc.tuple(
    fc.constantFrom('__proto__[admin]', 'constructor[prototype][polluted]', 'page[]', 'limit', 'userId', 'x'),
    hostileValue,
  );
  const pair =
    known.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.oneof(...known) }, { weight: 1, arbitrary: extra }) : extra;
  return fc.array(pair, { maxLength: 5 }).map((pairs) => {
    const params = new URLSearchParams();
    for (const [name, value] of pairs) {
      if (Array.isArray(value)) for (const item of value) params.append(name, asText(item));
      else params.append(name, asText(value));
    }
    const text = params.toString();
    return text ? `?${text}` : '';
  });
}

function headersArbitrary(headers: Record<string, JsonSchema>): fc.Arbitrary<Record<string, string>> {
  const entries = Object.entries(headers).map(([name, schema]) =>
    fc.tuple(
      fc.constant(name.toLowerCase()),
      arbitraryFor(schema).map((v) => asText(v).replace(/[\r\n]/g, '')),
    ),
  );
  if (entries.length === 0) return fc.constant({});
  return fc
    .array(fc.oneof(...entries), { maxLength: entries.length })
    .map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v.length > 0)));
}

const message: JsonSchema = {
  type: 'object',
  properties: {
    role: { enum: ['user', 'system', 'assistant', 'tool', 'developer'] },
    content: { type: 'string', maxLength: 200 },
    name: { type: 'string' },
  },
  required: ['role', 'content'],
};
const model = (names: string[]): JsonSchema => ({
  enum: [...names, 'no-such-model', '../../admin', 'http://127.0.0.1:1/v1', ''],
});

/**
 * The OpenAI surface takes any JSON object (unknown fields go upstream untouched), so its schema says
 * nothing: these shapes make the fuzzer send requests that get past the first checks to the hold,
 * the channel and the bill, with hostile values mixed in as everywhere else.
 */
const BODY_HINTS: Array<[RegExp, JsonSchema]> = [
  [
    /^\/(api\/)?v1\/chat\/completions$/,
    {
      type: 'object',
      properties: {
        model: model(['gpt-4o-mini', 'gpt-4o']),
        messages: { type: 'array', items: message, minItems: 1, maxItems: 3 },
        max_tokens: { type: 'integer', minimum: 1, maximum: 64 },
        n: { type: 'integer', minimum: 1, maximum: 2 },
        stream: { type: 'boolean' },
        stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
        temperature: { type: 'number', minimum: 0, maximum: 2 },
      },
      required: ['model', 'messages'],
    },
  ],
  [
    /^\/v1\/completions$/,
    {
      type: 'object',
      properties: {
        model: model(['gpt-3.5-turbo-instruct']),
        prompt: { type: 'string' },
        max_tokens: { type: 'integer', minimum: 1, maximum: 64 },
        stream: { type: 'boolean' },
      },
      required: ['model', 'prompt'],
    },
  ],
  [
    /^\/v1\/embeddings$/,
    {
      type: 'object',
      properties: {
        model: model(['text-embedding-3-small']),
        input: { type: 'string' },
        encoding_format: { enum: ['float', 'base64'] },
      },
      required: ['model', 'input'],
    },
  ],
  [
    /^\/v1\/images\/generations$/,
    {
      type: 'object',
      properties: {
        model: model(['dall-e-2']),
        prompt: { type: 'string' },
        n: { type: 'integer', minimum: 1, maximum: 2 },
        size: { enum: ['256x256', '1024x1024'] },
      },
      required: ['model', 'prompt'],
    },
  ],
];

function bodySchemaOf(route: RouteOperation): JsonSchema | undefined {
  return BODY_HINTS.find(([path]) => path.test(route.path))?.[1] ?? route.body;
}

/** A whole request for `route`: params, query, headers, and a JSON body (or now and then a form, or junk). */
export function requestArbitrary(route: RouteOperation, pool: string[]): fc.Arbitrary<FuzzedRequest> {
  const params = fc.record(Object.fromEntries(route.pathParams.map((name) => [name, paramArbitrary(pool)])));
  const schema = bodySchemaOf(route);
  const body = schema ? arbitraryFor(schema) : fc.option(hostileValue, { freq: 4 });
  const encoding = fc.constantFrom('json', 'json', 'json', 'json', 'json', 'json', 'form', 'text');
  return fc
    .record({ params, query: queryArbitrary(route.query), headers: headersArbitrary(route.headers), body, encoding })
    .map(({ params, query, headers, body, encoding }) => {
      const url = fillPath(route.path, params) + query;
      if (body === undefined || body === null || route.method === 'GET' || route.method === 'DELETE')
        return { url, headers, payload: undefined };
      if (encoding === 'form' && typeof body === 'object') {
        const form = new URLSearchParams(
          Object.entries(body as Record<string, unknown>).map(([k, v]): [string, string] => [k, asText(v)]),
        );
        return {
          url,
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
          payload: form.toString(),
        };
      }
      if (encoding === 'text')
        return { url, headers: { ...headers, 'content-type': 'text/plain' }, payload: JSON.stringify(body) };
      return { url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) };
    });
}

/**
 * Fuzzes one route as one kind of caller with `runs` generated requests (fast-check, fixed seed):
 * never a 5xx (unless it is a known defect), and a rejected request (4xx) changes no table.
 */
export async function fuzzRoute(
  f: FuzzApp,
  route: RouteOperation,
  mode: Access | 'none',
  runs: number,
  seed: number,
): Promise<void> {
  const db = f.t.app.services.database.db;
  const requests = fc.sample(requestArbitrary(route, f.idPool), { numRuns: runs, seed });
  let baseline: Snapshot = await snapshot(db);
  let writes = await writeCounter(db);
  let violations = 0;
  for (const request of requests) {
    f.tally.badInput();
    const response = await f.inject({
      method: route.method,
      url: request.url,
      headers: { ...request.headers, ...f.credentials(mode) },
      ...(request.payload === undefined ? {} : { payload: request.payload }),
    });
    // Only when something was written is a snapshot taken (and compared, if the input was rejected).
    const writesNow = await writeCounter(db);
    const after = writesNow === writes ? baseline : await snapshot(db);
    writes = writesNow;
    const label = `${route.method} ${route.path} as ${mode}`;
    const input = `${request.url.slice(0, 200)} ${(request.payload ?? '').slice(0, 200)}`;
    if (response.statusCode >= 500) {
      const known = knownIssueFor(
        { method: route.method, url: request.url, body: request.payload ?? '' },
        { status: response.statusCode, body: response.body },
      );
      if (known) f.tally.known(describeDefect(known));
      else if (violations++ < 3)
        f.tally.violation(`${label}: ${response.statusCode} for ${input} → ${response.body.slice(0, 160)}`);
    } else if (response.statusCode >= 400) {
      const changed = changedTables(baseline, after).filter((table) => !MAY_CHANGE_WHEN_REJECTED[mode].includes(table));
      if (changed.length > 0 && violations++ < 3)
        f.tally.violation(
          `${label}: rejected with ${response.statusCode} yet changed ${changed.join(', ')} (${input})`,
        );
    }
    baseline = after;
  }
}
