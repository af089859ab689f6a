import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFuzzApp, type FuzzApp } from './fuzz/fuzz-app.ts';
import { MODEL } from './support/pricing.ts';
import { Tally } from './tally.ts';

/**
 * Requests that once broke Tollgate (found by this suite), kept as regression checks: each must now
 * be refused with a clear 400, hold nothing and change no balance; and a caller sending them must not
 * be able to take the channel out for everyone else.
 */
const FORMER_DEFECTS: Array<{ id: string; url: string; body: string }> = [
  { id: 'null message', url: '/v1/chat/completions', body: '{"model":"gpt-4o-mini","messages":[null]}' },
  {
    id: 'huge max_tokens',
    url: '/v1/chat/completions',
    body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":1e300}',
  },
  {
    id: 'huge n',
    url: '/v1/completions',
    body: '{"model":"gpt-3.5-turbo-instruct","prompt":"hi","n":1e15,"best_of":1e15}',
  },
  {
    id: 'deeply nested body',
    url: '/v1/chat/completions',
    body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
  },
];

describe('former defects stay fixed', () => {
  const tally = new Tally('former defects');
  let f: FuzzApp;

  beforeAll(async () => {
    f = await startFuzzApp(tally, { CHANNEL_FAILURE_THRESHOLD: '3', CHANNEL_PROBE_INTERVAL: '3600' });
  });
  afterAll(async () => {
    await f?.close();
    tally.save(inject('tallyDir'));
  });

  const send = (secret: string, url: string, payload: string) =>
    f.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      payload,
    });

  it('each is a clear 400 that holds and charges nothing', async () => {
    const credits = f.t.app.services.credits;
    for (const defect of FORMER_DEFECTS) {
      const before = await credits.account(f.user.id);
      const response = await send(f.userKey.secret, defect.url, defect.body);
      tally.request();
      tally.badInput();
      tally.check(
        response.statusCode === 400,
        `${defect.id}: answered ${response.statusCode} ${response.body.slice(0, 200)}`,
      );
      const [{ balance, held }, sum] = await Promise.all([credits.account(f.user.id), credits.ledgerSum(f.user.id)]);
      tally.check(
        balance === sum && held === 0 && balance === before.balance,
        `after ${defect.id}: balance ${balance} (was ${before.balance}), Σ ledger ${sum}, held ${held}`,
      );
    }
    expect(tally.record.violations).toEqual([]);
  });

  it('one caller’s deeply nested bodies do not take the channel out for everyone', async () => {
    const deep = FORMER_DEFECTS.find((d) => d.id === 'deeply nested body')!;
    for (let i = 0; i < 3; i++) {
      await send(f.userKey.secret, deep.url, deep.body);
      tally.request();
    }
    const after = await f.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${f.otherKey.secret}` },
      payload: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
    });
    tally.request();
    tally.check(
      after.statusCode === 200,
      `after 3 deeply nested calls by one user, another user's ordinary call got ${after.statusCode}`,
    );
    expect(tally.record.violations).toEqual([]);
  });
});
