import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends, call } from '#test/helpers/test-app.ts';
import {
  addDifyApp,
  asGateway,
  balanceOf,
  dify,
  DIFY_PRICES,
  expectBooksBalanced,
  newUser,
  startDify,
  usageRows,
  type DifyGateway,
} from './helpers.ts';

/**
 * Dify cannot be cut short (docs/money.md, rule 6): a call holds the app's maximum call cost, is
 * charged in full when it costs more, and its overrun is recorded; a balance below zero refuses
 * every paid call until it is above again.
 */
const MAX_CALL_COST = 10;

describe.each(backends())('Dify calls that cost more than their hold, on $label', (backend) => {
  let g: DifyGateway;
  let app: string;
  beforeAll(async () => {
    g = await startDify(backend, { apps: [], env: { RATE_LIMIT_USER_RPM: '0' } });
    app = (
      await addDifyApp(g.t, g.admin, g.fake, 'app-fake-chat', 'chat', {
        name: 'capped chat',
        prices: { ...DIFY_PRICES, maxCallCost: MAX_CALL_COST },
      })
    ).id;
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  const chat = (token: string, words: number, streaming = false) =>
    dify(
      g,
      token,
      'POST',
      '/chat-messages',
      {
        query: 'Tell me everything',
        inputs: { fake_behavior: `words=${words}` },
        response_mode: streaming ? 'streaming' : 'blocking',
      },
      { 'x-dify-app': app },
    );

  for (const streaming of [false, true]) {
    it(`${streaming ? 'a stream' : 'a blocking answer'} is charged in full past its hold, the overrun recorded, and the next paid call refused`, async () => {
      const user = await newUser(g, 30);
      const res = await chat(user.accessToken, 3000, streaming);
      expect(res.statusCode, res.body).toBe(200);
      const [row] = await usageRows(asGateway(g), user.id);
      // 3,000 words at 20 credits per 1K output tokens: far past the 10 credits held.
      expect(row!.output_tokens).toBe(3000);
      expect(row!.credits).toBeGreaterThan(60);
      expect(row!.overrun).toBe(row!.credits - MAX_CALL_COST);
      const balance = await expectBooksBalanced(asGateway(g), user.id);
      expect(balance).toBe(30 - row!.credits);
      expect(balance).toBeLessThan(0);
      // The usage log shows it too.
      const logs = await call(g.t.app, 'GET', '/api/usage/logs', { token: user.accessToken });
      expect(logs.json<{ items: Array<{ credits: number; overrun: number }> }>().items[0]).toMatchObject({
        credits: row!.credits,
        overrun: row!.overrun,
      });

      const refused = await chat(user.accessToken, 5);
      expect(refused.statusCode, refused.body).toBe(402);
      expect(refused.json()).toMatchObject({ success: false, statusCode: 402 });
      expect(await usageRows(asGateway(g), user.id)).toHaveLength(1);
      expect(await balanceOf(asGateway(g), user.id)).toBe(balance);
    });
  }

  it('a caller with less than the app maximum holds what they have, and a call within its hold has no overrun', async () => {
    const user = await newUser(g, 6);
    const res = await chat(user.accessToken, 20);
    expect(res.statusCode, res.body).toBe(200);
    const [row] = await usageRows(asGateway(g), user.id);
    expect(row!.credits).toBeLessThanOrEqual(6);
    expect(row!.overrun).toBe(0);
    expect(await expectBooksBalanced(asGateway(g), user.id)).toBe(6 - row!.credits);
  });

  it('a caller who cannot pay even the prompt is refused and nothing is sent to Dify', async () => {
    const user = await newUser(g, 0);
    const res = await chat(user.accessToken, 20);
    expect(res.statusCode, res.body).toBe(402);
    expect(g.fake.requestsTo('/chat-messages')).toHaveLength(0);
    expect(await usageRows(asGateway(g), user.id)).toHaveLength(0);
  });
});
