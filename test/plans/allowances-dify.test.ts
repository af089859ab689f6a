import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call } from '#test/helpers/test-app.ts';
import {
  asGateway,
  balanceOf,
  dify,
  difyCharge,
  newUser,
  startDify,
  tokens,
  type DifyGateway,
} from '#test/dify/helpers.ts';

/** The Dify proxy is a paid-call surface like /v1: a plan's allowances, multiplier and allow-list apply to it too. */
describe.each(backends())('plan allowances on the Dify proxy ($label)', (backend) => {
  let g: DifyGateway;
  beforeAll(async () => {
    g = await startDify(backend, { env: { RATE_LIMIT_USER_RPM: '0', RATE_LIMIT_USER_CONCURRENCY: '0' } });
  });
  afterAll(() => g.close());

  const ask = (token: string) =>
    dify(g, token, 'POST', '/chat-messages', { inputs: {}, query: 'Hello there', response_mode: 'blocking' });

  it('requests per day and the multiplier apply to Dify calls; the refusal is a clear 429 with Retry-After', async () => {
    const { plans } = g.t.app.services;
    const plan = await plans.create({
      code: `dify-${backend.label.replace('+', '-')}`,
      name: 'Dify plan',
      level: 1,
      price: 1,
      entitlements: { allowances: [{ metric: 'requests', period: 'day', limit: 2 }], multiplierPermille: 2000 },
    });
    const user = await newUser(g, 500);
    await plans.activate({
      userId: user.id,
      planId: plan.id,
      mode: 'set',
      source: 'admin',
      sourceRef: null,
      idempotencyKey: `dify:${user.id}`,
    });
    expect((await ask(user.accessToken)).statusCode).toBe(200);
    expect((await ask(user.accessToken)).statusCode).toBe(200);
    const refused = await ask(user.accessToken);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({
      success: false,
      code: 'PLAN_ALLOWANCE_EXCEEDED',
      allowance: { metric: 'requests', period: 'day', limit: 2, used: 2 },
    });
    // Each call: twice the price (1 + tokens at 10/20 per 1K), rounded up once.
    const once = Math.ceil((2 * (1000 + tokens('Hello there') * 10 + tokens('Echo: Hello there') * 20)) / 1000);
    expect(once).toBeGreaterThan(difyCharge(1, tokens('Hello there'), tokens('Echo: Hello there')));
    expect(await balanceOf(asGateway(g), user.id)).toBe(500 - 2 * once);
    const info = await call(g.t.app, 'GET', '/v1/vip/info', { token: user.accessToken });
    expect(info.json()).toMatchObject({ data: { allowances: [{ used: 2, remaining: 0 }] } });
  });
});
