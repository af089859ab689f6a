import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallTerms } from '#modules/metering/admission.ts';
import { cancelJob, holdJob, settleJob, type HeldJob } from '#modules/metering/jobs.ts';
import { MINUTE } from '#test/helpers/clock.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';

/** A job priced per image made: 10 credits each, nothing per request or token. */
const PRICE = { input: 0, output: 0, perRequest: 0, perImage: 10, maxOutputTokens: null };
const HOUR = 60 * MINUTE;
const noHeaders = { headers: () => undefined };

function jobTerms(userId: string, images: number): CallTerms {
  return {
    context: {
      requestId: `job-${images}`,
      userId,
      keyId: null,
      role: 'user',
      endpoint: 'images.jobs',
      model: 'fake-image-model',
      stream: false,
      startedAt: performance.now(),
    },
    key: null,
    price: PRICE,
    worstCase: { inputTokens: 0, outputTokens: 0, images },
    expectedTokens: 0,
    overrun: 'capped',
  };
}

describe.each(backends())('jobs paid when they finish, on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { SIGNUP_BONUS: '100', CREDIT_HOLD_TTL: '900' } });
  });
  afterAll(() => t.close());

  async function books(userId: string) {
    const { credits } = t.app.services;
    const account = await credits.account(userId);
    expect(account.balance).toBe(await credits.ledgerSum(userId));
    return account;
  }

  it('holds the worst case past the hold TTL, then charges what the job made, once, however often it is settled', async () => {
    const user = await registerUser(t);
    const deps = t.app.services.gateway;
    const job = await holdJob(deps, jobTerms(user.id, 4), 2 * HOUR, noHeaders);
    expect(await books(user.id)).toMatchObject({ balance: 100, held: 40, available: 60 });

    // An hour later (four times the TTL of a call's hold) the sweeper leaves a job's hold alone.
    t.clock.advance(HOUR);
    await t.app.services.credits.sweepExpiredHolds();
    expect((await books(user.id)).held).toBe(40);

    const end = { channelId: null, httpStatus: 200, endReason: 'succeeded' };
    expect(await settleJob(deps, job, { inputTokens: 0, outputTokens: 0, images: 3 }, 'upstream', end)).toBe(30);
    await settleJob(deps, job, { inputTokens: 0, outputTokens: 0, images: 4 }, 'upstream', end);
    expect(await books(user.id)).toMatchObject({ balance: 70, held: 0 });
    const rows = await t.app.services.database.db
      .selectFrom('usage_records')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: job.hold!.id, endpoint: 'images.jobs', credits: 30, status: 'ok' });
  });

  it('a job that is never settled is freed by the sweeper once its own deadline passes', async () => {
    const user = await registerUser(t);
    await holdJob(t.app.services.gateway, jobTerms(user.id, 2), 2 * HOUR, noHeaders);
    t.clock.advance(2 * HOUR + MINUTE);
    await t.app.services.credits.sweepExpiredHolds();
    expect(await books(user.id)).toMatchObject({ balance: 100, held: 0 });
  });

  it('a job that cannot be covered is refused and holds nothing', async () => {
    const user = await registerUser(t);
    await expect(holdJob(t.app.services.gateway, jobTerms(user.id, 11), HOUR, noHeaders)).rejects.toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
    });
    expect(await books(user.id)).toMatchObject({ balance: 100, held: 0 });
  });
});

describe.each(backends())('a job held on one instance and closed on another, on $label', (backend) => {
  let shared: SharedBackend;
  beforeAll(async () => {
    shared = await createSharedBackend(backend);
  });
  afterAll(() => shared.close());

  it('settles or cancels from whichever instance sees the end, each hold once', async () => {
    const [a, b] = [await shared.start({ SIGNUP_BONUS: '100' }), await shared.start({ SIGNUP_BONUS: '100' })];
    const outbox = () => readFileSync(join(shared.dataDir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean);
    const asTestApp = {
      app: a,
      lastCode: (email: string) =>
        (
          JSON.parse(
            outbox()
              .filter((line) => line.includes(email))
              .at(-1)!,
          ) as { text: string }
        ).text.match(/\b(\d{6})\b/)![1]!,
    } as unknown as TestApp;
    const user = await registerUser(asTestApp);
    const end = { channelId: null, httpStatus: 200, endReason: 'succeeded' };
    const kept: HeldJob = JSON.parse(
      JSON.stringify(await holdJob(a.services.gateway, jobTerms(user.id, 3), HOUR, noHeaders)),
    ) as HeldJob;
    const dropped = await holdJob(a.services.gateway, jobTerms(user.id, 2), HOUR, noHeaders);
    expect((await b.services.credits.account(user.id)).held).toBe(50);
    // Both instances see the end of the first job at once; the second job failed.
    const charged = await Promise.all([
      settleJob(b.services.gateway, kept, { inputTokens: 0, outputTokens: 0, images: 3 }, 'upstream', end),
      settleJob(a.services.gateway, kept, { inputTokens: 0, outputTokens: 0, images: 3 }, 'upstream', end),
    ]);
    expect(charged).toContain(30);
    await cancelJob(b.services.gateway, dropped, {
      channelId: null,
      httpStatus: 502,
      endReason: 'failed',
      error: 'the job failed',
    });
    const account = await a.services.credits.account(user.id);
    expect(account).toMatchObject({ balance: 70, held: 0 });
    expect(account.balance).toBe(await a.services.credits.ledgerSum(user.id));
    const rows = await a.services.database.db
      .selectFrom('usage_records')
      .selectAll()
      .where('user_id', '=', user.id)
      .orderBy('credits')
      .execute();
    expect(rows.map((r) => [r.status, r.credits])).toEqual([
      ['error', 0],
      ['ok', 30],
    ]);
  });
});
