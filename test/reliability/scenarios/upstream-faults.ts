import { countPromptTokens, countTextTokens } from '#modules/metering/tokens.ts';
import { adjustCredits, createKey, registerUser } from '#test/reliability/support/accounts.ts';
import { usageByRequest } from '#test/reliability/support/books.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';
import { isClearError, type Answer } from '#test/reliability/support/http.ts';
import { chargeFor, MODEL } from '#test/reliability/support/pricing.ts';
import { readStream, type ReadStream } from '#test/reliability/support/sse.ts';

type Bill =
  /** Nothing charged: the call failed before any output (a usage record of the failure, 0 credits). */
  | { kind: 'free' }
  /** Exactly the usage the fake reported. */
  | { kind: 'reported'; input: number; output: number }
  /** The prompt plus what reached the client, counted (the upstream reported nothing usable). */
  | { kind: 'counted' }
  /** The fake's own usage for a very long answer (read from the usage chunk the client asked for). */
  | { kind: 'as-streamed' };

interface FaultCase {
  name: string;
  stream: boolean;
  behavior: string;
  maxTokens?: number;
  /** The client-visible outcome: a status, and for streams whether it ends whole or with an error event. */
  status: number;
  ends?: 'whole' | 'error-event';
  bill: Bill;
}

const CASES: FaultCase[] = [
  { name: 'HTTP 500', stream: false, behavior: 'status=500', status: 503, bill: { kind: 'free' } },
  { name: 'HTTP 429 from the upstream', stream: false, behavior: 'status=429', status: 503, bill: { kind: 'free' } },
  { name: 'HTTP 502 HTML page', stream: false, behavior: 'status=502', status: 503, bill: { kind: 'free' } },
  { name: 'HTTP 503 on a stream', stream: true, behavior: 'status=503', status: 503, bill: { kind: 'free' } },
  { name: 'HTTP 400 passed through', stream: false, behavior: 'status=400', status: 400, bill: { kind: 'free' } },
  {
    name: 'no answer within UPSTREAM_HEADERS_TIMEOUT',
    stream: false,
    behavior: 'delay=4500',
    status: 503,
    bill: { kind: 'free' },
  },
  {
    name: 'connection reset before answering',
    stream: false,
    behavior: 'reset-after=0;rst',
    status: 503,
    bill: { kind: 'free' },
  },
  {
    name: 'reset mid-stream',
    stream: true,
    behavior: 'words=40;reset-after=6',
    status: 200,
    ends: 'error-event',
    bill: { kind: 'counted' },
  },
  {
    name: 'reset right after the first event',
    stream: true,
    behavior: 'words=40;reset-after=1',
    status: 200,
    ends: 'error-event',
    bill: { kind: 'free' },
  },
  {
    name: 'stream stalls (UPSTREAM_BODY_TIMEOUT)',
    stream: true,
    behavior: 'words=40;stall-after=5',
    status: 200,
    ends: 'error-event',
    bill: { kind: 'counted' },
  },
  {
    name: 'in-band error mid-stream',
    stream: true,
    behavior: 'words=40;error-after=5',
    status: 200,
    ends: 'error-event',
    bill: { kind: 'counted' },
  },
  {
    name: 'malformed SSE event',
    stream: true,
    behavior: 'garbage-after=3;usage=50,20',
    status: 200,
    ends: 'whole',
    bill: { kind: 'reported', input: 50, output: 20 },
  },
  {
    name: 'stream without [DONE]',
    stream: true,
    behavior: 'no-done;usage=50,20',
    status: 200,
    ends: 'whole',
    bill: { kind: 'reported', input: 50, output: 20 },
  },
  {
    name: 'no usage reported',
    stream: true,
    behavior: 'usage=none',
    status: 200,
    ends: 'whole',
    bill: { kind: 'counted' },
  },
  {
    name: 'very long output (beyond the hold)',
    stream: true,
    behavior: 'words=3000',
    status: 200,
    ends: 'whole',
    bill: { kind: 'as-streamed' },
  },
  {
    name: 'very long output, whole answer',
    stream: false,
    behavior: 'words=3000;usage=20,3000',
    status: 200,
    bill: { kind: 'reported', input: 20, output: 3000 },
  },
];

const MESSAGES = [{ role: 'user', content: 'Tell me a long story about the sea' }];

function bodyOf(c: FaultCase): Record<string, unknown> {
  return {
    model: MODEL,
    messages: MESSAGES,
    ...(c.maxTokens ? { max_tokens: c.maxTokens } : {}),
    ...(c.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    fake_behavior: c.behavior,
  };
}

/** What the client must have seen: the status, a clear error, and for streams the right ending. */
function clientProblem(c: FaultCase, answer: Answer, read: ReadStream | undefined): string | undefined {
  if (answer.kind !== 'answer') return `no answer (${answer.kind}: ${answer.message})`;
  if (answer.status !== c.status) return `status ${answer.status}, expected ${c.status}: ${answer.text.slice(0, 200)}`;
  if (answer.status >= 400 && !isClearError(answer))
    return `${answer.status} without a clear error body: ${answer.text.slice(0, 200)}`;
  if (read && c.ends === 'whole' && (read.error !== undefined || read.content.length === 0))
    return `the stream should end whole: ${answer.text.slice(-200)}`;
  if (read && c.ends === 'error-event' && !read.error)
    return `the cut stream carries no error event: ${answer.text.slice(-200)}`;
  return undefined;
}

/** What the usage record must say for this case, given what the client received. */
function expectedCharge(
  c: FaultCase,
  read: ReadStream | undefined,
): { input: number; output: number } | 'free' | undefined {
  switch (c.bill.kind) {
    case 'free':
      return 'free';
    case 'reported':
      return { input: c.bill.input, output: c.bill.output };
    case 'counted':
      // A stream cut before any content reached the client produced nothing: that failure is free (docs/money.md, rule 5).
      if (c.ends === 'error-event' && !read?.content) return 'free';
      return { input: countPromptTokens(MESSAGES), output: countTextTokens(read?.content ?? '') };
    case 'as-streamed':
      return read?.usage ? { input: read.usage.prompt_tokens, output: read.usage.completion_tokens } : undefined;
  }
}

/**
 * Upstream failures through the fake's behaviours, each on every instance, for one funded user: every
 * call ends with a clear error (or a whole answer) and exactly the right bill: nothing for a failure
 * before any output, the reported usage when there is one, the prompt plus what was delivered when not.
 * Then a small-balance user's very long answer overshoots its hold: the one recorded way into debt.
 */
export async function upstreamFaults(cluster: Cluster): Promise<void> {
  const { tally, http } = cluster;
  const user = await registerUser(cluster);
  await adjustCredits(cluster, user.id, 20_000);
  const key = await createKey(cluster, user);
  const runs = CASES.flatMap((c) => cluster.instances.map((_, i) => ({ c, instance: i })));
  const answers = await Promise.all(
    runs.map(async ({ c, instance }) => {
      tally.fault();
      return {
        c,
        instance,
        answer: await http.send(cluster.url(instance), 'POST', '/v1/chat/completions', {
          token: key.secret,
          body: bodyOf(c),
        }),
      };
    }),
  );
  const records = await usageByRequest(
    cluster.database.db,
    answers.map((a) => a.answer.requestId),
  );
  for (const { c, instance, answer } of answers) {
    const what = `${c.name} on instance ${instance} (${answer.requestId})`;
    const read = c.stream && answer.kind === 'answer' && answer.status === 200 ? readStream(answer.text) : undefined;
    const problem = clientProblem(c, answer, read);
    tally.check(problem === undefined, `${what}: ${problem}`);
    const rows = records.get(answer.requestId) ?? [];
    if (!tally.check(rows.length === 1, `${what}: ${rows.length} usage records`)) continue;
    const row = rows[0]!;
    const expected = expectedCharge(c, read);
    if (expected === 'free')
      tally.check(
        row.credits === 0 && row.status === 'error',
        `${what}: a failure before any output billed ${row.credits} (${row.status})`,
      );
    else if (expected === undefined) tally.violation(`${what}: the client never saw the usage the bill must match`);
    else {
      tally.check(
        row.input_tokens === expected.input &&
          row.output_tokens === expected.output &&
          row.credits === chargeFor(expected.input, expected.output),
        `${what}: billed ${row.credits} for ${row.input_tokens}+${row.output_tokens}, expected ${chargeFor(expected.input, expected.output)} for ${expected.input}+${expected.output}`,
      );
    }
  }

  // A very long answer (more than the limit its balance afforded, as the upstream reports it) for a user
  // who can barely afford the hold: charged what the balance has, never below zero (docs/money.md, rule 6).
  const poor = await registerUser(cluster);
  const poorKey = await createKey(cluster, poor);
  const before = await cluster.database.db
    .selectFrom('credit_accounts')
    .select('balance')
    .where('user_id', '=', poor.id)
    .executeTakeFirstOrThrow();
  tally.fault();
  const long = await http.send(cluster.url(1), 'POST', '/v1/chat/completions', {
    token: poorKey.secret,
    body: { model: MODEL, messages: MESSAGES, fake_behavior: 'words=3000;usage=20,3000' },
  });
  const charge = chargeFor(20, 3000);
  const after = await cluster.database.db
    .selectFrom('credit_accounts')
    .select(['balance', 'held'])
    .where('user_id', '=', poor.id)
    .executeTakeFirstOrThrow();
  tally.check(
    long.kind === 'answer' && long.status === 200,
    `the long answer for a small balance was not served: ${long.kind === 'answer' ? long.status : long.message}`,
  );
  tally.check(
    Number(after.balance) === Math.max(0, Number(before.balance) - charge) && Number(after.held) === 0,
    `a ${charge}-credit answer took the balance from ${before.balance} to ${after.balance}`,
  );
  const refused = await http.send(cluster.url(2), 'POST', '/v1/chat/completions', {
    token: poorKey.secret,
    body: { model: MODEL, messages: MESSAGES },
  });
  tally.check(
    Number(after.balance) >= 0 || (refused.kind === 'answer' && refused.status === 402),
    `an account in debt (${after.balance}) could start a new call`,
  );
  tally.note(
    `${cluster.dialect}: ${runs.length} upstream-fault calls over ${CASES.length} behaviours; long answer overshoot took a ${before.balance}-credit balance to ${after.balance}`,
  );
}
