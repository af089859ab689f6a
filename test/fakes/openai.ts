/**
 * FakeOpenAI — a stand-in for api.openai.com on 127.0.0.1 that speaks its HTTP API as
 * shared/reference/protocols.md §3 describes it: Tollgate's upstream in tests and benchmarks.
 *
 *   const fake = await FakeOpenAI.start();            // random port; { port: 4010 } for a fixed one
 *   new OpenAI({ baseURL: fake.url, apiKey: 'sk-anything' })   // fake.url ends with /v1
 *
 * Endpoints: POST /v1/chat/completions (stream and not, tools), POST /v1/completions,
 * POST /v1/embeddings (float, or base64 little-endian float32), POST /v1/images/generations,
 * GET /v1/models, GET /v1/models/:id; GET /files/<name>.png serves the 1×1 PNG that `url` images
 * point at (no auth). Every answer carries `x-request-id: req_<32 hex>`, `openai-processing-ms`,
 * `openai-version`, `openai-organization` and the six `x-ratelimit-*` headers.
 *
 * Auth: `Authorization: Bearer <key>`; `apiKeys` (option, or the property) lists the accepted keys,
 * default any non-empty key. No key → 401 "You didn't provide an API key…"; a wrong one → 401
 * `invalid_api_key` with the masked key. Unknown model → 404 `model_not_found`.
 *
 * Replies and usage (deterministic; the token model is in openai/tokens.ts): a token is a run of
 * non-whitespace with the whitespace before it. The chat reply is "Echo: " + the first 64 tokens of
 * the last user message (legacy completions: of the prompt); prompt_tokens = tokens of all message
 * texts (+85 per image part); completion_tokens = tokens of the reply. `max_completion_tokens` /
 * `max_tokens` cut the reply with finish_reason `length` (legacy completions default to 16, as on
 * OpenAI). A stream sends one token per content chunk. With `tools` (and tool_choice not "none", and
 * the last message not a tool result) the reply is a call of the forced or first function, arguments
 * filled from its JSON schema, streamed in 8-character fragments, completion_tokens = 1 +
 * ceil(arguments.length / 8), finish_reason `tool_calls`.
 *
 * BEHAVIOURS (type Behavior in openai/behavior.ts). A request's behaviour merges, later winning per key:
 *   1. the global one:  fake.always(b)  (fake.always() clears it)
 *   2. the first queued one that matches: fake.next(b, { times = 1, path? })  — consumed per request
 *      (e.g. `fake.next('status=500', 2)` fails the next two requests: retries and failover)
 *   3. the body field `"fake_behavior": "<spec>"` (a string or a Behavior object; it crosses
 *      Tollgate, which passes unknown fields through)
 *   4. the header `x-fake-behavior: <spec>` (direct calls only: a gateway does not forward it)
 * <spec> is `key=value; key=value; flag`, values percent-decoded. Keys:
 *   status=N          answer N with OpenAI's body for it: 400, 401 invalid_api_key, 403, 404
 *                     model_not_found, 429 rate_limit_exceeded (+ retry-after), 500 / 503
 *                     server_error, 502 an HTML page (as an edge proxy sends); others generic
 *   code=C            429 + code=insufficient_quota → the quota error (no retry-after); else sets error.code
 *   message=M         replaces the error message (also of the in-band stream error)
 *   retry-after=S     seconds in retry-after on a 429 rate limit (default 1); `none` leaves it out
 *   delay=MS          wait before the status line          hang  never answer
 *   chunk-delay=MS    wait between SSE events (a slow stream; the first event goes with the headers)
 *   stall-after=N     stream N events then go silent with the connection open (non-stream: hang)
 *   reset-after=N     stream N events then drop the connection mid-body, no [DONE] (non-stream:
 *                     drop without answering); + `rst` to send a TCP RST instead of a FIN
 *   error-after=N     stream N events then `data: {"error":{…server_error…}}` and end (no [DONE])
 *   garbage-after=N   insert the malformed event `data: {malformed` after N events, then carry on
 *   no-done           end the stream without `data: [DONE]`
 *   text=T            the reply text          words=N   a reply of N generated words (long output)
 *   chunks=N          the content (or tool arguments) in exactly N chunks, cut by characters
 *   usage=P,C[,T]     report exactly these token counts (zeros too); usage=none: no usage at all
 *   raw-usage=JSON    report this usage object as written (counts that are not counts: 5.5, "abc", -3)
 *   usage-in=chunk|last-content|finish   streams: OpenAI's separate `choices:[]` chunk, sent only
 *                     with stream_options.include_usage (default); or usage on the last content
 *                     chunk / on the finish_reason chunk, always (as some compatible upstreams do)
 * "N events" counts the `data:` events written: the role chunk is event 1 of a chat stream.
 * A bad spec is answered 400 with a message naming the problem.
 *
 * INSPECTION: `requests` (method, path, headers, parsed body of every request; `record: false` turns
 * it off for benchmarks), `requestsTo(path)`, `lastRequest(path?)`, `clearRequests()`; `stats`
 * counters: requests, inFlight, maxInFlight, streamsStarted, streamsCompleted, streamsAborted (the
 * client went away mid-stream: proof that a gateway aborted its upstream), clientAborts (any
 * answer cut short by the client, hangs included), resets (connections the fake dropped);
 * `until(predicate, timeoutMs?)` resolves when a predicate on the fake holds (re-checked on every
 * event). `reset()` clears behaviours, queue, records and counters. `close()` drops every connection.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeBehaviorError, parseBehavior, toBehavior, type Behavior, type BehaviorInput } from './openai/behavior.ts';
import { errors, forcedError, MESSAGES, type ErrorReply } from './openai/errors.ts';
import { chatCompletion, textCompletion, type Body, type Outcome } from './openai/generate.ts';
import { DEFAULT_MODELS, embeddings, images, PNG, toModel, type FakeModel } from './openai/resources.ts';
import { playStream, resetConnection, shapeStream, type Exchange } from './openai/stream.ts';

export type { Behavior, BehaviorInput, FakeUsage, UsagePlacement } from './openai/behavior.ts';
export { parseBehavior } from './openai/behavior.ts';
export { MESSAGES as OPENAI_MESSAGES, maskKey } from './openai/errors.ts';
export { embeddingBase64, fakeEmbedding, type FakeModel } from './openai/resources.ts';
export { countTokens, generatedWords } from './openai/tokens.ts';

export interface FakeOpenAIOptions {
  /** Default: a random free port. */
  port?: number;
  /** Accepted API keys; default: any non-empty key. */
  apiKeys?: string[];
  /** Served models; default DEFAULT_MODELS (gpt-4o-mini, gpt-4o, gpt-3.5-turbo-instruct, text-embedding-3-small/-large, dall-e-2/-3, gpt-image-1). */
  models?: Array<string | (Partial<FakeModel> & { id: string })>;
  /** The global behaviour to start with. */
  behavior?: BehaviorInput;
  /** Keep a record of every request (default true; turn off for benchmarks). */
  record?: boolean;
  organization?: string;
}

export interface RecordedRequest {
  method: string;
  /** Without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
}

export interface FakeStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  streamsStarted: number;
  streamsCompleted: number;
  streamsAborted: number;
  clientAborts: number;
  resets: number;
}

interface Queued {
  behavior: Behavior;
  times: number;
  path: string | undefined;
}

const NONE: Behavior = Object.freeze({});
const SSE = 'text/event-stream; charset=utf-8';
const JSON_TYPE = 'application/json';
const RATE_LIMIT_HEADERS = {
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-limit-tokens': '30000000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-remaining-tokens': '29999990',
  'x-ratelimit-reset-requests': '6ms',
  'x-ratelimit-reset-tokens': '0s',
};

const matches = (path: string, wanted: string) => path === wanted || path === `/v1${wanted}`;
const isObject = (value: unknown): value is Body =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const zeroStats = (): FakeStats => ({
  requests: 0,
  inFlight: 0,
  maxInFlight: 0,
  streamsStarted: 0,
  streamsCompleted: 0,
  streamsAborted: 0,
  clientAborts: 0,
  resets: 0,
});

export class FakeOpenAI {
  /** Base URL for the SDK, with `/v1`. */
  readonly url: string;
  readonly origin: string;
  readonly requests: RecordedRequest[] = [];
  readonly stats: FakeStats = zeroStats();
  /** The served models, by id (mutable). */
  readonly models: Map<string, FakeModel>;
  /** Accepted keys; undefined = any non-empty key. */
  apiKeys: Set<string> | undefined;
  record: boolean;
  readonly organization: string;
  private global: Behavior = NONE;
  private queue: Queued[] = [];
  private readonly changes = new EventEmitter();
  private closing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    options: FakeOpenAIOptions,
  ) {
    this.origin = `http://127.0.0.1:${port}`;
    this.url = `${this.origin}/v1`;
    this.models = new Map((options.models?.map(toModel) ?? DEFAULT_MODELS).map((model) => [model.id, { ...model }]));
    this.apiKeys = options.apiKeys && new Set(options.apiKeys);
    this.record = options.record ?? true;
    this.organization = options.organization ?? 'user-fake0000';
    if (options.behavior) this.always(options.behavior);
    this.changes.setMaxListeners(0);
  }

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    const server = createServer({ noDelay: true }, (request, response) => fake.onRequest(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const fake = new FakeOpenAI(server, (server.address() as AddressInfo).port, options);
    return fake;
  }

  /** Sets the behaviour of every request (replacing the previous one); no argument clears it. */
  always(behavior?: BehaviorInput): void {
    this.global = behavior === undefined ? NONE : toBehavior(behavior);
  }

  /** Queues a behaviour for the next `times` requests (to `path`, when given: `/chat/completions` or `/v1/…`). */
  next(behavior: BehaviorInput, options: number | { times?: number; path?: string } = 1): void {
    const { times = 1, path } = typeof options === 'number' ? { times: options } : options;
    if (times > 0) this.queue.push({ behavior: toBehavior(behavior), times, path });
  }

  /** Clears the global behaviour, the queue, the records and the counters (in-flight stays true). */
  reset(): void {
    this.global = NONE;
    this.queue = [];
    this.clearRequests();
    Object.assign(this.stats, zeroStats(), { inFlight: this.stats.inFlight, maxInFlight: this.stats.inFlight });
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((request) => matches(request.path, path));
  }

  lastRequest(path?: string): RecordedRequest | undefined {
    return path === undefined ? this.requests.at(-1) : this.requestsTo(path).at(-1);
  }

  /** Resolves once `predicate(this)` holds; rejects after `timeoutMs` with the counters in the message. */
  until(predicate: (fake: FakeOpenAI) => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`FakeOpenAI.until: not met within ${timeoutMs} ms; stats ${JSON.stringify(this.stats)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.changes.off('change', check);
      };
      this.changes.on('change', check);
    });
  }

  close(): Promise<void> {
    this.closing = true;
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private changed(): void {
    if (this.changes.listenerCount('change') > 0) this.changes.emit('change');
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const ex: Exchange = { start: Date.now(), closed: false, streaming: false, resetByFake: false, timer: undefined };
    const stats = this.stats;
    stats.requests++;
    if (++stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight;
    response.once('close', () => {
      ex.closed = true;
      if (ex.timer) clearTimeout(ex.timer);
      stats.inFlight--;
      if (response.writableFinished) {
        if (ex.streaming) stats.streamsCompleted++;
      } else if (!ex.resetByFake && !this.closing) {
        stats.clientAborts++;
        if (ex.streaming) stats.streamsAborted++;
      }
      this.changed();
    });
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () =>
      this.handle(request, response, ex, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)),
    );
  }

  private handle(request: IncomingMessage, response: ServerResponse, ex: Exchange, raw: Buffer): void {
    if (ex.closed) return;
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (method === 'GET' && path.startsWith('/files/')) {
      response.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
      response.end(PNG);
      return;
    }
    let body: unknown;
    let badJson = false;
    if (raw.length > 0) {
      const text = raw.toString('utf8');
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        badJson = true;
      }
    }
    if (this.record) this.requests.push({ method, path, headers: request.headers, body });
    this.changed();
    let behavior: Behavior;
    try {
      behavior = this.behaviorFor(path, request.headers['x-fake-behavior'], body);
    } catch (error) {
      if (!(error instanceof FakeBehaviorError)) throw error;
      this.sendError(response, ex, errors.badRequest(error.message, 'x-fake-behavior', 'fake_behavior_invalid'));
      return;
    }
    const go = () => this.respond(request, response, ex, method, path, badJson ? undefined : body, badJson, behavior);
    if (behavior.delay) ex.timer = setTimeout(go, behavior.delay);
    else go();
  }

  private behaviorFor(path: string, header: string | string[] | undefined, body: unknown): Behavior {
    let behavior = this.global;
    if (this.queue.length > 0) {
      const index = this.queue.findIndex((entry) => entry.path === undefined || matches(path, entry.path));
      const entry = this.queue[index];
      if (entry) {
        behavior = { ...behavior, ...entry.behavior };
        if (--entry.times === 0) this.queue.splice(index, 1);
      }
    }
    const field = isObject(body) ? body.fake_behavior : undefined;
    if (typeof field === 'string' || isObject(field)) behavior = { ...behavior, ...toBehavior(field) };
    if (typeof header === 'string') behavior = { ...behavior, ...parseBehavior(header) };
    return behavior;
  }

  private respond(
    request: IncomingMessage,
    response: ServerResponse,
    ex: Exchange,
    method: string,
    path: string,
    body: unknown,
    badJson: boolean,
    behavior: Behavior,
  ): void {
    ex.timer = undefined;
    if (ex.closed || behavior.hang) return;
    const authorization = request.headers.authorization ?? '';
    const key = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim() ?? '';
    if (!key) return this.sendError(response, ex, errors.noKey());
    if (this.apiKeys && !this.apiKeys.has(key)) return this.sendError(response, ex, errors.badKey(key));
    const fields: Body = isObject(body) ? body : {};
    if (behavior.status !== undefined) {
      const model =
        typeof fields.model === 'string'
          ? fields.model
          : path.startsWith('/v1/models/')
            ? path.slice(11)
            : 'gpt-4o-mini';
      const { code, message, retryAfter } = behavior;
      return this.sendError(
        response,
        ex,
        forcedError(behavior.status, { model, key, code, message, retryAfter, organization: this.organization }),
      );
    }
    if (badJson || (body !== undefined && !isObject(body)))
      return this.sendError(response, ex, errors.badRequest(MESSAGES.badJson));

    const outcome = this.route(method, path, fields, behavior);
    if (outcome.kind === 'error') return this.sendError(response, ex, outcome.reply);
    if (outcome.kind === 'json') {
      if (behavior.resetAfter !== undefined) return this.drop(response, ex, behavior);
      if (behavior.stallAfter !== undefined) return;
      response.writeHead(200, this.headers(ex, JSON_TYPE));
      response.end(outcome.body);
      return;
    }
    ex.streaming = true;
    this.stats.streamsStarted++;
    response.writeHead(200, this.headers(ex, SSE, { 'cache-control': 'no-cache' }));
    playStream(response, ex, shapeStream(outcome.events, behavior), behavior, () => this.stats.resets++);
    this.changed();
  }

  private route(method: string, path: string, body: Body, behavior: Behavior): Outcome {
    const post = (handler: () => Outcome): Outcome =>
      method === 'POST' ? handler() : { kind: 'error', reply: errors.badMethod(method, path) };
    switch (path) {
      case '/v1/chat/completions':
        return post(() => chatCompletion(body, behavior, this.models));
      case '/v1/completions':
        return post(() => textCompletion(body, behavior, this.models));
      case '/v1/embeddings':
        return post(() => embeddings(body, behavior, this.models));
      case '/v1/images/generations':
        return post(() => images(body, behavior, this.models, this.origin));
      case '/v1/models':
        if (method !== 'GET') return { kind: 'error', reply: errors.badMethod(method, path) };
        return { kind: 'json', body: JSON.stringify({ object: 'list', data: [...this.models.values()] }) };
    }
    if (path.startsWith('/v1/models/')) {
      if (method !== 'GET') return { kind: 'error', reply: errors.badMethod(method, path) };
      let id: string;
      try {
        id = decodeURIComponent(path.slice('/v1/models/'.length));
      } catch {
        id = path.slice('/v1/models/'.length);
      }
      const model = this.models.get(id);
      return model ? { kind: 'json', body: JSON.stringify(model) } : { kind: 'error', reply: errors.modelNotFound(id) };
    }
    return { kind: 'error', reply: errors.invalidUrl(method, path) };
  }

  private drop(response: ServerResponse, ex: Exchange, behavior: Behavior): void {
    this.stats.resets++;
    resetConnection(response, ex, '', { rst: behavior.rst === true, headers: false });
    this.changed();
  }

  private headers(ex: Exchange, contentType: string, extra?: Record<string, string>): OutgoingHttpHeaders {
    return {
      'content-type': contentType,
      'x-request-id': `req_${randomUUID().replace(/-/g, '')}`,
      'openai-processing-ms': String(Date.now() - ex.start),
      'openai-version': '2020-10-01',
      'openai-organization': this.organization,
      ...RATE_LIMIT_HEADERS,
      ...extra,
    };
  }

  private sendError(response: ServerResponse, ex: Exchange, reply: ErrorReply): void {
    if (reply.html !== undefined) {
      response.writeHead(reply.status, this.headers(ex, 'text/html', reply.headers));
      response.end(reply.html);
      return;
    }
    response.writeHead(reply.status, this.headers(ex, JSON_TYPE, reply.headers));
    response.end(JSON.stringify({ error: reply.error }));
  }
}
