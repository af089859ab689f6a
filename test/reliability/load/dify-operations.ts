import type { LoadKey, LoadUser } from '#test/reliability/support/accounts.ts';
import { DIFY_MODEL, difyUsageRecords } from '#test/reliability/support/books.ts';
import { isClearError, newRequestId, type Answer } from '#test/reliability/support/http.ts';
import { REVOCATION_GRACE_MS } from './chat-operations.ts';
import type { MeteredCall } from './load-log.ts';
import { pick, type LoadContext, type Operation } from './operation.ts';

/** What the Dify fake is told to do (`inputs.fake_behavior`), and what the usage record must then say. */
interface Shape {
  behavior?: string;
  /** Token counts the fake reports; otherwise the ones its answer shows are taken as reported. */
  reported?: { input: number; output: number };
  estimated?: boolean;
  /** Streams only: an in-band `error` event after some output (billed for what was produced). */
  inBandError?: boolean;
}

const SHAPES: Shape[] = [
  {},
  { behavior: 'usage=120,40', reported: { input: 120, output: 40 } },
  { behavior: 'usage=none', estimated: true },
  { behavior: 'words=30; chunk-delay=2' },
  // Far more output than the app's maximum call cost allowed for: the settle overshoots its hold (charged in full).
  { behavior: 'usage=40,1500', reported: { input: 40, output: 1500 } },
];
const SHAPE_WEIGHTS = [5, 3, 2, 2, 1];
const IN_BAND_ERROR: Shape = { behavior: 'error-after=3', inBandError: true, estimated: true };

const QUERIES = [
  'Say hello to the nice people',
  'What is the capital of France?',
  '把这句话翻译成英文：今天天气很好',
  'Give me three words that rhyme with day',
];

/** Conversations each user started (completed answers only), for continuing them or for others to try. */
const conversations = new WeakMap<LoadUser, string[]>();

function weighted<T>(items: T[], weights: number[]): T {
  let roll = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < items.length; i++) {
    roll -= weights[i]!;
    if (roll < 0) return items[i]!;
  }
  return items.at(-1)!;
}

/** What the credential's state says a call must get, or undefined while a key change may still be travelling. */
function expectedFor(key: LoadKey | undefined, startedAt: number): 'served' | 'refused' | undefined {
  if (!key) return 'served';
  if (key.changing || startedAt < key.changedAt + REVOCATION_GRACE_MS) return undefined;
  return key.state === 'active' ? 'served' : 'refused';
}

interface DifyEvent {
  event?: string;
  answer?: string;
  conversation_id?: string;
  message_id?: string;
  task_id?: string;
  metadata?: { usage?: { prompt_tokens: number; completion_tokens: number } };
}

/** What a client made of a Dify event stream: data events, pings, the answer text, and how it ended. */
interface DifyStream {
  events: DifyEvent[];
  pings: number;
  malformed: number;
  answer: string;
  conversationId: string | undefined;
  end: DifyEvent | undefined;
  error: DifyEvent | undefined;
}

function readDifyStream(text: string): DifyStream {
  const read: DifyStream = {
    events: [],
    pings: 0,
    malformed: 0,
    answer: '',
    conversationId: undefined,
    end: undefined,
    error: undefined,
  };
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    if (/^event: ?ping\b/m.test(block)) {
      read.pings += 1;
      continue;
    }
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    let event: DifyEvent;
    try {
      event = JSON.parse(data) as DifyEvent;
    } catch {
      read.malformed += 1;
      continue;
    }
    read.events.push(event);
    read.conversationId ??= event.conversation_id;
    if (event.event === 'message' || event.event === 'agent_message') read.answer += event.answer ?? '';
    if (event.event === 'message_end') read.end = event;
    if (event.event === 'error') read.error = event;
  }
  return read;
}

interface BlockingAnswer {
  answer?: unknown;
  conversation_id?: unknown;
  message_id?: unknown;
  metadata?: { usage?: { prompt_tokens: number; completion_tokens: number } };
}

/** No 5xx, no hang, a clear error body, only the statuses this call may get, and key refusals as the key's state says. */
function checkAnswer(
  ctx: LoadContext,
  operation: string,
  answer: Answer,
  key: LoadKey | undefined,
  allowed: number[],
): answer is Extract<Answer, { kind: 'answer' }> {
  const tally = ctx.cluster.tally;
  ctx.log.status(operation, answer);
  if (answer.kind !== 'answer')
    return tally.check(false, `${operation} ${answer.requestId}: no answer (${answer.kind}: ${answer.message})`);
  tally.check(answer.status < 500, `${operation} ${answer.requestId}: ${answer.status} ${answer.text.slice(0, 200)}`);
  if (answer.status >= 400)
    tally.check(
      isClearError(answer),
      `${operation} ${answer.requestId}: ${answer.status} without a clear error body: ${answer.text.slice(0, 200)}`,
    );
  const expected = expectedFor(key, answer.startedAt);
  const credential = key ? `key ${key.id} (${key.state} ${answer.startedAt - key.changedAt} ms before)` : 'session';
  if (expected === 'refused')
    return tally.check(
      answer.status === 401,
      `${operation} ${answer.requestId}: ${credential} got ${answer.status}, not 401`,
    );
  if (expected === 'served')
    tally.check(
      answer.status !== 401,
      `${operation} ${answer.requestId}: ${credential} refused: ${answer.text.slice(0, 200)}`,
    );
  return tally.check(
    allowed.includes(answer.status) || (expected === undefined && answer.status === 401),
    `${operation} ${answer.requestId}: unexpected ${answer.status} ${answer.text.slice(0, 200)}`,
  );
}

function record(ctx: LoadContext, call: Omit<MeteredCall, 'endedAt'>): void {
  ctx.log.calls.push({ ...call, endedAt: Date.now() });
}

/**
 * A session token most of the time, otherwise one of the user's keys, enabled or disabled. Not a deleted
 * one: an unknown key counts against the client IP's guess limit (30 per 10 minutes, shared by the
 * cluster), and the chat operations already spend that on deleted keys; past it every uncached key from
 * this address, new valid ones included, gets 429 and the later scenarios with it.
 */
function credentialOf(user: LoadUser): { token: string; key: LoadKey | undefined } {
  const keys = user.keys.filter((k) => k.state !== 'deleted' && !k.changing);
  if (Math.random() < 0.6 || keys.length === 0) return { token: user.accessToken, key: undefined };
  const key = pick(keys);
  return { token: key.secret, key };
}

const TRAP_HEADERS = (ctx: LoadContext) => ({ 'x-forwarded-host': ctx.trap.host, forwarded: `host=${ctx.trap.host}` });

/** A chat in a new or an own conversation, blocking or streaming, checked like the OpenAI chat calls. */
async function ownChat(ctx: LoadContext, instance: number, user: LoadUser, stream: boolean): Promise<void> {
  const name = stream ? 'dify chat (stream)' : 'dify chat';
  const { token, key } = credentialOf(user);
  const shape = stream && Math.random() < 0.08 ? IN_BAND_ERROR : weighted(SHAPES, SHAPE_WEIGHTS);
  const own = conversations.get(user) ?? [];
  const continuing = own.length > 0 && Math.random() < 0.4 ? pick(own) : undefined;
  const startedAt = Date.now();
  const answer = await ctx.cluster.http.send(ctx.cluster.url(instance), 'POST', '/api/dify/chat-messages', {
    token,
    headers: TRAP_HEADERS(ctx),
    body: {
      query: pick(QUERIES),
      inputs: shape.behavior ? { fake_behavior: shape.behavior } : {},
      response_mode: stream ? 'streaming' : 'blocking',
      ...(continuing ? { conversation_id: continuing } : {}),
      // Client-controlled fields: dropped (`user` is Tollgate's to set), never followed.
      user: `tollgate-${pick(ctx.users).id}`,
      base_url: ctx.trap.url,
    },
  });
  const tally = ctx.cluster.tally;
  const what = `${name} ${answer.requestId}${continuing ? ` (continuing ${continuing})` : ''}`;
  const ok = checkAnswer(ctx, name, answer, key, [200, 402]);
  const call: Omit<MeteredCall, 'endedAt'> = {
    requestId: answer.requestId,
    operation: name,
    instance,
    answer: answer.kind,
    status: answer.kind === 'answer' ? answer.status : undefined,
    startedAt,
    ...(shape.estimated ? { estimated: true } : {}),
  };
  if (!ok || answer.kind !== 'answer' || answer.status !== 200) {
    record(ctx, call);
    return;
  }
  let conversationId: string | undefined;
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  if (stream) {
    tally.check(
      answer.headers.get('content-type')?.includes('text/event-stream') === true,
      `${what}: a stream answered as ${answer.headers.get('content-type')}`,
    );
    const read = readDifyStream(answer.text);
    tally.check(read.malformed === 0, `${what}: ${read.malformed} malformed event(s) in ${answer.text.slice(0, 200)}`);
    tally.check(read.answer.length > 0, `${what}: the stream carried no answer: ${answer.text.slice(-200)}`);
    if (shape.inBandError) {
      tally.check(
        read.error !== undefined && read.events.at(-1)?.event === 'error',
        `${what}: an in-band error did not end the stream: ${answer.text.slice(-200)}`,
      );
    } else {
      const whole = read.end !== undefined && read.error === undefined && read.events.at(-1)?.event === 'message_end';
      tally.check(whole, `${what}: the stream did not end whole: ${answer.text.slice(-200)}`);
      if (whole) conversationId = read.conversationId;
      usage = read.end?.metadata?.usage;
    }
  } else {
    let body: BlockingAnswer | undefined;
    try {
      body = JSON.parse(answer.text) as BlockingAnswer;
    } catch {
      body = undefined;
    }
    const whole =
      typeof body?.answer === 'string' &&
      body.answer.length > 0 &&
      typeof body.conversation_id === 'string' &&
      typeof body.message_id === 'string';
    tally.check(whole, `${what}: not a whole blocking answer: ${answer.text.slice(0, 200)}`);
    if (whole) conversationId = body!.conversation_id as string;
    usage = body?.metadata?.usage;
  }
  if (continuing && conversationId !== undefined)
    tally.check(conversationId === continuing, `${what}: answered in conversation ${conversationId}`);
  if (conversationId && !continuing) conversations.set(user, [...own, conversationId].slice(-5));
  // What the client was shown as Dify's count is what the record must bill (the fake's own counts when not told).
  const reported =
    shape.reported ??
    (!shape.estimated && usage ? { input: usage.prompt_tokens, output: usage.completion_tokens } : undefined);
  if (shape.reported && usage) {
    tally.check(
      usage.prompt_tokens === shape.reported.input && usage.completion_tokens === shape.reported.output,
      `${what}: the client was shown usage ${JSON.stringify(usage)}, Dify reported ${JSON.stringify(shape.reported)}`,
    );
  }
  record(ctx, { ...call, ...(reported ? { reported } : {}) });
}

/** Continuing another user's conversation: 404, Dify never asked, nothing billed (verified with the metered calls). */
async function foreignChat(
  ctx: LoadContext,
  instance: number,
  user: LoadUser,
  victim: LoadUser,
  conversationId: string,
): Promise<void> {
  const name = 'dify chat (foreign conversation)';
  const { token, key } = credentialOf(user);
  const stream = Math.random() < 0.5;
  const startedAt = Date.now();
  const answer = await ctx.cluster.http.send(ctx.cluster.url(instance), 'POST', '/api/dify/chat-messages', {
    token,
    body: {
      query: 'let me read along',
      inputs: {},
      conversation_id: conversationId,
      response_mode: stream ? 'streaming' : 'blocking',
      user: `tollgate-${victim.id}`,
    },
  });
  checkAnswer(ctx, name, answer, key, [404]);
  record(ctx, {
    requestId: answer.requestId,
    operation: name,
    instance,
    answer: answer.kind,
    status: answer.kind === 'answer' ? answer.status : undefined,
    startedAt,
  });
  const fake = ctx.cluster.dify;
  if (fake) {
    const reached = fake
      .requestsTo('/chat-messages')
      .some(
        (r) =>
          (r.body as { conversation_id?: string; user?: string } | undefined)?.conversation_id === conversationId &&
          (r.body as { user?: string }).user === `tollgate-${user.id}`,
      );
    ctx.cluster.tally.check(
      !reached,
      `${name} ${answer.requestId}: user ${user.id}'s try at ${victim.id}'s conversation ${conversationId} reached Dify`,
    );
  }
}

/** A stream the client walks away from after a few words: Tollgate stops the task and bills Dify's count of what it made. */
async function abandonedStream(ctx: LoadContext, instance: number, user: LoadUser): Promise<void> {
  const name = 'dify chat (disconnect)';
  const tally = ctx.cluster.tally;
  const requestId = newRequestId();
  const startedAt = Date.now();
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(new Error('no answer in time')), 20_000);
  let status: number | undefined;
  let text = '';
  let left = false;
  tally.request();
  try {
    const response = await fetch(`${ctx.cluster.url(instance)}/api/dify/chat-messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${user.accessToken}`,
        'content-type': 'application/json',
        'x-request-id': requestId,
      },
      body: JSON.stringify({
        query: 'talk for a long while',
        inputs: { fake_behavior: 'chunk-delay=20; words=300' },
        response_mode: 'streaming',
      }),
      signal: controller.signal,
    });
    status = response.status;
    const decoder = new TextDecoder();
    if (response.body) {
      for await (const chunk of response.body) {
        text += decoder.decode(chunk, { stream: true });
        if (status === 200 && (text.match(/"event": ?"message"/g) ?? []).length >= 3) {
          left = true;
          controller.abort();
          break;
        }
      }
    }
  } catch (error) {
    if (!left) {
      clearTimeout(deadline);
      ctx.log.count(name, 'network');
      tally.violation(`${name} ${requestId}: no answer (${(error as Error).message})`);
      record(ctx, { requestId, operation: name, instance, answer: 'network', status, startedAt });
      return;
    }
  }
  clearTimeout(deadline);
  ctx.log.count(name, left ? 'left' : String(status));
  record(ctx, { requestId, operation: name, instance, answer: 'answer', status, startedAt });
  if (!left) {
    tally.check(
      status === 402,
      `${name} ${requestId}: ${status} and the stream ended before the client left: ${text.slice(0, 200)}`,
    );
    return;
  }
  // Tollgate reads up to 5 s more of the stopped stream before it bills: wait for the record.
  let rows = await difyUsageRecords(ctx.cluster.database.db, requestId);
  for (let waited = 0; rows.length === 0 && waited < 10_000; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    rows = await difyUsageRecords(ctx.cluster.database.db, requestId);
  }
  const row = rows[0];
  if (
    !tally.check(
      rows.length === 1 && row !== undefined,
      `${name} ${requestId}: ${rows.length} usage records 10 s after the client left`,
    ) ||
    !row
  )
    return;
  tally.check(
    row.end_reason === 'client_disconnect' &&
      row.status === 'ok' &&
      row.usage_source === 'upstream' &&
      row.output_tokens > 0 &&
      row.output_tokens < 300 &&
      row.model === DIFY_MODEL,
    `${name} ${requestId}: billed as ${JSON.stringify(row)}`,
  );
}

/**
 * Dify chat through /api/dify/chat-messages, on the Dify app the cluster was given (DIFY_API_URL):
 * a user (session, sometimes an API key) asks blocking or streaming, in a new or one of their own
 * conversations; sometimes tries another user's conversation (404, nothing reaches Dify, nothing
 * billed); sometimes walks away mid-stream (stopped and billed Dify's count). Every call is logged for
 * the usage-record check (one record per answered call, at the price of its tokens).
 */
export const difyChat: Operation = {
  name: 'dify chat',
  weight: 6,
  async run(ctx, instance) {
    const user = pick(ctx.users);
    const roll = Math.random();
    const victims = ctx.users.filter((u) => u !== user && (conversations.get(u)?.length ?? 0) > 0);
    if (roll < 0.12 && victims.length > 0) {
      const victim = pick(victims);
      return foreignChat(ctx, instance, user, victim, pick(conversations.get(victim)!));
    }
    if (roll < 0.2) return abandonedStream(ctx, instance, user);
    return ownChat(ctx, instance, user, Math.random() < 0.5);
  },
};
