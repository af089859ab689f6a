import { FormData, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ENV, adminToken, backends, call, createTestApp, registerUser } from '#test/helpers/test-app.ts';
import { FakeDify } from '#test/fakes/dify.ts';
import {
  asGateway,
  balanceOf,
  dify,
  difyUser,
  expectBooksBalanced,
  newUser,
  startDify,
  usageRows,
  type DifyGateway,
} from './helpers.ts';

describe.each(backends())('Dify proxy: files, speech, the generic proxy and the apps ($label)', (backend) => {
  let g: DifyGateway;
  beforeAll(async () => {
    g = await startDify(backend, { listen: true });
  });
  afterAll(() => g.close());

  const upload = async (
    token: string,
    path: string,
    file: Blob,
    filename: string,
    extra: Record<string, string> = {},
  ) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(extra)) form.append(name, value);
    form.append('file', file, filename);
    const res = await request(`${g.baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };

  it('uploads a file for its owner only: the file name loses its path, Dify gets Tollgate’s user, others cannot attach it', async () => {
    const owner = await newUser(g, 500);
    const res = await upload(
      owner.accessToken,
      '/files/upload',
      new Blob(['hello image'], { type: 'image/png' }),
      '../../etc/passwd.png',
      { user: 'spoofed' },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const sent = g.fake.lastRequest('/files/upload')!.body as {
      fields: Record<string, string>;
      files: Array<{ filename: string; size: number }>;
    };
    expect(sent.fields.user).toBe(difyUser(owner.id));
    expect(sent.files[0]).toMatchObject({ filename: 'passwd.png', size: 11 });
    const fileId = res.body.id as string;

    const attach = {
      query: 'look at this',
      files: [{ type: 'image', transfer_method: 'local_file', upload_file_id: fileId }],
    };
    const other = await newUser(g, 500);
    const refused = await dify(g, other.accessToken, 'POST', '/chat-messages', attach);
    expect(refused.statusCode, refused.body).toBe(404);
    const accepted = await dify(g, owner.accessToken, 'POST', '/chat-messages', attach);
    expect(accepted.statusCode, accepted.body).toBe(200);
  });

  it('refuses a multipart request without a file, and a file over the limit, with 4xx and no charge', async () => {
    const user = await newUser(g, 500);
    const form = new FormData();
    form.append('user', 'x');
    const empty = await request(`${g.baseURL}/files/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}` },
      body: form,
    });
    expect(empty.statusCode).toBe(400);
    await empty.body.dump();
    const json = await dify(g, user.accessToken, 'POST', '/audio-to-text', { file: 'not a file' });
    expect(json.statusCode).toBe(400);
    expect(await balanceOf(asGateway(g), user.id)).toBe(500);
  });

  it('turns speech into text and text into speech, each at its base price', async () => {
    const user = await newUser(g, 500);
    const heard = await upload(
      user.accessToken,
      '/audio-to-text',
      new Blob([new Uint8Array(64)], { type: 'audio/wav' }),
      'clip.wav',
    );
    expect(heard.status, JSON.stringify(heard.body)).toBe(200);
    expect(typeof heard.body.text).toBe('string');

    const spoken = await dify(g, user.accessToken, 'POST', '/text-to-audio', { text: 'say this' });
    expect(spoken.statusCode, spoken.body).toBe(200);
    const { audio_base64: audio } = spoken.json<{ audio_base64: string }>();
    expect(Buffer.from(audio, 'base64').length).toBeGreaterThan(0);
    const binary = await dify(
      g,
      user.accessToken,
      'POST',
      '/text-to-audio',
      { text: 'say this' },
      { accept: 'audio/mpeg' },
    );
    expect(binary.headers['content-type']).toContain('audio/');
    expect(binary.rawPayload.length).toBeGreaterThan(0);
    expect((await usageRows(asGateway(g), user.id)).map((r) => [r.endpoint, r.credits])).toEqual([
      ['dify.audio-to-text', 4],
      ['dify.text-to-audio', 5],
      ['dify.text-to-audio', 5],
    ]);
    await expectBooksBalanced(asGateway(g), user.id);
  });

  it('the generic proxy runs an allowed endpoint as the caller’s own call, and nothing else', async () => {
    const user = await newUser(g, 500);
    const chat = await dify(g, user.accessToken, 'POST', '/proxy', {
      endpoint: '/chat-messages',
      data: { query: 'via proxy', response_mode: 'streaming', user: 'x' },
      headers: { authorization: 'Bearer app-stolen' },
    });
    expect(chat.statusCode, chat.body).toBe(200);
    expect(chat.json<{ data: { answer: string } }>().data.answer).toBe('Echo: via proxy');
    expect(g.fake.lastRequest('/chat-messages')!.headers.authorization).toBe('Bearer app-fake-chat');
    const params = await dify(g, user.accessToken, 'POST', '/proxy', { endpoint: 'parameters', method: 'GET' });
    expect(params.statusCode, params.body).toBe(200);

    const before = g.fake.requests.length;
    for (const endpoint of [
      'http://169.254.169.254/latest',
      '//evil.example/v1/chat-messages',
      '../admin/channels',
      'apps/annotations',
      'app/feedbacks',
      'workflows/logs',
      'end-users/abc',
      'chat-messages?x=1',
      '/v1/../../etc',
    ]) {
      const res = await dify(g, user.accessToken, 'POST', '/proxy', { endpoint, data: {} });
      expect(res.statusCode, `${endpoint}: ${res.body}`).toBe(400);
    }
    expect(
      (await dify(g, user.accessToken, 'POST', '/proxy', { endpoint: 'conversations', method: 'POST' })).statusCode,
    ).toBe(400);
    expect(g.fake.requests.length, 'nothing reached Dify').toBe(before);
    expect((await usageRows(asGateway(g), user.id)).map((r) => r.endpoint)).toEqual(['dify.chat-messages']);
  });

  it('tells the caller about the app: meta with {app}, parameters and info', async () => {
    const user = await newUser(g, 500);
    const meta = await dify(g, user.accessToken, 'GET', '/meta');
    expect(meta.statusCode, meta.body).toBe(200);
    expect(meta.json<{ app: { id: string; name: string } }>().app).toMatchObject({
      id: g.apps['app-fake-chat'],
      name: expect.any(String),
    });
    const params = await dify(g, user.accessToken, 'GET', '/parameters');
    expect(params.json<{ parameters: object }>().parameters).toBeTypeOf('object');
    expect((await dify(g, user.accessToken, 'GET', '/info')).statusCode).toBe(200);
  });

  it('an admin manages Dify apps as channels: secrets never shown, per-endpoint prices kept, the SDK’s app picked by X-Dify-App', async () => {
    const list = await call(g.t.app, 'GET', '/api/admin/channels', { token: g.admin });
    const apps = list.json<{
      items: Array<{
        kind: string;
        appMode: string;
        apiKeyPreview: string;
        prices: { endpoints: Record<string, number> };
      }>;
    }>().items;
    expect(apps.map((a) => [a.kind, a.appMode])).toEqual(
      expect.arrayContaining([
        ['dify', 'chat'],
        ['dify', 'workflow'],
      ]),
    );
    expect(list.body, 'app keys never leave Tollgate').not.toContain('app-fake-chat');
    expect(apps[0]!.apiKeyPreview).toBe('app…chat');
    expect(apps[0]!.prices.endpoints['chat-messages']).toBe(1);
    const bad = await call(g.t.app, 'POST', '/api/admin/channels', {
      token: g.admin,
      body: { name: 'no mode', kind: 'dify', baseUrl: g.fake.url, apiKey: 'app-x' },
    });
    expect(bad.statusCode).toBe(400);
    const user = await newUser(g, 500);
    const wrongFamily = await dify(
      g,
      user.accessToken,
      'POST',
      '/chat-messages',
      { query: 'x' },
      { 'x-dify-app': g.apps['app-fake-workflow']! },
    );
    expect(wrongFamily.statusCode).toBe(404);
    const tested = await call(g.t.app, 'POST', `/api/admin/channels/${g.apps['app-fake-chat']}/test`, {
      token: g.admin,
    });
    expect(tested.json()).toMatchObject({ ok: true });
  });
});

describe('DIFY_API_URL / DIFY_API_KEY', () => {
  it('creates the first Dify app at start, and a person can chat through it at once', async () => {
    const fake = await FakeDify.start();
    const t = await createTestApp(backends()[0], {
      env: { ...ADMIN_ENV, DIFY_API_URL: fake.url, DIFY_API_KEY: 'app-fake-chat' },
    });
    try {
      const admin = await adminToken(t);
      const channels = (await call(t.app, 'GET', '/api/admin/channels', { token: admin })).json<{
        items: Array<{ kind: string; appMode: string }>;
      }>().items;
      expect(channels).toEqual([expect.objectContaining({ kind: 'dify', appMode: 'chat' })]);
      const user = await registerUser(t);
      const res = await call(t.app, 'POST', '/api/dify/chat-messages', {
        token: user.accessToken,
        body: { query: 'hello from the environment' },
      });
      expect(res.statusCode, res.body).toBe(200);
    } finally {
      await t.close();
      await fake.close();
    }
  });
});
