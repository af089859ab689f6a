import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHANNEL_SECRET, startFuzzApp, type FuzzApp } from './fuzz/fuzz-app.ts';
import { MODEL } from './support/pricing.ts';
import { TrapServer } from './support/trap-server.ts';
import { Tally } from './tally.ts';

/** What Tollgate may call on its channel: the relayed endpoints and the model list (probe, test). */
const UPSTREAM_PATHS = new Set([
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/v1/images/generations',
  '/v1/models',
]);

/**
 * A client may name any upstream it likes, in any field, header or model name: Tollgate only ever
 * calls the base URL an admin configured for the channel, on the endpoint's own path, with the
 * channel's own key. The trap server, named everywhere, never gets a request.
 */
describe('upstream URLs are only ever the admin-configured ones', () => {
  const tally = new Tally('security: upstream targets');
  let f: FuzzApp;
  let trap: TrapServer;

  beforeAll(async () => {
    trap = await TrapServer.start();
    f = await startFuzzApp(tally);
  });
  afterAll(async () => {
    await f?.close();
    await trap?.close();
    tally.save(inject('tallyDir'));
  });

  it('no client-supplied URL, header, field or model name redirects a call', async () => {
    const mark = tally.mark;
    const url = trap.url;
    const host = trap.host;
    const models = [
      MODEL,
      `${url}/v1`,
      `../../..${new URL(url).pathname}`,
      `${MODEL}/../../admin`,
      `${MODEL}?base_url=${url}`,
      `${MODEL}#${url}`,
      `//${host}/v1/chat/completions`,
      `${MODEL}%2F..%2F..`,
    ];
    const fields = {
      base_url: url,
      baseURL: url,
      api_base: `${url}/v1`,
      url,
      endpoint: url,
      upstream: url,
      proxy: url,
      callback_url: url,
      webhook: url,
    };
    const headers = {
      host,
      'x-forwarded-host': host,
      'x-forwarded-proto': 'http',
      forwarded: `host=${host};proto=http`,
      'x-original-url': url,
      'x-rewrite-url': url,
      'x-upstream-url': url,
      'x-openai-base-url': url,
      'openai-organization': url,
    };
    const image = {
      role: 'user',
      content: [
        { type: 'text', text: 'look' },
        { type: 'image_url', image_url: { url: `${url}/cat.png` } },
      ],
    };
    const bodies = [
      ...models.map((model) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...fields })),
      { model: MODEL, messages: [image], ...fields },
      { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true, ...fields },
    ];
    const before = f.fake.requests.length;
    let sent = 0;
    for (const path of [
      '/v1/chat/completions',
      '/api/v1/chat/completions',
      `/v1/chat/completions?base_url=${encodeURIComponent(url)}`,
    ]) {
      for (const body of bodies) {
        sent += 1;
        tally.badInput();
        await f.inject({
          method: 'POST',
          url: path,
          headers: { ...headers, authorization: `Bearer ${f.userKey.secret}` },
          payload: body,
        });
      }
    }
    for (const extra of [
      { method: 'POST', url: '/v1/embeddings', payload: { model: 'text-embedding-3-small', input: url, ...fields } },
      { method: 'POST', url: '/v1/images/generations', payload: { model: 'dall-e-2', prompt: url, ...fields } },
      { method: 'POST', url: '/v1/completions', payload: { model: 'gpt-3.5-turbo-instruct', prompt: url, ...fields } },
      { method: 'GET', url: `/v1/models/${encodeURIComponent(`${url}/v1`)}` },
      { method: 'GET', url: `/v1/models?base_url=${encodeURIComponent(url)}` },
    ] as const) {
      sent += 1;
      tally.badInput();
      await f.inject({
        method: extra.method,
        url: extra.url,
        headers: { ...headers, authorization: `Bearer ${f.userKey.secret}` },
        ...('payload' in extra ? { payload: extra.payload } : {}),
      });
    }
    // The admin's own channel test calls the channel, and nothing a user named.
    await f.inject({
      method: 'POST',
      url: `/api/admin/channels/${f.channelId}/test`,
      headers: { ...headers, authorization: `Bearer ${f.admin}` },
    });

    tally.check(trap.hits.length === 0, `a client-named upstream was called: ${trap.hits.join(', ')}`);
    const upstream = f.fake.requests.slice(before);
    const strayPaths = upstream.filter((r) => !UPSTREAM_PATHS.has(r.path));
    tally.check(
      strayPaths.length === 0,
      `the channel was called on unexpected paths: ${strayPaths.map((r) => r.path).join(', ')}`,
    );
    const strangers = upstream.filter((r) => r.headers.authorization !== `Bearer ${CHANNEL_SECRET}`);
    tally.check(
      strangers.length === 0,
      `${strangers.length} upstream call(s) carried a credential other than the channel's`,
    );
    const forwarded = upstream.filter((r) =>
      Object.keys(headers).some((name) => name !== 'host' && r.headers[name] !== undefined),
    );
    tally.check(
      forwarded.length === 0,
      `client headers were forwarded upstream: ${forwarded.map((r) => Object.keys(r.headers).join(',')).join(' | ')}`,
    );
    tally.check(upstream.length > 0, 'no call reached the channel at all: the test proves nothing');
    tally.note(
      `${sent} calls naming another upstream in ${Object.keys(fields).length} body fields, ${Object.keys(headers).length} headers, ${models.length} model names and the query: ${upstream.length} upstream calls, all to the channel`,
    );
    expect(tally.since(mark)).toEqual([]);
  });
});
