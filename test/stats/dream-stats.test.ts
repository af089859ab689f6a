import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { TestProvider } from '#test/helpers/payments.ts';
import {
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { data, jobsOf, priceJobs, type Job } from '#test/image-jobs/support.ts';

interface Overview {
  orders: { total: number; paid: number; pending: number };
  favorites: { total: number; images: number; prompts: number };
  points: { balance: number; held: number; available: number };
  images: { made: number; published: number };
}
interface Global {
  users: number;
  orders: { paid: number };
  images: { made: number; published: number };
  countedAt: string;
}

// Seed 003's statistics: one user's (their own things only) and the whole site's (counted once a minute).
describe.each(backends())('seed 003 statistics on $label', (backend) => {
  let t: TestApp;
  let fake: FakeImageJobs;
  const wechat = new TestProvider('wechat');

  beforeAll(async () => {
    fake = await FakeImageJobs.start();
    t = await createTestApp(backend, {
      env: { ...fake.env, ...LONG_SESSIONS, SIGNUP_BONUS: '100', IMAGE_JOB_POLL_INTERVAL: '60' },
      overrides: { paymentProviders: [wechat] },
    });
    await priceJobs(t.app);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const overview = async (user: RegisteredUser) =>
    data<Overview>(await call(t.app, 'GET', '/v1/stats/overview', { token: user.accessToken }));
  const globalStats = async () => data<Global>(await call(t.app, 'GET', '/v1/stats/global'));

  /** An order of a credit pack; paid when `pay` is set. */
  async function order(user: RegisteredUser, pay: boolean): Promise<void> {
    const res = await call(t.app, 'POST', '/v1/points/recharge', {
      token: user.accessToken,
      body: { amount: 1000, channel: 'wechat_native' },
    });
    const { orderNo } = data<{ order: { orderNo: string } }>(res).order;
    if (pay) expect(await t.app.services.orders.confirmPaid(wechat.pay(orderNo), null)).toBe('fulfilled');
  }

  /** A job of `count` images that succeeds (asked about until it ends). */
  async function finishedJob(user: RegisteredUser, count: number): Promise<Job> {
    const jobs = jobsOf(t.app, user);
    const accepted = data<Job>(await jobs.generate({ prompt: 'a lighthouse at dusk', count }));
    for (let look = 0; look < 5; look++) {
      const job = data<Job>(await jobs.get(accepted.id));
      if (job.status === 'succeeded') return job;
    }
    throw new Error('the job did not finish');
  }

  it('a new user starts with nothing but the sign-up points', async () => {
    const user = await registerUser(t);
    expect(await overview(user)).toEqual({
      orders: { total: 0, paid: 0, pending: 0 },
      favorites: { total: 0, images: 0, prompts: 0 },
      points: { balance: 100, held: 0, available: 100 },
      images: { made: 0, published: 0 },
    });
  });

  it("counts the user's own orders, favorites, points and images, and nobody else's", async () => {
    const user = await registerUser(t);
    const other = await registerUser(t);
    await order(user, true);
    await order(user, false);
    await order(other, true);
    const job = await finishedJob(user, 2);
    await finishedJob(other, 3);
    const published = await call(t.app, 'POST', '/v1/gallery/publish', {
      token: user.accessToken,
      body: { imageId: job.images[0]!.id, title: 'dusk', category: 'other', prompt: 'a lighthouse at dusk' },
    });
    expect(published.statusCode, published.body).toBe(201);
    const imageId = published.json<{ data: { id: string } }>().data.id;
    const prompts = await call(t.app, 'GET', '/v1/templates/prompts');
    const promptId = data<{ items: Array<{ id: string }> }>(prompts).items[0]!.id;
    for (const body of [
      { type: 'image', targetId: imageId },
      { type: 'prompt', targetId: promptId },
    ]) {
      expect((await call(t.app, 'POST', '/v1/favorites', { token: user.accessToken, body })).statusCode).toBe(201);
    }
    // The other user favorites the same image: it is theirs to count, not this user's.
    await call(t.app, 'POST', '/v1/favorites', {
      token: other.accessToken,
      body: { type: 'image', targetId: imageId },
    });

    const account = await t.app.services.credits.account(user.id);
    expect(await overview(user)).toEqual({
      orders: { total: 2, paid: 1, pending: 1 },
      favorites: { total: 2, images: 1, prompts: 1 },
      points: { balance: account.balance, held: 0, available: account.balance },
      images: { made: 2, published: 1 },
    });
    // 100 from sign-up, the pack's credits, less the two images.
    expect(account.balance).toBeGreaterThan(100 - 20);
  });

  it('does not count a job that failed or is still running as images made, and shows its points as held', async () => {
    const user = await registerUser(t);
    const jobs = jobsOf(t.app, user);
    fake.script({ outcome: 'fail' });
    const failed = data<Job>(await jobs.generate({ prompt: 'nothing comes of this', count: 2 }));
    expect(data<Job>(await jobs.get(failed.id)).status).toBe('failed');
    fake.script({ outcome: 'run' });
    data<Job>(await jobs.generate({ prompt: 'still going', count: 1 }));
    const stats = await overview(user);
    expect(stats.images).toEqual({ made: 0, published: 0 });
    expect(stats.points).toMatchObject({ balance: 100, held: 10, available: 90 });
  });

  it('answers the whole site publicly, counted once a minute', async () => {
    const first = await globalStats();
    expect(first.users).toBe(await t.app.services.users.counts(t.clock.now()).then((c) => c.total));
    expect(first.orders.paid).toBeGreaterThanOrEqual(2);
    expect(first.images.made).toBeGreaterThanOrEqual(5);
    // Two seed images and the one published above.
    expect(first.images.published).toBeGreaterThanOrEqual(3);

    await registerUser(t);
    expect(await globalStats()).toEqual(first);
    t.clock.advance(61_000);
    const later = await globalStats();
    expect(later.users).toBe(first.users + 1);
    expect(Date.parse(later.countedAt)).toBe(t.clock.now());
  });

  it('refuses the overview without a sign-in', async () => {
    const res = await call(t.app, 'GET', '/v1/stats/overview');
    expect(res.statusCode).toBe(401);
  });
});
