import { request } from 'undici';
import { ChatClient, CompletionClient, DifyClient } from 'dify-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '#modules/metering/tokens.ts';
import { eventually } from '#test/helpers/gateway.ts';
import { backends } from '#test/helpers/test-app.ts';
import {
  asGateway,
  balanceOf,
  difyCharge,
  difyUser,
  expectBooksBalanced,
  newUser,
  startDify,
  usageRows,
  type DifyGateway,
} from './helpers.ts';

interface SseEvent {
  event?: string;
  answer?: string;
  conversation_id?: string;
  task_id?: string;
  metadata?: { usage?: { prompt_tokens: number; completion_tokens: number } };
}

/** Splits an SSE body into its frames: data events parsed, `event: ping` frames kept as such. */
function frames(body: string): Array<SseEvent | 'ping'> {
  return body
    .split('\n\n')
    .filter((block) => block.trim().length > 0)
    .map((block) =>
      block.startsWith('event: ping') ? 'ping' : (JSON.parse(block.replace(/^data: /, '')) as SseEvent),
    );
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe.each(backends())('Dify proxy: streams and the official dify-client SDK ($label)', (backend) => {
  let g: DifyGateway;
  beforeAll(async () => {
    // Rate limits are another suite's concern: here only money may refuse a call.
    g = await startDify(backend, {
      listen: true,
      pingIntervalMs: 20,
      env: { RATE_LIMIT_USER_CONCURRENCY: '0', RATE_LIMIT_USER_RPM: '0' },
    });
  });
  afterAll(() => g.close());

  const post = (token: string, path: string, body: unknown) =>
    request(`${g.baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('streams a chat through the SDK with a session token, events (pings too) as Dify sent them, billed from message_end', async () => {
    const user = await newUser(g, 500);
    g.fake.next('chunk-delay=15', { path: '/chat-messages' });
    const client = new ChatClient(user.accessToken, g.baseURL);
    const response = await client.createChatMessage({}, 'stream me a few words please', 'whoever', true, null, null);
    expect(String(response.headers['content-type'])).toContain('text/event-stream');
    const events = frames(await readAll(response.data as NodeJS.ReadableStream));
    expect(events).toContain('ping');
    const data = events.filter((e): e is SseEvent => e !== 'ping');
    expect(
      data
        .filter((e) => e.event === 'message')
        .map((e) => e.answer)
        .join(''),
    ).toBe('Echo: stream me a few words please');
    const end = data.find((e) => e.event === 'message_end')!;
    const usage = end.metadata!.usage!;
    expect(await balanceOf(asGateway(g), user.id)).toBe(
      500 - difyCharge(1, usage.prompt_tokens, usage.completion_tokens),
    );
    expect((g.fake.lastRequest('/chat-messages')!.body as { user: string }).user).toBe(difyUser(user.id));
    const [row] = await usageRows(asGateway(g), user.id);
    expect(row).toMatchObject({
      stream: 1,
      usage_source: 'upstream',
      end_reason: 'stop',
      input_tokens: usage.prompt_tokens,
      output_tokens: usage.completion_tokens,
    });
  });

  it('the client reads message_end only once its call is billed', async () => {
    const user = await newUser(g, 500);
    const response = await post(user.accessToken, '/chat-messages', {
      inputs: {},
      query: 'bill me before the end',
      user: 'x',
      response_mode: 'streaming',
    });
    expect(response.statusCode).toBe(200);
    let text = '';
    for await (const chunk of response.body) {
      text += String(chunk);
      if (text.includes('"message_end"')) {
        // Read at once, before the rest of the answer: the charge and the usage record are there already.
        const [row] = await usageRows(asGateway(g), user.id);
        expect(row).toMatchObject({ stream: 1, usage_source: 'upstream', end_reason: 'stop' });
        expect(await balanceOf(asGateway(g), user.id)).toBe(500 - difyCharge(1, row!.input_tokens, row!.output_tokens));
      }
    }
    expect(text).toContain('"message_end"');
    expect(await usageRows(asGateway(g), user.id)).toHaveLength(1);
  });

  it('works with a Tollgate API key for the SDK’s conversation calls, and sees only the key owner’s data', async () => {
    const user = await newUser(g, 500);
    const key = await g.t.app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: { authorization: `Bearer ${user.accessToken}` },
      payload: { name: 'dify sdk' },
    });
    const secret = key.json<{ key: string }>().key;
    const client = new ChatClient(secret, g.baseURL);
    const answer = (await client.createChatMessage({}, 'via a key', 'x', false, null, null)).data as {
      conversation_id: string;
      answer: string;
    };
    expect(answer.answer).toBe('Echo: via a key');
    const list = (await client.getConversations('x')).data as { data: Array<{ id: string }> };
    expect(list.data.map((c) => c.id)).toEqual([answer.conversation_id]);
    const messages = (await client.getConversationMessages('x', answer.conversation_id)).data as {
      data: Array<{ answer: string }>;
    };
    expect(messages.data.map((m) => m.answer)).toEqual(['Echo: via a key']);
    const renamed = (await client.renameConversation(answer.conversation_id, 'From the SDK', 'x')).data as {
      name: string;
    };
    expect(renamed.name).toBe('From the SDK');
    const params = (await new DifyClient(secret, g.baseURL).getApplicationParameters('x')).data as {
      parameters: object;
    };
    expect(params.parameters).toBeTypeOf('object');
    const completion = (
      await new CompletionClient(secret, g.baseURL).createCompletionMessage({ query: 'finish it' }, 'x', false)
    ).data as { answer: string };
    expect(completion.answer).toContain('finish it');
    const deleted = await client.deleteConversation(answer.conversation_id, 'x');
    expect(deleted.status).toBe(200);
    const [row] = await usageRows(asGateway(g), user.id);
    expect(row!.key_id).toBe(key.json<{ apiKey: { id: string } }>().apiKey.id);
    await expectBooksBalanced(asGateway(g), user.id);
  });

  it('charges nothing for an in-band error before any output, and what was produced for one after', async () => {
    const user = await newUser(g, 500);
    g.fake.next('error-after=0', { path: '/chat-messages' });
    const early = await post(user.accessToken, '/chat-messages', { query: 'fail at once', response_mode: 'streaming' });
    const earlyEvents = frames(await early.body.text()).filter((e): e is SseEvent => e !== 'ping');
    expect(earlyEvents.at(-1)!.event).toBe('error');
    expect(await balanceOf(asGateway(g), user.id)).toBe(500);

    g.fake.next('error-after=3', { path: '/chat-messages' });
    const late = await post(user.accessToken, '/chat-messages', {
      query: 'fail after a few words of answer',
      response_mode: 'streaming',
    });
    const lateEvents = frames(await late.body.text()).filter((e): e is SseEvent => e !== 'ping');
    const produced = lateEvents
      .filter((e) => e.event === 'message')
      .map((e) => e.answer)
      .join('');
    expect(lateEvents.at(-1)!.event).toBe('error');
    const rows = await usageRows(asGateway(g), user.id);
    expect(rows.map((r) => [r.status, r.end_reason, r.usage_source])).toEqual([
      ['error', 'upstream_error', 'none'],
      ['ok', 'upstream_error', 'estimated'],
    ]);
    // No usage from Dify: what reached the client is counted with the tokenizer.
    expect(rows[1]!.output_tokens).toBe(countTextTokens(produced));
    expect(produced.length).toBeGreaterThan(0);
    expect(await expectBooksBalanced(asGateway(g), user.id)).toBe(500 - rows[1]!.credits);
  });

  it('stops the Dify task when the client goes away mid-stream, and bills Dify’s count of what it made', async () => {
    const user = await newUser(g, 500);
    g.fake.next('chunk-delay=30; words=400', { path: '/chat-messages' });
    const controller = new AbortController();
    const response = await request(`${g.baseURL}/chat-messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'talk for a long time', response_mode: 'streaming' }),
      signal: controller.signal,
    });
    let seen = '';
    try {
      for await (const chunk of response.body) {
        seen += String(chunk);
        if ((seen.match(/"event":"message"/g) ?? []).length >= 3) controller.abort();
      }
    } catch {
      // aborted on purpose
    }
    await eventually(() => g.fake.stops.length > 0, 'a stop reached Dify');
    expect(g.fake.stops[0]!.user).toBe(difyUser(user.id));
    const [row] = await eventually(async () => {
      const rows = await usageRows(asGateway(g), user.id);
      return rows.length > 0 && rows;
    }, 'the call was billed');
    expect(row).toMatchObject({ end_reason: 'client_disconnect', usage_source: 'upstream', status: 'ok' });
    expect(row!.output_tokens).toBeGreaterThan(0);
    expect(row!.output_tokens).toBeLessThan(400);
    expect(await expectBooksBalanced(asGateway(g), user.id)).toBe(500 - row!.credits);
  });

  it('lets the owner stop a running answer by its task id; anyone else gets 404', async () => {
    const owner = await newUser(g, 500);
    const other = await newUser(g, 500);
    g.fake.next('chunk-delay=30; words=300', { path: '/chat-messages' });
    const response = await post(owner.accessToken, '/chat-messages', {
      query: 'long answer',
      response_mode: 'streaming',
    });
    let taskId: string | undefined;
    let text = '';
    for await (const chunk of response.body) {
      text += String(chunk);
      if (!taskId) {
        taskId = /"task_id":"([^"]+)"/.exec(text)?.[1];
        if (taskId) {
          const refused = await post(other.accessToken, `/chat-messages/${taskId}/stop`, {});
          expect(refused.statusCode).toBe(404);
          await refused.body.dump();
          const stopped = await post(owner.accessToken, `/chat-messages/${taskId}/stop`, { user: 'ignored' });
          expect(stopped.statusCode).toBe(200);
          expect(await stopped.body.json()).toMatchObject({ success: true, result: 'success' });
        }
      }
    }
    expect(g.fake.stops.filter((s) => s.taskId === taskId)).toHaveLength(1);
    expect(
      frames(text)
        .filter((e): e is SseEvent => e !== 'ping')
        .at(-1)!.event,
    ).toBe('message_end');
    await expectBooksBalanced(asGateway(g), owner.id);
    expect(await balanceOf(asGateway(g), other.id)).toBe(500);
  });

  it('never oversells: 20 concurrent streams racing a balance that covers a few', async () => {
    const user = await newUser(g, 60);
    g.fake.always('chunk-delay=5');
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await post(user.accessToken, '/chat-messages', {
            query: 'race for the credits',
            response_mode: 'streaming',
          });
          await res.body.text();
          return res.statusCode;
        }),
      );
      expect(results.filter((s) => s === 200).length).toBeGreaterThan(0);
      expect(results.filter((s) => s === 402).length).toBeGreaterThan(0);
      expect(results.every((s) => s === 200 || s === 402)).toBe(true);
    } finally {
      g.fake.always();
    }
    const balance = await expectBooksBalanced(asGateway(g), user.id);
    expect(balance).toBeGreaterThanOrEqual(0);
    const rows = await usageRows(asGateway(g), user.id);
    expect(rows.reduce((sum, r) => sum + r.credits, 0)).toBe(60 - balance);
  });

  it('runs a streamed workflow billed by workflow_finished.total_tokens', async () => {
    const user = await newUser(g, 500);
    const res = await post(user.accessToken, '/workflows/run', {
      inputs: { topic: 'stars' },
      response_mode: 'streaming',
    });
    const events = frames(await res.body.text()).filter(
      (e): e is SseEvent & { data?: { total_tokens?: number } } => e !== 'ping',
    );
    const finished = events.find((e) => e.event === 'workflow_finished')!;
    const [row] = await usageRows(asGateway(g), user.id);
    expect(row).toMatchObject({
      endpoint: 'dify.workflows/run',
      input_tokens: finished.data!.total_tokens,
      credits: difyCharge(3, finished.data!.total_tokens!, 0),
    });
  });
});

describe.each(backends())('Dify proxy: chatflow and agent apps ($label)', (backend) => {
  let g: DifyGateway;
  beforeAll(async () => {
    g = await startDify(backend, {
      listen: true,
      apps: [
        { key: 'app-fake-chatflow', mode: 'advanced-chat' },
        { key: 'app-fake-agent', mode: 'agent-chat' },
      ],
    });
  });
  afterAll(() => g.close());

  const post = (token: string, app: string, body: unknown) =>
    request(`${g.baseURL}/chat-messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-dify-app': g.apps[app]! },
      body: JSON.stringify(body),
    });

  it.each(['workflow-first', 'message-first'])(
    'bills a chatflow stream from message_end whichever terminal event comes first (%s)',
    async (order) => {
      const user = await newUser(g, 500);
      g.fake.next(`order=${order}`, { path: '/chat-messages' });
      const res = await post(user.accessToken, 'app-fake-chatflow', {
        query: 'flow through the nodes',
        response_mode: 'streaming',
      });
      const events = frames(await res.body.text()).filter((e): e is SseEvent => e !== 'ping');
      expect(events.map((e) => e.event)).toEqual(
        expect.arrayContaining(['workflow_started', 'workflow_finished', 'message_end']),
      );
      const usage = events.find((e) => e.event === 'message_end')!.metadata!.usage!;
      const [row] = await usageRows(asGateway(g), user.id);
      expect(row).toMatchObject({
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
        credits: difyCharge(1, usage.prompt_tokens, usage.completion_tokens),
        usage_source: 'upstream',
      });
      expect(await balanceOf(asGateway(g), user.id)).toBe(500 - row!.credits);
    },
  );

  it('streams an agent’s answer (agent_message) billed from message_end; a blocking call is Dify’s 400, free', async () => {
    const user = await newUser(g, 500);
    const res = await post(user.accessToken, 'app-fake-agent', {
      query: 'think and answer',
      response_mode: 'streaming',
    });
    const events = frames(await res.body.text()).filter((e): e is SseEvent => e !== 'ping');
    expect(events.some((e) => e.event === 'agent_message')).toBe(true);
    const usage = events.find((e) => e.event === 'message_end')!.metadata!.usage!;
    const blocking = await post(user.accessToken, 'app-fake-agent', { query: 'now blocking' });
    expect(blocking.statusCode).toBe(400);
    expect(await blocking.body.json()).toMatchObject({ dify_code: 'invalid_param', success: false });
    expect(await balanceOf(asGateway(g), user.id)).toBe(
      500 - difyCharge(1, usage.prompt_tokens, usage.completion_tokens),
    );
    await expectBooksBalanced(asGateway(g), user.id);
  });
});
