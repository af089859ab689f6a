import type { LoadKey } from '#test/reliability/support/accounts.ts';
import { isClearError, type Answer } from '#test/reliability/support/http.ts';
import { MODEL } from '#test/reliability/support/pricing.ts';
import { readStream } from '#test/reliability/support/sse.ts';
import { pick, type LoadContext, type Operation } from './operation.ts';

/** How long a key change may take to reach every instance before a call that disagrees is a violation. */
export const REVOCATION_GRACE_MS = 1_000;

/** What the fake is told to do, and what the usage record must then say. */
interface Shape {
  behavior?: string;
  reported?: { input: number; output: number };
  estimated?: boolean;
  maxTokens: number;
}

const SHAPES: Shape[] = [
  { behavior: 'usage=120,40', reported: { input: 120, output: 40 }, maxTokens: 40 },
  { behavior: 'usage=300,10', reported: { input: 300, output: 10 }, maxTokens: 20 },
  { maxTokens: 30 },
  { behavior: 'usage=none', estimated: true, maxTokens: 30 },
  // Reports far more output than max_tokens allows: the settle overshoots its hold (the one way into debt).
  { behavior: 'usage=40,1500', reported: { input: 40, output: 1500 }, maxTokens: 8 },
];
const SHAPE_WEIGHTS = [5, 3, 4, 2, 1];

const PROMPTS = [
  'Say hello to the nice people',
  'Summarise the plot of a short story in one line',
  '把这句话翻译成英文：今天天气很好',
  'List three prime numbers',
];

function weighted<T>(items: T[], weights: number[]): T {
  let roll = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < items.length; i++) {
    roll -= weights[i]!;
    if (roll < 0) return items[i]!;
  }
  return items.at(-1)!;
}

/** What the key's state says a call must get, or undefined while a change may still be travelling. */
function expectedFor(key: LoadKey, startedAt: number): 'served' | 'refused' | undefined {
  if (key.changing || startedAt < key.changedAt + REVOCATION_GRACE_MS) return undefined;
  return key.state === 'active' ? 'served' : 'refused';
}

/** The checks every metered call gets the moment its answer arrives. */
function checkAnswer(
  ctx: LoadContext,
  operation: string,
  answer: Answer,
  key: LoadKey,
  expected: 'served' | 'refused' | undefined,
): void {
  const tally = ctx.cluster.tally;
  ctx.log.status(operation, answer);
  if (answer.kind !== 'answer') {
    tally.violation(`${operation} ${answer.requestId}: no answer (${answer.kind}: ${answer.message})`);
    return;
  }
  tally.check(answer.status < 500, `${operation} ${answer.requestId}: ${answer.status} ${answer.text.slice(0, 200)}`);
  if (answer.status >= 400)
    tally.check(
      isClearError(answer),
      `${operation} ${answer.requestId}: ${answer.status} without a clear error body: ${answer.text.slice(0, 200)}`,
    );
  if (expected === 'refused')
    tally.check(
      answer.status === 401,
      `${operation}: key ${key.id} (${key.state} ${Date.now() - key.changedAt} ms ago) got ${answer.status}, not 401`,
    );
  if (expected === 'served')
    tally.check(answer.status !== 401, `${operation}: active key ${key.id} refused: ${answer.text.slice(0, 200)}`);
}

function chatBody(ctx: LoadContext, shape: Shape, stream: boolean): Record<string, unknown> {
  return {
    model: MODEL,
    messages: [{ role: 'user', content: pick(PROMPTS) }],
    max_tokens: shape.maxTokens,
    ...(stream ? { stream: true } : {}),
    ...(shape.behavior ? { fake_behavior: shape.behavior } : {}),
    // Client-controlled fields that name another upstream: passed through, never followed.
    base_url: ctx.trap.url,
    api_base: `${ctx.trap.url}/v1`,
  };
}

function chatOperation(name: string, stream: boolean, weight: number): Operation {
  return {
    name,
    weight,
    async run(ctx, instance) {
      const user = pick(ctx.users);
      const key = pick(user.keys);
      const shape = weighted(SHAPES, SHAPE_WEIGHTS);
      const startedAt = Date.now();
      const expected = expectedFor(key, startedAt);
      const answer = await ctx.cluster.http.send(ctx.cluster.url(instance), 'POST', '/v1/chat/completions', {
        token: key.secret,
        body: chatBody(ctx, shape, stream),
        headers: { 'x-forwarded-host': ctx.trap.host, forwarded: `host=${ctx.trap.host}` },
      });
      checkAnswer(ctx, name, answer, key, expected);
      ctx.log.calls.push({
        requestId: answer.requestId,
        operation: name,
        instance,
        answer: answer.kind,
        status: answer.kind === 'answer' ? answer.status : undefined,
        startedAt,
        endedAt: Date.now(),
        ...(shape.reported ? { reported: shape.reported } : {}),
        ...(shape.estimated ? { estimated: true } : {}),
      });
      if (stream && answer.kind === 'answer' && answer.status === 200) {
        const read = readStream(answer.text);
        ctx.cluster.tally.check(
          read.sawDone && read.error === undefined && read.content.length > 0,
          `${name} ${answer.requestId}: the stream did not end whole: ${answer.text.slice(-200)}`,
        );
      }
    },
  };
}

export const plainChat = chatOperation('chat', false, 6);
export const streamChat = chatOperation('chat (stream)', true, 4);
