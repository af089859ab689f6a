/**
 * FakeDify — a stand-in for a Dify server's app service API on 127.0.0.1, speaking it as
 * Dify's service API reference (dify-api.md) describes: Tollgate's Dify upstream in tests.
 *
 *   const fake = await FakeDify.start();                  // random port; { port: 4020 } for a fixed one
 *   new ChatClient('app-fake-chat', fake.url)            // fake.url ends with /v1
 *
 * APPS: one API key per app. Default: app-fake-chat (chat), app-fake-agent (agent-chat),
 * app-fake-chatflow (advanced-chat), app-fake-completion (completion), app-fake-workflow (workflow).
 * Endpoints (under /v1): POST /chat-messages, /chat-messages/:task_id/stop, /completion-messages,
 * /completion-messages/:task_id/stop, /workflows/run, /workflows/tasks/:task_id/stop; GET
 * /workflows/run/:id; GET /messages, /conversations, /conversations/:id/variables; DELETE
 * /conversations/:id; POST /conversations/:id/name, /messages/:id/feedbacks; GET
 * /messages/:id/suggested, /app/feedbacks, /parameters, /meta, /info, /site; POST /files/upload,
 * /audio-to-text (multipart), /text-to-audio (audio/mpeg bytes); GET / and /v1/ (welcome, no auth).
 * Not served (404): /workflows/logs, /workflows/:id/run, PUT variables, file preview, annotations.
 * Checks in Dify's order: route (404 / 405) → auth (401 + WWW-Authenticate: missing header, scheme,
 * unknown key) → forced status → JSON body (400 bad_request) → `user` (400 "Arg user must be
 * provided." where required; DEFAULT-USER where optional) → app mode (not_chat_app,
 * app_unavailable, not_workflow_app) → the payload (400 invalid_param, pydantic-worded) → 404s of
 * conversations / messages that are not this end user's (or deleted, or unknown).
 *
 * CONTENT AND USAGE (deterministic; dify/content.ts): tokens as in openai/tokens.ts. Chat answer =
 * "Echo: " + the first 64 tokens of `query`; completion: of query, else inputs.query, else the
 * inputs as JSON; workflow: of JSON.stringify(inputs). The `fake_behavior` input is control, not
 * content: left out of echoes and counts. prompt_tokens = tokens(query) + tokens of every string
 * input value (a continued conversation uses the conversation's inputs, as Dify does);
 * completion_tokens = tokens(answer). Usage as dify-api.md §2.5: prices 0.001 / 0.002 USD per 1000
 * tokens as 7-decimal strings ("0.0000120"), currency USD, latency = 0.2 + 0.01 × completion tokens.
 * Workflow: outputs { text }, total_tokens = prompt + completion, the llm node's execution_metadata
 * has total_tokens / total_price / currency. A new conversation is named after the first 20
 * characters of its first query ("New conversation" with auto_generate_name: false); each has two
 * variables (topic, turns). Streams: one delta event per token (dify/events.ts lists each family's
 * events); `event: ping` every pingIntervalMs while a stream is open. A stop call ends a running
 * stream of the caller (workflow stops: anyone's) with message_end carrying the usage of what was
 * produced (workflow / chatflow: workflow_finished status `stopped`).
 *
 * BEHAVIOURS (type DifyBehavior in dify/behavior.ts). A request's behaviour merges, later winning:
 *   1. the global one: fake.always(b) (no argument clears it)
 *   2. the first matching queued one: fake.next(b, { times = 1, path? } | times), consumed per request
 *   3. the body: `inputs.fake_behavior` (Tollgate forwards inputs untouched), a top-level
 *      `fake_behavior`, or a multipart field `fake_behavior` — a spec string or a DifyBehavior
 *   4. the header `x-fake-behavior: <spec>`
 * <spec> is `key=value; key=value; flag`, values percent-decoded. Keys:
 *   status=N        answer N with Dify's envelope {code, message, status}; code by status: 400
 *                   invalid_param, 401 unauthorized, 403 forbidden, 404 not_found, 429
 *                   too_many_requests (+ Retry-After), 500 internal_server_error; 502 an HTML page
 *   code=C message=M  the envelope's code / message (or those of the error-after event)
 *   retry-after=S|none  Retry-After of a 429 (default 1)
 *   delay=MS        wait before answering            hang   never answer
 *   chunk-delay=MS  wait between SSE events          no-ping  no ping frames
 *   stall-after=N   stream N events then go quiet, connection open (blocking: hang)
 *   reset-after=N   stream N events then drop the connection (blocking: drop unanswered); + rst: RST
 *   error-after=N   stream N events then an `error` event (status/code/message; default 500
 *                   internal_server_error) and end, no message_end (chatflow / workflow:
 *                   workflow_finished `failed` first). Blocking: that error as the HTTP answer
 *                   (workflow: 200 with status `failed`)
 *   no-end          end after the deltas without message_end / workflow_finished
 *   text=T  words=N the answer; N generated words
 *   usage=P,C|none  report these token counts; none: message_end without usage, no total_tokens
 *   replace=T       message_replace T before message_end; the answer becomes T (usage unchanged)
 *   annotation      metadata.annotation_reply and a zero usage
 *   order=message-first|workflow-first   chatflow terminal order (default workflow-first)
 *   spaced          Python json.dumps style JSON (", ", ": ", \uXXXX) instead of compact
 *   stop-wait=MS    a stop ends the stream MS later (deltas go on meanwhile; default 0)
 * "N events" counts `data:` events, not pings. A bad spec is answered 400 `fake_behavior_invalid`.
 *
 * INSPECTION: `requests` (method, path, query, headers, body: JSON, text, or for multipart
 * { fields, files: [{ field, filename, mimeType, size }] }), requestsTo(path), lastRequest(path?),
 * clearRequests(); `stats` (requests, inFlight, maxInFlight, streamsStarted, streamsCompleted,
 * streamsAborted: the client left mid-stream, clientAborts, resets, stops); `stops`;
 * conversationsOf(appKey, user) (newest first), messagesOf(appKey, conversationId) (oldest first),
 * `store` for the rest; until(predicate, timeoutMs?); reset() clears behaviours, records, counters
 * and state (apps stay); close().
 */
import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { resetConnection, type Exchange } from '#test/fakes/openai/stream.ts';
import { DEFAULT_DIFY_APPS, difyApp, type FakeDifyApp, type FakeDifyAppInput } from './dify/apps.ts';
import {
  BehaviorControl,
  DifyBehaviorError,
  pathMatches,
  type DifyBehavior,
  type DifyBehaviorInput,
} from './dify/behavior.ts';
import { isObject, type Outcome, type RouteContext } from './dify/context.ts';
import { sortConversations } from './dify/conversations.ts';
import { DifyError, difyErrors, fail, forcedError } from './dify/errors.ts';
import { writeError, writeOutcome } from './dify/reply.ts';
import { authenticate, readRequest, userOf, userString, type ReadRequest } from './dify/request.ts';
import { checkGate, matchRoute } from './dify/routes.ts';
import { DEFAULT_USER, DifyStore, type FakeDifyConversation, type FakeDifyMessage } from './dify/store.ts';
import { StreamPlayer, type StreamScript } from './dify/stream.ts';

export type { FakeDifyApp, FakeDifyAppInput, DifyAppMode } from './dify/apps.ts';
export { DEFAULT_DIFY_APPS, difyApp } from './dify/apps.ts';
export type { DifyBehavior, DifyBehaviorInput, DifyUsageOverride, ChatflowOrder } from './dify/behavior.ts';
export { parseDifyBehavior } from './dify/behavior.ts';
export { usageOf, zeroUsage, ECHO_TOKENS, type DifyUsage } from './dify/content.ts';
export { DEFAULT_USER } from './dify/store.ts';
export type { RecordedMultipart } from './dify/request.ts';
export type {
  FakeDifyConversation,
  FakeDifyMessage,
  FakeDifyEndUser,
  FakeDifyUpload,
  FakeDifyWorkflowRun,
} from './dify/store.ts';
export { countTokens, generatedWords } from '#test/fakes/openai/tokens.ts';

export interface FakeDifyOptions {
  /** Default: a random free port. */
  port?: number;
  /** The served apps; default DEFAULT_DIFY_APPS. */
  apps?: FakeDifyAppInput[];
  /** Milliseconds between `event: ping` frames of an open stream (default 10000, as Dify). */
  pingIntervalMs?: number;
  /** Keep a record of every request (default true). */
  record?: boolean;
  /** The global behaviour to start with. */
  behavior?: DifyBehaviorInput;
}

export interface RecordedDifyRequest {
  method: string;
  /** Without the query string, e.g. `/v1/chat-messages`. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON; the raw text when not JSON; RecordedMultipart for multipart; undefined when empty. */
  body: unknown;
}

export interface FakeDifyStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  streamsStarted: number;
  streamsCompleted: number;
  streamsAborted: number;
  clientAborts: number;
  resets: number;
  stops: number;
}

export interface FakeDifyStop {
  taskId: string;
  /** The `user` of the stop call ('' when it had none). */
  user: string;
  path: string;
}

interface DifyExchange extends Exchange {
  player?: StreamPlayer;
}

const SSE = 'text/event-stream; charset=utf-8';
const WELCOME = { welcome: 'Dify OpenAPI', api_version: 'v1', server_version: '1.9.2' };

const zeroStats = (): FakeDifyStats => ({
  requests: 0,
  inFlight: 0,
  maxInFlight: 0,
  streamsStarted: 0,
  streamsCompleted: 0,
  streamsAborted: 0,
  clientAborts: 0,
  resets: 0,
  stops: 0,
});

export class FakeDify {
  /** Base URL for the SDK and DIFY_API_URL, with `/v1`. */
  readonly url: string;
  readonly origin: string;
  /** The served apps by key (mutable: `fake.apps.set(key, difyApp({...}))`). */
  readonly apps: Map<string, FakeDifyApp>;
  readonly requests: RecordedDifyRequest[] = [];
  readonly stats: FakeDifyStats = zeroStats();
  readonly stops: FakeDifyStop[] = [];
  /** Conversations, messages, uploads, workflow runs. */
  readonly store = new DifyStore();
  pingIntervalMs: number;
  record: boolean;
  private readonly behaviors = new BehaviorControl();
  /** Running streams by task id. */
  private readonly tasks = new Map<string, StreamPlayer>();
  private readonly changes = new EventEmitter();
  private closing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    options: FakeDifyOptions,
  ) {
    this.origin = `http://127.0.0.1:${port}`;
    this.url = `${this.origin}/v1`;
    this.apps = new Map((options.apps ?? DEFAULT_DIFY_APPS).map((input) => [input.key, difyApp(input)]));
    this.pingIntervalMs = options.pingIntervalMs ?? 10_000;
    this.record = options.record ?? true;
    if (options.behavior) this.always(options.behavior);
    this.changes.setMaxListeners(0);
  }

  static async start(options: FakeDifyOptions = {}): Promise<FakeDify> {
    const server = createServer({ noDelay: true }, (request, response) => fake.onRequest(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const fake = new FakeDify(server, (server.address() as AddressInfo).port, options);
    return fake;
  }

  /** Sets the behaviour of every request; no argument clears it. */
  always(behavior?: DifyBehaviorInput): void {
    this.behaviors.always(behavior);
  }

  /** Queues a behaviour for the next `times` requests (to `path`, when given: `/chat-messages` or `/v1/…`). */
  next(behavior: DifyBehaviorInput, options: number | { times?: number; path?: string } = 1): void {
    this.behaviors.next(behavior, options);
  }

  /** Clears behaviours, queue, records, stops, counters (in-flight stays) and state; apps stay. */
  reset(): void {
    this.behaviors.clear();
    this.clearRequests();
    this.stops.length = 0;
    this.store.clear();
    Object.assign(this.stats, zeroStats(), { inFlight: this.stats.inFlight, maxInFlight: this.stats.inFlight });
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  requestsTo(path: string): RecordedDifyRequest[] {
    return this.requests.filter((request) => pathMatches(request.path, path));
  }

  lastRequest(path?: string): RecordedDifyRequest | undefined {
    return path === undefined ? this.requests.at(-1) : this.requestsTo(path).at(-1);
  }

  /** The end user's non-deleted conversations in the app, newest first ('' / undefined user: DEFAULT-USER). */
  conversationsOf(appKey: string, user?: string): FakeDifyConversation[] {
    const endUser = this.store.findEndUser(appKey, user || DEFAULT_USER);
    return endUser ? sortConversations(this.store.conversationsOf(appKey, endUser.id), '-created_at') : [];
  }

  /** The messages of a conversation of the app, oldest first. */
  messagesOf(appKey: string, conversationId: string): FakeDifyMessage[] {
    return this.store.messagesIn(conversationId).filter((message) => message.appKey === appKey);
  }

  /** Resolves once `predicate(this)` holds (re-checked on every request, stream start and end, stop and close). */
  until(predicate: (fake: FakeDify) => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`FakeDify.until: not met within ${timeoutMs} ms; stats ${JSON.stringify(this.stats)}`));
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
    const ex: DifyExchange = {
      start: Date.now(),
      closed: false,
      streaming: false,
      resetByFake: false,
      timer: undefined,
    };
    const stats = this.stats;
    stats.requests++;
    if (++stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight;
    response.once('close', () => {
      ex.closed = true;
      clearTimeout(ex.timer);
      stats.inFlight--;
      ex.player?.closed();
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
    request.on('end', () => this.handle(request, response, ex, Buffer.concat(chunks)));
  }

  private handle(request: IncomingMessage, response: ServerResponse, ex: DifyExchange, raw: Buffer): void {
    if (ex.closed) return;
    const method = request.method ?? 'GET';
    const read = readRequest(new URL(request.url ?? '/', this.origin), request.headers, raw);
    if (this.record)
      this.requests.push({ method, path: read.path, query: read.query, headers: request.headers, body: read.body });
    this.changed();
    let behavior: DifyBehavior;
    try {
      behavior = this.behaviors.resolve(read.path, request.headers['x-fake-behavior'], read.body, read.form?.fields);
    } catch (error) {
      if (!(error instanceof DifyBehaviorError)) throw error;
      writeError(response, { status: 400, code: 'fake_behavior_invalid', message: error.message }, false);
      return;
    }
    const go = () => this.respond(request, response, ex, method, read, behavior);
    if (behavior.delay) ex.timer = setTimeout(go, behavior.delay);
    else go();
  }

  private respond(
    request: IncomingMessage,
    response: ServerResponse,
    ex: DifyExchange,
    method: string,
    read: ReadRequest,
    behavior: DifyBehavior,
  ): void {
    ex.timer = undefined;
    if (ex.closed || behavior.hang) return;
    const { path } = read;
    try {
      if (method === 'GET' && (path === '/' || path === '/v1' || path === '/v1/'))
        return this.deliver(response, ex, { kind: 'json', body: WELCOME }, behavior);
      const match = path.startsWith('/v1/') ? matchRoute(method, path.slice(3)) : undefined;
      if (match === undefined) throw difyErrors.urlNotFound();
      if (match === 'method-not-allowed') throw difyErrors.methodNotAllowed();
      const { route, params } = match;
      const app = authenticate(this.apps, request.headers.authorization);
      if (route.stop) this.recordStop(params[0]!, read.body, path);
      if (behavior.status !== undefined) {
        const { code, message, retryAfter } = behavior;
        return writeError(
          response,
          forcedError(behavior.status, { code, message, retryAfter, appId: app.id }),
          behavior.spaced,
        );
      }
      const body = route.body === 'json' ? (read.badJson ? undefined : read.body) : {};
      if (!isObject(body)) throw difyErrors.badJson();
      const sessionId = userOf(route, body, read.query, read.form);
      checkGate(route.gate, app);
      const ctx: RouteContext = {
        app,
        endUser: () => this.store.endUser(app, sessionId ?? DEFAULT_USER),
        body,
        query: read.query,
        params,
        form: read.form,
        behavior,
        store: this.store,
        origin: this.origin,
        stop: (taskId, endUserId) => this.stopTask(app, taskId, endUserId),
      };
      this.deliver(response, ex, route.handle(ctx), behavior);
    } catch (error) {
      const reply =
        error instanceof DifyError ? error.reply : fail(500, 'internal_server_error', `fake: ${String(error)}`).reply;
      writeError(response, reply, behavior.spaced);
    }
  }

  private recordStop(taskId: string, body: unknown, path: string): void {
    this.stops.push({ taskId, user: isObject(body) ? userString(body.user) : '', path });
    this.stats.stops++;
  }

  private stopTask(app: FakeDifyApp, taskId: string, endUserId: string | undefined): void {
    const player = this.tasks.get(taskId);
    if (!player || player.script.appKey !== app.key) return;
    if (endUserId !== undefined && player.script.ownerId !== endUserId) return;
    player.stop();
    this.changed();
  }

  private deliver(response: ServerResponse, ex: DifyExchange, outcome: Outcome, behavior: DifyBehavior): void {
    if (outcome.kind === 'stream') return this.startStream(response, ex, outcome.script, behavior);
    if (behavior.resetAfter !== undefined) {
      this.stats.resets++;
      resetConnection(response, ex, '', { rst: behavior.rst === true, headers: false });
      this.changed();
      return;
    }
    if (behavior.stallAfter === undefined) writeOutcome(response, outcome, behavior.spaced);
  }

  private startStream(response: ServerResponse, ex: DifyExchange, script: StreamScript, behavior: DifyBehavior): void {
    ex.streaming = true;
    this.stats.streamsStarted++;
    response.writeHead(200, { 'content-type': SSE, 'cache-control': 'no-cache' });
    const player = new StreamPlayer(response, ex, script, behavior, {
      pingIntervalMs: this.pingIntervalMs,
      onReset: () => this.stats.resets++,
      onSettled: () => {
        this.tasks.delete(script.taskId);
        this.changed();
      },
    });
    ex.player = player;
    this.tasks.set(script.taskId, player);
    player.start();
    this.changed();
  }
}
