import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '#test/helpers/test-app.ts';
import {
  balanceOf,
  expectBooksBalanced,
  newCaller,
  setBalance,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

/**
 * A balance never goes below zero through /v1 (docs/money.md): with no output limit the hold covers
 * the model's maximum output, or the upstream is told the output limit the balance affords.
 * gpt-4o at its shipped price: 2.5 credits per 1K input tokens, 10 per 1K output, 16,384 output tokens at most.
 */
const MODEL = 'gpt-4o';
const LONG_ANSWER = 'words=3000';
const body = (extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: 'user', content: 'Write a long story' }],
  fake_behavior: LONG_ANSWER,
  ...extra,
});

describe.each(backends())('the balance floor on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { env: { RATE_LIMIT_USER_RPM: '0', RATE_LIMIT_USER_CONCURRENCY: '0' } });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  /** What `requests` did to a caller with `balance` credits: the answers' statuses, and the books after. */
  async function race(balance: number, requests: Array<Record<string, unknown>>) {
    const c = await newCaller(g);
    await setBalance(g, c.user.id, balance);
    const answers = await Promise.all(requests.map((b) => v1(g, c.secret, 'POST', '/v1/chat/completions', b)));
    const after = await expectBooksBalanced(g, c.user.id);
    const rows = await usageRows(g, c.user.id);
    expect(after, 'the balance never goes below zero').toBeGreaterThanOrEqual(0);
    expect(
      rows.reduce((sum, r) => sum + r.credits, 0),
      'every credit charged is on a usage record',
    ).toBe(balance - after);
    for (const answer of answers) expect([200, 402], answer.body).toContain(answer.statusCode);
    return { c, answers, after, rows };
  }

  it('ten parallel calls without max_tokens whose answers run long never take 100 credits below zero', async () => {
    const { answers, rows } = await race(
      100,
      Array.from({ length: 10 }, () => body()),
    );
    const served = answers.filter((a) => a.statusCode === 200);
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(rows.filter((r) => r.status === 'ok')).toHaveLength(served.length);
    for (const refused of answers.filter((a) => a.statusCode === 402))
      expect(refused.json().error.code).toBe('insufficient_quota');
  });

  it('the same with streamed answers', async () => {
    const { answers } = await race(
      100,
      Array.from({ length: 10 }, () => body({ stream: true })),
    );
    expect(answers.some((a) => a.statusCode === 200)).toBe(true);
  });

  it('twenty calls, whole and streamed, race a small balance', async () => {
    await race(
      30,
      Array.from({ length: 20 }, (_, i) => body({ stream: i % 2 === 0, fake_behavior: `words=${200 + 150 * i}` })),
    );
  });

  it('a call the balance cannot cover at the model maximum is sent the output limit it affords, and ends with finish_reason length', async () => {
    const c = await newCaller(g);
    await setBalance(g, c.user.id, 20);
    const res = await v1(g, c.secret, 'POST', '/v1/chat/completions', body());
    expect(res.statusCode, res.body).toBe(200);
    const sent = g.fake.lastRequest('/chat/completions')!.body as {
      max_completion_tokens?: number;
      max_tokens?: number;
    };
    expect(sent.max_tokens).toBeUndefined();
    // 20 credits buy a little under 2,000 output tokens of gpt-4o once the prompt is paid for.
    expect(sent.max_completion_tokens).toBeGreaterThan(1_800);
    expect(sent.max_completion_tokens).toBeLessThan(2_000);
    const answer = res.json<{ choices: Array<{ finish_reason: string }>; usage: { completion_tokens: number } }>();
    expect(answer.choices[0]!.finish_reason).toBe('length');
    expect(answer.usage.completion_tokens).toBe(sent.max_completion_tokens);
    const after = await expectBooksBalanced(g, c.user.id);
    expect(after).toBeGreaterThanOrEqual(0);
    expect(after).toBeLessThan(20);
  });

  it("a call the balance covers is sent no limit of Tollgate's, and is charged what it used", async () => {
    const c = await newCaller(g);
    await setBalance(g, c.user.id, 1_000);
    const res = await v1(g, c.secret, 'POST', '/v1/chat/completions', body());
    expect(res.statusCode, res.body).toBe(200);
    const sent = g.fake.lastRequest('/chat/completions')!.body as Record<string, unknown>;
    expect(sent.max_completion_tokens).toBeUndefined();
    expect(sent.max_tokens).toBeUndefined();
    const [row] = await usageRows(g, c.user.id);
    expect(row!.output_tokens).toBe(3000);
    expect(row!.credits).toBe(Math.ceil((row!.input_tokens * 2.5 + 3000 * 10) / 1000));
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1_000 - row!.credits);
  });

  it('a request whose own max_tokens the balance cannot cover is refused 402 and changes nothing', async () => {
    const c = await newCaller(g);
    await setBalance(g, c.user.id, 20);
    const res = await v1(g, c.secret, 'POST', '/v1/chat/completions', body({ max_tokens: 5_000 }));
    expect(res.statusCode, res.body).toBe(402);
    expect(res.json().error.code).toBe('insufficient_quota');
    expect(g.fake.requestsTo('/chat/completions')).toHaveLength(0);
    expect(await balanceOf(g, c.user.id)).toBe(20);
    expect(await usageRows(g, c.user.id)).toHaveLength(0);
  });

  it('a balance that cannot pay the prompt and one output token is refused 402', async () => {
    const c = await newCaller(g);
    await setBalance(g, c.user.id, 0);
    const res = await v1(g, c.secret, 'POST', '/v1/chat/completions', body());
    expect(res.statusCode, res.body).toBe(402);
    expect(g.fake.requestsTo('/chat/completions')).toHaveLength(0);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(0);
  });

  it("a key's credit cap limits the output the same way", async () => {
    const c = await newCaller(g, { creditCap: 15 });
    await setBalance(g, c.user.id, 1_000);
    const res = await v1(g, c.secret, 'POST', '/v1/chat/completions', body());
    expect(res.statusCode, res.body).toBe(200);
    const sent = g.fake.lastRequest('/chat/completions')!.body as { max_completion_tokens?: number };
    expect(sent.max_completion_tokens).toBeGreaterThan(1_000);
    expect(sent.max_completion_tokens).toBeLessThan(1_500);
    const [row] = await usageRows(g, c.user.id);
    expect(row!.credits).toBeLessThanOrEqual(15);
    await expectBooksBalanced(g, c.user.id);
  });

  it('a call whose prompt counted more than its hold guessed is charged in full while the balance can pay, and never past zero', async () => {
    // 5,000 input tokens reported for a short prompt (images in a message count so): 12.5 + 0.1 credits, rounded up.
    const reported = body({ max_tokens: 10, fake_behavior: 'usage=5000,10' });
    // One who can pay it all, and one who cannot.
    for (const { balance, credits, overrun } of [
      { balance: 1_000, credits: 13, overrun: 0 },
      { balance: 5, credits: 5, overrun: 8 },
    ]) {
      const c = await newCaller(g);
      await setBalance(g, c.user.id, balance);
      expect((await v1(g, c.secret, 'POST', '/v1/chat/completions', reported)).statusCode).toBe(200);
      const [row] = await usageRows(g, c.user.id);
      expect(row).toMatchObject({ input_tokens: 5000, credits, overrun });
      expect(await expectBooksBalanced(g, c.user.id)).toBe(balance - credits);
    }
  });
});
