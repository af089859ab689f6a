import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '#test/helpers/test-app.ts';
import {
  APP_KEYS,
  asGateway,
  balanceOf,
  dify,
  difyCharge,
  difyUser,
  expectBooksBalanced,
  newUser,
  startDify,
  tokens,
  usageRows,
  type DifyGateway,
} from './helpers.ts';

interface ChatAnswer {
  answer: string;
  conversation_id: string;
  message_id: string;
  task_id: string;
  metadata: { usage: { prompt_tokens: number; completion_tokens: number } };
}

describe.each(backends())('Dify proxy: blocking calls, billing and isolation ($label)', (backend) => {
  let g: DifyGateway;
  beforeAll(async () => {
    g = await startDify(backend);
  });
  afterAll(() => g.close());

  it('answers a chat and charges exactly the base price plus Dify’s reported tokens', async () => {
    const user = await newUser(g, 500);
    const res = await dify(g, user.accessToken, 'POST', '/chat-messages', {
      inputs: {},
      query: 'Hello there, proxy',
      response_mode: 'blocking',
      user: 'somebody-else',
    });
    expect(res.statusCode, res.body).toBe(200);
    const answer = res.json<ChatAnswer>();
    expect(answer.answer).toBe('Echo: Hello there, proxy');
    const { prompt_tokens: input, completion_tokens: output } = answer.metadata.usage;
    expect([input, output]).toEqual([tokens('Hello there, proxy'), tokens('Echo: Hello there, proxy')]);

    // Dify was told Tollgate's user for this account, not what the client sent.
    expect((g.fake.lastRequest('/chat-messages')!.body as { user: string }).user).toBe(difyUser(user.id));
    const charge = difyCharge(1, input, output);
    expect(await balanceOf(asGateway(g), user.id)).toBe(500 - charge);
    await expectBooksBalanced(asGateway(g), user.id);
    const [row] = await usageRows(asGateway(g), user.id);
    expect(row).toMatchObject({
      endpoint: 'dify.chat-messages',
      model: 'dify:Fake chat app',
      credits: charge,
      input_tokens: input,
      output_tokens: output,
      usage_source: 'upstream',
      status: 'ok',
    });
  });

  it('continues an own conversation on the app that holds it; lists only the caller’s conversations', async () => {
    const user = await newUser(g, 500);
    const first = (
      await dify(g, user.accessToken, 'POST', '/chat-messages', { query: 'first question' })
    ).json<ChatAnswer>();
    const second = await dify(g, user.accessToken, 'POST', '/chat-messages', {
      query: 'second question',
      conversation_id: first.conversation_id,
    });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json<ChatAnswer>().conversation_id).toBe(first.conversation_id);

    const other = await newUser(g, 500);
    await dify(g, other.accessToken, 'POST', '/chat-messages', { query: 'somebody else asks' });

    const list = await dify(g, user.accessToken, 'GET', '/conversations?limit=10&user=ignored');
    expect(list.statusCode, list.body).toBe(200);
    const { data, has_more: hasMore } = list.json<{
      data: Array<{ id: string; name: string; created_at: string }>;
      has_more: boolean;
    }>();
    expect(data.map((c) => c.id)).toEqual([first.conversation_id]);
    expect(hasMore).toBe(false);
    expect(data[0]!.name).toBe('first question');
    expect(new Date(data[0]!.created_at).toISOString()).toBe(data[0]!.created_at);

    const messages = await dify(g, user.accessToken, 'GET', `/conversations/${first.conversation_id}/messages`);
    expect(messages.statusCode, messages.body).toBe(200);
    expect(
      messages.json<{ data: Array<{ role: string; content: string }> }>().data.map((m) => [m.role, m.content]),
    ).toEqual([
      ['user', 'first question'],
      ['assistant', 'Echo: first question'],
      ['user', 'second question'],
      ['assistant', 'Echo: second question'],
    ]);

    const history = await dify(g, user.accessToken, 'GET', `/messages?conversation_id=${first.conversation_id}`);
    expect(history.statusCode, history.body).toBe(200);
    expect(history.json<{ data: Array<{ query: string }> }>().data.map((m) => m.query)).toEqual([
      'first question',
      'second question',
    ]);
  });

  it('pages the caller’s conversations with last_id and has_more, newest first', async () => {
    const user = await newUser(g, 500);
    const ids: string[] = [];
    for (const query of ['one', 'two', 'three']) {
      ids.push(
        (await dify(g, user.accessToken, 'POST', '/chat-messages', { query })).json<ChatAnswer>().conversation_id,
      );
      g.t.clock.advance(1000);
    }
    const page1 = (await dify(g, user.accessToken, 'GET', '/conversations?limit=2')).json<{
      data: Array<{ id: string }>;
      has_more: boolean;
    }>();
    expect(page1.data.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    expect(page1.has_more).toBe(true);
    const page2 = (await dify(g, user.accessToken, 'GET', `/conversations?limit=2&last_id=${ids[1]}`)).json<{
      data: Array<{ id: string }>;
      has_more: boolean;
    }>();
    expect(page2.data.map((c) => c.id)).toEqual([ids[0]]);
    expect(page2.has_more).toBe(false);
    const oldest = (await dify(g, user.accessToken, 'GET', '/conversations?sort_by=created_at&limit=1')).json<{
      data: Array<{ id: string }>;
    }>();
    expect(oldest.data.map((c) => c.id)).toEqual([ids[0]]);
    const foreign = await dify(g, (await newUser(g)).accessToken, 'GET', `/conversations?last_id=${ids[0]}`);
    expect(foreign.statusCode).toBe(404);
  });

  it('gives another user 404 for every use of a conversation or message they do not own, and changes nothing', async () => {
    const owner = await newUser(g, 500);
    const intruder = await newUser(g, 500);
    const chat = (
      await dify(g, owner.accessToken, 'POST', '/chat-messages', { query: 'private matters' })
    ).json<ChatAnswer>();
    const conversation = chat.conversation_id;
    const message = chat.message_id;
    const before = await balanceOf(asGateway(g), intruder.id);
    const upstreamCalls = g.fake.requests.length;

    const attempts = [
      dify(g, intruder.accessToken, 'POST', '/chat-messages', { query: 'let me in', conversation_id: conversation }),
      dify(g, intruder.accessToken, 'GET', `/conversations/${conversation}/messages`),
      dify(g, intruder.accessToken, 'GET', `/messages?conversation_id=${conversation}`),
      dify(g, intruder.accessToken, 'POST', `/conversations/${conversation}/name`, { name: 'mine now' }),
      dify(g, intruder.accessToken, 'GET', `/conversations/${conversation}/variables`),
      dify(g, intruder.accessToken, 'DELETE', `/conversations/${conversation}`, {}),
      dify(g, intruder.accessToken, 'POST', `/messages/${message}/feedbacks`, { rating: 'dislike' }),
      dify(g, intruder.accessToken, 'GET', `/messages/${message}/feedback-stats`),
      dify(g, intruder.accessToken, 'GET', `/messages/${message}/suggested`),
      dify(g, intruder.accessToken, 'POST', '/text-to-audio', { message_id: message }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json<{ success: boolean }>().success).toBe(false);
    }
    expect(g.fake.requests.length, 'nothing reached Dify').toBe(upstreamCalls);
    expect(await balanceOf(asGateway(g), intruder.id)).toBe(before);
    expect(await usageRows(asGateway(g), intruder.id)).toHaveLength(0);

    // The owner's conversation is untouched and still theirs.
    const list = (await dify(g, owner.accessToken, 'GET', '/conversations')).json<{
      data: Array<{ id: string; name: string }>;
    }>();
    expect(list.data).toEqual([expect.objectContaining({ id: conversation, name: 'private matters' })]);
    expect(g.fake.conversationsOf(APP_KEYS.chat, difyUser(owner.id)).map((c) => c.id)).toEqual([conversation]);
  });

  it('renames, reads variables, takes feedback and deletes an own conversation', async () => {
    const user = await newUser(g, 500);
    const chat = (await dify(g, user.accessToken, 'POST', '/chat-messages', { query: 'name me' })).json<ChatAnswer>();
    const renamed = await dify(g, user.accessToken, 'POST', `/conversations/${chat.conversation_id}/name`, {
      name: 'Renamed',
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ success: true, name: 'Renamed', id: chat.conversation_id });
    expect(g.fake.conversationsOf(APP_KEYS.chat, difyUser(user.id))[0]!.name).toBe('Renamed');

    const variables = await dify(g, user.accessToken, 'GET', `/conversations/${chat.conversation_id}/variables`);
    expect(variables.statusCode, variables.body).toBe(200);
    expect(Object.keys(variables.json<{ variables: Record<string, unknown> }>().variables).length).toBeGreaterThan(0);

    const liked = await dify(g, user.accessToken, 'POST', `/messages/${chat.message_id}/feedbacks`, { rating: 'like' });
    expect(liked.statusCode, liked.body).toBe(200);
    expect(liked.json()).toMatchObject({ success: true, result: 'success' });
    expect((await dify(g, user.accessToken, 'GET', `/messages/${chat.message_id}/feedback-stats`)).json()).toEqual({
      likes: 1,
      dislikes: 0,
    });

    const before = await balanceOf(asGateway(g), user.id);
    const suggested = await dify(g, user.accessToken, 'GET', `/messages/${chat.message_id}/suggested`);
    expect(suggested.statusCode, suggested.body).toBe(200);
    const questions = suggested.json<{ data: Array<{ question: string }> }>().data;
    expect(questions.length).toBeGreaterThan(0);
    expect(typeof questions[0]!.question).toBe('string');
    expect(await balanceOf(asGateway(g), user.id), 'suggested questions cost their base price').toBe(before - 1);

    const deleted = await dify(g, user.accessToken, 'DELETE', `/conversations/${chat.conversation_id}`, {});
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toMatchObject({ success: true });
    expect(g.fake.conversationsOf(APP_KEYS.chat, difyUser(user.id))).toHaveLength(0);
    expect((await dify(g, user.accessToken, 'GET', '/conversations')).json<{ data: unknown[] }>().data).toHaveLength(0);
    expect(
      (
        await dify(g, user.accessToken, 'POST', '/chat-messages', {
          query: 'again',
          conversation_id: chat.conversation_id,
        })
      ).statusCode,
    ).toBe(404);
  });

  it('bills completions and workflows by their own prices and token counts', async () => {
    const user = await newUser(g, 500);
    const completion = await dify(g, user.accessToken, 'POST', '/completion-messages', {
      inputs: { query: 'complete this' },
      response_mode: 'blocking',
    });
    expect(completion.statusCode, completion.body).toBe(200);
    const usage = completion.json<ChatAnswer>().metadata.usage;
    const workflow = await dify(g, user.accessToken, 'POST', '/workflows/run', { inputs: { topic: 'tides' } });
    expect(workflow.statusCode, workflow.body).toBe(200);
    const run = workflow.json<{ workflow_run_id: string; data: { total_tokens: number; status: string } }>();
    expect(run.data.status).toBe('succeeded');
    const rows = await usageRows(asGateway(g), user.id);
    expect(rows.map((r) => [r.endpoint, r.credits])).toEqual([
      ['dify.completion-messages', difyCharge(2, usage.prompt_tokens, usage.completion_tokens)],
      ['dify.workflows/run', difyCharge(3, run.data.total_tokens, 0)],
    ]);
    await expectBooksBalanced(asGateway(g), user.id);
  });

  it('refuses a call the balance cannot cover with 402, before Dify is asked', async () => {
    const user = await newUser(g, 0);
    const calls = g.fake.requests.length;
    const res = await dify(g, user.accessToken, 'POST', '/chat-messages', { query: 'free lunch?' });
    expect(res.statusCode, res.body).toBe(402);
    expect(g.fake.requests.length).toBe(calls);
    expect(await expectBooksBalanced(asGateway(g), user.id)).toBe(0);
  });

  it('charges nothing when Dify fails, and says so clearly', async () => {
    const user = await newUser(g, 500);
    g.fake.next('status=500', { path: '/chat-messages' });
    const res = await dify(g, user.accessToken, 'POST', '/chat-messages', { query: 'will fail' });
    expect(res.statusCode, res.body).toBe(503);
    g.fake.next('status=400; code=invalid_param; message=bad inputs', { path: '/chat-messages' });
    const refused = await dify(g, user.accessToken, 'POST', '/chat-messages', { query: 'will be refused' });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json()).toMatchObject({ success: false, dify_code: 'invalid_param', status: 400 });
    expect(await expectBooksBalanced(asGateway(g), user.id)).toBe(500);
    expect((await usageRows(asGateway(g), user.id)).map((r) => [r.status, r.credits])).toEqual([
      ['error', 0],
      ['error', 0],
    ]);
  });

  it('rejects calls without credentials and with a wrong token', async () => {
    expect((await dify(g, undefined, 'POST', '/chat-messages', { query: 'x' })).statusCode).toBe(401);
    expect((await dify(g, 'sk-not-a-real-key', 'POST', '/chat-messages', { query: 'x' })).statusCode).toBe(401);
    expect((await dify(g, 'not.a.jwt', 'GET', '/conversations')).statusCode).toBe(401);
  });
});
