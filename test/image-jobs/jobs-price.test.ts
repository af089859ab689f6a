import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { backends, call, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';
import { data, jobsOf, moneyOf, type Job } from './support.ts';

interface Quote {
  model: string;
  mode: string;
  resolution: string;
  count: number;
  credits: number;
}

// GET /v1/proxy/images/price: what a job would hold, before it is submitted (the console shows it).
describe.each(backends())('image job price on $label', (backend) => {
  let t: TestApp;
  let fake: FakeImageJobs;

  beforeAll(async () => {
    fake = await FakeImageJobs.start();
    t = await createTestApp(backend, {
      env: { ...fake.env, SIGNUP_BONUS: '1000', IMAGE_JOB_POLL_INTERVAL: '60', PRICE_MULTIPLIER_USER: '1.5' },
    });
    const { pricing } = t.app.services;
    const row = { input: 0, output: 0, perRequest: 0, maxOutputTokens: null };
    await pricing.set('image-job:standard', { ...row, perImage: 10 });
    await pricing.set('image-job:hd:2048x2048', { ...row, perImage: 33 });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const quote = (token: string, query = '') => call(t.app, 'GET', `/v1/proxy/images/price${query}`, { token });

  it('answers what a job of those settings then holds: the price row, the count and the role multiplier', async () => {
    const user = await registerUser(t);
    const jobs = jobsOf(t.app, user);
    for (const [query, body, expected] of [
      ['', { prompt: 'defaults' }, { model: 'image-job:standard:1024x1024', count: 1, credits: 15 }],
      ['?count=3', { prompt: 'three', count: 3 }, { model: 'image-job:standard:1024x1024', count: 3, credits: 45 }],
      [
        '?mode=hd&resolution=2048x2048&count=2',
        { prompt: 'hd', mode: 'hd', resolution: '2048x2048', count: 2 },
        { model: 'image-job:hd:2048x2048', count: 2, credits: 99 },
      ],
    ] as const) {
      const price = data<Quote>(await quote(user.accessToken, query));
      expect(price).toMatchObject(expected);
      fake.script({ outcome: 'run' });
      const job = data<Job>(await jobs.generate(body));
      expect(job.creditsHeld, query).toBe(price.credits);
    }
    // Asking the price holds and records nothing.
    const money = await moneyOf(t.app, user.id);
    expect(money.held).toBe(15 + 45 + 99);
    expect(money.records).toEqual([]);
  });

  it("a plan's multiplier applies to the price as to the hold", async () => {
    const { plans } = t.app.services;
    const plan = await plans.create({
      code: `half-${backend.label.replace('+', '-')}`,
      name: 'Half price',
      level: 1,
      price: 1,
      entitlements: { multiplierPermille: 500 },
    });
    const user = await registerUser(t);
    await plans.activate({
      userId: user.id,
      planId: plan.id,
      mode: 'set',
      source: 'admin',
      sourceRef: null,
      idempotencyKey: `half:${user.id}`,
    });
    const price = data<Quote>(await quote(user.accessToken, '?count=4'));
    expect(price.credits).toBe(30); // 4 × 10 × 1.5 × 0.5
    fake.script({ outcome: 'run' });
    expect(data<Job>(await jobsOf(t.app, user).generate({ prompt: 'x', count: 4 })).creditsHeld).toBe(30);
  });

  it('refuses bad settings with a 400 and a caller without a session with a 401', async () => {
    const user = await registerUser(t);
    for (const query of ['?count=0', '?count=11', '?mode=HD!', '?resolution=big', '?other=1']) {
      const res = await quote(user.accessToken, query);
      expect(res.statusCode, query).toBe(400);
      expect(res.json()).toMatchObject({ success: false, statusCode: 400 });
    }
    expect((await call(t.app, 'GET', '/v1/proxy/images/price')).statusCode).toBe(401);
  });
});
