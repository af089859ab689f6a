import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends } from '#test/helpers/test-app.ts';
import { data, jobsOf, moneyOf, priceJobs, registerOnShared, type Job } from './support.ts';

// Jobs settled by whichever instance looks, exactly once; and by a new instance after a restart.
describe.each(backends())('image jobs across instances on $label', (backend) => {
  let shared: SharedBackend;
  let fake: FakeImageJobs;

  beforeAll(async () => {
    fake = await FakeImageJobs.start();
    shared = await createSharedBackend(backend);
  });
  afterAll(async () => {
    await shared?.close();
    await fake?.close();
  });

  const env = (pollSeconds: string) => ({
    ...fake.env,
    SIGNUP_BONUS: '100',
    IMAGE_JOB_POLL_INTERVAL: pollSeconds,
    RATE_LIMIT_USER_CONCURRENCY: '0',
  });

  it('two instances polling the same jobs settle each exactly once', async () => {
    // Their own pollers wait an hour: the test runs the passes, both at once, again and again.
    const [a, b] = [await shared.start(env('3600')), await shared.start(env('3600'))];
    await priceJobs(a);
    await b.services.pricing.load();
    const user = await registerOnShared(a, shared.dataDir);
    fake.script(
      { runningPolls: 1 },
      { outcome: 'fail' },
      { images: ['png'] },
      { runningPolls: 2 },
      { outcome: 'lose' },
    );
    const counts = [2, 1, 3, 1, 2];
    const jobs = [];
    for (const count of counts) jobs.push(data<Job>(await jobsOf(a, user).generate({ prompt: 'many', count })));
    expect((await moneyOf(a, user.id)).held).toBe(90);

    // Both instances pass over every job until all are settled (the jobs are due: their time is moved on).
    const db = a.services.database.db;
    const open = async () =>
      (await db.selectFrom('image_jobs').select('id').where('settled_at', 'is', null).execute()).length;
    for (let pass = 0; pass < 10 && (await open()) > 0; pass += 1) {
      await db.updateTable('image_jobs').set({ next_poll_at: 0 }).where('settled_at', 'is', null).execute();
      const asked = jobs.map((job, i) => (i % 2 === 0 ? jobsOf(b, user) : jobsOf(a, user)).get(job.id));
      await Promise.all([a.services.jobSettler.run(), b.services.jobSettler.run(), ...asked]);
    }
    expect(await open()).toBe(0);
    // Charged 2 + 1 (of 3 asked, one image given) + 1 images; the failed and lost jobs cost nothing.
    const money = await moneyOf(a, user.id);
    expect(money).toMatchObject({ balance: 60, held: 0, openHolds: 0 });
    expect(money.usageRows.sort()).toEqual([-10, -10, -20]);
    expect(money.records).toHaveLength(5);
    // Each delivered image was copied once: two instances never both copy a job's images.
    const uploads = await db.selectFrom('uploads').select('id').where('user_id', '=', user.id).execute();
    expect(uploads).toHaveLength(4);
    const ended = await Promise.all(jobs.map(async (job) => data<Job>(await jobsOf(b, user).get(job.id))));
    expect(ended.map((j) => [j.status, j.creditsCharged, j.images.length])).toEqual([
      ['succeeded', 20, 2],
      ['failed', 0, 0],
      ['succeeded', 10, 1],
      ['succeeded', 10, 1],
      ['failed', 0, 0],
    ]);
  });

  it('a job accepted by an instance that stopped is settled by a new one on the same database, unasked', async () => {
    // The job is first due two seconds after it is accepted; this instance is gone by then.
    const first = await shared.start(env('2'));
    await priceJobs(first);
    const user = await registerOnShared(first, shared.dataDir);
    fake.script({ images: ['png', 'png'] });
    const job = data<Job>(await jobsOf(first, user).generate({ prompt: 'before the restart', count: 2 }));
    await first.close();

    // A new instance polls every second on the real clock: nobody asks about the job.
    const second = await shared.start(env('1'));
    const db = second.services.database.db;
    await vi.waitFor(
      async () => {
        const row = await db.selectFrom('image_jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
        expect(row.settled_at).not.toBeNull();
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(await moneyOf(second, user.id)).toMatchObject({ balance: 80, held: 0, openHolds: 0, usageRows: [-20] });
    const done = data<Job>(await jobsOf(second, user).get(job.id));
    expect(done).toMatchObject({ status: 'succeeded', creditsCharged: 20 });
    expect(done.images).toHaveLength(2);
  });
});
