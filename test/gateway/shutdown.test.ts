import { Agent, fetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '#src/app.ts';
import { backends } from '#test/helpers/test-app.ts';
import { chargeFor } from '#modules/pricing/price.ts';
import { chatBody, newCaller, PRICE, startGateway, type Caller, type Gateway } from '#test/helpers/gateway.ts';

const DRAIN_SECONDS = 3;

/** A streamed chat as raw HTTP on a connection of its own: resolves when the answer has begun; `rest` when it is over. */
async function openStream(g: Gateway, caller: Caller, behavior: string) {
  const dispatcher = new Agent();
  const response = await fetch(`${g.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${caller.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(chatBody({ stream: true, fake_behavior: behavior })),
    dispatcher,
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const rest = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { text, cut: false };
        text += decoder.decode(value);
      }
    } catch {
      return { text, cut: true };
    } finally {
      await dispatcher.close().catch(() => undefined);
    }
  })();
  return { rest };
}

describe.each(backends())('shutdown with streams in flight ($label)', (backend) => {
  let g: Gateway;
  beforeEach(async () => {
    g = await startGateway(backend, { listen: true, env: { SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS) } });
  });
  afterEach(() => g.close());

  it('refuses new connections, lets a stream that ends in time finish and bills it; cuts the one still running at the deadline and bills what it produced', async () => {
    const [short, long] = [await newCaller(g), await newCaller(g)];
    const finishing = await openStream(g, short, 'words=6; chunk-delay=100');
    const endless = await openStream(g, long, 'words=400; chunk-delay=50');
    const startedAt = Date.now();
    const closing = g.t.app.close();

    const refused = await fetch(`${g.baseURL}/models`, { dispatcher: new Agent() }).then(
      (res) => res.status,
      () => 'refused',
    );
    expect(refused, 'a new connection while draining').toBe('refused');

    const done = await finishing.rest;
    expect(done.cut).toBe(false);
    expect(done.text).toContain('data: [DONE]');
    const cut = await endless.rest;
    expect(cut.text).not.toContain('[DONE]');
    await closing;
    const elapsed = Date.now() - startedAt;
    expect(elapsed, 'the long stream was given the drain time, no more').toBeGreaterThanOrEqual(
      DRAIN_SECONDS * 1000 - 100,
    );
    expect(elapsed).toBeLessThan(DRAIN_SECONDS * 1000 + 5_000);

    // The books as the next instance finds them: both calls settled, nothing left to the sweeper.
    const next = await buildApp(g.t.config);
    try {
      const { credits, database } = next.services;
      const records = await database.db
        .selectFrom('usage_records')
        .selectAll()
        .where('user_id', 'in', [short.user.id, long.user.id])
        .execute();
      const of = (caller: Caller) => records.filter((r) => r.user_id === caller.user.id);
      expect(of(short)).toHaveLength(1);
      expect(of(long)).toHaveLength(1);
      const [whole, partial] = [of(short)[0]!, of(long)[0]!];
      expect(whole).toMatchObject({ end_reason: 'stop', usage_source: 'upstream', output_tokens: 6 });
      expect(whole.credits).toBe(charged(whole));
      expect(partial).toMatchObject({ end_reason: 'shutdown', usage_source: 'estimated' });
      expect(partial.output_tokens, 'the tokens streamed before the cut').toBeGreaterThan(10);
      expect(partial.output_tokens).toBeLessThan(400);
      expect(partial.credits).toBe(charged(partial));
      for (const caller of [short, long]) {
        const record = of(caller)[0]!;
        const account = await credits.account(caller.user.id);
        expect(account.held, 'no credits held').toBe(0);
        expect(await credits.openHolds(caller.user.id), 'no hold open').toBe(0);
        expect(await credits.ledgerSum(caller.user.id)).toBe(account.balance);
        expect(account.balance, 'charged what the record says').toBe(1000 - record.credits);
      }
    } finally {
      await next.close();
    }
  });
});

/** What a record's tokens cost at the test price, by the price rule itself (its own table tests the rule). */
function charged(record: { input_tokens: number; output_tokens: number }): number {
  return chargeFor(
    { ...PRICE, perImage: 0 },
    { inputTokens: record.input_tokens, outputTokens: record.output_tokens },
    1000,
  );
}
