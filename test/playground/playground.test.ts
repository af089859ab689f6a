import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Entitlements } from '#modules/plans/plans.model.ts';
import { backends, call, freshIp, registerUser, type RegisteredUser } from '#test/helpers/test-app.ts';
import {
  balanceOf,
  chatBody,
  eventually,
  expectBilledOnce,
  expectBooksBalanced,
  MODEL,
  newCaller,
  setBalance,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

const URL = '/api/playground/chat/completions';
/** usage=1000,500 at the suites' price: 1 + 1000 × 10/1K + 500 × 20/1K = 21 credits. */
const USAGE = { fake_behavior: 'usage=1000,500' };

interface Bill {
  request_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  credits: number;
  usage_source: string;
}

/** The `tollgate.bill` event that ends a playground stream. */
function billOf(sse: string): Bill | undefined {
  const match = /event: tollgate\.bill\ndata: (.*)\n\n/.exec(sse);
  return match ? (JSON.parse(match[1]!) as Bill) : undefined;
}

/** The streamed text of an OpenAI chat stream. */
function textOf(sse: string): string {
  let text = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
    text += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return text;
}

describe.each(backends())('the console playground on $label', (backend) => {
  let g: Gateway;
  let n = 0;
  beforeAll(async () => {
    g = await startGateway(backend, {
      listen: true,
      env: { RATE_LIMIT_USER_RPM: '0', RATE_LIMIT_USER_CONCURRENCY: '0', CHANNEL_FAILURE_THRESHOLD: '1000' },
    });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  const playground = (user: RegisteredUser, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    call(g.t.app, 'POST', URL, { token: user.accessToken, body: chatBody(body), headers });

  /** A new user holding a new plan with `terms`. */
  async function planned(terms: Partial<Entitlements>): Promise<RegisteredUser> {
    const { plans } = g.t.app.services;
    n += 1;
    const plan = await plans.create({
      code: `pg-${n}`,
      name: `Playground ${n}`,
      level: 1,
      price: 100,
      durationDays: 30,
      entitlements: terms,
    });
    const user = await registerUser(g.t);
    await plans.activate({
      userId: user.id,
      planId: plan.id,
      mode: 'set',
      source: 'admin',
      sourceRef: null,
      idempotencyKey: `test:${user.id}`,
    });
    return user;
  }

  it('a streamed call is charged exactly as the /v1 call of the same tokens, recorded with no key, and ends with its bill', async () => {
    const keyed = await newCaller(g);
    const byKey = await v1(g, keyed.secret, 'POST', '/v1/chat/completions', chatBody({ ...USAGE, stream: true }));
    expect(byKey.statusCode).toBe(200);
    const viaKey = await expectBilledOnce(g, keyed.user.id, 1000, {
      credits: 21,
      inputTokens: 1000,
      outputTokens: 500,
    });

    const user = await registerUser(g.t);
    const res = await playground(user, { ...USAGE, stream: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(textOf(res.body)).toBe('Echo: Say hello to the nice people');
    const row = await expectBilledOnce(g, user.id, 1000, {
      credits: viaKey.credits,
      inputTokens: 1000,
      outputTokens: 500,
      endReason: 'stop',
      usageSource: 'upstream',
      status: 'ok',
      model: MODEL,
      endpoint: 'playground.chat.completions',
    });
    expect(row.key_id).toBeNull();
    expect(viaKey.key_id).toBe(keyed.keyId);
    expect(billOf(res.body)).toEqual({
      request_id: row.request_id,
      prompt_tokens: 1000,
      completion_tokens: 500,
      credits: 21,
      usage_source: 'upstream',
    });
    // The bill comes after the upstream's end: a client reading to [DONE] has the whole answer first.
    expect(res.body.indexOf('data: [DONE]')).toBeLessThan(res.body.indexOf('event: tollgate.bill'));
  });

  it('a whole answer is charged exactly as the /v1 one, and counted usage is billed the same way', async () => {
    const keyed = await newCaller(g);
    await v1(g, keyed.secret, 'POST', '/v1/chat/completions', chatBody({ fake_behavior: 'usage=none' }));
    const viaKey = (await usageRows(g, keyed.user.id))[0]!;
    expect(viaKey.usage_source).toBe('estimated');

    const user = await registerUser(g.t);
    const whole = await playground(user, USAGE);
    expect(whole.statusCode).toBe(200);
    expect(whole.json()).toMatchObject({ usage: { prompt_tokens: 1000, completion_tokens: 500 } });
    await expectBilledOnce(g, user.id, 1000, { credits: 21, endpoint: 'playground.chat.completions' });

    const counted = await registerUser(g.t);
    const res = await playground(counted, { fake_behavior: 'usage=none', stream: true });
    await expectBilledOnce(g, counted.id, 1000, {
      credits: viaKey.credits,
      inputTokens: viaKey.input_tokens,
      outputTokens: viaKey.output_tokens,
      usageSource: 'estimated',
    });
    expect(billOf(res.body)).toMatchObject({ credits: viaKey.credits, usage_source: 'estimated' });
  });

  it('402 when the balance cannot cover the call: nothing is held, charged or sent upstream', async () => {
    const user = await registerUser(g.t);
    await setBalance(g, user.id, 0);
    const res = await playground(user, { stream: true });
    expect(res.statusCode).toBe(402);
    expect(res.json()).toMatchObject({ success: false, statusCode: 402 });
    await setBalance(g, user.id, 5);
    const tooBig = await playground(user, { max_tokens: 10_000 });
    expect(tooBig.statusCode).toBe(402);
    expect(await expectBooksBalanced(g, user.id)).toBe(5);
    expect(await usageRows(g, user.id)).toHaveLength(0);
    expect(g.fake.stats.requests).toBe(0);
  });

  it('a disabled account or an ended session is refused with 401, and nothing is charged', async () => {
    const ended = await registerUser(g.t);
    const logout = await call(g.t.app, 'POST', '/api/auth/logout', { token: ended.accessToken });
    expect(logout.statusCode).toBe(200);
    expect((await playground(ended, USAGE)).statusCode).toBe(401);

    const disabled = await registerUser(g.t);
    const off = await call(g.t.app, 'POST', `/api/admin/users/${disabled.id}/disable`, { token: g.admin });
    expect(off.statusCode).toBe(200);
    expect((await playground(disabled, { ...USAGE, stream: true })).statusCode).toBe(401);

    for (const user of [ended, disabled]) {
      expect(await expectBooksBalanced(g, user.id)).toBe(1000);
      expect(await usageRows(g, user.id)).toHaveLength(0);
    }
    expect(g.fake.stats.requests).toBe(0);
  });

  it('the console cookie needs the X-Requested-With header (403 without it); with it the call is made', async () => {
    const user = await registerUser(g.t);
    const login = await call(g.t.app, 'POST', '/api/auth/login', {
      body: { email: user.email, password: user.password },
      ip: freshIp(),
    });
    const cookie = (login.cookies as Array<{ name: string; value: string }>).find((c) => c.name === 'tg_access')!;
    const send = (headers: Record<string, string>) =>
      call(g.t.app, 'POST', URL, {
        body: chatBody(USAGE),
        headers: { cookie: `tg_access=${cookie.value}`, ...headers },
      });
    const refused = await send({});
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'CSRF_HEADER_REQUIRED' });
    expect(await usageRows(g, user.id)).toHaveLength(0);
    expect((await send({ 'x-requested-with': 'tollgate-console' })).statusCode).toBe(200);
    await expectBilledOnce(g, user.id, 1000, { credits: 21 });
  });

  it("the plan's rate limits, allowances and model allow-list apply, and the model list follows the plan", async () => {
    const limited = await planned({ rateLimits: { rpm: 1, tpm: 0, concurrency: 0, rpd: 0 } });
    expect((await playground(limited, USAGE)).statusCode).toBe(200);
    const second = await playground(limited, USAGE);
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBeDefined();

    const allowance = await planned({ allowances: [{ metric: 'requests', period: 'day', limit: 1 }] });
    expect((await playground(allowance, { ...USAGE, stream: true })).statusCode).toBe(200);
    expect((await playground(allowance, { ...USAGE, stream: true })).statusCode).toBe(429);

    const narrow = await planned({ models: ['gpt-4o'] });
    const refused = await playground(narrow, USAGE);
    expect(refused.statusCode).toBe(403);
    const models = await call(g.t.app, 'GET', '/api/playground/models', { token: narrow.accessToken });
    expect(models.json<{ items: Array<{ model: string }> }>().items.map((m) => m.model)).toEqual(['gpt-4o']);

    for (const [user, calls] of [
      [limited, 1],
      [allowance, 1],
      [narrow, 0],
    ] as const) {
      expect(await usageRows(g, user.id)).toHaveLength(calls);
      expect(await expectBooksBalanced(g, user.id)).toBe(1000 - 21 * calls);
    }
  });

  it('lists the priced models with their prices', async () => {
    const user = await registerUser(g.t);
    const res = await call(g.t.app, 'GET', '/api/playground/models', { token: user.accessToken });
    expect(res.statusCode).toBe(200);
    const items = res.json<{ items: Array<Record<string, unknown>> }>().items;
    expect(items.find((m) => m.model === MODEL)).toMatchObject({ input: 10, output: 20, perRequest: 1 });
    expect((await call(g.t.app, 'GET', '/api/playground/models')).statusCode).toBe(401);
  });

  it('a client that leaves mid-stream stops the upstream and pays the prompt plus what was streamed', async () => {
    const user = await registerUser(g.t);
    const controller = new AbortController();
    const res = await fetch(g.baseURL.replace(/\/v1$/, URL), {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ stream: true, fake_behavior: 'words=400; chunk-delay=25' })),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = '';
    while (textOf(received).split(/\s+/).length < 6) {
      const { value } = await reader.read();
      received += new TextDecoder().decode(value);
    }
    controller.abort();
    await g.fake.until((f) => f.stats.streamsAborted >= 1);
    expect(g.fake.stats.streamsCompleted).toBe(0);
    const rows = await eventually(
      async () => (await g.t.app.services.credits.openHolds(user.id)) === 0 && (await usageRows(g, user.id)),
      'the call settled',
    );
    const row = rows[0]!;
    expect(row.end_reason).toBe('client_disconnect');
    expect(row.output_tokens).toBeGreaterThan(0);
    expect(row.output_tokens).toBeLessThan(400);
    expect(row.credits).toBeGreaterThan(0);
    expect(await balanceOf(g, user.id)).toBe(1000 - row.credits);
    await expectBooksBalanced(g, user.id);
  });
});
