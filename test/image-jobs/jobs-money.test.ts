import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { backends, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';
import { data, jobsOf, moneyOf, PER_IMAGE, priceJobs, type Job } from './support.ts';

const TIMEOUT_S = 120;

// Every outcome of a paid image job and what it does to the money, on every backend.
describe.each(backends())('image job money on $label', (backend) => {
  let t: TestApp;
  let fake: FakeImageJobs;

  beforeAll(async () => {
    fake = await FakeImageJobs.start();
    t = await createTestApp(backend, {
      env: {
        ...fake.env,
        ...LONG_SESSIONS,
        SIGNUP_BONUS: '100',
        // Twenty jobs at once are a test of money, not of the concurrency limit.
        RATE_LIMIT_USER_CONCURRENCY: '0',
        IMAGE_JOB_TIMEOUT: String(TIMEOUT_S),
        // The tests move the jobs on themselves (a client's GET, or a pass of the poller after moving the clock).
        IMAGE_JOB_POLL_INTERVAL: '60',
      },
    });
    await priceJobs(t.app);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const fresh = async () => {
    const user = await registerUser(t);
    return { user, jobs: jobsOf(t.app, user) };
  };

  it('holds the price of every image asked, then charges the images delivered, once, with the images in storage', async () => {
    const { user, jobs } = await fresh();
    fake.script({ runningPolls: 1 });
    const accepted = data<Job>(await jobs.generate({ prompt: 'a red fox in snow', count: 3 }));
    expect(accepted).toMatchObject({ status: 'queued', count: 3, creditsHeld: 3 * PER_IMAGE, creditsCharged: null });
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 100, held: 30, records: [] });
    // The upstream was given the request with Tollgate's key.
    expect(fake.submissions.at(-1)).toMatchObject({ prompt: 'a red fox in snow', count: 3, reference_images: [] });
    expect(fake.unauthorized).toBe(0);

    // Still running at the first look; done at the second.
    expect(data<Job>(await jobs.get(accepted.id)).status).toBe('running');
    const done = data<Job>(await jobs.get(accepted.id));
    expect(done).toMatchObject({ status: 'succeeded', creditsCharged: 30, error: null });
    expect(done.images).toHaveLength(3);
    for (const image of done.images) {
      expect(image.url).toMatch(/^\/uploads\/jobs\//);
      expect(image).toMatchObject({ width: 64, height: 48 });
      // Each is an upload of the job's user: the gallery finds it by its id.
      const upload = await t.app.services.storage.findUpload(user.id, image.id);
      expect(upload?.url).toBe(image.url);
      expect((await t.app.services.storage.read(upload!.key))?.contentType).toBe('image/png');
    }
    // Asked again, and passed by the poller: nothing more is charged or recorded.
    await jobs.get(accepted.id);
    await t.app.services.jobSettler.run();
    expect(await moneyOf(t.app, user.id)).toMatchObject({
      balance: 70,
      held: 0,
      openHolds: 0,
      usageRows: [-30],
      records: [{ status: 'ok', credits: 30, model: 'image-job:standard:1024x1024', endReason: 'succeeded' }],
    });
  });

  it('charges only for the images it could keep when the upstream delivers fewer (or some are no images)', async () => {
    const { user, jobs } = await fresh();
    fake.script({ images: ['png', 'missing'] }, { images: ['text', 'png', 'missing'] });
    const first = data<Job>(await jobs.generate({ prompt: 'two cats', count: 4 }));
    const second = data<Job>(await jobs.generate({ prompt: 'three dogs', count: 3 }));
    expect((await moneyOf(t.app, user.id)).held).toBe(70);
    const [a, b] = [data<Job>(await jobs.get(first.id)), data<Job>(await jobs.get(second.id))];
    expect([a.images.length, a.creditsCharged, b.images.length, b.creditsCharged]).toEqual([1, 10, 1, 10]);
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 80, held: 0, usageRows: [-10, -10] });
    expect((await moneyOf(t.app, user.id)).records.map((r) => r.endReason)).toEqual(['fewer_images', 'fewer_images']);
  });

  it('charges nothing for a job that fails, or that succeeds with no usable image', async () => {
    const { user, jobs } = await fresh();
    fake.script({ outcome: 'fail' }, { images: ['text', 'missing'] });
    const failed = data<Job>(await jobs.generate({ prompt: 'forbidden', count: 2 }));
    const empty = data<Job>(await jobs.generate({ prompt: 'nothing', count: 2 }));
    expect(data<Job>(await jobs.get(failed.id))).toMatchObject({
      status: 'failed',
      creditsCharged: 0,
      images: [],
      error: { code: 'IMAGE_JOB_FAILED', message: 'content policy violation' },
    });
    expect(data<Job>(await jobs.get(empty.id))).toMatchObject({
      status: 'failed',
      error: { code: 'IMAGE_JOB_NO_IMAGES' },
    });
    const money = await moneyOf(t.app, user.id);
    expect(money).toMatchObject({ balance: 100, held: 0, usageRows: [], openHolds: 0 });
    expect(money.records.map((r) => [r.status, r.credits])).toEqual([
      ['error', 0],
      ['error', 0],
    ]);
  });

  it('releases the hold of a job its user cancels, and tells the upstream', async () => {
    const { user, jobs } = await fresh();
    fake.script({ outcome: 'run' });
    const job = data<Job>(await jobs.generate({ prompt: 'a long one', count: 2 }));
    expect(data<Job>(await jobs.get(job.id)).status).toBe('running');
    const canceled = data<Job>(await jobs.cancel(job.id));
    expect(canceled).toMatchObject({ status: 'canceled', creditsCharged: 0 });
    expect(fake.cancels).toContain(fake.jobIds.at(-1));
    // Cancelling again answers the same; a finished job cannot be cancelled.
    expect(data<Job>(await jobs.cancel(job.id)).status).toBe('canceled');
    fake.script({});
    const finished = data<Job>(await jobs.generate({ prompt: 'quick' }));
    expect(data<Job>(await jobs.get(finished.id)).status).toBe('succeeded');
    const refused = await jobs.cancel(finished.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ success: false, code: 'IMAGE_JOB_FINISHED' });
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 90, held: 0, usageRows: [-10], openHolds: 0 });
  });

  it('answers a cancel of a job another instance is looking at with 409 busy, changing nothing; cancels racing each other release once', async () => {
    const { user, jobs } = await fresh();
    fake.script({ outcome: 'run' }, { outcome: 'run' });
    const held = data<Job>(await jobs.generate({ prompt: 'held elsewhere', count: 2 }));
    const raced = data<Job>(await jobs.generate({ prompt: 'raced', count: 3 }));
    const db = t.app.services.database.db;
    await db
      .updateTable('image_jobs')
      .set({ lease_owner: 'another-instance', lease_until: t.clock.now() + 60_000 })
      .where('id', '=', held.id)
      .execute();
    const busy = await jobs.cancel(held.id);
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toMatchObject({ success: false, code: 'IMAGE_JOB_BUSY' });
    expect((await moneyOf(t.app, user.id)).held).toBe(50);
    // Its lease ends: the cancel goes through.
    t.clock.advance(60_001);
    expect(data<Job>(await jobs.cancel(held.id)).status).toBe('canceled');
    const answers = await Promise.all([jobs.cancel(raced.id), jobs.cancel(raced.id), jobs.cancel(raced.id)]);
    for (const res of answers) expect(data<Job>(res).status).toBe('canceled');
    const money = await moneyOf(t.app, user.id);
    expect(money).toMatchObject({ balance: 100, held: 0, openHolds: 0, usageRows: [] });
    expect(money.records).toHaveLength(2);
  });

  it('releases a job that passes the timeout, and one the upstream lost (404), from the poller', async () => {
    const { user, jobs } = await fresh();
    fake.script({ outcome: 'run' }, { outcome: 'lose' });
    const slow = data<Job>(await jobs.generate({ prompt: 'slow', count: 2 }));
    const lost = data<Job>(await jobs.generate({ prompt: 'lost', count: 2 }));
    const slowUpstream = fake.jobIds.at(-2);
    expect((await moneyOf(t.app, user.id)).held).toBe(40);
    // Nobody asks: a minute later the poller finds them due; the lost one ends, the slow one runs on.
    t.clock.advance(61_000);
    await t.app.services.jobSettler.run();
    const stored = (id: string) =>
      t.app.services.database.db.selectFrom('image_jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(await stored(lost.id)).toMatchObject({ status: 'failed', error_code: 'IMAGE_JOB_LOST' });
    expect(await stored(slow.id)).toMatchObject({ status: 'running', settled_at: null });
    expect((await moneyOf(t.app, user.id)).held).toBe(20);
    // Past the timeout it is given up.
    t.clock.advance(TIMEOUT_S * 1000);
    await t.app.services.jobSettler.run();
    expect(await stored(slow.id)).toMatchObject({ status: 'failed', error_code: 'IMAGE_JOB_TIMEOUT' });
    expect(data<Job>(await jobs.get(slow.id))).toMatchObject({
      status: 'failed',
      error: { code: 'IMAGE_JOB_TIMEOUT' },
    });
    expect(fake.cancels).toContain(slowUpstream);
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 100, held: 0, usageRows: [], openHolds: 0 });
  });

  it('releases and logs a job whose upstream answers garbage, and never answers the client 500', async () => {
    const { user, jobs } = await fresh();
    fake.script({ outcome: 'garbage' }, { outcome: 'garbage', garbage: '{"id": 7, "status": "exploded"}' });
    fake.script({ outcome: 'garbage', garbage: '{"status": "succeeded", "images": [{"href": "x"}]}' });
    const ids = [
      data<Job>(await jobs.generate({ prompt: 'one' })).id,
      data<Job>(await jobs.generate({ prompt: 'two' })).id,
      data<Job>(await jobs.generate({ prompt: 'three' })).id,
    ];
    for (const id of ids)
      expect(data<Job>(await jobs.get(id))).toMatchObject({
        status: 'failed',
        error: { code: 'IMAGE_JOB_UPSTREAM_INVALID' },
      });
    // A submission answered with garbage, a 500 or a refusal: nothing held, the client told why.
    fake.script({ submit: 'garbage' }, { submit: 'down' }, { submit: 'refuse' });
    for (const [status, code] of [
      [502, 'IMAGE_JOB_UPSTREAM_FAILED'],
      [502, 'IMAGE_JOB_UPSTREAM_FAILED'],
      [400, 'IMAGE_JOB_REJECTED'],
    ] as const) {
      const res = await jobs.generate({ prompt: 'refused' });
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json()).toMatchObject({ success: false, code });
    }
    const money = await moneyOf(t.app, user.id);
    expect(money).toMatchObject({ balance: 100, held: 0, usageRows: [], openHolds: 0 });
    expect(money.records).toHaveLength(6);
    // The refused ones are listed as failed jobs.
    const failed = data<{ total: number }>(await jobs.list('?status=failed'));
    expect(failed.total).toBe(6);
  });

  it('refuses a job the balance cannot cover with 402, sending nothing upstream', async () => {
    const { user, jobs } = await fresh();
    await t.app.services.pricing.set('image-job:hd', {
      input: 0,
      output: 0,
      perRequest: 0,
      perImage: 3 * PER_IMAGE,
      maxOutputTokens: null,
    });
    const sent = fake.submissions.length;
    // Four HD images at 30 credits: 120 of a balance of 100.
    const res = await jobs.generate({ prompt: 'four', count: 4, mode: 'hd' });
    expect(res.statusCode, res.body).toBe(402);
    expect(res.json()).toMatchObject({ success: false, code: 'INSUFFICIENT_CREDITS' });
    expect(fake.submissions.length).toBe(sent);
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 100, held: 0, records: [] });
    expect(data<{ total: number }>(await jobs.list()).total).toBe(0);
  });

  it('never holds more than the balance when 20 jobs are asked at once', async () => {
    const { user, jobs } = await fresh();
    fake.script(...Array.from({ length: 20 }, () => ({ outcome: 'run' as const })));
    const answers = await Promise.all(Array.from({ length: 20 }, () => jobs.generate({ prompt: 'rush', count: 3 })));
    const accepted = answers.filter((r) => r.statusCode === 200);
    expect(accepted).toHaveLength(3);
    expect(answers.filter((r) => r.statusCode === 402)).toHaveLength(17);
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 100, held: 90 });
    for (const res of accepted) data<Job>(await jobs.cancel(data<Job>(res).id));
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 100, held: 0, openHolds: 0 });
  });
});
