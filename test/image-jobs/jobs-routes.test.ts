import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { backends, call, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';
import { startS3Server, type S3TestServer } from '#test/helpers/s3-server.ts';
import { png } from '#test/storage/images.ts';
import { data, jobsOf, moneyOf, priceJobs, type Job } from './support.ts';

const PROMPT_TEMPLATE = '00000000-0000-7000-8000-000000000101';
const PARAM_TEMPLATE = '00000000-0000-7000-8000-000000000203';

interface Page {
  items: Job[];
  total: number;
  nextCursor: string | null;
  hasMore: boolean;
}

// The routes of seed 003's API proxy: requests, templates, characters, ownership, lists, keys, plans.
describe.each(backends())('image job routes on $label', (backend) => {
  let t: TestApp;
  let fake: FakeImageJobs;

  beforeAll(async () => {
    fake = await FakeImageJobs.start();
    t = await createTestApp(backend, {
      env: { ...fake.env, SIGNUP_BONUS: '500', IMAGE_JOB_POLL_INTERVAL: '60', RATE_LIMIT_USER_CONCURRENCY: '0' },
    });
    await priceJobs(t.app);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('refuses a bad request with a clear 400 and holds nothing', async () => {
    const user = await registerUser(t);
    const jobs = jobsOf(t.app, user);
    const sent = fake.submissions.length;
    for (const body of [
      {},
      { prompt: '' },
      { prompt: 'x', count: 11 },
      { prompt: 'x', count: 0 },
      { prompt: 'x', mode: 'HD!' },
      { prompt: 'x', resolution: 'big' },
      { prompt: 'x', unknown: true },
      { prompt: 'x', params: { nested: { a: 1 } } },
    ]) {
      const res = await jobs.generate(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ success: false, statusCode: 400 });
    }
    for (const [body, code] of [
      [{ promptTemplateId: 'nope' }, 'PROMPT_TEMPLATE_NOT_FOUND'],
      [{ prompt: 'x', paramTemplateId: 'nope' }, 'PARAM_TEMPLATE_NOT_FOUND'],
      [{ prompt: 'x', characterId: 'nope' }, 'CHARACTER_NOT_FOUND'],
    ] as const) {
      const res = await jobs.generate(body);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code });
    }
    expect(fake.submissions.length).toBe(sent);
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 500, held: 0, records: [] });
    expect((await call(t.app, 'POST', '/v1/proxy/images/generate', { body: { prompt: 'x' } })).statusCode).toBe(401);
  });

  it("builds the request from templates and explicit fields, and sends the character's photos upstream", async () => {
    const user = await registerUser(t);
    const jobs = jobsOf(t.app, user);
    const character = data<{ id: string }>(
      await call(t.app, 'POST', '/v1/characters', { token: user.accessToken, body: { name: 'me' } }),
    );
    const photo = data<{ url: string }>(
      await call(t.app, 'POST', `/v1/characters/${character.id}/photos/upload`, {
        token: user.accessToken,
        body: { image: png(8, 8).toString('base64') },
      }),
    );
    fake.script({});
    const job = data<Job & { prompt: string; mode: string; resolution: string; params: Record<string, unknown> }>(
      await jobs.generate({
        promptTemplateId: PROMPT_TEMPLATE,
        prompt: 'wearing a red scarf',
        paramTemplateId: PARAM_TEMPLATE,
        count: 2,
        params: { steps: 12 },
        characterId: character.id,
      }),
    );
    expect(job).toMatchObject({
      mode: 'standard',
      resolution: '768x1024',
      count: 2,
      params: { steps: 12, guidanceScale: 7 },
    });
    expect(job.prompt).toMatch(/^日系清新风格人像摄影.*wearing a red scarf$/);
    const sent = fake.submissions.at(-1)!;
    expect(sent).toMatchObject({
      promptTemplateId: PROMPT_TEMPLATE,
      mode: 'standard',
      resolution: '768x1024',
      width: 768,
      height: 1024,
      count: 2,
      steps: 12,
      characterId: character.id,
    });
    // A photo stored under a relative URL is sent as an absolute one the upstream can fetch.
    expect(sent.reference_images).toEqual([`http://localhost${photo.url}`]);
    // Each template used counts one use.
    const template = await t.app.services.templates.paramTemplate(PARAM_TEMPLATE);
    expect(template.usageCount).toBeGreaterThanOrEqual(1);
    // Someone else's character is 404, and nothing is held.
    const other = await registerUser(t);
    const refused = await jobsOf(t.app, other).generate({ prompt: 'x', characterId: character.id });
    expect(refused.statusCode).toBe(404);
    expect((await moneyOf(t.app, other.id)).held).toBe(0);
  });

  it("answers 404 for another user's job on every route, and lists only the caller's own, by page or cursor and status", async () => {
    const [alice, bob] = [await registerUser(t), await registerUser(t)];
    fake.script({ outcome: 'run' }, { outcome: 'fail' }, { outcome: 'run' }, { outcome: 'run' }, { outcome: 'run' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(data<Job>(await jobsOf(t.app, alice).generate({ prompt: `job ${i}` })).id);
      t.clock.advance(1);
    }
    await jobsOf(t.app, alice).get(ids[1]!);
    for (const res of [await jobsOf(t.app, bob).get(ids[0]!), await jobsOf(t.app, bob).cancel(ids[0]!)]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ success: false, code: 'IMAGE_JOB_NOT_FOUND' });
    }
    expect(data<Job>(await jobsOf(t.app, alice).get(ids[0]!)).status).toBe('running');
    expect(data<Page>(await jobsOf(t.app, bob).list()).total).toBe(0);

    const first = data<Page>(await jobsOf(t.app, alice).list('?limit=2'));
    expect(first.items.map((j) => j.id)).toEqual([ids[4], ids[3]]);
    expect(first).toMatchObject({ total: 5, hasMore: true });
    const second = data<Page>(await jobsOf(t.app, alice).list(`?limit=2&cursor=${first.nextCursor}`));
    expect(second.items.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const numbered = data<Page>(await jobsOf(t.app, alice).list('?limit=2&page=3'));
    expect(numbered).toMatchObject({ total: 5, hasMore: false, nextCursor: null });
    expect(numbered.items.map((j) => j.id)).toEqual([ids[0]]);
    const failed = data<Page>(await jobsOf(t.app, alice).list('?status=failed'));
    expect(failed.items.map((j) => j.id)).toEqual([ids[1]]);
    expect((await jobsOf(t.app, alice).list('?status=lost')).statusCode).toBe(400);
    expect((await jobsOf(t.app, alice).list('?cursor=garbage')).statusCode).toBe(400);
    for (const id of [ids[0]!, ids[2]!, ids[3]!, ids[4]!]) await jobsOf(t.app, alice).cancel(id);
    expect((await moneyOf(t.app, alice.id)).held).toBe(0);
  });

  it('prices a job per image by the most specific name in the price table, else by the shipped default of its mode', async () => {
    const { pricing } = t.app.services;
    const user = await registerUser(t);
    const jobs = jobsOf(t.app, user);
    const price = (perImage: number, perRequest = 0) => ({
      input: 0,
      output: 0,
      perRequest,
      perImage,
      maxOutputTokens: null,
    });
    await pricing.set('image-job:fast:512x512', price(3, 1));
    fake.script({ outcome: 'run' }, { outcome: 'run' }, { outcome: 'run' });
    const exact = data<Job>(await jobs.generate({ prompt: 'small', mode: 'fast', resolution: '512x512', count: 2 }));
    const byPrefix = data<Job>(await jobs.generate({ prompt: 'big', mode: 'fast', resolution: '1024x1024', count: 2 }));
    expect([exact.creditsHeld, byPrefix.creditsHeld]).toEqual([7, 20]);
    // No row at all: HD's shipped default, 0.08 US dollars an image at 1000 credits a dollar.
    await pricing.remove('image-job');
    try {
      const shipped = data<Job>(await jobs.generate({ prompt: 'hd', mode: 'hd', count: 2 }));
      expect(shipped.creditsHeld).toBe(160);
    } finally {
      await priceJobs(t.app);
      await pricing.remove('image-job:fast:512x512');
    }
    const records = await t.app.services.database.db
      .selectFrom('usage_records')
      .select('model')
      .where('user_id', '=', user.id)
      .execute();
    expect(records).toEqual([]);
    for (const job of (await jobs.list()).json<{ data: { items: Job[] } }>().data.items) await jobs.cancel(job.id);
    const models = await t.app.services.database.db
      .selectFrom('usage_records')
      .select('model')
      .where('user_id', '=', user.id)
      .orderBy('model')
      .execute();
    expect(models.map((r) => r.model)).toEqual([
      'image-job:fast:1024x1024',
      'image-job:fast:512x512',
      'image-job:hd:1024x1024',
    ]);
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 500, held: 0 });
  });

  it('takes an API key as well as a session', async () => {
    const user = await registerUser(t);
    const created = await call(t.app, 'POST', '/api/keys', { token: user.accessToken, body: { name: 'jobs' } });
    const { key } = created.json<{ key: string }>();
    fake.script({});
    const job = data<Job>(await jobsOf(t.app, { accessToken: key }).generate({ prompt: 'by key' }));
    // The same job, seen through the session.
    expect(data<Job>(await jobsOf(t.app, user).get(job.id))).toMatchObject({ status: 'succeeded', creditsCharged: 10 });
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 490, held: 0 });
  });

  it("counts a plan's requests, images and credits allowances at submission and corrects them to what the job delivered", async () => {
    const { plans } = t.app.services;
    const plan = await plans.create({
      code: `jobs-${backend.label.replace('+', '-')}`,
      name: 'Jobs plan',
      level: 1,
      price: 1,
      entitlements: {
        allowances: [
          { metric: 'images', period: 'day', limit: 6 },
          { metric: 'credits', period: 'day', limit: 200 },
          { metric: 'requests', period: 'day', limit: 10 },
        ],
      },
    });
    const user = await registerUser(t);
    await plans.activate({
      userId: user.id,
      planId: plan.id,
      mode: 'set',
      source: 'admin',
      sourceRef: null,
      idempotencyKey: `jobs:${user.id}`,
    });
    const jobs = jobsOf(t.app, user);
    const used = async () => {
      const info = data<{ allowances: { metric: string; used: number }[] }>(
        await call(t.app, 'GET', '/v1/vip/info', { token: user.accessToken }),
      );
      return Object.fromEntries(info.allowances.map((a) => [a.metric, a.used]));
    };
    fake.script({ images: ['png'] }, { outcome: 'fail' });
    const partial = data<Job>(await jobs.generate({ prompt: 'three asked', count: 3 }));
    const failing = data<Job>(await jobs.generate({ prompt: 'two asked', count: 2 }));
    expect(await used()).toEqual({ images: 5, credits: 50, requests: 2 });
    // The images allowance is counted at submission: two more would pass it.
    const sent = fake.submissions.length;
    const over = await jobs.generate({ prompt: 'too many', count: 2 });
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'PLAN_ALLOWANCE_EXCEEDED' });
    expect(fake.submissions.length).toBe(sent);
    await jobs.get(partial.id);
    await jobs.get(failing.id);
    // The failed job made nothing: its request is given back too.
    expect(await used()).toEqual({ images: 1, credits: 10, requests: 1 });
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 490, held: 0 });
  });
});

describe('image jobs without a job API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backends()[0], { env: { SIGNUP_BONUS: '100' } });
  });
  afterAll(() => t?.close());

  it('answers 503 with a clear code and holds nothing', async () => {
    const user = await registerUser(t);
    const res = await jobsOf(t.app, user).generate({ prompt: 'anything' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ success: false, code: 'IMAGE_JOBS_NOT_CONFIGURED' });
    expect(await moneyOf(t.app, user.id)).toMatchObject({ balance: 100, held: 0, records: [] });
    // The lists still answer (empty).
    expect(data<Page>(await jobsOf(t.app, user).list()).total).toBe(0);
  });
});

describe('image jobs with object storage on s3 (s3rver)', () => {
  let t: TestApp;
  let fake: FakeImageJobs;
  let server: S3TestServer;
  beforeAll(async () => {
    [fake, server] = await Promise.all([FakeImageJobs.start(), startS3Server()]);
    t = await createTestApp(backends()[0], { env: { ...fake.env, ...server.env, SIGNUP_BONUS: '100' } });
    await priceJobs(t.app);
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([fake?.close(), server?.close()]);
  });

  it("copies a finished job's images into the bucket, as uploads of the job's user", async () => {
    const user = await registerUser(t);
    fake.script({ images: ['png', 'png'] });
    const job = data<Job>(await jobsOf(t.app, user).generate({ prompt: 'to the bucket', count: 2 }));
    const done = data<Job>(await jobsOf(t.app, user).get(job.id));
    expect(done).toMatchObject({ status: 'succeeded', creditsCharged: 20 });
    const keys = await t.app.services.storage.driver.list('jobs/');
    expect(keys).toHaveLength(2);
    for (const image of done.images) {
      const upload = await t.app.services.storage.findUpload(user.id, image.id);
      expect(keys).toContain(upload!.key);
      expect((await t.app.services.storage.driver.get(upload!.key))?.contentType).toBe('image/png');
    }
  });
});
