import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDify } from '#test/fakes/dify.ts';
import { ADMIN_ENV, adminToken, backends, call, createTestApp, registerUser } from '#test/helpers/test-app.ts';
import {
  asGateway,
  balanceOf,
  difyCharge,
  expectBooksBalanced,
  newUser,
  startDify,
  type DifyGateway,
} from './helpers.ts';

interface Conversation {
  id: string;
  title: string;
  created_at: string;
  updated_at: string;
}

/** Seed 002 (Dify ReChat): chat streaming and conversations on the Dify proxy's records, FastAPI-style errors. */
describe.each(backends())('ReChat chat and conversations ($label)', (backend) => {
  let g: DifyGateway;
  beforeAll(async () => {
    g = await startDify(backend);
  });
  afterAll(() => g.close());

  const v1 = (token: string | undefined, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) =>
    call(g.t.app, method, `/api/v1${path}`, { ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });

  /** Streams one message; returns the conversation id from Dify's events and the usage of message_end. */
  async function chat(token: string, message: string, conversationId?: string) {
    const res = await v1(token, 'POST', '/chat/stream', {
      message,
      ...(conversationId ? { conversation_id: conversationId } : {}),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const events = res.body
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map(
        (b) =>
          JSON.parse(b.slice(6)) as {
            event: string;
            conversation_id: string;
            answer?: string;
            metadata?: { usage: { prompt_tokens: number; completion_tokens: number } };
          },
      );
    const end = events.find((e) => e.event === 'message_end')!;
    return {
      conversationId: end.conversation_id,
      answer: events.map((e) => e.answer ?? '').join(''),
      usage: end.metadata!.usage,
    };
  }

  it('streams a chat, keeps the conversation and its messages locally, and bills it exactly', async () => {
    const user = await newUser(g, 300);
    const first = await chat(user.accessToken, 'What is a tollgate?');
    expect(first.answer).toBe('Echo: What is a tollgate?');
    const second = await chat(user.accessToken, 'And a toll road?', first.conversationId);
    expect(second.conversationId).toBe(first.conversationId);
    const spent =
      difyCharge(1, first.usage.prompt_tokens, first.usage.completion_tokens) +
      difyCharge(1, second.usage.prompt_tokens, second.usage.completion_tokens);
    expect(await balanceOf(asGateway(g), user.id)).toBe(300 - spent);
    await expectBooksBalanced(asGateway(g), user.id);

    const list = await v1(user.accessToken, 'GET', '/conversations');
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json<Conversation[]>()).toEqual([
      expect.objectContaining({ id: first.conversationId, title: 'What is a tollgate?' }),
    ]);
    const one = await v1(user.accessToken, 'GET', `/conversations/${first.conversationId}`);
    expect(one.json<Conversation>().id).toBe(first.conversationId);
    const messages = await v1(user.accessToken, 'GET', `/conversations/${first.conversationId}/messages`);
    expect(messages.json<Array<{ role: string; content: string }>>().map((m) => [m.role, m.content])).toEqual([
      ['user', 'What is a tollgate?'],
      ['assistant', 'Echo: What is a tollgate?'],
      ['user', 'And a toll road?'],
      ['assistant', 'Echo: And a toll road?'],
    ]);
  });

  it('renames and deletes in step with Dify; another user gets 404 {detail} and changes nothing', async () => {
    const owner = await newUser(g, 300);
    const other = await newUser(g, 300);
    const { conversationId } = await chat(owner.accessToken, 'Keep this between us');
    for (const res of [
      await v1(other.accessToken, 'GET', `/conversations/${conversationId}`),
      await v1(other.accessToken, 'GET', `/conversations/${conversationId}/messages`),
      await v1(other.accessToken, 'PATCH', `/conversations/${conversationId}`, { title: 'stolen' }),
      await v1(other.accessToken, 'DELETE', `/conversations/${conversationId}`),
      await v1(other.accessToken, 'POST', '/chat/stream', { message: 'continue', conversation_id: conversationId }),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(typeof res.json<{ detail: string }>().detail).toBe('string');
    }
    expect(await balanceOf(asGateway(g), other.id)).toBe(300);

    const renamed = await v1(owner.accessToken, 'PATCH', `/conversations/${conversationId}`, { title: 'Secrets' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json<Conversation>().title).toBe('Secrets');
    expect(g.fake.conversationsOf('app-fake-chat', `tollgate-${owner.id}`)[0]!.name).toBe('Secrets');
    expect((await v1(owner.accessToken, 'DELETE', `/conversations/${conversationId}`)).statusCode).toBe(200);
    expect((await v1(owner.accessToken, 'GET', `/conversations/${conversationId}`)).statusCode).toBe(404);
    expect(g.fake.conversationsOf('app-fake-chat', `tollgate-${owner.id}`)).toHaveLength(0);
  });

  it('answers schema errors with 422 {detail} and an unsigned caller with 401', async () => {
    const user = await newUser(g, 300);
    expect((await v1(user.accessToken, 'POST', '/chat/stream', { message: 42 })).statusCode).toBe(422);
    expect((await v1(user.accessToken, 'POST', '/chat/stream', {})).statusCode).toBe(422);
    expect((await v1(undefined, 'GET', '/conversations')).statusCode).toBe(401);
    expect(await balanceOf(asGateway(g), user.id)).toBe(300);
  });

  it('the admin’s Dify config is the first Dify app: masked key, set and removed through /api/v1/admin/dify/config', async () => {
    const user = await newUser(g);
    expect((await v1(user.accessToken, 'GET', '/admin/dify/config')).statusCode).toBe(403);
    const shown = await v1(g.admin, 'GET', '/admin/dify/config');
    expect(shown.statusCode, shown.body).toBe(200);
    expect(shown.json()).toMatchObject({ configured: true, api_key_masked: 'app-…chat', app_mode: 'chat' });
    expect(shown.body).not.toContain('app-fake-chat');

    const set = await v1(g.admin, 'POST', '/admin/dify/config', { api_key: 'app-fake-agent', app_mode: 'agent-chat' });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ configured: true, app_mode: 'agent-chat', api_key_masked: 'app-…gent' });
    const channels = (await call(g.t.app, 'GET', '/api/admin/channels', { token: g.admin })).json<{
      items: Array<{ id: string; appMode: string }>;
    }>().items;
    expect(channels.find((c) => c.id === set.json<{ id: string }>().id)!.appMode).toBe('agent-chat');
    // Put it back for the other suites' sake, then remove and re-create through the same endpoint.
    await v1(g.admin, 'POST', '/admin/dify/config', { api_key: 'app-fake-chat', app_mode: 'chat' });
    expect((await v1(g.admin, 'DELETE', '/admin/dify/config')).statusCode).toBe(200);
    const next = (await v1(g.admin, 'GET', '/admin/dify/config')).json<{
      configured: boolean;
      app_mode: string | null;
    }>();
    expect(next.app_mode).not.toBe('chat');
  });
});

describe("seed 002's .env: DIFY_API_URL is Dify's origin, and the key is set later by the admin", () => {
  it('the app starts without a key, and the key set through /api/v1/admin/dify/config is sent to <origin>/v1', async () => {
    const fake = await FakeDify.start();
    const t = await createTestApp(backends()[0], { env: { ...ADMIN_ENV, DIFY_API_URL: fake.origin } });
    try {
      const admin = await adminToken(t);
      expect((await call(t.app, 'GET', '/api/v1/admin/dify/config', { token: admin })).json()).toMatchObject({
        configured: false,
      });
      const set = await call(t.app, 'POST', '/api/v1/admin/dify/config', {
        token: admin,
        body: { api_key: 'app-fake-chat' },
      });
      expect(set.statusCode, set.body).toBe(200);

      const user = await registerUser(t);
      const res = await call(t.app, 'POST', '/api/v1/chat/stream', {
        token: user.accessToken,
        body: { message: 'hello' },
      });
      expect(res.statusCode, res.body).toBe(200);
      const answers = res.body
        .split('\n\n')
        .filter((b) => b.startsWith('data: '))
        .map((b) => (JSON.parse(b.slice(6)) as { answer?: string }).answer ?? '');
      expect(answers.join('')).toBe('Echo: hello');
    } finally {
      await t.close();
      await fake.close();
    }
  });
});
